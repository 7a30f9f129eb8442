"""Attachments in the consultation room: what may be attached (decided from the file's content),
what is kept of it (images re-encoded without EXIF), who may add and read files, and that every
refusal says why and changes nothing (no row, no stored file)."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from PIL import ExifTags, Image

from consultations import attachments, files
from consultations.lifecycle import Status
from consultations.models import Attachment, Consultation, Sender
from tests.conftest import client_for
from tests.consultations.attachment_files import (
    client_files_url,
    elf,
    heic,
    mp4,
    pdf,
    photo,
    png,
    post_file,
    staff_files_url,
    stored_files,
    truncated_jpeg,
    upload_file,
)
from tests.consultations.conftest import make_consultation
from waitingroom.audit.models import AccessEvent
from waitingroom.realtime import groups

pytestmark = pytest.mark.usefixtures("media")


def nothing_changed(consultation: Consultation, media_root) -> bool:
    consultation.refresh_from_db()
    return (
        Attachment.objects.count() == 0
        and stored_files(media_root) == []
        and consultation.unread_by_staff == 0
        and consultation.unread_by_client == 0
    )


def read_back(attachment: Attachment) -> Image.Image:
    with files.storage().open(attachment.file.name, "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
        return image


# --- What is kept of an image -----------------------------------------------------------------------


def test_a_phone_photo_is_stored_without_its_gps_position_and_turned_upright(provider_client, claimed):
    original = photo((40, 20), orientation=6)  # taken sideways: EXIF says "turn 90 degrees"
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture has GPS

    response = post_file(provider_client, staff_files_url(claimed), original, "IMG_0042.jpg")

    assert response.status_code == 200, response.json()
    attachment = Attachment.objects.get()
    stored = read_back(attachment)
    exif = stored.getexif()
    assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert ExifTags.Base.Make not in exif and ExifTags.Base.Orientation not in exif
    assert stored.size == (20, 40)  # the orientation is applied to the pixels instead
    assert (attachment.kind, attachment.content_type, attachment.label) == (
        "image",
        "image/jpeg",
        "IMG_0042.jpg",
    )
    assert attachment.size == files.storage().size(attachment.file.name)


def test_an_image_gets_a_small_jpeg_thumbnail(provider_client, claimed):
    post_file(provider_client, staff_files_url(claimed), photo((1200, 800), noise=True), "big.jpg")

    attachment = Attachment.objects.get()
    with files.storage().open(attachment.thumbnail.name, "rb") as handle:
        thumbnail = Image.open(io.BytesIO(handle.read()))
    assert thumbnail.format == "JPEG"
    assert thumbnail.size == (320, 213)
    assert thumbnail.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}


def test_a_png_stays_a_png_without_its_exif(provider_client, claimed):
    response = post_file(provider_client, staff_files_url(claimed), png(), "scan.png", "image/png")

    assert response.status_code == 200
    stored = read_back(Attachment.objects.get())
    assert stored.format == "PNG" and stored.mode == "RGBA"
    assert "exif" not in stored.info and stored.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}


def test_an_iphone_heic_photo_is_kept_as_a_jpeg_without_gps_and_keeps_its_name_as_label(
    provider_client, claimed
):
    response = post_file(provider_client, staff_files_url(claimed), heic(), "IMG_7.HEIC", "image/heic")

    assert response.status_code == 200, response.json()
    attachment = Attachment.objects.get()
    assert (attachment.content_type, attachment.label) == ("image/jpeg", "IMG_7.HEIC")
    assert attachment.file.name.endswith(".jpg")
    stored = read_back(attachment)
    assert stored.format == "JPEG" and stored.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}


def test_videos_and_pdfs_are_stored_byte_for_byte(client, provider_client, claimed):
    video, document = mp4(), pdf()
    assert (
        post_file(provider_client, staff_files_url(claimed), video, "walk.mp4", "video/mp4").status_code
        == 200
    )
    assert (
        post_file(client, client_files_url(claimed), document, "lab.pdf", "application/pdf").status_code
        == 200
    )

    stored = {a.kind: a for a in Attachment.objects.all()}
    for kind, content, content_type in (
        ("video", video, "video/mp4"),
        ("document", document, "application/pdf"),
    ):
        with files.storage().open(stored[kind].file.name, "rb") as handle:
            assert handle.read() == content
        assert stored[kind].content_type == content_type
        assert stored[kind].thumbnail.name == ""


def test_files_are_stored_under_names_the_server_makes(client, claimed, media):
    response = post_file(client, client_files_url(claimed), photo(), "../../etc/pass\x07wd.jpg")

    assert response.status_code == 200
    attachment = Attachment.objects.get()
    pattern = rf"consultations/{claimed.clinic_id}/{claimed.pk}/[0-9a-f]{{32}}\.jpg"
    assert re.fullmatch(pattern, attachment.file.name)
    assert re.fullmatch(pattern.replace(r"\.jpg", r"-thumb\.jpg"), attachment.thumbnail.name)
    assert attachment.label == "passwd.jpg"  # a label only: no path, no control character
    assert [p.relative_to(media).as_posix() for p in stored_files(media)] == sorted(
        [attachment.file.name, attachment.thumbnail.name]
    )


# --- Refused files: a clear error, nothing changed -----------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "claimed_type"),
    [
        (elf(), "holiday.jpg", "image/jpeg"),  # an executable named and sent as a photo
        (b"MZ\x90\x00" + b"\x00" * 500, "scan.pdf", "application/pdf"),  # a Windows executable
        (b"<html><script>alert(1)</script></html>", "photo.png", "image/png"),
        (b"just some text, not a document\n" * 10, "notes.pdf", "application/pdf"),
        (b"GIF89a" + b"\x00" * 100, "anim.gif", "image/gif"),  # a real type, but not one allowed
    ],
)
def test_a_file_whose_content_is_not_an_allowed_type_is_refused_whatever_its_name(
    provider_client, claimed, media, content, name, claimed_type
):
    response = post_file(provider_client, staff_files_url(claimed), content, name, claimed_type)

    assert response.status_code == 415
    assert response.json() == {"ok": False, "error": files.NOT_ALLOWED}
    assert nothing_changed(claimed, media)


def test_an_empty_file_is_refused(client, claimed, media):
    response = post_file(client, client_files_url(claimed), b"", "empty.jpg")

    assert response.status_code == 400
    assert response.json()["error"] == files.EMPTY
    assert nothing_changed(claimed, media)


def test_a_truncated_image_is_refused(client, claimed, media):
    response = post_file(client, client_files_url(claimed), truncated_jpeg(), "cut.jpg")

    assert response.status_code == 400
    assert response.json()["error"] == files.DAMAGED
    assert nothing_changed(claimed, media)


def test_an_image_with_more_pixels_than_allowed_is_refused_before_it_is_decoded(
    settings, client, claimed, media
):
    settings.CONSULTATION_MAX_IMAGE_PIXELS = 1_000_000
    out = io.BytesIO()
    Image.new("1", (2000, 2000)).save(out, format="PNG")  # 4 megapixels in a few hundred bytes
    assert len(out.getvalue()) < 10_000

    response = post_file(client, client_files_url(claimed), out.getvalue(), "bomb.png", "image/png")

    assert response.status_code == 413
    assert response.json()["error"] == "This image is too large to open: pictures can be up to 1 megapixels."
    assert nothing_changed(claimed, media)


def test_a_decompression_bomb_pillow_refuses_to_open_is_refused(monkeypatch, client, claimed, media):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 2x this raises DecompressionBombError on open
    out = io.BytesIO()
    Image.new("1", (100, 100)).save(out, format="PNG")

    response = post_file(client, client_files_url(claimed), out.getvalue(), "bomb.png", "image/png")

    assert response.status_code == 413
    assert nothing_changed(claimed, media)


def test_each_kind_has_its_own_size_limit(settings, provider_client, claimed, media):
    settings.CONSULTATION_MAX_DOCUMENT_BYTES = 100_000
    settings.CONSULTATION_MAX_IMAGE_BYTES = 100_000
    settings.CONSULTATION_MAX_VIDEO_BYTES = 300_000
    url = staff_files_url(claimed)

    too_big_pdf = post_file(provider_client, url, pdf(padding=150_000), "lab.pdf", "application/pdf")
    too_big_photo = post_file(provider_client, url, photo((1000, 1000), noise=True), "big.jpg")
    video_of_same_size = post_file(provider_client, url, mp4(150_000), "walk.mp4", "video/mp4")

    assert too_big_pdf.status_code == 413
    assert too_big_pdf.json()["error"] == "This file is too large: documents can be up to 0.1 MB."
    assert too_big_photo.status_code == 413
    assert "images can be up to" in too_big_photo.json()["error"]
    assert video_of_same_size.status_code == 200
    assert list(Attachment.objects.values_list("kind", flat=True)) == ["video"]


def test_an_oversized_file_is_refused_before_it_is_all_read(monkeypatch, settings, client, claimed, media):
    settings.CONSULTATION_MAX_DOCUMENT_BYTES = 100_000
    received = []
    original = files.AttachmentUploadHandler.receive_data_chunk

    def counting(self, raw_data, start):
        received.append(len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(files.AttachmentUploadHandler, "receive_data_chunk", counting)
    big = pdf(padding=2_000_000)

    response = post_file(client, client_files_url(claimed), big, "scan.pdf", "application/pdf")

    assert response.status_code == 413
    assert "documents can be up to" in response.json()["error"]
    assert 100_000 < sum(received) < 200_000  # stopped at the first chunk past the limit, of 2 MB
    assert nothing_changed(claimed, media)


def test_one_file_per_upload(provider_client, claimed, media):
    response = provider_client.post(
        staff_files_url(claimed),
        {"file": [upload_file(photo(), "a.jpg"), upload_file(photo(), "b.jpg")]},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == files.ONE_FILE
    assert nothing_changed(claimed, media)


def test_a_post_without_a_file_asks_for_one(provider_client, claimed, media):
    response = provider_client.post(staff_files_url(claimed), {"note": "hello"})

    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": "Choose a file to attach."}
    assert nothing_changed(claimed, media)


def test_a_malformed_multipart_body_is_refused_without_a_server_error(provider_client, claimed, media):
    response = provider_client.generic(
        "POST",
        staff_files_url(claimed),
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n',
        content_type="multipart/form-data; boundary=",
    )

    assert response.status_code == 400
    assert nothing_changed(claimed, media)


def test_uploads_need_the_csrf_token(claimed, provider, media):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(provider)
    browser.get("/accounts/login/")  # sets the CSRF cookie, as every page does
    token = browser.cookies["csrftoken"].value

    refused = browser.post(staff_files_url(claimed), {"file": upload_file(photo(), "a.jpg")})
    assert refused.status_code == 403
    assert nothing_changed(claimed, media)

    accepted = browser.post(
        staff_files_url(claimed), {"file": upload_file(photo(), "a.jpg")}, headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 200


# --- Who may add files, and when ------------------------------------------------------------------


def test_a_locked_room_refuses_the_clients_files_but_not_the_staffs(client, provider_client, claimed, media):
    claimed.is_open = False
    claimed.save(update_fields=["is_open"])

    refused = post_file(client, client_files_url(claimed), photo(), "a.jpg")
    assert refused.status_code == 409
    assert refused.json() == {"ok": False, "error": attachments.LOCKED}
    assert nothing_changed(claimed, media)

    accepted = post_file(provider_client, staff_files_url(claimed), photo(), "a.jpg")
    assert accepted.status_code == 200
    assert Attachment.objects.get().sender == Sender.STAFF


@pytest.mark.parametrize("side", ["client", "staff"])
def test_a_cancelled_consultation_takes_no_files(
    client, provider_client, clinic_a, phone_service, provider, media, side
):
    cancelled = make_consultation(clinic_a, phone_service, expert=provider, status=Status.CANCELLED)
    who, url = (client, client_files_url) if side == "client" else (provider_client, staff_files_url)

    response = post_file(who, url(cancelled), photo(), "a.jpg")

    assert response.status_code == 409
    assert response.json()["error"] == attachments.CANCELLED
    assert nothing_changed(cancelled, media)


def test_another_clinics_staff_get_404_and_change_nothing(outsider_client, claimed, media):
    response = post_file(outsider_client, staff_files_url(claimed), photo(), "a.jpg")

    assert response.status_code == 404
    assert nothing_changed(claimed, media)


def test_a_scheduler_gets_404(scheduler, claimed, media):
    response = post_file(client_for(scheduler), staff_files_url(claimed), photo(), "a.jpg")

    assert response.status_code == 404
    assert nothing_changed(claimed, media)


def test_a_csr_may_attach(csr_client, claimed):
    response = post_file(csr_client, staff_files_url(claimed), pdf(), "referral.pdf", "application/pdf")

    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "attachment": {"id": Attachment.objects.get().pk, "label": "referral.pdf", "kind": "document"},
    }


def test_a_signed_out_upload_says_to_sign_in(client, claimed, media):
    response = post_file(client, staff_files_url(claimed), photo(), "a.jpg")

    assert response.status_code == 401
    assert "Sign in again" in response.json()["error"]
    assert nothing_changed(claimed, media)


def test_a_wrong_or_reissued_client_link_gets_404(client, claimed, media):
    old_link = client_files_url(claimed)
    claimed.access_nonce = "a-new-nonce"
    claimed.save(update_fields=["access_nonce"])

    for url in (old_link, "/consult/room/123-abc/files/", "/consult/room/%00/files/"):
        response = post_file(client, url, photo(), "a.jpg")
        assert response.status_code == 404
    assert nothing_changed(claimed, media)


# --- The other side hears of it -----------------------------------------------------------------


def test_a_clients_file_tells_both_sides_of_the_room_and_the_dashboards(
    client, claimed, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_file(client, client_files_url(claimed), photo(), "a.jpg")

    hint = {"type": "consultation", "version": claimed.version, "parts": ["attachments"]}
    assert published.to(groups.consultation_staff_group(claimed.pk)) == [hint]
    assert published.to(groups.consultation_client_group(claimed.pk)) == [hint]
    assert published.to(groups.clinic_staff_group(claimed.clinic_id)) == [
        {"type": "panel", "panel": "consultations"}
    ]
    claimed.refresh_from_db()
    assert (claimed.unread_by_staff, claimed.unread_by_client, claimed.version) == (1, 0, 0)


def test_a_staff_file_tells_the_room_and_counts_as_unread_for_the_client(
    provider_client, claimed, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_file(provider_client, staff_files_url(claimed), photo(), "a.jpg")

    assert len(published.to(groups.consultation_client_group(claimed.pk))) == 1
    assert published.to(groups.clinic_staff_group(claimed.clinic_id)) == []
    claimed.refresh_from_db()
    assert (claimed.unread_by_staff, claimed.unread_by_client) == (0, 1)


# --- The service: heavy work outside the lock, stored files removed when the row is not written ------


def test_a_room_locked_while_the_file_was_stored_refuses_it_and_removes_the_stored_file(
    monkeypatch, claimed, media
):
    store = files.store

    def store_then_lock(prepared, **where):
        stored = store(prepared, **where)
        Consultation.objects.filter(pk=claimed.pk).update(is_open=False)  # a colleague's lock
        assert stored_files(media)
        return stored

    monkeypatch.setattr(files, "store", store_then_lock)

    with pytest.raises(attachments.ConsultationRefused, match="locked"):
        attachments.attachment_add(
            consultation_id=claimed.pk, upload=upload_file(photo(), "a.jpg"), sender=Sender.CLIENT, user=None
        )
    assert Attachment.objects.count() == 0 and stored_files(media) == []


def test_a_failed_row_write_removes_the_stored_files(monkeypatch, claimed, media):
    def failing_create(**fields):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Attachment.objects, "create", failing_create)

    with pytest.raises(RuntimeError):
        attachments.attachment_add(
            consultation_id=claimed.pk, upload=upload_file(photo(), "a.jpg"), sender=Sender.CLIENT, user=None
        )
    assert stored_files(media) == []


# --- Reading files back: who may ---------------------------------------------------------------------


@pytest.fixture
def stored(provider_client, claimed) -> Attachment:
    assert post_file(provider_client, staff_files_url(claimed), photo(), "knee.jpg").status_code == 200
    return Attachment.objects.get()


def file_url(attachment: Attachment) -> str:
    return f"/consultations/{attachment.consultation_id}/files/{attachment.pk}/"


def client_file_url(consultation: Consultation, attachment: Attachment) -> str:
    return f"/consult/room/{consultation.client_token}/files/{attachment.pk}/"


def test_the_expert_a_csr_and_a_clinic_admin_may_download(provider_client, csr_client, clinic_admin, stored):
    for who in (provider_client, csr_client, client_for(clinic_admin)):
        response = who.get(file_url(stored))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_another_clinics_expert_and_a_scheduler_get_404(outsider_client, scheduler, stored):
    assert outsider_client.get(file_url(stored)).status_code == 404
    assert client_for(scheduler).get(file_url(stored)).status_code == 404
    assert outsider_client.get(file_url(stored) + "?thumb=1").status_code == 404


def test_a_signed_out_download_goes_to_sign_in(client, stored):
    response = client.get(file_url(stored))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_file_is_reached_only_through_its_own_consultation(
    provider_client, clinic_a, phone_service, provider, stored
):
    other = make_consultation(clinic_a, phone_service, expert=provider)
    assert provider_client.get(f"/consultations/{other.pk}/files/{stored.pk}/").status_code == 404
    assert (
        provider_client.get(
            f"/consultations/{stored.consultation_id}/files/99999999999999999999/"
        ).status_code
        == 404
    )


def test_the_clients_link_opens_only_their_own_consultations_files(
    client, claimed, clinic_a, phone_service, provider, stored
):
    theirs = client.get(client_file_url(claimed, stored))
    assert theirs.status_code == 200
    assert client.get(client_file_url(claimed, stored) + "?thumb=1")["Content-Type"] == "image/jpeg"

    someone_else = make_consultation(clinic_a, phone_service, expert=provider, email="eve@example.com")
    assert client.get(client_file_url(someone_else, stored)).status_code == 404
    assert client.get(f"/consult/room/{claimed.pk}-forged/files/{stored.pk}/").status_code == 404


def test_a_staff_download_is_recorded_once_per_opening(provider_client, provider, stored):
    provider_client.get(file_url(stored))
    provider_client.get(file_url(stored), headers={"Range": "bytes=0-"})  # a player's first request
    provider_client.get(file_url(stored), headers={"Range": "bytes=100-"})  # its seek: not an opening
    provider_client.get(file_url(stored) + "?thumb=1")  # shown in a list whose page was recorded

    entries = AccessEvent.objects.filter(kind=AccessEvent.Kind.CONSULTATION_FILE)
    assert [(e.user, e.action, e.object_id, e.detail, e.patient_label) for e in entries] == [
        (provider, "viewed", stored.consultation_id, f"file {stored.pk}", "Casey Client")
    ] * 2


def test_the_clients_downloads_are_not_in_the_staff_access_trail(client, claimed, stored):
    client.get(client_file_url(claimed, stored))
    assert not AccessEvent.objects.exists()


def test_reading_a_file_from_past_its_first_byte_is_still_in_the_access_trail(csr_client, csr, stored):
    # "bytes=1-" is the whole file but one byte: with no opening of it lately, it is a read.
    csr_client.get(file_url(stored), headers={"Range": "bytes=1-"})
    csr_client.get(file_url(stored), headers={"Range": "bytes=100-"})  # now a seek of that read

    entries = AccessEvent.objects.filter(kind=AccessEvent.Kind.CONSULTATION_FILE)
    assert [(e.user, e.detail) for e in entries] == [(csr, f"file {stored.pk}")]
