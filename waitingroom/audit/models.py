"""One row per access to a patient's data. Rows are written once and never changed: the model and
its querysets refuse updates and deletes (only the retention purge removes rows)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from waitingroom.models import Clinic


class TrailIsAppendOnly(Exception):
    """An access entry was to be changed or deleted."""


class AccessEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TrailIsAppendOnly("Access entries cannot be changed.")

    def delete(self):
        raise TrailIsAppendOnly("Access entries cannot be deleted; they expire after AUDIT_RETENTION_DAYS.")

    def _purge(self) -> int:
        """The retention purge's delete (services.purge_expired), the one way rows go."""
        return models.QuerySet.delete(self)[0]


class AccessEvent(models.Model):
    class Action(models.TextChoices):
        VIEWED = "viewed"
        CHANGED = "changed"

    class Kind(models.TextChoices):
        # What was read or changed; `object_id` is that kind's row (a visit for the first three).
        VISIT = "visit", "visit card details"
        CHAT = "chat", "chat"
        INTAKE_ANSWERS = "intake_answers", "intake answers"
        MEETING = "meeting", "meeting details"
        REQUEST = "request", "appointment request"
        # A phone consultation's room (its client details, answers, messages, note).
        CONSULTATION = "consultation", "consultation"
        # A consultation's file opened by staff (`object_id` the consultation, `detail` the file).
        CONSULTATION_FILE = "consultation_file", "consultation file"
        # A call's recording played or downloaded by staff (`object_id` the consultation, `detail`
        # the recording).
        CALL_RECORDING = "call_recording", "call recording"

    # PROTECT: a clinic with an access trail cannot be deleted with it.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    # A deleted account leaves its entries, with the username it had.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="staff"
    )
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=10, choices=Action.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()
    patient_label = models.CharField(max_length=200, verbose_name="patient")
    detail = models.CharField(max_length=100, blank=True)  # the staff action (`call`, `cancel`...)
    at = models.DateTimeField(db_index=True)
    client_address = models.CharField(max_length=45, blank=True)

    objects = AccessEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["clinic", "kind", "object_id"], name="access_by_object"),
            models.Index(fields=["clinic", "user", "at"], name="access_by_staff"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.action} {self.get_kind_display()} of {self.patient_label}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise TrailIsAppendOnly("Access entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TrailIsAppendOnly("Access entries cannot be deleted; they expire after AUDIT_RETENTION_DAYS.")
