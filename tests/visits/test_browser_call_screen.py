"""The call as a call screen (a patient's phone, a provider's desk) and keyboard focus on the
dashboard: the call panel takes focus, live card updates keep it, a skip link leads to the
patients, and every control shows where focus is.

Screenshots of both call screens go to tests/artefacts/ (ignored by git); with
WRITE_SCREENSHOTS=1 the README's two screens under docs/screens/ are written again too."""

import os
from pathlib import Path

import pytest

from tests.support.live import LIVE_MS, check_in, login, off_loop
from tests.visits.conftest import arrive, ready
from visits import chat
from visits.models import Visit

pytestmark = pytest.mark.browser
CONNECT = 20_000  # ms: ICE over the machine's own address
PHONE = {"width": 360, "height": 740}
DESK = {"width": 1366, "height": 768}
ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "tests" / "artefacts"

REMOTE_VIDEO_DECODES = """() => { const v = document.querySelector('[data-remote-videos] video');
  return !!v && v.videoWidth > 0 && v.videoHeight > 0; }"""
BOX = "(el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"


def box(page, selector):
    return page.eval_on_selector(selector, BOX)


def in_view(page, selector):
    left, top, right, bottom = box(page, selector)
    view = page.viewport_size
    return (
        page.is_visible(selector)
        and left >= 0
        and top >= 0
        and right <= view["width"]
        and bottom <= view["height"]
    )


def save(page, name, readme_name):
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / name))
    print(f"screenshot: {ARTEFACTS / name}")
    if os.environ.get("WRITE_SCREENSHOTS") == "1":
        page.screenshot(path=str(ROOT / "docs" / "screens" / readme_name))


def open_dashboard(new_page):
    page = new_page(viewport=DESK)
    login(page, username="paula", password="pw-for-tests-1")
    page.wait_for_selector("body[data-socket='open']")
    return page


def test_a_call_fills_the_phone_and_the_staff_panel_keeps_its_buttons_in_view(new_page, provider, clinic_a):
    for name in ["Bea Waiting", "Cal Waiting"]:
        ready(clinic_a, name)  # others in the queue, for a dashboard that looks like a working day
    dashboard = open_dashboard(new_page)
    patient = new_page(viewport=PHONE)
    check_in(patient, clinic_a, "Ann Patient")
    patient.wait_for_selector("[data-patient-status='waiting']")
    patient.wait_for_function("() => document.querySelector('[data-preview]').videoWidth > 0")
    visit = Visit.objects.get(patient_name="Ann Patient")
    card = f"[data-visit='{visit.id}']"
    dashboard.wait_for_selector(f"{card}[data-status='waiting']", timeout=LIVE_MS)

    # Call, from the keyboard: focus lands in the call panel.
    dashboard.focus(f"{card} form[data-action='call'] button")
    dashboard.keyboard.press("Enter")
    dashboard.wait_for_selector("[data-staff-call] [data-call]:not([hidden])")
    dashboard.wait_for_function("() => !!document.activeElement.closest('[data-staff-call]')")
    patient.wait_for_selector("body.in-call [data-call]:not([hidden])", timeout=LIVE_MS)
    patient.wait_for_function(REMOTE_VIDEO_DECODES, timeout=CONNECT)
    dashboard.wait_for_function(REMOTE_VIDEO_DECODES, timeout=CONNECT)
    patient.wait_for_function("() => document.querySelector('[data-self-view]').videoWidth > 0")

    # The patient's phone: the provider's video covers the screen, the self view is small, the
    # buttons are on screen, names are on the videos, and the wait screen is gone.
    left, top, right, bottom = box(patient, "[data-remote-videos] video")
    assert left <= 0 and top <= 0 and right >= PHONE["width"] and bottom >= PHONE["height"]
    assert (
        patient.eval_on_selector("[data-remote-videos] video", "v => getComputedStyle(v).objectFit")
        == "cover"
    )
    s_left, s_top, s_right, s_bottom = box(patient, "[data-self-view]")
    assert (s_right - s_left) * (s_bottom - s_top) < 0.1 * PHONE["width"] * PHONE["height"]
    for control in ["[data-toggle-mic]", "[data-toggle-camera]", "[data-hangup]"]:
        assert in_view(patient, control), control
    assert patient.inner_text("[data-remote-videos] figcaption") == "Paula Provider"
    assert patient.is_visible("[data-call] .self-view figcaption")
    for part in [
        "[data-device-check]",
        "[data-camera]",
        "[data-chat]",
        "[data-leave-form]",
        "[data-status-panel]",
    ]:
        assert not patient.is_visible(part), part
    patient.wait_for_function(
        "() => document.querySelector('[data-quality]').textContent !== '—'", timeout=5000
    )
    save(patient, "patient-call-360x740.png", "patient-call-phone.png")

    # The provider's desk: the call panel's buttons are in view without scrolling.
    for control in ["[data-toggle-mic]", "[data-call-leave]", "[data-call-end]"]:
        assert in_view(dashboard, f"[data-staff-call] {control}"), control
    assert dashboard.inner_text("[data-staff-call] [data-remote-videos] figcaption") == "Ann Patient"
    dashboard.evaluate("() => { document.activeElement.blur(); window.scrollTo(0, 0); }")
    save(dashboard, "dashboard-call-1366x768.png", "dashboard.png")

    # Hanging up from the call screen leaves the call (and asks first, as Leave does); the
    # provider's focus, in the panel that closes, goes back to the patients and not to <body>.
    dashboard.focus("[data-call-leave]")
    patient.on("dialog", lambda d: d.accept())
    patient.click("[data-hangup]")
    dashboard.wait_for_selector("[data-staff-call]", state="detached", timeout=LIVE_MS)
    patient.wait_for_selector("body:not(.in-call)", timeout=LIVE_MS)
    assert dashboard.evaluate("() => !!document.activeElement.closest('#waiting-patients')")


