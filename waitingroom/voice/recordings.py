"""A call's recordings after Twilio announced them (services.recording_announced made the row,
pending, due now): fetched by a beat sweep into the default storage (where attachments live),
deleted from Twilio, and deleted from storage once the subject's retention has passed.

- The download is the MP3 (`<RecordingSid>.mp3`), not the WAV: about a tenth of the size
  (a dual-channel WAV is 16-bit PCM, ~115 MB an hour; the MP3 ~15-30 MB), and every browser's
  <audio> plays and seeks it by byte range; the room serves it as audio/mpeg.
- The download and the delete go through the voice backend (settings.VOICE_BACKEND,
  waitingroom/voice/calling.py), like placing the call: Twilio's SDK in production (tests give it
  a fake HTTP client and assert the exact GET and DELETE), silence of the announced length from
  the console backend of `make run` (nothing to delete there).
- Twilio may answer 404 for a while after its callback: the row is due again after 15 s, 30 s,
  60 s, 120 s (capped), and FAILED once FAIL_AFTER has passed since it was announced.
- A sweep claims due rows with SKIP LOCKED and moves their due time past the download (a lease)
  before it downloads, outside any transaction: a second sweep at the same time skips them, and a
  worker that dies mid-download leaves a row that is due again when the lease ends.
- Each stored or failed recording tells the call's subject (services.tell_subject, PROGRESS), so
  the room lists it.
- Retention belongs to the subject's app (a consultation clinic's setting), which this package
  can't import: settings.VOICE_RECORDING_RETENTION names a callable(clinic_id) -> days | None
  (None: keep).
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils.module_loading import import_string

from waitingroom.voice import calling
from waitingroom.voice.models import PhoneCall, Recording

log = logging.getLogger(__name__)

FAIL_AFTER = timedelta(minutes=10)
FIRST_RETRY_SECONDS = 15
MAX_RETRY_SECONDS = 120
# A claimed row is due again after this long if its sweep never finished (the worker died).
LEASE = timedelta(minutes=2)
BATCH = 20


def storage() -> Storage:
    return storages["default"]


def retry_delay(attempts: int) -> timedelta:
    """15 s after the first try, then doubling, at most MAX_RETRY_SECONDS."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS))


def _tell(recording: Recording) -> None:
    from waitingroom.voice.services import Change, tell_subject

    tell_subject(recording.call, Change.PROGRESS)


# --- The fetch sweep -----------------------------------------------------------------------------


def _claim(now: datetime) -> list[int]:
    """Due rows: pending ones, and stored ones whose copy at Twilio is still to be deleted."""
    with transaction.atomic():
        due = Recording.objects.select_for_update(skip_locked=True).filter(next_try_at__lte=now)
        due = due.filter(status__in=[Recording.Status.PENDING, Recording.Status.STORED])
        ids = list(due.order_by("next_try_at", "id").values_list("pk", flat=True)[:BATCH])
        Recording.objects.filter(pk__in=ids).update(next_try_at=now + LEASE)
    return ids


def fetch_due(*, now: datetime, voice: calling.VoiceBackend | None = None) -> int:
    """Fetch (or finish deleting at Twilio) every due recording; returns how many were handled."""
    ids = _claim(now)
    if not ids:
        return 0
    voice = voice or calling.backend()
    for recording_id in ids:
        recording = Recording.objects.select_related("call").get(pk=recording_id)
        try:
            if recording.status == Recording.Status.PENDING:
                _fetch_one(voice, recording, now=now)
            else:
                _delete_at_twilio(voice, recording)
        except Exception:
            # One recording's trouble (the network, storage) must not stop the others: it is due
            # again after its backoff, and fails at FAIL_AFTER like a 404.
            log.exception("Recording %s: the fetch failed", recording.recording_sid)
            _not_ready(recording.pk, now=now)
    return len(ids)


