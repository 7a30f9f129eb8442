"""Appointment scheduling data: a clinic's request settings and services, providers' availability,
requests with their proposed times, and the meetings accepted requests become."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.crypto import constant_time_compare, get_random_string, salted_hmac

from scheduling.meetings.status import Facts, MeetingStatus, derive, indicator
from scheduling.requests.lifecycle import RequestStatus
from visits.lifecycle import IN_PROGRESS_STATUSES
from visits.models import Visit
from waitingroom.models import Clinic
from waitingroom.questions import Question

# A requester asks for at most this many times; staff propose at most this many to a guest.
MAX_REQUESTED_TIMES = 3
MAX_PROPOSED_TIMES = 3


class SchedulingProfile(models.Model):
    """A clinic's appointment-request settings: who may request, who accepts, how availability
    is known, and when undecided requests expire. One per clinic, made on first use."""

    class Mode(models.TextChoices):
        ON_DEMAND = "on_demand", "On-demand: providers switch Available / Not available"
        CALENDAR = "calendar", "Calendar: providers' weekly hours and date exceptions"

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="scheduling")
    availability_mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.CALENDAR)
    patient_group_name = models.CharField(max_length=80, default="Patients")
    patient_email_domains = models.TextField(
        blank=True,
        help_text="Who may request: emails at these domains (one per line). Empty: anyone with the link.",
    )
    host_group_name = models.CharField(max_length=80, default="Providers")
    hosts = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="hosted_scheduling_profiles",
        help_text="Providers who accept requests sent to the host group. Empty: every provider.",
    )
    now_request_expiry_minutes = models.PositiveIntegerField(
        default=30, help_text="An undecided Now request expires after this."
    )
    booking_days = models.PositiveIntegerField(
        default=14, validators=[MinValueValidator(1), MaxValueValidator(90)], help_text="Slots offered ahead."
    )
    minimum_notice_minutes = models.PositiveIntegerField(
        default=60, help_text="Slots that start sooner than this are not offered."
    )

    def __str__(self) -> str:
        return f"Scheduling of {self.clinic}"

    @property
    def allowed_domains(self) -> list[str]:
        return [
            line.strip().lower().lstrip("@")
            for line in self.patient_email_domains.splitlines()
            if line.strip()
        ]

    def may_request(self, email: str) -> bool:
        domains = self.allowed_domains
        return not domains or email.rsplit("@", 1)[-1].lower() in domains


class Service(models.Model):
    class Kind(models.TextChoices):
        VIDEO = "video", "Video visit"
        PHONE = "phone", "Phone consultation"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="services")
    kind = models.CharField(
        max_length=5,
        choices=Kind.choices,
        default=Kind.VIDEO,
        help_text="Video: requests and meetings. Phone consultation: booked on the consultation page.",
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    payment_required = models.BooleanField(default=False)
    price = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(payment_required=False) | Q(price__gt=0), name="paid_service_has_a_price"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.payment_required and not (self.price and self.price > 0):
            raise ValidationError({"price": "A service that requires payment needs a price."})

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)


class RequestQuestion(Question):
    """One question of the clinic's pre-request form (the intake form's mechanism)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="request_questions")

    class Meta(Question.Meta):
        constraints = [models.UniqueConstraint(fields=["clinic", "key"], name="request_question_key_unique")]


# --- Availability ------------------------------------------------------------------------------


class ProviderStatus(models.Model):
    """On-demand mode: the provider's Available / Not available toggle, per clinic."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="provider_statuses")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    available = models.BooleanField(default=False)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "provider"], name="one_status_per_provider")]

    def __str__(self) -> str:
        return f"{self.provider}: {'available' if self.available else 'not available'}"


class WeeklyHours(models.Model):
    """Calendar mode: a provider's recurring hours on one weekday, in the clinic's time zone."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="weekly_hours")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["provider_id", "weekday", "start"]
        verbose_name_plural = "weekly hours"
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="weekly_hours_end_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class DateException(models.Model):
    """Calendar mode: one date that differs from the weekly hours: a day off, or other hours."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="date_exceptions")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    available = models.BooleanField(default=False, help_text="Off: not available that day.")
    start = models.TimeField(null=True, blank=True)
    end = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["date", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(available=False) | Q(start__isnull=False, end__gt=F("start")),
                name="available_exception_has_hours",
            )
        ]

    def __str__(self) -> str:
        if not self.available:
            return f"{self.date}: off"
        return f"{self.date}: {self.start:%H:%M}-{self.end:%H:%M}"

    def clean(self) -> None:
        if self.available and not (self.start and self.end and self.end > self.start):
            raise ValidationError("Give the hours (end after start) of an available date.")


# --- Requests ----------------------------------------------------------------------------------


class RequesterManager(models.Manager["Requester"]):
    def remember(self, *, email: str, name: str, phone: str, clinic: Clinic) -> Requester:
        """The requester known by `email` (made on first contact with what they typed then), now
        marked as having last asked `clinic`: a request and a consultation booking both call it."""
        requester, _ = self.get_or_create(email=email.lower(), defaults={"name": name, "phone": phone})
        requester.last_clinic = clinic
        requester.save(update_fields=["last_clinic"])
        return requester


class Requester(models.Model):
    """Someone who asked for a session, known by email (no password: a magic link signs them in)."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The clinic they last asked something of (a request, a consultation booking): where a new
    # magic link is sent from, whatever the app they used.
    last_clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RequesterManager()

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class AppointmentRequest(models.Model):
    class Kind(models.TextChoices):
        NOW = "now", "Now"
        SCHEDULED = "scheduled", "Scheduled"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="appointment_requests")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="requests")
    # Addressed to one provider, or (None) to the clinic's host group.
    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    requester = models.ForeignKey(Requester, on_delete=models.CASCADE, related_name="requests")
    # What the requester typed this time (their Requester row keeps the latest).
    name = models.CharField(max_length=120)
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    note = models.TextField(max_length=1000, blank=True)

    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    response = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="request_due_idx")]

    def __str__(self) -> str:
        return f"Request #{self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.status == RequestStatus.PENDING