def test_a_live_card_update_keeps_the_focused_button_focused(new_page, provider, clinic_a):
    first = ready(clinic_a, "Ann Patient")
    dashboard = open_dashboard(new_page)
    button = f"[data-visit='{first.id}'] form[data-action='call'] button"
    dashboard.focus(button)

    # Another patient arrives; then the focused card itself changes (it gets an unread message).
    off_loop(arrive, clinic_a, "Bob Later")
    dashboard.wait_for_selector(".cards > [data-visit] >> text=Bob Later", state="attached", timeout=LIVE_MS)
    assert dashboard.evaluate(f'() => document.activeElement === document.querySelector("{button}")')
    off_loop(chat.chat_post, visit_id=first.id, body="Are you there?")
    dashboard.wait_for_selector(f"[data-visit='{first.id}'] [data-unread]", timeout=LIVE_MS)
    assert dashboard.evaluate(f'() => document.activeElement === document.querySelector("{button}")')


SWAP_FEWER_CONTROLS = """async () => {
  const src = document.querySelector("script[src*='visits/dashboard']").src;
  const {swapOuter} = await import(new URL("../waitingroom/lib/swap.js", src));
  const host = document.createElement("div");
  host.innerHTML = '<article id="c"><button>A</button><button>B</button><button>C</button></article>';
  document.body.append(host);
  host.querySelectorAll("button")[2].focus();
  swapOuter(host.firstElementChild, '<article id="c"><button>A</button><button>B</button></article>');
  return document.activeElement.textContent;
}"""


def test_a_card_re_rendered_with_fewer_buttons_keeps_focus_on_the_nearest(new_page, provider, clinic_a):
    dashboard = open_dashboard(new_page)
    # The focused third button is gone from the fresh card: focus goes to the second, not <body>.
    assert dashboard.evaluate(SWAP_FEWER_CONTROLS) == "B"


def test_the_skip_link_comes_first_and_leads_to_the_waiting_patients(new_page, provider, clinic_a):
    ready(clinic_a, "Ann Patient")
    dashboard = open_dashboard(new_page)
    dashboard.keyboard.press("Tab")
    assert dashboard.evaluate("() => document.activeElement.textContent") == "Skip to waiting patients"
    assert dashboard.is_visible(".skip-link")
    dashboard.keyboard.press("Enter")
    assert dashboard.evaluate("() => document.activeElement.id") == "waiting-patients"
    # The next Tab goes into the patients' list, not back to the top bar.
    dashboard.keyboard.press("Tab")
    assert dashboard.evaluate("() => !!document.activeElement.closest('#waiting-patients')")


def test_controls_show_a_focus_outline_from_the_keyboard(new_page, provider, clinic_a):
    visit = ready(clinic_a, "Ann Patient")
    dashboard = open_dashboard(new_page)
    for selector in [
        "[data-mute]",
        f"[data-visit='{visit.id}'] form[data-action='call'] button",
        "#broadcast",
        ".topbar a",
    ]:
        dashboard.focus(selector)
        dashboard.keyboard.press("Shift+Tab")
        dashboard.keyboard.press("Tab")  # focused from the keyboard: :focus-visible applies
        style = dashboard.evaluate(
            "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; }"
        )
        assert style == ["solid", "3px"], (selector, style)


