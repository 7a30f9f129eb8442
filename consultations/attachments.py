"""Adding a file to a consultation room: the service both sides' uploads go through.

The heavy work (decoding and re-encoding an image, writing to storage) runs before the row lock,
so a 200 MB video does not hold the consultation while it is written; under the lock the right to
post is checked again (the room may have been locked or the consultation cancelled meanwhile) and
only the row is written. Whatever stops the row from being committed removes the stored files.

No lifecycle event and no `version` bump: a file changes no status, and a page that shows an
older list of files may still act. The other side learns of it through the room's push.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from consultations import files, lifecycle, publishing
from consultations.models import Attachment, Consultation, Sender
from consultations.services import ConsultationRefused, locked

LOCKED = "The clinic has locked this consultation, so files can't be added now."
CANCELLED = "This consultation was cancelled, so files can't be added."


def check_may_post(consultation: Consultation, sender: str) -> None:
    """ConsultationRefused, in plain words, when `sender` may not add a file now: the client only
    while the room is Open, nobody once cancelled."""
    if not lifecycle.staff_may_post(consultation.status):
        raise ConsultationRefused(CANCELLED)
    if sender == Sender.CLIENT and not lifecycle.client_may_post(consultation.status, consultation.is_open):
        raise ConsultationRefused(LOCKED)


def attachment_add(
    *, consultation_id: int, upload: UploadedFile, sender: Sender, user: User | None
) -> Attachment:
    """Check, store and record one file from `sender` (`user` for staff, None for the client).
    Raises ConsultationRefused (files.FileRefused for the file itself) and changes nothing then."""
    consultation = Consultation.objects.get(pk=consultation_id)
    check_may_post(consultation, sender)  # before any file work: a locked room costs nothing
    prepared = files.prepare(upload)
    try:
        stored = files.store(prepared, clinic_id=consultation.clinic_id, consultation_id=consultation.pk)
    finally:
        prepared.close()
    try:
        # durable: the outermost transaction, so leaving this block without an exception means
        # committed, and any exception (a refusal, a failed commit) means rolled back.
        with transaction.atomic(durable=True):
            consultation = locked(consultation_id)
            check_may_post(consultation, sender)
            attachment = Attachment.objects.create(
                consultation=consultation,
                sender=sender,
                user=user,
                kind=stored.file_type.kind,
                content_type=stored.file_type.mime,
                file=stored.name,
                thumbnail=stored.thumbnail_name,
                label=stored.label,
                size=stored.size,
                uploaded_at=timezone.now(),
            )
            # The other side's unread count (the staff's shows on the dashboard's Upcoming list).
            if sender == Sender.CLIENT:
                consultation.unread_by_staff += 1
                consultation.save(update_fields=["unread_by_staff"])
            else:
                consultation.unread_by_client += 1
                consultation.save(update_fields=["unread_by_client"])
            publishing.room_changed(consultation, publishing.Part.ATTACHMENTS)
            if sender == Sender.CLIENT:
                publishing.upcoming_changed(consultation.clinic_id)
    except BaseException:
        files.delete(stored)
        raise
    return attachment