def _fetch_one(voice: calling.VoiceBackend, recording: Recording, *, now: datetime) -> None:
    content = voice.fetch_recording(
        recording_sid=recording.recording_sid, duration_seconds=recording.duration_seconds
    )
    if content is None:  # not ready yet at Twilio
        _not_ready(recording.pk, now=now)
        return
    name = _store(recording, content)
    with transaction.atomic():
        locked = Recording.objects.select_for_update().select_related("call").get(pk=recording.pk)
        if locked.status != Recording.Status.PENDING:  # stored or failed meanwhile: keep the first
            storage().delete(name)
            return
        locked.status = Recording.Status.STORED
        locked.file.name = name
        locked.size = len(content)
        locked.stored_at = now
        locked.attempts += 1
        locked.next_try_at = now if settings.VOICE_DELETE_FROM_TWILIO else None
        locked.save(update_fields=["status", "file", "size", "stored_at", "attempts", "next_try_at"])
        _tell(locked)
    if settings.VOICE_DELETE_FROM_TWILIO:
        _delete_at_twilio(voice, locked)


def _store(recording: Recording, content: bytes) -> str:
    """Under a server-made name: recordings/<clinic>/<call>/<random>.mp3."""
    call: PhoneCall = recording.call
    name = f"recordings/{call.clinic_id}/{call.pk}/{secrets.token_hex(16)}.mp3"
    with tempfile.TemporaryFile() as spool:
        spool.write(content)
        spool.seek(0)
        return storage().save(name, File(spool, name=name))


def _not_ready(recording_id: int, *, now: datetime) -> None:
    """Twilio has no file yet (or the try failed): due again after the backoff, or FAILED once
    FAIL_AFTER has passed since the announcement."""
    with transaction.atomic():
        recording = Recording.objects.select_for_update().select_related("call").get(pk=recording_id)
        if recording.status != Recording.Status.PENDING:
            if recording.status == Recording.Status.STORED:  # the delete at Twilio failed
                recording.next_try_at = now + retry_delay(recording.attempts)
                recording.save(update_fields=["next_try_at"])
            return
        recording.attempts += 1
        if now - recording.created_at >= FAIL_AFTER:
            recording.status, recording.next_try_at = Recording.Status.FAILED, None
            recording.save(update_fields=["status", "attempts", "next_try_at"])
            _tell(recording)
            return
        recording.next_try_at = now + retry_delay(recording.attempts)
        recording.save(update_fields=["attempts", "next_try_at"])


def _delete_at_twilio(voice: calling.VoiceBackend, recording: Recording) -> None:
    """Twilio's copy goes once ours is stored (the backend treats a 404 as already gone)."""
    if not settings.VOICE_DELETE_FROM_TWILIO:
        Recording.objects.filter(pk=recording.pk).update(next_try_at=None)
        return
    deleted = voice.delete_recording(recording_sid=recording.recording_sid)
    Recording.objects.filter(pk=recording.pk).update(deleted_from_twilio=deleted, next_try_at=None)


# --- Retention -----------------------------------------------------------------------------------


def retention_days(clinic_id: int) -> int | None:
    hook = getattr(settings, "VOICE_RECORDING_RETENTION", "")
    return import_string(hook)(clinic_id) if hook else None


def purge_expired(*, now: datetime) -> int:
    """Delete the stored files of recordings older than their clinic's retention (None: kept);
    the row stays, DELETED, so the room says what happened."""
    purged = 0
    clinic_ids = (
        Recording.objects.filter(status=Recording.Status.STORED)
        .values_list("call__clinic_id", flat=True)
        .order_by()  # without the model's ordering, or DISTINCT would keep one row per recording
        .distinct()
    )
    for clinic_id in list(clinic_ids):
        days = retention_days(clinic_id)
        if days is None:
            continue
        expired = Recording.objects.filter(
            status=Recording.Status.STORED,
            call__clinic_id=clinic_id,
            created_at__lt=now - timedelta(days=days),
        ).values_list("pk", flat=True)
        for recording_id in list(expired):
            purged += _purge_one(recording_id)
    return purged


def _purge_one(recording_id: int) -> int:
    with transaction.atomic():
        recording = (
            Recording.objects.select_for_update(skip_locked=True)
            .select_related("call")
            .filter(pk=recording_id, status=Recording.Status.STORED)
            .first()
        )
        if recording is None:
            return 0
        name = recording.file.name
        recording.status, recording.file.name = Recording.Status.DELETED, ""
        recording.save(update_fields=["status", "file"])
        _tell(recording)
        # After commit: a rollback must not leave a row pointing at a deleted file.
        transaction.on_commit(lambda: storage().delete(name) if name else None)
    return 1
