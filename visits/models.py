"""The live waiting room's data: intake fields, visits, their events, call participants, chat."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from visits.guest_lifecycle import LIVE_STATUSES as LIVE_GUEST_STATUSES
from visits.guest_lifecycle import GuestStatus
from visits.lifecycle import CLOSED_STATUSES, OPEN_STATUSES, Phase, Status, phase_of
from waitingroom.models import Clinic
from waitingroom.questions import Question

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class IntakeField(Question):
    """One question of a clinic's intake form, configured by the clinic admin."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="intake_fields")
    show_on_card = models.BooleanField(
        default=False, help_text="Show the answer on the dashboard's visit card."
    )

    class Meta(Question.Meta):
        constraints = [models.UniqueConstraint(fields=["clinic", "key"], name="intake_key_unique_per_clinic")]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """256 random bits, URL-safe. Only its hash is stored; the raw token lives in the patient's link."""
    return secrets.token_urlsafe(32)


# The intake answer that marks a meeting guest's visit (scheduling's meetings set it; the card
# shows it, and the meetings overviews hear about the visit's changes).
APPOINTMENT_ANSWER = "appointment"


class Visit(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="visits")
    token_hash = models.CharField(max_length=64, unique=True)
    patient_name = models.CharField(max_length=120)
    answers = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20, choices=[(s.value, s.value) for s in Status], default=Status.CONNECTING
    )

    # A meeting's guest at their appointment (visit_start(booked=True)): the walk-in queue cap
    # (Clinic.max_waiting) does not count them (selectors.queue_full).
    booked = models.BooleanField(default=False)

    # Queue order: arrival. "Send back to waiting room" keeps it, so the patient keeps their place.
    arrived_at = models.DateTimeField()
    status_changed_at = models.DateTimeField()
    ready_at = models.DateTimeField(null=True, blank=True)  # first became waiting
    first_called_at = models.DateTimeField(null=True, blank=True)
    position_when_ready = models.PositiveIntegerField(null=True, blank=True)  # for wait estimates
    ended_at = models.DateTimeField(null=True, blank=True)
    # Time in call, set once when the visit closes (visits/call_time.py, from its events: the sum
    # of the intervals spent in an In Progress status), so that reports aggregate one column
    # instead of reading every visit's events. Null while open and for a visit never called.
    time_in_call = models.DurationField(null=True, blank=True)

    # Presence. Open sockets of the patient's page(s); the due times are applied by the sweep.
    open_sockets = models.IntegerField(default=0)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    connection_lost = models.BooleanField(default=False)
    grace_due_at = models.DateTimeField(null=True, blank=True)  # the drop becomes consequential
    hold_due_at = models.DateTimeField(null=True, blank=True)  # a lost waiting patient loses their place
    idle_due_at = models.DateTimeField(null=True, blank=True)  # in a call: away after no activity
    expires_at = models.DateTimeField(null=True, blank=True)  # Recents: resumable until then

    class MediaCheck(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        FAILED = "failed", "Failed"
        PASSED = "passed", "Passed"

    media_check = models.CharField(max_length=12, choices=MediaCheck.choices, default=MediaCheck.NOT_STARTED)
    # The video connection of the current call could not be set up (cleared when a new call starts).
    call_failed_at = models.DateTimeField(null=True, blank=True)
    unread_by_staff = models.PositiveIntegerField(default=0)

    # Offline queueing: a verified mobile number lets the patient leave and be recalled by SMS.
    verified_phone = models.CharField(max_length=20, blank=True)
    recall_count = models.PositiveIntegerField(default=0)
    recall_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # A Recall link opens once: the first open binds that browser and sets this; a second open
    # only says the visit continues where it was first opened. The next Recall clears it.
    recall_link_used_at = models.DateTimeField(null=True, blank=True)
    recall_due_at = models.DateTimeField(null=True, blank=True)  # "no response" after this
    recall_no_response = models.BooleanField(default=False)
    last_recall_sms = models.ForeignKey(
        "waitingroom.SmsMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Switch to phone (visits/phone.py): the visit's latest phone call through the bridge (the card
    # shows its state, read in the card's own query) and, while it is connected, since when: the
    # patient may close the browser then, so presence neither drops nor idles the visit.
    phone_call = models.ForeignKey(
        "waitingroom.PhoneCall", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    on_phone_since = models.DateTimeField(null=True, blank=True)
    # "Call me instead" (visits/phone_request.py): since when the patient, camera blocked, asks the
    # clinic to call their verified mobile when it's their turn (cleared when they take it back or
    # a phone call of the visit connects).
    phone_requested_at = models.DateTimeField(null=True, blank=True)
    # The call guest admitted into the call now (visits/call_guests.py): the card's read joins it, so
    # the patient's screen names the guest's video without another query on every visit change.
    call_guest = models.ForeignKey(
        "CallGuest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    participants: models.ManyToManyField[User, CallParticipant] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="CallParticipant", related_name="visits_in_call", blank=True
    )

    class Meta:
        indexes = [
            # The dashboard lists a clinic's open visits in arrival order.
            models.Index(
                fields=["clinic", "arrived_at"],
                name="visit_open_by_clinic",
                condition=Q(status__in=sorted(s.value for s in OPEN_STATUSES)),
            ),
            # Reports (visits/reports.py) read a clinic's visits of a period, whatever their status.
            models.Index(fields=["clinic", "arrived_at"], name="visit_by_clinic_arrival"),
            # The sweep claims due rows; these indexes stay small (only rows with a due time).
            models.Index(
                fields=["grace_due_at"], name="visit_grace_due", condition=Q(grace_due_at__isnull=False)
            ),
            models.Index(
                fields=["hold_due_at"], name="visit_hold_due", condition=Q(hold_due_at__isnull=False)
            ),
            models.Index(
                fields=["idle_due_at"], name="visit_idle_due", condition=Q(idle_due_at__isnull=False)
            ),
            models.Index(fields=["expires_at"], name="visit_expires", condition=Q(expires_at__isnull=False)),
            models.Index(
                fields=["recall_due_at"], name="visit_recall_due", condition=Q(recall_due_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_name} ({self.status})"

    @property
    def phase(self) -> Phase:
        return phase_of(self.status)

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES


class PhoneVerification(models.Model):
    """A 6-digit code sent to a number for one subject (a visit, a booking page's key): stored
    hashed, 10 minutes, single use, locked after 5 wrong attempts. Only a subject's latest code
    counts (visits/phone_codes.py)."""

    # Who asked: "visit:<id>" (offline queueing), "booking:<key>" (the consultation booking page).
    subject = models.CharField(max_length=80, db_index=True)
    # Set for a visit's codes (they go with the visit); empty for other subjects.
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.CASCADE, related_name="phone_verifications"
    )
    phone = models.CharField(max_length=20, db_index=True)  # E.164
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"code for {self.phone}"


class VisitEvent(models.Model):
    """One applied transition: the audit trail and the source of wait-time figures."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="events")
    event = models.CharField(max_length=20)
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    actor = models.CharField(max_length=10)  # patient, staff, system
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField()
    # A call guest's events (invited, joined, left, removed, declined ...) name the guest; their
    # from_status equals to_status, so the visit's wait-time figures do not see them.
    guest = models.ForeignKey(
        "CallGuest", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["visit", "at"])]

    def __str__(self) -> str:
        return f"{self.event}: {self.from_status} -> {self.to_status}"


class CallParticipant(models.Model):
    """A staff member currently in a visit's call."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="call_participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    joined_at = models.DateTimeField()

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [models.UniqueConstraint(fields=["visit", "user"], name="one_participation_per_staff")]

    def __str__(self) -> str:
        return f"{self.user} in {self.visit}"


class CallGuest(models.Model):
    """A third participant invited into a visit's call by a staff member in it (visits/call_guests.py):
    an interpreter, family member or carer. Their link is single use: only its token's hash is
    stored, and the first browser that opens it is bound (the hash of a random key kept in that
    browser's session). One live guest per visit."""

    class Relation(models.TextChoices):
        INTERPRETER = "interpreter", "interpreter"
        FAMILY = "family", "family member"
        CARER = "carer", "carer"
        OTHER = "other", "guest"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="call_guests")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=80)
    relation = models.CharField(max_length=12, choices=Relation.choices)
    # Where the link went: an E.164 mobile number or an email address (one of the two).
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    browser_hash = models.CharField(max_length=64, blank=True)  # set by the first open
    status = models.CharField(
        max_length=10, choices=[(s.value, s.value) for s in GuestStatus], default=GuestStatus.INVITED
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()  # the link must be opened and used by then
    opened_at = models.DateTimeField(null=True, blank=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["visit"],
                condition=Q(status__in=sorted(s.value for s in LIVE_GUEST_STATUSES)),
                name="one_live_call_guest_per_visit",
            )
        ]
        indexes = [
            # The expiry sweep's query (call_guests.guests_expire_due): only unused invitations,
            # a handful, however many guests the table has seen.
            models.Index(
                fields=["expires_at"],
                condition=Q(status=GuestStatus.INVITED.value),
                name="call_guest_invite_due",
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """How the call names them: "Alex (interpreter)"."""
        return f"{self.name} ({self.get_relation_display()})"

    @property
    def peer_id(self) -> str:
        """Its id in the call's signalling (visits/signalling.py)."""
        return f"guest-{self.id}"

    @property
    def peer_id_and_label(self) -> tuple[str, str]:
        return self.peer_id, self.label


class ChatMessage(models.Model):
    class Sender(models.TextChoices):
        PATIENT = "patient"
        STAFF = "staff"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(max_length=10, choices=Sender.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField(max_length=2000)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return f"{self.sender}: {self.body[:40]}"

    @property
    def author(self) -> str:
        if self.sender == self.Sender.PATIENT:
            return self.visit.patient_name
        return (self.user.get_full_name() or self.user.username) if self.user else "Clinic"


class PresenceLease(models.Model):
    """A process serving patient sockets, alive while it renews its lease (visits/leases.py).

    A process killed with sockets open never closes them; once its lease has expired, the
    presence sweep counts its sockets as closed (docs/architecture.md, "Presence")."""

    process = models.CharField(max_length=100, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.process


class ProcessSockets(models.Model):
    """How many of a visit's open sockets one process holds. `Visit.open_sockets` is their sum,
    kept by the same statements; a close takes back only what its own process counted."""

    process = models.CharField(max_length=100)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="+")
    sockets = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["process", "visit"], name="one_socket_count_per_process")
        ]

    def __str__(self) -> str:
        return f"{self.process}: {self.sockets} socket(s) of visit {self.visit_id}"
