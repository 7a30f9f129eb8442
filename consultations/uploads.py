"""The consultation room's files over HTTP: uploads and downloads, for the staff and the client.

One module serves both sides because the rules are the same, asked of consultations/access.py
(who may reach the consultation: staff of its clinic by role, the client by their link) and of
consultations/attachments.py (who may add a file now); only how the asker is identified differs.

Uploads answer JSON in the shape of static/waitingroom/lib/http.js ({ok: true, ...} or
{ok: false, error} with a 4xx). An upload view is CSRF-exempt only so that it can install the
attachment upload handler before anything reads the body (Django's CsrfViewMiddleware reads
request.POST, which parses the upload with whichever handlers are set by then); the token is then
checked by csrf_protect on the inner view, as Django's documentation prescribes. Who asks is checked
before the body is parsed, so another clinic's staff and locked rooms cost no parsing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponseBase, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from consultations import access, attachments, files, ranges
from consultations.models import Attachment, Consultation, Sender
from consultations.services import ConsultationRefused
from waitingroom import ratelimit
from waitingroom.audit import services as audit
from waitingroom.tenancy import StaffRequest

NO_FILE = "Choose a file to attach."
SIGNED_OUT = "Your session has ended. Sign in again, then attach the file."
BAD_LINK = "This link no longer opens the consultation. Use the newest link the clinic sent you."


def _refused(error: str, status: int) -> JsonResponse:
    return JsonResponse({"ok": False, "error": error}, status=status)


def _add(
    request: HttpRequest, consultation: Consultation, handler: files.AttachmentUploadHandler, **who: Any
) -> JsonResponse:
    """Parse the body through `handler` and add its file (request.FILES is read here, under
    csrf_protect, after the caller's checks of who asks)."""
    upload = request.FILES.get("file")
    # A refusal stands even with a file in FILES (the first of two, closed by the stop).
    if handler.refusal is not None:
        return _refused(str(handler.refusal), handler.refusal.status)
    if upload is None:
        return _refused(NO_FILE, 400)
    try:
        attachment = attachments.attachment_add(consultation_id=consultation.pk, upload=upload, **who)
    except files.FileRefused as refused:
        return _refused(str(refused), refused.status)
    except ConsultationRefused as refused:
        return _refused(str(refused), 409)
    finally:
        upload.close()
    return JsonResponse(
        {"ok": True, "attachment": {"id": attachment.pk, "label": attachment.label, "kind": attachment.kind}}
    )


def _install_handler(request: HttpRequest) -> files.AttachmentUploadHandler:
    handler = files.AttachmentUploadHandler(request)
    request.upload_handlers = [handler]
    return handler


# --- Staff ---------------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def staff_upload(request: StaffRequest, consultation_id: int) -> HttpResponseBase:
    handler = _install_handler(request)
    if not request.user.is_authenticated:
        return _refused(SIGNED_OUT, 401)
    try:
        viewer = access.staff_viewer(user=request.user, consultation_id=consultation_id)
    except Http404:
        return _refused("No such consultation.", 404)
    try:
        attachments.check_may_post(viewer.consultation, Sender.STAFF)
    except ConsultationRefused as refused:
        return _refused(str(refused), 409)
    return _staff_add(request, viewer.consultation, handler)


@csrf_protect
def _staff_add(
    request: StaffRequest, consultation: Consultation, handler: files.AttachmentUploadHandler
) -> HttpResponseBase:
    return _add(request, consultation, handler, sender=Sender.STAFF, user=request.user)


@require_GET
@login_required
def staff_download(request: StaffRequest, consultation_id: int, attachment_id: int) -> HttpResponseBase:
    viewer = access.staff_viewer(user=request.user, consultation_id=consultation_id)
    attachment = _attachment(viewer.consultation, attachment_id)
    thumbnail = request.GET.get("thumb") == "1"
    response = _serve(request, attachment, thumbnail=thumbnail)
    # One entry per opening of the file: a video's seeks (later ranges within the hour) and the
    # thumbnails of a list whose page was recorded are not new reads of it.
    detail = f"file {attachment.pk}"
    if not thumbnail and (
        ranges.range_starts_at_zero(request, attachment.size)
        or not audit.read_lately(
            user=request.user,
            kind=audit.Kind.CONSULTATION_FILE,
            object_id=viewer.consultation.pk,
            detail=detail,
        )
    ):
        audit.record(
            request=request,
            clinic_id=viewer.consultation.clinic_id,
            action=audit.Action.VIEWED,
            kind=audit.Kind.CONSULTATION_FILE,
            object_id=viewer.consultation.pk,
            patient_label=viewer.consultation.client_name,
            detail=detail,
        )
    return response


# --- Client (by their link) ----------------------------------------------------------------------


@csrf_exempt
@require_POST
def client_upload(request: HttpRequest, token: str) -> HttpResponseBase:
    handler = _install_handler(request)
    consultation = access.client_consultation(token)
    if consultation is None:
        return _refused(BAD_LINK, 404)
    try:
        attachments.check_may_post(consultation, Sender.CLIENT)
        ratelimit.attempt("consultation-client-post", request)
    except ConsultationRefused as refused:
        return _refused(str(refused), 409)
    except ratelimit.RateLimited as limited:
        return _refused(str(limited), 429)
    return _client_add(request, consultation, handler)


@csrf_protect
def _client_add(
    request: HttpRequest, consultation: Consultation, handler: files.AttachmentUploadHandler
) -> HttpResponseBase:
    return _add(request, consultation, handler, sender=Sender.CLIENT, user=None)


@require_GET
def client_download(request: HttpRequest, token: str, attachment_id: int) -> HttpResponseBase:
    consultation = access.client_consultation(token)
    if consultation is None:
        raise Http404("No such consultation")
    attachment = _attachment(consultation, attachment_id)
    return _serve(request, attachment, thumbnail=request.GET.get("thumb") == "1")


# --- Shared --------------------------------------------------------------------------------------


def _attachment(consultation: Consultation, attachment_id: int) -> Attachment:
    attachment = consultation.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such file")
    return attachment


def _serve(request: HttpRequest, attachment: Attachment, *, thumbnail: bool) -> HttpResponseBase:
    file_type = files.BY_MIME[attachment.content_type]
    storage = files.storage()
    if thumbnail:
        if not attachment.thumbnail:
            raise Http404("No thumbnail")
        name = attachment.thumbnail.name
        return ranges.file_response(
            request,
            storage=storage,
            name=name,
            size=storage.size(name),
            content_type=files.JPEG.mime,
            filename=files.download_name(attachment.label, files.JPEG),
            inline=True,
        )
    return ranges.file_response(
        request,
        storage=storage,
        name=attachment.file.name,
        size=attachment.size,
        content_type=file_type.mime,
        filename=files.download_name(attachment.label, file_type),
        inline=file_type.shown_inline,
    )


# --- What the room's pages show ------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentRow:
    """One file in the room's list (fragments/consultations/_attachments.html)."""

    attachment: Attachment
    url: str
    thumb_url: str  # "" when there is no thumbnail (videos, documents)
    is_image: bool
    is_video: bool
    from_client: bool


def attachment_rows(attachments_: list[Attachment], url: Callable[[Attachment], str]) -> list[AttachmentRow]:
    """`url(attachment)` is the download URL for the viewer (staff_file_url or client_file_url)."""
    rows = []
    for attachment in attachments_:
        link = url(attachment)
        rows.append(
            AttachmentRow(
                attachment=attachment,
                url=link,
                thumb_url=f"{link}?thumb=1" if attachment.thumbnail else "",
                is_image=attachment.kind == Attachment.Kind.IMAGE,
                is_video=attachment.kind == Attachment.Kind.VIDEO,
                from_client=attachment.sender == Sender.CLIENT,
            )
        )
    return rows


def staff_file_url(attachment: Attachment) -> str:
    return reverse("consultation_file", args=[attachment.consultation_id, attachment.pk])


def client_file_url(token: str) -> Callable[[Attachment], str]:
    return lambda attachment: reverse("consult_room_file", args=[token, attachment.pk])


def attach_form_context(*, upload_url: str, may_post: bool, refusal: str = "") -> dict[str, Any]:
    """The context of fragments/consultations/_attach_form.html: where to post, whether posting is
    allowed now (else `refusal`, shown instead of the form), and the limits the page checks before
    sending (the server checks them again from the file's content)."""
    return {
        "upload_url": upload_url,
        "may_post": may_post,
        "refusal": refusal,
        "max_bytes": files.largest_allowed(),
        "accept": ",".join(
            sorted({f".{t.extension}" for t in files.ALLOWED.values()} | {".jpeg", ".heif", ".m4v"})
        ),
    }
