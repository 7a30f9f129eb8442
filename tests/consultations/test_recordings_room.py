"""The calls' recordings in the consultation room: the list and its states, the audio served with
byte ranges (the player seeks), who may hear it (providers and admins of the clinic; never CSRs or
another clinic; the client only when the clinic allows), and the access trail of staff listens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from consultations.models import ConsultationProfile
from tests.conftest import client_for
from tests.waitingroom.voice.subjects import call_kwargs
from waitingroom.audit.models import AccessEvent
from waitingroom.voice.models import PhoneCall, Recording

pytestmark = pytest.mark.usefixtures("media")

AUDIO = b"ID3\x04\x00\x00" + bytes(range(256)) * 20


@pytest.fixture
def call(claimed, provider):
    return PhoneCall.objects.create(
        **call_kwargs(claimed.clinic, provider)
        | {"subject": f"consultation:{claimed.pk}", "status": "ended"},
        created_at=timezone.now() - timedelta(minutes=30),
    )


def make_recording(
    call, *, sid: str = "RE" + "a" * 32, status=Recording.Status.STORED, **fields
) -> Recording:
    name = ""
    if status == Recording.Status.STORED:
        name = storages["default"].save(f"recordings/{call.clinic_id}/{call.pk}/x.mp3", ContentFile(AUDIO))
    return Recording.objects.create(
        call=call,
        recording_sid=sid,
        status=status,
        file=name,
        size=len(AUDIO) if name else None,
        duration_seconds=fields.pop("duration_seconds", 95),
        created_at=timezone.now() - timedelta(minutes=25),
        **fields,
    )


@pytest.fixture
def recording(call):
    return make_recording(call)


def staff_url(claimed, recording) -> str:
    return f"/consultations/{claimed.pk}/recordings/{recording.pk}/"


def client_url(claimed, recording) -> str:
    return f"/consult/room/{claimed.client_token}/recordings/{recording.pk}/"


def allow_clients(clinic, allowed: bool = True) -> None:
    ConsultationProfile.objects.update_or_create(clinic=clinic, defaults={"clients_may_listen": allowed})


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# --- The list ------------------------------------------------------------------------------------


def test_the_staff_room_lists_recordings_with_a_player_and_their_states(
    provider_client, claimed, call, recording
):
    make_recording(call, sid="RE" + "b" * 32, status=Recording.Status.PENDING, duration_seconds=None)
    make_recording(call, sid="RE" + "c" * 32, status=Recording.Status.FAILED)

    html = provider_client.get(f"/consultations/{claimed.pk}/").content.decode()

    assert 'data-part="recordings"' in html
    assert f'<audio controls preload="none" src="{staff_url(claimed, recording)}"' in html
    assert f'href="{staff_url(claimed, recording)}?download=1"' in html
    assert "1:35" in html
    assert "Being fetched" in html
    assert "Could not be fetched" in html
    part = provider_client.get(f"/consultations/{claimed.pk}/part/recordings/")
    assert part.status_code == 200
    assert staff_url(claimed, recording) in part.content.decode()


def test_another_consultations_recordings_are_not_listed(
    provider_client, claimed, call, clinic_a, phone_service
):
    from tests.consultations.conftest import make_consultation

    other = make_consultation(clinic_a, phone_service, email="other@example.com")
    make_recording(call)
    html = provider_client.get(f"/consultations/{other.pk}/part/recordings/").content.decode()
    assert "<audio" not in html
    assert "No recordings yet" in html


# --- The audio -----------------------------------------------------------------------------------


def test_a_recording_plays_with_ranges_so_the_player_seeks(provider_client, claimed, recording):
    whole = provider_client.get(staff_url(claimed, recording))
    assert whole.status_code == 200
    assert body(whole) == AUDIO
    assert whole["Content-Type"] == "audio/mpeg"
    assert whole["X-Content-Type-Options"] == "nosniff"
    assert whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Disposition"].startswith("inline; filename=")

    seek = provider_client.get(staff_url(claimed, recording), HTTP_RANGE="bytes=100-199")
    assert seek.status_code == 206
    assert seek["Content-Range"] == f"bytes 100-199/{len(AUDIO)}"
    assert body(seek) == AUDIO[100:200]


def test_the_download_link_is_an_attachment(provider_client, claimed, recording):
    response = provider_client.get(staff_url(claimed, recording) + "?download=1")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response["Content-Disposition"].endswith('.mp3"')


def test_each_staff_listen_and_download_is_in_the_access_trail_but_not_seeks(
    provider_client, provider, claimed, recording
):
    body(provider_client.get(staff_url(claimed, recording)))
    body(provider_client.get(staff_url(claimed, recording), HTTP_RANGE="bytes=500-"))  # a seek
    body(provider_client.get(staff_url(claimed, recording) + "?download=1"))

    entries = list(AccessEvent.objects.filter(kind=AccessEvent.Kind.CALL_RECORDING).order_by("at", "id"))
    assert [(e.user_id, e.object_id, e.detail) for e in entries] == [
        (provider.pk, claimed.pk, f"recording {recording.pk}"),
        (provider.pk, claimed.pk, f"recording {recording.pk} download"),
    ]
    assert entries[0].patient_label == claimed.client_name


def test_a_clinic_admin_hears_recordings(clinic_admin, claimed, recording):
    assert client_for(clinic_admin).get(staff_url(claimed, recording)).status_code == 200


def test_a_pending_or_failed_recording_has_no_audio(provider_client, claimed, call):
    failed = make_recording(call, sid="RE" + "d" * 32, status=Recording.Status.FAILED)
    assert provider_client.get(staff_url(claimed, failed)).status_code == 404


# --- Who may hear them ---------------------------------------------------------------------------


def test_another_clinics_expert_gets_404(outsider_client, claimed, recording):
    assert outsider_client.get(staff_url(claimed, recording)).status_code == 404
    assert outsider_client.get(f"/consultations/{claimed.pk}/part/recordings/").status_code == 404


def test_a_csr_never_hears_recordings(csr_client, claimed, recording):
    assert csr_client.get(staff_url(claimed, recording)).status_code == 404
    assert csr_client.get(f"/consultations/{claimed.pk}/part/recordings/").status_code == 404
    page = csr_client.get(f"/consultations/{claimed.pk}/").content.decode()
    assert 'data-part="recordings"' not in page
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.CALL_RECORDING).exists()


def test_the_client_hears_recordings_only_when_the_clinic_allows(client, claimed, recording):
    room = f"/consult/room/{claimed.client_token}/"
    assert client.get(client_url(claimed, recording)).status_code == 404
    assert 'data-part="recordings"' not in client.get(room).content.decode()
    assert client.get(f"{room}part/recordings/").status_code == 404

    allow_clients(claimed.clinic)

    assert 'data-part="recordings"' in client.get(room).content.decode()
    assert client_url(claimed, recording) in client.get(f"{room}part/recordings/").content.decode()
    seek = client.get(client_url(claimed, recording), HTTP_RANGE="bytes=0-9")
    assert seek.status_code == 206
    assert body(seek) == AUDIO[:10]


def test_a_client_link_reaches_only_its_own_consultations_recordings(
    client, claimed, recording, clinic_a, phone_service
):
    from tests.consultations.conftest import make_consultation

    allow_clients(clinic_a)
    other = make_consultation(clinic_a, phone_service, email="other@example.com")
    assert client.get(f"/consult/room/{other.client_token}/recordings/{recording.pk}/").status_code == 404
    assert client.get(f"/consult/room/{claimed.client_token}x/recordings/{recording.pk}/").status_code == 404


def test_the_clinics_retention_reaches_the_bridge(clinic_a, settings):
    from django.utils.module_loading import import_string

    hook = import_string(settings.VOICE_RECORDING_RETENTION)
    assert hook(clinic_a.pk) is None
    ConsultationProfile.objects.update_or_create(clinic=clinic_a, defaults={"recording_retention_days": 90})
    assert hook(clinic_a.pk) == 90


def test_reading_a_recording_from_past_its_first_byte_is_still_in_the_access_trail(
    provider_client, provider, claimed, recording
):
    """A seek is not a new listen, but a read that never asked for the first byte (Range:
    bytes=1- is the whole recording but one byte) must not escape the trail."""
    body(provider_client.get(staff_url(claimed, recording), HTTP_RANGE="bytes=1-"))
    body(provider_client.get(staff_url(claimed, recording), HTTP_RANGE="bytes=500-"))  # its seek

    entries = AccessEvent.objects.filter(kind=AccessEvent.Kind.CALL_RECORDING)
    assert [(e.user_id, e.detail) for e in entries] == [(provider.pk, f"recording {recording.pk}")]
