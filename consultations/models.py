"""Phone consultations: a client books an expert's time for a phone call; the two meet in a
consultation room on the web (messages, attachments, the expert's note) while they talk.

The status is moved only by consultations/services.py, through consultations/lifecycle.py's table.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.crypto import constant_time_compare, get_random_string, salted_hmac

from consultations.lifecycle import HOLDS_TIME, Status
from scheduling.models import Requester, Service
from visits.phone_codes import masked
from waitingroom.models import Clinic
from waitingroom.questions import Question


def new_nonce() -> str:
    return get_random_string(32)


class ConsultationProfile(models.Model):
    """A clinic's phone-consultation settings (made on first use)."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="consultation_profile")
    voice_number = models.CharField(
        max_length=20,
        blank=True,
        help_text="The clinic's phone number (E.164, e.g. +15551234567) that calls clients.",
    )
    record_calls = models.BooleanField(
        default=True, help_text="Record consultation calls (both sides are told)."
    )
    consent_text = models.CharField(
        max_length=300,
        default="This call is recorded for your care and for our records.",
        help_text="Said to both sides before a recorded call connects.",
    )
    clients_may_listen = models.BooleanField(
        default=False, help_text="Clients may listen to and download their calls' recordings in their room."
    )
    return_window_before_minutes = models.PositiveIntegerField(
        default=15, help_text="A client may call back from this long before their consultation's start..."
    )
    return_window_after_minutes = models.PositiveIntegerField(
        default=120, help_text="...to this long after it."
    )
    clinic_phone_line = models.CharField(
        max_length=20, blank=True, help_text="The clinic's own line (E.164), told to any other caller."
    )
    recording_retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Recordings are deleted after this many days. Empty: keep them."
    )

    class Meta:
        constraints = [
            # The number is the caller id of the clinic's calls and routes return calls to its
            # consultations (consultations.calls.return_route): one clinic's, never shared.
            models.UniqueConstraint(
                fields=["voice_number"],
                condition=~models.Q(voice_number=""),
                name="consultation_profile_voice_number_unique",
                violation_error_message="This number is already another clinic's voice number.",
            )
        ]

    def __str__(self) -> str:
        return f"Phone consultations of {self.clinic}"


class BookingQuestion(Question):
    """One question of the clinic's consultation booking form (the intake form's mechanism)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="booking_questions")

    class Meta(Question.Meta):
        constraints = [models.UniqueConstraint(fields=["clinic", "key"], name="booking_question_key_unique")]


class ConsultationQuerySet(models.QuerySet):
    def holding_time(self) -> ConsultationQuerySet:
        """Consultations that occupy their expert's time (not cancelled, with an expert)."""
        return self.filter(status__in=HOLDS_TIME, expert__isnull=False)


class Consultation(models.Model):
    class Mode(models.TextChoices):
        SLOT = "slot", "At a booked time"
        ASAP = "asap", "As soon as possible"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="consultations")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="consultations")
    # None while Available (booked for "any expert" and not claimed yet).
    expert = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consultations",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.AVAILABLE)
    # Open: the client may post messages and files; Locked: they may not.
    is_open = models.BooleanField(default=True)
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.SLOT)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    requester = models.ForeignKey(Requester, on_delete=models.PROTECT, related_name="consultations")
    client_name = models.CharField(max_length=120)
    client_email = models.EmailField()
    client_phone = models.CharField(max_length=20)  # E.164, verified by an SMS code at booking
    answers = models.JSONField(default=dict, blank=True)

    # The client's link is an HMAC of the id and this nonce: unguessable, never stored, and
    # revoked (a new link issued) by changing the nonce.
    access_nonce = models.CharField(max_length=32, default=new_nonce)
    # Bumped by every change a page shows: an action sent from an older page is refused.
    version = models.PositiveIntegerField(default=0)
    unread_by_staff = models.PositiveIntegerField(default=0)
    unread_by_client = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(max_length=1000, blank=True)
    # Reminders: each sent once (set in the same transaction that queues it).
    reminder_email_at = models.DateTimeField(null=True, blank=True)
    reminder_sms_at = models.DateTimeField(null=True, blank=True)

    objects = ConsultationQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["clinic", "status", "starts_at"], name="consultation_clinic_idx"),
            models.Index(fields=["expert", "starts_at"], name="consultation_expert_idx"),
            models.Index(fields=["requester", "clinic"], name="consultation_client_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="consultation_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status=Status.AVAILABLE, expert__isnull=True)
                | (~Q(status=Status.AVAILABLE) & Q(expert__isnull=False))
                | Q(status=Status.CANCELLED),
                name="consultation_expert_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} with {self.client_name} at {self.starts_at:%Y-%m-%d %H:%M} UTC"

    def _signature(self) -> str:
        return salted_hmac(
            "consultations.client-link", f"{self.pk}:{self.access_nonce}", algorithm="sha256"
        ).hexdigest()

    @property
    def client_token(self) -> str:
        return f"{self.pk}-{self._signature()}"

    def token_matches(self, signature: str) -> bool:
        return constant_time_compare(signature, self._signature())

    @property
    def masked_phone(self) -> str:
        """What staff see of the client's number: experts never need it (the bridge dials it)."""
        return masked(self.client_phone, digits=3)

    @property
    def is_ended(self) -> bool:
        return self.status in (Status.COMPLETED, Status.CANCELLED)

    def has_started(self, now: datetime) -> bool:
        return self.status == Status.IN_PROGRESS or self.starts_at <= now


class ConsultationEvent(models.Model):
    """The consultation's audit trail: every applied transition (who, when, what was said)."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="events")
    event = models.CharField(max_length=20)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField()
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.event} ({self.from_status or '-'} -> {self.to_status})"


class Sender(models.TextChoices):
    CLIENT = "client", "Client"
    STAFF = "staff", "Staff"


class ConsultationMessage(models.Model):
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(max_length=6, choices=Sender.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField(max_length=2000)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return f"{self.sender}: {self.body[:40]}"


class Attachment(models.Model):
    """A file of the room. The stored name is made by the server; `label` is the uploader's name
    for it, shown only. Served only by a view that checks who asks (consultations/files.py)."""

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        DOCUMENT = "document", "Document"

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="attachments")
    sender = models.CharField(max_length=6, choices=Sender.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    content_type = models.CharField(max_length=40)
    file = models.FileField(max_length=200)
    thumbnail = models.FileField(max_length=200, blank=True)
    label = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.label


class ConsultationNote(models.Model):
    """One version of the expert's note: every save adds a version; the newest is the note."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="notes")
    version = models.PositiveIntegerField()
    body = models.TextField(max_length=10000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    written_at = models.DateTimeField()

    class Meta:
        ordering = ["consultation_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "version"], name="consultation_note_version_once")
        ]

    def __str__(self) -> str:
        return f"Note v{self.version}"
