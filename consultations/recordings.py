"""A consultation's call recordings in its room: the list (fragments/consultations/_recordings.html,
the room's `recordings` part) and the audio itself, for staff and for the client.

- The bridge (waitingroom/voice/recordings.py) fetches, stores and purges them; a recording
  belongs to a consultation through its call's subject, "consultation:<id>".
- Who hears them (consultations/access.py): the clinic's providers and admins; never CSRs (the
  part and the audio are 404 for them, as for another clinic's staff); the client only when the
  clinic lets clients listen (ConsultationProfile.clients_may_listen).
- The audio is served like the room's files (consultations/ranges.py): byte ranges so the player
  seeks, audio/mpeg with nosniff, a Content-Disposition name. Each staff listen or download (a
  read from the first byte, or any read with no entry of the same user in the past hour; later
  ranges within it are the same listen's seeks) goes to the access trail.
- The clinic's retention (ConsultationProfile.recording_retention_days) reaches the bridge
  through settings.VOICE_RECORDING_RETENTION = retention_days.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponseBase
from django.urls import reverse
from django.views.decorators.http import require_GET
from markupsafe import Markup

from consultations import access, ranges
from consultations.access import StaffViewer
from consultations.models import Consultation, ConsultationProfile
from waitingroom.audit import services as audit
from waitingroom.fragments import render_fragment
from waitingroom.tenancy import StaffRequest
from waitingroom.voice.models import Recording

AUDIO_MPEG = "audio/mpeg"


def subject(consultation: Consultation) -> str:
    return f"consultation:{consultation.pk}"


def retention_days(clinic_id: int) -> int | None:
    """settings.VOICE_RECORDING_RETENTION: the clinic's days to keep recordings (None: keep)."""
    return (
        ConsultationProfile.objects.filter(clinic_id=clinic_id)
        .values_list("recording_retention_days", flat=True)
        .first()
    )


# --- Selectors -----------------------------------------------------------------------------------


def recordings_of(consultation: Consultation) -> list[Recording]:
    """Every recording of the consultation's calls, oldest first (one query)."""
    return list(
        Recording.objects.filter(call__subject=subject(consultation), call__clinic_id=consultation.clinic_id)
        .select_related("call")
        .order_by("created_at", "id")
    )


def stored_recording(consultation: Consultation, recording_id: int) -> Recording:
    """A stored recording of this consultation's calls, else Http404 (another's, pending, failed,
    deleted after retention)."""
    recording = (
        Recording.objects.filter(
            pk=recording_id,
            status=Recording.Status.STORED,
            call__subject=subject(consultation),
            call__clinic_id=consultation.clinic_id,
        )
        .exclude(file="")
        .first()
    )
    if recording is None:
        raise Http404("No such recording")
    return recording


# --- The room's list -----------------------------------------------------------------------------


def duration_label(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds // 60}:{seconds % 60:02d}"


@dataclass(frozen=True)
class RecordingRow:
    recording: Recording
    url: str  # "" unless stored
    download_url: str
    duration: str  # m:ss, "" when Twilio did not say
    is_stored: bool
    is_pending: bool
    is_failed: bool
    is_deleted: bool


def rows(recordings: list[Recording], url: str) -> list[RecordingRow]:
    """`url` is the viewer's audio URL with "0" in place of the recording's id."""
    out = []
    for recording in recordings:
        stored = recording.status == Recording.Status.STORED
        link = url.replace("/0/", f"/{recording.pk}/") if stored else ""
        out.append(
            RecordingRow(
                recording=recording,
                url=link,
                download_url=f"{link}?download=1" if link else "",
                duration=duration_label(recording.duration_seconds),
                is_stored=stored,
                is_pending=recording.status == Recording.Status.PENDING,
                is_failed=recording.status == Recording.Status.FAILED,
                is_deleted=recording.status == Recording.Status.DELETED,
            )
        )
    return out


def _render(consultation: Consultation, *, part_url: str, audio_url: str, request: HttpRequest) -> Markup:
    return render_fragment(
        "consultations/_recordings.html",
        {
            "part_url": part_url,
            "rows": rows(recordings_of(consultation), audio_url),
            "tz": consultation.clinic.time_zone,
        },
        request=request,
    )


def staff_part(viewer: StaffViewer, request: HttpRequest) -> Markup:
    if not viewer.hears_recordings:
        raise Http404("No such part")
    consultation = viewer.consultation
    return _render(
        consultation,
        part_url=reverse("consultation_part", args=[consultation.pk, "recordings"]),
        audio_url=reverse("consultation_recording", args=[consultation.pk, 0]),
        request=request,
    )


def client_part(consultation: Consultation, token: str, request: HttpRequest) -> Markup:
    if not access.client_may_listen(consultation):
        raise Http404("No such part")
    return _render(
        consultation,
        part_url=reverse("consultation_client_part", args=[token, "recordings"]),
        audio_url=reverse("consult_room_recording", args=[token, 0]),
        request=request,
    )


# --- The audio -----------------------------------------------------------------------------------


def _serve(request: HttpRequest, recording: Recording) -> HttpResponseBase:
    from django.core.files.storage import storages

    download = request.GET.get("download") == "1"
    return ranges.file_response(
        request,
        storage=storages["default"],
        name=recording.file.name,
        size=recording.size or 0,
        content_type=AUDIO_MPEG,
        filename=f"call-recording-{recording.created_at:%Y-%m-%d}-{recording.pk}.mp3",
        inline=not download,
    )


@require_GET
@login_required
def staff_audio(request: StaffRequest, consultation_id: int, recording_id: int) -> HttpResponseBase:
    viewer = access.staff_viewer(user=request.user, consultation_id=consultation_id)
    if not viewer.hears_recordings:
        raise Http404("No such recording")
    recording = stored_recording(viewer.consultation, recording_id)
    response = _serve(request, recording)
    detail = f"recording {recording.pk}" + (" download" if request.GET.get("download") == "1" else "")
    if ranges.range_starts_at_zero(request, recording.size or 0) or not audit.read_lately(
        user=request.user, kind=audit.Kind.CALL_RECORDING, object_id=viewer.consultation.pk, detail=detail
    ):
        audit.record(
            request=request,
            clinic_id=viewer.consultation.clinic_id,
            action=audit.Action.VIEWED,
            kind=audit.Kind.CALL_RECORDING,
            object_id=viewer.consultation.pk,
            patient_label=viewer.consultation.client_name,
            detail=detail,
        )
    return response


@require_GET
def client_audio(request: HttpRequest, token: str, recording_id: int) -> HttpResponseBase:
    consultation = access.client_consultation(token)
    if consultation is None or not access.client_may_listen(consultation):
        raise Http404("No such recording")
    return _serve(request, stored_recording(consultation, recording_id))
