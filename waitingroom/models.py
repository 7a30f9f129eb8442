"""The clinic core: clinics and who works in them."""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from waitingroom.hours import HoursError, Interval, check_intervals


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (for example Europe/London).")


class Clinic(models.Model):
    name = models.CharField(max_length=120)
    # The clinic link is /c/<slug>/.
    slug = models.SlugField(max_length=60, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)

    # --- Waiting room settings (the clinic admin edits them in the Django admin) ---
    reconnect_grace_seconds = models.PositiveIntegerField(
        default=15, help_text="A patient's connection drop shorter than this changes nothing."
    )
    hold_window_seconds = models.PositiveIntegerField(
        default=120, help_text="A waiting patient whose connection is lost keeps their place this long."
    )
    idle_seconds = models.PositiveIntegerField(
        default=60, help_text="In a call, no activity for this long shows the patient as away."
    )
    recents_expiry_minutes = models.PositiveIntegerField(
        default=20, help_text="A dropped call can be resumed for this long, then the visit expires."
    )
    wait_amber_minutes = models.PositiveIntegerField(
        default=5, help_text="A waiting card turns amber after this."
    )
    wait_red_minutes = models.PositiveIntegerField(
        default=15, help_text="A waiting card turns red after this."
    )
    offline_queueing = models.BooleanField(
        default=False, help_text="Patients may verify a mobile number, leave the page and be recalled by SMS."
    )
    default_phone_region = models.CharField(
        max_length=2, default="US", help_text="Country of phone numbers typed without a +country code."
    )
    recall_timeout_minutes = models.PositiveIntegerField(
        default=10, help_text="A recalled patient who has not returned by then is flagged 'no response'."
    )
    broadcast_message = models.CharField(
        max_length=280,
        blank=True,
        help_text="Shown to every waiting patient (e.g. 'running 15 minutes late').",
    )
    daily_sms_limit = models.PositiveIntegerField(
        default=500,
        help_text="No more SMS than this are sent in one day (the clinic's time zone); the clinic "
        "admins are emailed the first time it is reached each day.",
    )
    # The clinic-local day the admins were last told that the SMS limit was reached (once a day).
    sms_limit_alerted_on = models.DateField(null=True, blank=True, editable=False)

    # --- Card payments (waitingroom/payments/) ---
    currency = models.CharField(
        max_length=3,
        choices=[
            ("usd", "US dollar"),
            ("eur", "Euro"),
            ("gbp", "Pound sterling"),
            ("aud", "Australian dollar"),
            ("cad", "Canadian dollar"),
            ("nzd", "New Zealand dollar"),
        ],
        default="usd",
        help_text="The currency of the services' prices (each has cents: a price of 45.00 is 4500).",
    )
    stripe_account_id = models.CharField(
        max_length=64,
        blank=True,
        validators=[RegexValidator(r"^acct_[A-Za-z0-9]{1,60}$", "A Stripe account id starts with acct_.")],
        help_text="The clinic's Stripe connected account: charges go there (destination charges). "
        "Empty: the platform's own Stripe account takes them.",
    )

    # --- Opening hours and the queue cap (waitingroom/hours.py; docs/architecture.md "Opening hours") ---
    closed_message = models.CharField(
        max_length=280,
        blank=True,
        help_text="Shown to patients who come outside the opening hours (e.g. 'For urgent help call 911').",
    )
    max_waiting = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="At most this many patients waiting (getting ready or in line); past it new arrivals are "
        "offered an appointment instead. Blank: no cap.",
    )
    # Closed now by a clinic admin from the dashboard (until reopened); set only by the services.
    closed_now_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_now_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    closed_now_message = models.CharField(max_length=280, blank=True, editable=False)
    # The open state by the hours the opening sweep saw last (None: never seen): a change is pushed.
    hours_open = models.BooleanField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        # A cap of 0 would turn every walk-in away as "full" with nobody waiting: blank is no cap,
        # and Close now (the dashboard) is how a clinic stops arrivals, with its message.
        if self.max_waiting == 0:
            raise ValidationError(
                {
                    "max_waiting": "The cap is at least 1. Leave it blank for no cap; to stop new "
                    "arrivals, use Close now on the dashboard."
                }
            )

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def time_zone_label(self) -> str:
        return time_zone_label(self.time_zone)


def time_zone_label(name: str) -> str:
    """A time zone as people read it: "America/New_York" -> "New York time"; "UTC" stays "UTC"."""
    if "/" not in name:
        return name
    return name.rsplit("/", 1)[1].replace("_", " ") + " time"


class Role(models.TextChoices):
    PROVIDER = "provider", "Provider"
    CSR = "csr", "CSR (front desk)"
    SCHEDULER = "scheduler", "Scheduler"
    CLINIC_ADMIN = "clinic_admin", "Clinic admin"


# Roles that see the live waiting room and act on visits.
FRONTLINE_ROLES = frozenset({Role.PROVIDER, Role.CSR, Role.CLINIC_ADMIN})
# Roles that may use the Django admin for their clinic.
ADMIN_SITE_ROLES = frozenset({Role.CLINIC_ADMIN, Role.SCHEDULER})


