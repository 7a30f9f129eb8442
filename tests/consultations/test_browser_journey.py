"""Issue 16's journey in Chromium, end to end: a client books a phone consultation for any expert
on the booking page (an open slot, the SMS code, a phone photo attached), the photo reaches the new
room with a progress bar, an expert claims the consultation from the dashboard's Upcoming
Appointments, both exchange messages and PDFs live, the expert's note reaches the client, and
locking the room closes the client's message box and attach form.

Plus the room's upload edge cases in a real browser: Cancel mid-way stores nothing, and a
program named like a photo is refused in plain words under the form."""

from __future__ import annotations

import io
import os

import pytest
from PIL import ExifTags, Image

from consultations import files
from consultations.lifecycle import Status
from consultations.models import Attachment, BookingQuestion, Consultation, ConsultationProfile
from tests.consultations.attachment_files import elf, mp4, pdf, photo, stored_files
from tests.consultations.booking_support import last_code
from tests.consultations.conftest import make_consultation
from tests.scheduling.conftest import weekday_hours
from tests.support.live import LIVE_MS, off_loop, open_dashboard
from waitingroom.outbox import sms_backends

pytestmark = pytest.mark.browser

THUMB_LOADED = """(selector) => {
  const img = document.querySelector(selector);
  return Boolean(img && img.complete && img.naturalWidth > 0);
}"""
# The attach form's percentage once some (not all) of the file has gone.
PART_WAY = """() => {
  const text = document.querySelector("[data-part='attachments'] [data-attach-percent]")?.textContent || "";
  const percent = parseInt(text, 10);
  return percent > 0 && percent < 100;
}"""


def shot(page, name: str) -> None:
    """SCREENSHOT_DIR=... keeps pictures of the pages for a person to look at."""
    if os.environ.get("SCREENSHOT_DIR"):
        os.makedirs(os.environ["SCREENSHOT_DIR"], exist_ok=True)
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], f"{name}.png"), full_page=True)


