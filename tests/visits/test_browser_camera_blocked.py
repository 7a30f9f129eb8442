"""A patient whose browser blocks the camera: plain words and the steps for their own device, no
raw error name, no empty pickers, their place kept, and audio only when the microphone works."""

import pytest

from tests.support.live import LIVE_MS, check_in

pytestmark = pytest.mark.browser

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
# The browser refuses the camera (as after "Block"); the microphone alone is allowed, or nothing.
BLOCK = """(allowAudio) => {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => (allowAudio && !c.video)
    ? real(c) : Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
}"""


def blocked_patient(new_page, clinic, *, allow_audio: bool, **context):
    page = new_page(**context)
    page.add_init_script(f"({BLOCK})({'true' if allow_audio else 'false'})")
    check_in(page, clinic, "Bea Blocked")
    page.wait_for_selector("[data-patient-status='media_blocked']", timeout=LIVE_MS)
    page.wait_for_selector("[data-device-help]:visible", timeout=LIVE_MS)
    return page


def no_empty_picker_is_shown(page) -> bool:
    return page.evaluate(
        "[...document.querySelectorAll('select')].every((s) => s.options.length || !s.offsetParent)"
    )


def test_blocked_camera_on_a_desktop_shows_its_steps_and_the_kept_place_and_goes_on_audio_only(
    new_page, clinic_a
):
    page = blocked_patient(new_page, clinic_a, allow_audio=True, viewport={"width": 1366, "height": 768})
    text = page.text_content("body")
    assert "You keep your place in line" in text
    assert "NotAllowedError" not in text and "Permission denied" not in text
    assert page.is_visible("[data-howto='desktop']") and not page.is_visible("[data-howto='ios']")
    assert no_empty_picker_is_shown(page)

    page.get_by_role("button", name="Continue with audio only").click()
    page.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    assert "Your microphone is working" in page.text_content("[data-device-result]")
    assert not page.is_visible("[data-device-help]")


def test_blocked_camera_and_microphone_on_an_iphone_shows_the_iphone_steps_and_no_audio_offer(
    new_page, clinic_a
):
    page = blocked_patient(
        new_page, clinic_a, allow_audio=False, viewport={"width": 360, "height": 740}, user_agent=IPHONE
    )
    assert page.is_visible("[data-howto='ios']") and not page.is_visible("[data-howto='desktop']")
    assert "Website Settings" in page.text_content("[data-howto='ios']")
    assert "You keep your place in line" in page.text_content("[data-device-result]")
    assert "NotAllowedError" not in page.text_content("body")
    assert no_empty_picker_is_shown(page)
    page.wait_for_timeout(300)
    assert not page.is_visible("[data-audio-only]")