class Membership(models.Model):
    """A user's place in one clinic. A user may belong to several clinics, with one role in each."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "clinic"], name="one_membership_per_clinic")]
        ordering = ["clinic__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) at {self.clinic}"


class StaffPhone(models.Model):
    """A staff member's own phone number, verified once by an SMS code: the phone bridge calls it
    (and never shows it to a client). One per user, whatever their clinics."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_phone"
    )
    number = models.CharField(max_length=20)  # E.164
    verified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"phone of {self.user}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @classmethod
    def verified_number(cls, user_id: int | None) -> str:
        """The user's own verified number, or "" (none, or changed and not verified again): the
        only number the bridge may ring, whichever app starts the call."""
        if user_id is None:
            return ""
        return (
            cls.objects.filter(user_id=user_id, verified_at__isnull=False)
            .values_list("number", flat=True)
            .first()
            or ""
        )


class ClientAttempt(models.Model):
    """One attempt at a rate-limited public action by one client (waitingroom/ratelimit.py). The
    client address is stored as a keyed hash, never in the clear."""

    action = models.CharField(max_length=40)
    client = models.CharField(max_length=64)
    at = models.DateTimeField()
    counted = models.BooleanField(default=True)  # False: forgiven (a right guest key)

    class Meta:
        indexes = [models.Index(fields=["action", "client", "at"], name="client_attempt_idx")]

    def __str__(self) -> str:
        return f"{self.action} at {self.at:%Y-%m-%d %H:%M} UTC"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


# A closing time of 00:00 is midnight at the end of the day (waitingroom/hours.py).
OPENS_BEFORE_CLOSES = models.Q(opens__lt=models.F("closes")) | models.Q(closes=datetime.time(0))


def check_interval(opens: datetime.time | None, closes: datetime.time | None) -> None:
    """An interval's own order (waitingroom/hours.py), as a ValidationError with its words. Hours
    count whole minutes: a time typed with seconds (08:00:30) is refused, not cut to 08:00 in
    silence (the admin's widgets show hours and minutes only)."""
    for moment in (opens, closes):
        if moment is not None and (moment.second or moment.microsecond):
            raise ValidationError(
                f"{moment.isoformat()}: give the time in hours and minutes (e.g. 08:30), without "
                "seconds: opening hours count whole minutes."
            )
    if opens is not None and closes is not None:
        try:
            check_intervals([Interval(opens, closes)])
        except HoursError as error:
            raise ValidationError(str(error)) from error


class OpeningHours(models.Model):
    """One interval of a clinic's week, in the clinic's time zone; a day may have several."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["clinic", "weekday", "opens"]
        verbose_name = "opening hours"
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(condition=OPENS_BEFORE_CLOSES, name="opening_hours_opens_first")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        check_interval(self.opens, self.closes)


class HoursException(models.Model):
    """A date whose hours differ from the week's: a holiday (no times: closed all day) or special
    hours (one row per interval). Any row for a date replaces that date's weekly hours."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="hours_exceptions")
    date = models.DateField()
    opens = models.TimeField(null=True, blank=True, help_text="Blank (with closes blank): closed all day.")
    closes = models.TimeField(null=True, blank=True, help_text="00:00 means midnight at the end of the day.")
    note = models.CharField(max_length=120, blank=True, help_text="e.g. Thanksgiving")

    class Meta:
        ordering = ["clinic", "date", "opens"]
        verbose_name = "date exception"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens__isnull=True, closes__isnull=True)
                | (models.Q(opens__isnull=False, closes__isnull=False) & OPENS_BEFORE_CLOSES),
                name="hours_exception_times",
            )
        ]

    def __str__(self) -> str:
        if self.opens is None or self.closes is None:
            return f"{self.date:%Y-%m-%d} closed"
        return f"{self.date:%Y-%m-%d} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        if (self.opens is None) != (self.closes is None):
            raise ValidationError("Give both the opening and the closing time, or neither (closed all day).")
        check_interval(self.opens, self.closes)


class ClinicEvent(models.Model):
    """The record of a clinic's opening and closing: who closed or reopened it by hand and when,
    and when its hours opened or closed it (written by waitingroom/opening.py)."""

    class Kind(models.TextChoices):
        CLOSED_NOW = "closed_now", "Closed now"
        REOPENED = "reopened", "Reopened"
        HOURS_CLOSED = "hours_closed", "Closed by its hours"
        HOURS_OPENED = "hours_opened", "Opened by its hours"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.CharField(max_length=280, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["clinic", "at"], name="clinic_event_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M} UTC"


# The outbox's models stay in this app (their tables and migrations have always been waitingroom's,
# so a running deployment upgrades with no migration). Django registers an app's models when it
# imports the app's models module, hence this import; code imports them from waitingroom.outbox.models.
# The access trail's model (waitingroom/audit/), the phone bridge's (waitingroom/voice/) and card
# payments' (waitingroom/payments/) likewise.
import waitingroom.audit.models  # noqa: E402
import waitingroom.outbox.models  # noqa: E402
import waitingroom.payments.models  # noqa: E402
import waitingroom.voice.models  # noqa: E402, F401
