"""Serving the room's files: headers that keep a browser from guessing, byte ranges so a video
seeks (206, 416), streaming through the ASGI stack daphne runs, and the 413 guard that refuses an
upload body before Django reads it. Plus the two fragments the room pages include."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import ApplicationCommunicator
from django.test import Client
from django.urls import reverse

from consultations import files, ranges, uploads
from consultations.models import Attachment
from tests.consultations.attachment_files import client_files_url, mp4, pdf, photo, post_file, staff_files_url
from tests.consultations.conftest import make_consultation
from waitingroom.fragments import render_fragment
from waitingroom.web.body_limit import BodySizeLimit

pytestmark = pytest.mark.usefixtures("media")

VIDEO = mp4(10_000)


@pytest.fixture
def video(provider_client, claimed) -> Attachment:
    # Sent with a browser's wrong claim: the served type comes from the content.
    assert (
        post_file(provider_client, staff_files_url(claimed), VIDEO, "knee walk.mp4", "text/html").status_code
        == 200
    )
    return Attachment.objects.get()


def url_of(attachment: Attachment) -> str:
    return f"/consultations/{attachment.consultation_id}/files/{attachment.pk}/"


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# --- Headers ----------------------------------------------------------------------------------------


def test_a_file_is_served_with_its_checked_type_nosniff_and_its_label_as_name(provider_client, video):
    response = provider_client.get(url_of(video))

    assert response.status_code == 200
    assert body(response) == VIDEO
    assert response["Content-Type"] == "video/mp4"  # not the text/html the upload claimed
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'inline; filename="knee walk.mp4"'
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(VIDEO))
    assert "no-store" in response["Cache-Control"]


def test_the_download_name_is_made_safe_and_takes_the_stored_type(client, claimed):
    post_file(client, client_files_url(claimed), pdf(), 'lab "results";\u00e9t\u00e9.PDF', "application/pdf")
    attachment = Attachment.objects.get()

    response = client.get(f"/consult/room/{claimed.client_token}/files/{attachment.pk}/")

    assert attachment.label == 'lab "results";\u00e9t\u00e9.PDF'
    assert response["Content-Disposition"] == "inline; filename*=utf-8''lab%20results%C3%A9t%C3%A9.pdf"
    assert response["Content-Type"] == "application/pdf"


# --- Ranges ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-", 100, len(VIDEO) - 1),
        ("bytes=-16", len(VIDEO) - 16, len(VIDEO) - 1),
        ("bytes=9990-99999", 9990, len(VIDEO) - 1),  # an end past the file is the file's end
        ("bytes=-999999", 0, len(VIDEO) - 1),
    ],
)
def test_a_range_request_gets_206_with_those_bytes_and_content_range(
    provider_client, video, header, first, last
):
    response = provider_client.get(url_of(video), headers={"Range": header})

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{video.size}"
    assert response["Content-Length"] == str(last - first + 1)
    assert body(response) == VIDEO[first : last + 1]


@pytest.mark.parametrize(
    "header", [f"bytes={len(VIDEO)}-", f"bytes={len(VIDEO) + 5}-{len(VIDEO) + 9}", "bytes=-0"]
)
def test_a_range_past_the_end_gets_416_with_the_size(client, claimed, video, header):
    response = client.get(
        f"/consult/room/{claimed.client_token}/files/{video.pk}/", headers={"Range": header}
    )

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(VIDEO)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=9-2", "bytes=x-y", "bytes=-"])
def test_a_range_the_server_does_not_serve_gets_the_whole_file(provider_client, video, header):
    response = provider_client.get(url_of(video), headers={"Range": header})

    assert response.status_code == 200
    assert body(response) == VIDEO


HUGE = "9" * 5000  # past int()'s 4300-digit limit, and within a 16 KiB header line


@pytest.mark.parametrize(
    "header, status, start",
    [
        (f"bytes={HUGE}-", 416, None),
        (f"bytes=0-{HUGE}", 206, 0),
        (f"bytes=-{HUGE}", 206, 0),
        (f"bytes=2-{HUGE}", 206, 2),
    ],
)
def test_a_range_with_positions_of_thousands_of_digits_is_answered_not_a_500(
    provider_client, video, header, status, start
):
    provider_client.raise_request_exception = False
    response = provider_client.get(url_of(video), headers={"Range": header})

    assert response.status_code == status
    if start is not None:
        assert body(response) == VIDEO[start:]
        assert response["Content-Range"] == f"bytes {start}-{len(VIDEO) - 1}/{len(VIDEO)}"


def test_parse_range_reads_the_three_forms():
    assert ranges.parse_range("bytes=2-4", 10) == (2, 4)
    assert ranges.parse_range("bytes=2-", 10) == (2, 9)
    assert ranges.parse_range("bytes=-3", 10) == (7, 9)
    assert ranges.parse_range(None, 10) is None
    with pytest.raises(ranges.Unsatisfiable):
        ranges.parse_range("bytes=10-", 10)


def test_a_thumbnail_is_served_as_jpeg_and_a_video_has_none(provider_client, claimed, video):
    assert provider_client.get(url_of(video) + "?thumb=1").status_code == 404
    post_file(provider_client, staff_files_url(claimed), photo(), "a.jpg")
    image = Attachment.objects.get(kind="image")

    response = provider_client.get(url_of(image) + "?thumb=1")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert body(response)[:2] == b"\xff\xd8"


# --- Through the ASGI stack --------------------------------------------------------------------------


def asgi(
    method: str, path: str, *, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None
) -> dict:
    """One request through the project's ASGI application, as daphne hands it over; the answer's
    status, headers and body (read as daphne does: a streaming answer ends with an empty message)."""
    from waitingroom.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def run() -> dict:
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "http.request", "body": body})
        start = await communicator.receive_output(timeout=10)
        content = b""
        while True:
            message = await communicator.receive_output(timeout=10)
            content += message.get("body", b"")
            if not message.get("more_body"):
                break
        await communicator.wait(timeout=10)
        return {"status": start["status"], "headers": dict(start["headers"]), "body": content}

    return async_to_sync(run)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("error:StreamingHttpResponse must consume")
def test_a_video_range_streams_through_daphnes_asgi_stack(clinic_a, phone_service, provider, media):
    consultation = make_consultation(clinic_a, phone_service, expert=provider)
    post_file(Client(), client_files_url(consultation), VIDEO, "v.mp4", "video/mp4")
    attachment = Attachment.objects.get()
    path = f"/consult/room/{consultation.client_token}/files/{attachment.pk}/"

    response = asgi("GET", path, headers=[(b"range", b"bytes=100-199")])

    assert response["status"] == 206
    assert response["headers"][b"Content-Range"] == f"bytes 100-199/{len(VIDEO)}".encode()
    assert response["body"] == VIDEO[100:200]


@pytest.mark.django_db(transaction=True)
def test_an_upload_body_over_the_largest_limit_is_refused_with_413_before_django_reads_it(
    clinic_a, phone_service, provider, media, settings
):
    consultation = make_consultation(clinic_a, phone_service, expert=provider)
    declared = files.largest_allowed() + 2 * 1024 * 1024

    response = asgi(
        "POST",
        client_files_url(consultation),
        headers=[
            (b"content-length", str(declared).encode()),
            (b"content-type", b"multipart/form-data; boundary=x"),
        ],
    )

    assert response["status"] == 413
    assert json.loads(response["body"]) == {
        "ok": False,
        "error": "This file is too large: files can be up to 200 MB.",
    }
    assert Attachment.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_upload_within_the_limit_passes_the_guard_and_is_stored(clinic_a, phone_service, provider, media):
    consultation = make_consultation(clinic_a, phone_service, expert=provider)
    token = "a" * 32  # a CSRF secret: the cookie and the header carry the same one
    boundary = b"BOUNDARY42"
    payload = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="lab.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" + pdf() + b"\r\n--" + boundary + b"--\r\n"
    )

    response = asgi(
        "POST",
        client_files_url(consultation),
        body=payload,
        headers=[
            (b"content-type", b"multipart/form-data; boundary=" + boundary),
            (b"content-length", str(len(payload)).encode()),
            (b"cookie", b"csrftoken=" + token.encode()),
            (b"x-csrftoken", token.encode()),
        ],
    )

    assert response["status"] == 200, response["body"]
    assert Attachment.objects.get().label == "lab.pdf"


def test_a_body_sent_without_a_length_is_cut_off_at_the_limit():
    reached: list[bytes] = []

    async def app(scope, receive, send):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # what Django's read_body() does: RequestAborted, no answer
            reached.append(message["body"])
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"stored"})

    guard = BodySizeLimit(app, limits=[(r"^/up/$", 1000, "Too large.")])

    async def run() -> list[dict]:
        scope = {"type": "http", "method": "POST", "path": "/up/", "headers": []}
        communicator = ApplicationCommunicator(guard, scope)
        for _ in range(5):
            await communicator.send_input({"type": "http.request", "body": b"x" * 400, "more_body": True})
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        return [await communicator.receive_output(timeout=5), await communicator.receive_output(timeout=5)]

    start, answer = async_to_sync(run)()

    assert start["status"] == 413
    assert json.loads(answer["body"]) == {"ok": False, "error": "Too large."}
    assert sum(map(len, reached)) == 800  # the chunk that passed the limit never reached the app


def test_the_guard_leaves_other_paths_alone():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard = BodySizeLimit(app, limits=[(r"^/up/$", 10, "Too large.")])

    async def run() -> dict:
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/other/",
            "headers": [(b"content-length", b"99999")],
        }
        communicator = ApplicationCommunicator(guard, scope)
        await communicator.send_input({"type": "http.request", "body": b""})
        return await communicator.receive_output(timeout=5)

    assert async_to_sync(run)()["status"] == 204


# --- The fragments the room pages include ------------------------------------------------------------


def test_the_attachment_list_shows_each_file_with_the_viewers_links(provider_client, claimed, video):
    post_file(provider_client, staff_files_url(claimed), photo(), "<i>rash.jpg")

    # The room's attachments part, as a push's re-fetch reads it.
    html = provider_client.get(
        reverse("consultation_part", args=[claimed.pk, "attachments"])
    ).content.decode()

    image = Attachment.objects.get(kind="image")
    assert f'href="{url_of(image)}"' in html and f'src="{url_of(image)}?thumb=1"' in html
    assert f'<video controls preload="none" src="{url_of(video)}"' in html
    assert "&lt;i&gt;rash.jpg" in html and "<i>" not in html
    client_rows = uploads.attachment_rows([image], uploads.client_file_url(claimed.client_token))
    assert client_rows[0].url == reverse("consult_room_file", args=[claimed.client_token, image.pk])


def test_the_attach_form_shows_the_form_or_the_reason_it_is_closed():
    open_form = render_fragment(
        "consultations/_attach_form.html",
        uploads.attach_form_context(upload_url="/consultations/1/files/", may_post=True),
    )
    closed = render_fragment(
        "consultations/_attach_form.html",
        uploads.attach_form_context(
            upload_url="/x/", may_post=False, refusal="The clinic has locked this room."
        ),
    )

    assert 'action="/consultations/1/files/"' in open_form and "data-attach " in open_form
    assert (
        'enctype="multipart/form-data"' in open_form and f'data-max-bytes="{200 * 1024 * 1024}"' in open_form
    )
    assert "<form" not in closed and "The clinic has locked this room." in closed