def test_on_a_phone_the_staff_call_panel_comes_into_view_with_its_buttons(new_page, provider, clinic_a):
    """At 360 px the panel is in the page's flow under the board: Call brings the whole call into
    view, not only its title's line (Mute, Leave call and End visit were below the fold)."""
    for i in range(8):
        ready(clinic_a, f"Queue Patient {i}")  # a long board, so the panel starts below the fold
    patient = ready(clinic_a, "Ann Patient")
    page = new_page(viewport=PHONE)
    login(page, username="paula", password="pw-for-tests-1")
    page.wait_for_selector("body[data-socket='open']")
    page.click(f"[data-visit='{patient.id}'] form[data-action='call'] button")
    page.wait_for_selector("[data-staff-call] [data-call]:not([hidden])", timeout=LIVE_MS)
    page.wait_for_function("() => !!document.activeElement.closest('[data-staff-call]')")
    for control in ["[data-call-title]", "[data-toggle-mic]", "[data-call-leave]", "[data-call-end]"]:
        assert in_view(page, f"[data-staff-call] {control}"), (
            control,
            box(page, f"[data-staff-call] {control}"),
        )
    assert page.evaluate("document.documentElement.scrollWidth") == PHONE["width"]


def test_at_a_desk_call_moves_focus_into_the_call_panel_without_scrolling_the_board(
    new_page, provider, clinic_a
):
    """At 1366 x 768 the call panel is fixed at the side: pressing Call on a card further down the
    board puts focus in the panel and leaves the board where the provider was reading it (it jumped
    about 172 px as focus fell back to the board, then into the panel)."""
    for i in range(8):
        ready(clinic_a, f"Queue Patient {i}")  # a board taller than the screen
    patient = ready(clinic_a, "Ann Patient")
    dashboard = open_dashboard(new_page)
    button = f"[data-visit='{patient.id}'] form[data-action='call'] button"
    # Scrolled down to the last card (Ann's), once the board has been re-fetched and laid out.
    before = dashboard.wait_for_function(
        f"""() => {{ const b = document.querySelector("{button}");
          if (!b) return null; window.scrollTo(0, document.documentElement.scrollHeight);
          return window.scrollY > 0 && b.getBoundingClientRect().bottom <= innerHeight && [window.scrollY]; }}"""
    ).json_value()[0]
    dashboard.focus(button)
    dashboard.keyboard.press("Enter")
    dashboard.wait_for_selector("[data-staff-call] [data-call]:not([hidden])", timeout=LIVE_MS)
    # Read in the page at once: focus in the panel, and where the board is scrolled to.
    after = dashboard.wait_for_function(
        "() => document.activeElement.closest('[data-staff-call]') && [window.scrollY]"
    ).json_value()[0]
    assert after == before, (before, after)
    assert in_view(dashboard, "[data-staff-call] [data-call-title]")


SWAP_WITH_A_CHOSEN_FILE = """async () => {
  const src = document.querySelector("script[src*='visits/dashboard']").src;
  const {swapOuter} = await import(new URL("../waitingroom/lib/swap.js", src));
  const form = '<form id="f"><input type="file" name="file"><input name="note"></form>';
  const host = document.createElement("div");
  host.innerHTML = form;
  document.body.append(host);
  const files = new DataTransfer();
  files.items.add(new File(["x"], "scan.pdf", {type: "application/pdf"}));
  host.querySelector("[name=file]").files = files.files;
  host.querySelector("[name=note]").value = "typed";
  try {
    swapOuter(host.firstElementChild, form);
  } catch (error) {
    return error.name;
  }
  return host.querySelector("[name=note]").value;
}"""


def test_a_swap_with_a_file_chosen_keeps_what_was_typed_and_does_not_throw(new_page, provider, clinic_a):
    """A file input's value ("C:\\fakepath\\scan.pdf") was put back like a typed one, which a browser
    refuses (InvalidStateError): the swap threw half done (the consultation room's attachments
    part, after "This file is too large" kept the chosen file), and what came after it was lost."""
    dashboard = open_dashboard(new_page)
    assert dashboard.evaluate(SWAP_WITH_A_CHOSEN_FILE) == "typed"
