"""What the outbox stores: every SMS and email we send, with its outcome.

They stay in the `waitingroom` app (app label, tables and migrations unchanged, so a running
deployment upgrades with no migration); waitingroom/models.py imports them so Django registers them.
The clinic is named by string, so this module imports nothing of the clinic core.
"""

from __future__ import annotations

from django.db import models


class SmsMessage(models.Model):
    """An SMS we send, with what the provider said about it. Sending is idempotent per `reference`
    (one row per logical message); delivery callbacks only move `status` forward.

    Before the provider has it, a message is "pending" (stored, its task queued), then
    "submitting" (one attempt, named by `attempt`, committed before the backend is called), then
    has a `sid`. A worker killed while submitting leaves the row "submitting": whether the
    provider got it is unknown, so it is never sent again blindly; the sweep asks the provider
    about that attempt (waitingroom/outbox/delivery.py). "stuck" is the sweep giving up: shown to
    staff, never sent automatically."""

    SUBMITTING = "submitting"
    STUCK = "stuck"
    # Twilio's statuses, by how far along they are, after our own ones. The last rank is final.
    STATUS_RANK = {
        "pending": 0,
        SUBMITTING: 0,
        STUCK: 0,
        "accepted": 1,
        "queued": 1,
        "sending": 2,
        "sent": 3,
        "delivered": 4,
        "undelivered": 4,
        "failed": 4,
        "canceled": 4,
    }
    FAILED = frozenset({"undelivered", "failed", "canceled"})

    clinic = models.ForeignKey("waitingroom.Clinic", on_delete=models.CASCADE, related_name="sms_messages")
    reference = models.CharField(max_length=80, unique=True)
    to = models.CharField(max_length=20)
    body = models.TextField()
    sid = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=12, default="pending")
    error = models.CharField(max_length=200, blank=True)
    # The send attempt in flight (or the last one): the idempotency reference the backend call
    # carries, and when it started.
    attempt = models.CharField(max_length=32, blank=True, default="", db_default="")
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # Reports count a clinic's recall SMS of a period (visits/reports.py); the reference of a
            # recall is "recall:<visit>:<n>" (visits/offline.py).
            models.Index(
                fields=["clinic", "created_at"],
                name="sms_recall_by_clinic",
                condition=models.Q(reference__startswith="recall:"),
            ),
        ]

    def __str__(self) -> str:
        return f"SMS {self.reference} ({self.status})"

    @property
    def failed(self) -> bool:
        return self.status in self.FAILED


class EmailMessage(models.Model):
    """An email we send, stored before sending so a crash or a mail-server outage loses nothing.
    Sending is idempotent per `reference` (one row per logical message); the task marks it sent."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    clinic = models.ForeignKey("waitingroom.Clinic", on_delete=models.CASCADE, related_name="email_messages")
    reference = models.CharField(max_length=100, unique=True)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=200)
    body = models.TextField()  # the plain-text part
    # The HTML part, sent as an alternative to `body`; rows stored before it existed have none.
    # The database keeps the default too, so a worker still running the previous release (which
    # does not know the column) can store emails while a deployment upgrades.
    html_body = models.TextField(blank=True, default="", db_default="")
    # [{"filename": ..., "content": ..., "mimetype": ...}]: text attachments only (.ics).
    attachments = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Email {self.reference} ({self.status})"
