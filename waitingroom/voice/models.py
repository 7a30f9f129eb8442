"""The masked phone bridge's records: a call between a staff member's phone and a client's (each
side sees only the clinic's number), the Twilio callbacks it received, and its recordings.

A call belongs to a subject of an app above the clinic core ("consultation:<id>", later
"visit:<id>"): this package never imports those apps; it tells them of a change through
settings.VOICE_SUBJECTS (waitingroom/voice/services.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from waitingroom.models import Clinic
from waitingroom.voice.lifecycle import ACTIVE, CallStatus, Outcome


class PhoneCall(models.Model):
    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Started by staff"
        RETURN = "return", "The client called back"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="phone_calls")
    subject = models.CharField(max_length=40, db_index=True)  # "consultation:12"
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.OUTBOUND)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Both numbers are E.164 and never shown to the other side: Twilio dials them from from_number.
    staff_number = models.CharField(max_length=20)
    client_number = models.CharField(max_length=20)
    from_number = models.CharField(max_length=20)
    # What the expert hears before the client is dialled ("Press 1 to be connected to ...").
    client_first_name = models.CharField(max_length=60)
    service_label = models.CharField(max_length=100)
    record = models.BooleanField(default=False)
    consent_text = models.CharField(max_length=300, blank=True)

    status = models.CharField(max_length=20, choices=CallStatus.choices, default=CallStatus.QUEUED)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default=Outcome.NONE)
    staff_call_sid = models.CharField(max_length=34, blank=True, db_index=True)  # the leg to staff
    client_call_sid = models.CharField(max_length=34, blank=True, db_index=True)  # the dialled leg
    created_at = models.DateTimeField()
    connected_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One call at a time per subject: a second Start while one rings or talks is refused.
            models.UniqueConstraint(
                fields=["subject"], condition=Q(status__in=ACTIVE), name="one_active_call_per_subject"
            )
        ]

    def __str__(self) -> str:
        return f"call {self.pk} for {self.subject} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE


class PhoneCallEvent(models.Model):
    """One Twilio callback as received (after its signature was checked): the call's trail, and
    what makes a repeated callback change nothing (unique per call, leg, status)."""

    call = models.ForeignKey(PhoneCall, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20)  # staff-status, dial-result, gather, recording, ...
    call_sid = models.CharField(max_length=34, blank=True)
    value = models.CharField(max_length=40, blank=True)  # CallStatus / DialCallStatus / Digits ...
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "kind", "call_sid", "value"], name="phone_call_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class Recording(models.Model):
    """A call's dual-channel recording: fetched from Twilio by a task after its status callback,
    stored in the attachments' storage, then deleted from Twilio."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being fetched"
        STORED = "stored", "Stored"
        FAILED = "failed", "Could not be fetched"
        DELETED = "deleted", "Deleted (retention)"

    call = models.ForeignKey(PhoneCall, on_delete=models.CASCADE, related_name="recordings")
    recording_sid = models.CharField(max_length=34, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The fetch is a due time applied by a sweep (Twilio may answer 404 for a while).
    next_try_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField()
    stored_at = models.DateTimeField(null=True, blank=True)
    deleted_from_twilio = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"recording {self.recording_sid} ({self.status})"