class RequestedTime(models.Model):
    """One proposed start time of a Scheduled request (up to three)."""

    request = models.ForeignKey(AppointmentRequest, on_delete=models.CASCADE, related_name="times")
    starts_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]
        constraints = [models.UniqueConstraint(fields=["request", "starts_at"], name="requested_time_once")]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} UTC"


class RequestEvent(models.Model):
    """The request's audit trail: submitted, accepted, declined, expired (who, when, what was said)."""

    request = models.ForeignKey(AppointmentRequest, on_delete=models.CASCADE, related_name="events")
    event = models.CharField(max_length=20)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField()
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.event} ({self.from_status or '-'} -> {self.to_status})"


# --- Meetings ----------------------------------------------------------------------------------


def new_nonce() -> str:
    return get_random_string(32)


GUEST_KEY_DIGITS = 9


def new_guest_key() -> str:
    """Nine random digits: short enough to read out on the phone; guessing is rate-limited."""
    return get_random_string(GUEST_KEY_DIGITS, allowed_chars="0123456789")


class MeetingQuerySet(models.QuerySet):
    def booked(self) -> MeetingQuerySet:
        """Meetings that hold their provider's time: a time is fixed and nobody cancelled."""
        return self.filter(cancelled_at__isnull=True, starts_at__isnull=False)


class Meeting(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="meetings")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="meetings")
    # The meeting's type.
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="meetings")
    # Both empty while planning: the guest picks one of the proposed times (MeetingProposal).
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    # A cache of meetings/status.py's derive(), kept current by the beat sweep; never set by hand.
    status = models.CharField(max_length=14, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED)
    description = models.TextField(max_length=2000, blank=True)
    guest_name = models.CharField(max_length=120)
    guest_email = models.EmailField()
    guest_phone = models.CharField(max_length=20, blank=True)
    guest_key = models.CharField(max_length=GUEST_KEY_DIGITS, unique=True, default=new_guest_key)
    requester = models.ForeignKey(
        Requester, null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    request = models.OneToOneField(
        AppointmentRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="meeting"
    )
    # The guest's join link is an HMAC of the id and this nonce: unguessable, never stored, and
    # revoked by changing the nonce.
    join_nonce = models.CharField(max_length=32, default=new_nonce)
    # The waiting-room visit the guest joined through (reused when they come back).
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    guest_entered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by_guest = models.BooleanField(default=False)
    # Bumped by every change the guest's calendar must apply (the .ics SEQUENCE).
    sequence = models.PositiveIntegerField(default=0)
    summary = models.TextField(max_length=5000, blank=True, help_text="Left by the staff for the guest.")
    review_rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    review_text = models.TextField(max_length=2000, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["provider", "starts_at"], name="meeting_provider_time_idx"),
            models.Index(fields=["clinic", "starts_at"], name="meeting_clinic_time_idx"),
            models.Index(fields=["status"], name="meeting_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True, ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="meeting_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(review_rating__isnull=True) | Q(review_rating__gte=1, review_rating__lte=5),
                name="meeting_review_rating_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        when = f"{self.starts_at:%Y-%m-%d %H:%M} UTC" if self.starts_at else "time to be picked"
        return f"{self.service} with {self.guest_name} at {when}"

    def _join_signature(self) -> str:
        return salted_hmac(
            "scheduling.meeting-join", f"{self.pk}:{self.join_nonce}", algorithm="sha256"
        ).hexdigest()

    @property
    def join_token(self) -> str:
        return f"{self.pk}-{self._join_signature()}"

    def join_token_matches(self, signature: str) -> bool:
        return constant_time_compare(signature, self._join_signature())

    @property
    def guest_key_display(self) -> str:
        return " ".join(self.guest_key[i : i + 3] for i in range(0, len(self.guest_key), 3))

    def facts(self) -> Facts:
        """What derive() needs; the visit must be loaded with the meeting (select_related)."""
        visit = self.visit
        return Facts(
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            cancelled=self.cancelled_at is not None,
            call_started=bool(visit and visit.first_called_at),
            call_failed=bool(visit and visit.call_failed_at),
            in_call=bool(visit and visit.status in IN_PROGRESS_STATUSES),
        )

    def current_status(self, now: datetime) -> MeetingStatus:
        return derive(self.facts(), now)

    def indicator(self) -> str:
        return indicator(
            entered=self.guest_entered_at is not None,
            media_check=self.visit.media_check if self.visit else None,
        )


class MeetingProposal(models.Model):
    """One of several times proposed to the guest while the meeting is being planned."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="proposals")
    starts_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]
        constraints = [models.UniqueConstraint(fields=["meeting", "starts_at"], name="proposal_once")]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} UTC"


class MeetingEvent(models.Model):
    """The meeting's audit trail: scheduled, picked, rescheduled, assigned, cancelled, entered."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="events")
    event = models.CharField(max_length=20)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField()
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.event} at {self.at:%Y-%m-%d %H:%M} UTC"