class Uplink:
    """This page's upload speed, through the DevTools protocol: a slow mobile uplink lets a
    progress bar (and a Cancel) be seen mid-way on a local server."""

    def __init__(self, page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")

    def limit(self, bytes_per_second: int | None) -> None:
        """None: back to full speed."""
        conditions = {"offline": False, "latency": 0, "downloadThroughput": -1}
        self.cdp.send(
            "Network.emulateNetworkConditions", {**conditions, "uploadThroughput": bytes_per_second or -1}
        )


def file_payload(name: str, content: bytes, mime: str) -> dict:
    return {"name": name, "mimeType": mime, "buffer": content}


@pytest.fixture
def consult_clinic(clinic_a, provider, phone_service, media):
    """Clinic A in calendar mode (the default) with Paula's hours every day, a phone service, a
    voice number and three booking questions; consultation files stored in the test's folder."""
    weekday_hours(clinic_a, provider)
    ConsultationProfile.objects.create(clinic=clinic_a, voice_number="+15551230000")
    for position, (key, label) in enumerate(
        [("pet_name", "Pet's name"), ("species", "Species"), ("problem", "What is the problem?")]
    ):
        BookingQuestion.objects.create(
            clinic=clinic_a, key=key, label=label, required=True, position=position
        )
    sms_backends.outbox.clear()
    return clinic_a


def book_with_photo(client, clinic, picture: bytes) -> None:
    """The client's side of the booking page, up to their room."""
    client.goto(f"/c/{clinic.slug}/consult/")
    with client.expect_navigation():
        client.select_option("select[name=expert]", label="Any expert")
    assert client.input_value("select[name=expert]") == ""
    slot = client.locator("input[name=when]:not([value=asap])").first
    slot.check()
    client.fill("input[name=q_pet_name]", "Rex")
    client.fill("input[name=q_species]", "Dog")
    client.fill("input[name=q_problem]", "Limping since Sunday")
    client.fill("input[name=name]", "Casey Client")
    client.fill("input[name=email]", "casey@example.com")
    client.fill("input[name=phone]", "(202) 555-0143")
    client.click("[data-send-code]")
    client.wait_for_selector("[data-code-row]:not([hidden])")
    client.fill("[data-code]", last_code())
    client.click("[data-verify-code]")
    client.wait_for_selector("[data-phone-status] >> text=Number verified")
    client.set_input_files("#booking-files", file_payload("rex-paw.jpg", picture, "image/jpeg"))
    shot(client, "journey_1_booking_form")

    # A slow uplink: the photo's progress is seen on the booking page before the room opens.
    uplink = Uplink(client)
    uplink.limit(200_000)
    client.click("[data-book]")
    client.wait_for_selector("[data-upload-progress]:not([hidden])")
    assert "rex-paw.jpg:" in client.inner_text("[data-upload-percent]")
    assert "Your consultation is booked." in client.inner_text("[data-upload-booked]")
    assert client.is_hidden("[data-book]")  # no second booking
    shot(client, "journey_2_booking_upload")
    client.wait_for_url("**/consult/room/**", timeout=15_000)
    uplink.limit(None)
    client.wait_for_selector("body[data-socket='open']")


def test_booked_with_a_photo_claimed_from_the_dashboard_then_messages_files_note_and_lock_live(
    new_page, consult_clinic, provider
):
    picture = photo((600, 600), noise=True)
    assert Image.open(io.BytesIO(picture)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the phone's GPS
    client = new_page()
    book_with_photo(client, consult_clinic, picture)
    consultation = Consultation.objects.get()
    client_photo = "[data-part='attachments'] [data-attachments] >> text=rex-paw.jpg"
    client.wait_for_selector(client_photo)
    assert "An expert of the clinic will take your consultation" in client.inner_text("[data-part='status']")

    # The expert: the dashboard's Upcoming Appointments lists it as Available; Claim, then View.
    expert = new_page()
    open_dashboard(expert)
    available_row = f"[data-panel='consultations'] [data-available] [data-consultation='{consultation.pk}']"
    expert.wait_for_selector(available_row)
    assert "Casey Client" in expert.inner_text(available_row)
    shot(expert, "journey_3_dashboard_available")
    expert.click(f"{available_row} [data-action='claim']")
    claimed_row = f"[data-panel='consultations'] [data-claimed] [data-consultation='{consultation.pk}']"
    expert.wait_for_selector(claimed_row, timeout=LIVE_MS)
    expert.wait_for_selector("[data-panel='consultations'] [data-no-available]", timeout=LIVE_MS)
    shot(expert, "journey_4_dashboard_claimed")
    expert.click(f"{claimed_row} [data-view]")
    expert.wait_for_selector("body[data-socket='open']")
    client.wait_for_selector("[data-part='status'] [data-expert] >> text=Paula Provider", timeout=LIVE_MS)

    # The client's photo is in the expert's room, its thumbnail served and decoded.
    thumb = "[data-part='attachments'] [data-attachment] img.attachment-thumb"
    expert.wait_for_selector("[data-part='attachments'] >> text=rex-paw.jpg")
    expert.wait_for_function(THUMB_LOADED, arg=thumb)
    client.wait_for_function(THUMB_LOADED, arg=thumb)

    # Messages, live both ways.
    client.fill("[data-message-form] textarea", "Rex is limping on his front left paw.")
    client.click("[data-message-form] button[type=submit]")
    expert.wait_for_selector("[data-message-log] >> text=front left paw", timeout=LIVE_MS)
    expert.fill("[data-message-form] textarea", "Thanks. Is the paw swollen or warm?")
    expert.click("[data-message-form] button[type=submit]")
    client.wait_for_selector("[data-message-log] >> text=swollen or warm", timeout=LIVE_MS)

    # PDFs, live both ways.
    expert.set_input_files(
        "[data-part='attachments'] [data-attach-input]",
        file_payload("care-sheet.pdf", pdf(), "application/pdf"),
    )
    expert.wait_for_selector("[data-part='attachments'] [data-attachments] >> text=care-sheet.pdf")
    # The re-fetched list keeps the form's confirmation.
    expert.wait_for_selector("[data-attach-done] >> text=care-sheet.pdf was added.")
    client.wait_for_selector("[data-part='attachments'] >> text=care-sheet.pdf", timeout=LIVE_MS)
    client.set_input_files(
        "[data-part='attachments'] [data-attach-input]",
        file_payload("vet-bill.pdf", pdf(), "application/pdf"),
    )
    expert.wait_for_selector("[data-part='attachments'] >> text=vet-bill.pdf", timeout=LIVE_MS)
    client.wait_for_selector("[data-attach-done] >> text=vet-bill.pdf was added.")

    # The note reaches the client once saved.
    expert.fill("#note-text", "Likely a sprain. Rest for a week; come in if it is not better by Friday.")
    expert.click("[data-note-form] button[type=submit]")
    client.wait_for_selector("[data-note-body] >> text=Likely a sprain", timeout=LIVE_MS)
    assert client.inner_text("[data-note-meta]").startswith("Written ")
    shot(expert, "journey_5_room_staff")
    shot(client, "journey_6_room_client_open")

    # Locked: the client's message box says so, and the attach form is gone.
    expert.click("[data-action='lock']")
    client.wait_for_selector("[data-closed] >> text=closed for messages", timeout=LIVE_MS)
    client.wait_for_selector("[data-attach-refusal]", timeout=LIVE_MS)
    assert client.locator("form[data-attach]").count() == 0
    assert client.locator("[data-message-form]").count() == 0
    expert.wait_for_selector("[data-action='unlock']", timeout=LIVE_MS)
    shot(client, "journey_7_room_client_locked")

    consultation.refresh_from_db()
    assert consultation.status == Status.CLAIMED and consultation.expert == provider
    assert not consultation.is_open
    assert consultation.answers == {"pet_name": "Rex", "species": "Dog", "problem": "Limping since Sunday"}
    stored = list(consultation.attachments.order_by("id"))
    assert [a.label for a in stored] == ["rex-paw.jpg", "care-sheet.pdf", "vet-bill.pdf"]
    kept = stored[0]
    assert kept.kind == Attachment.Kind.IMAGE
    with files.storage().open(kept.file.name) as handle:
        image = Image.open(io.BytesIO(handle.read()))
        assert image.size == (600, 600)
        assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)


def test_an_upload_cancelled_midway_stores_nothing_and_a_disguised_program_is_refused(
    new_page, clinic_a, provider, phone_service, media, tmp_path
):
    consultation = off_loop(make_consultation, clinic_a, phone_service, expert=provider)
    client = new_page()
    client.goto(f"/consult/room/{consultation.client_token}/")
    client.wait_for_selector("body[data-socket='open']")

    uplink = Uplink(client)
    uplink.limit(1_000_000)
    # From a path: Chromium reads the file itself (a 15 MB buffer would cross Playwright's pipe).
    video = tmp_path / "walk.mp4"
    video.write_bytes(mp4(15 * 1024 * 1024))
    client.set_input_files("[data-part='attachments'] [data-attach-input]", video)
    client.wait_for_function(PART_WAY)
    shot(client, "upload_in_progress")
    client.click("[data-part='attachments'] [data-attach-cancel]")
    client.wait_for_selector("[data-attach-error] >> text=Upload cancelled.")
    assert client.is_hidden("[data-attach-progress]")
    uplink.limit(None)

    client.set_input_files(
        "[data-part='attachments'] [data-attach-input]", file_payload("photo.jpg", elf(), "image/jpeg")
    )
    client.wait_for_selector("[data-attach-error]:not([hidden])")
    assert client.inner_text("[data-attach-error]") == files.NOT_ALLOWED
    shot(client, "upload_refused")
    assert client.locator("[data-attachments-empty]").count() == 1
    assert not consultation.attachments.exists()
    assert stored_files(media) == []


def test_a_file_chosen_while_the_room_is_still_re_fetching_its_list_keeps_its_progress_and_cancel(
    new_page, clinic_a, provider, phone_service, media, tmp_path
):
    """The room re-fetches every part when its socket opens. A file chosen before the attachments
    part's answer arrives must not be swapped out from under its progress bar: the fresh form
    would show no progress and its Cancel would stop nothing."""
    consultation = off_loop(make_consultation, clinic_a, phone_service, expert=provider)
    client = new_page()
    held = []
    client.route("**/part/attachments/", lambda route: held.append(route))
    client.goto(f"/consult/room/{consultation.client_token}/")
    client.wait_for_selector("body[data-socket='open']")
    client.wait_for_function("() => true")  # let the held re-fetch reach the route
    assert len(held) == 1, "the socket's opening re-fetches the attachments part"

    uplink = Uplink(client)
    uplink.limit(1_000_000)
    video = tmp_path / "walk.mp4"
    video.write_bytes(mp4(15 * 1024 * 1024))
    client.set_input_files("[data-part='attachments'] [data-attach-input]", video)
    client.wait_for_function(PART_WAY)

    # The re-fetch's answer arrives mid-upload.
    with client.expect_event("requestfinished", lambda request: "/part/attachments/" in request.url):
        held.pop().continue_()
    client.wait_for_function(PART_WAY)
    assert client.is_visible("[data-part='attachments'] [data-attach-progress]")

    client.click("[data-part='attachments'] [data-attach-cancel]")
    client.wait_for_selector("[data-attach-error] >> text=Upload cancelled.")
    uplink.limit(None)
    assert not consultation.attachments.exists()
    assert stored_files(media) == []
