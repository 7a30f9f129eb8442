"""Reads for the meetings overview: the clinic it shows, its rows (My or Everyone, sorted by any
column), and one meeting a staff member may act on. Every read is scoped to the user's clinics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from scheduling.meetings.payments import price_of, subject_of
from scheduling.meetings.status import INDICATOR_LABELS, INDICATOR_SYMBOLS, MeetingStatus, Rules, rules_of
from scheduling.models import Meeting, MeetingProposal
from waitingroom import tenancy
from waitingroom.models import FRONTLINE_ROLES, Clinic
from waitingroom.payments import selectors as pay
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment, SavedCard
from waitingroom.payments.services import SEND_CLAIM

TABS = ("my", "everyone")
# The newest this many meetings are listed (older ones are in the admin's history).
MAX_ROWS = 500
# The four symbols, in the order a column sort puts them (who needs attention first).
INDICATOR_ORDER = {"failed": 0, "checking": 1, "absent": 2, "passed": 3}


@dataclass
class MeetingRow:
    meeting: Meeting
    status: MeetingStatus
    indicator: str
    # The start, or while planning the earliest proposed time (what the Date column shows).
    when: datetime | None
    # A paid service's card (brand and last four digits only) and its latest charge.
    payment: RowPayment | None = field(default=None)

    @property
    def indicator_label(self) -> str:
        return INDICATOR_LABELS[self.indicator]

    @property
    def indicator_symbol(self) -> str:
        return INDICATOR_SYMBOLS[self.indicator]

    @property
    def rules(self) -> Rules:
        return rules_of(self.status)

    @property
    def host(self) -> str:
        provider = self.meeting.provider
        return provider.get_full_name() or provider.username


@dataclass
class RowPayment:
    price: int
    currency: str
    card: SavedCard | None
    charge: Payment | None

    @property
    def price_text(self) -> str:
        return pay.money(self.price, self.currency)

    @property
    def card_text(self) -> str:
        return self.card.label if self.card else "No card saved yet"

    @property
    def charge_text(self) -> str:
        return pay.status_text(self.charge) if self.charge else "Not charged"


def _row_payments(meetings: list[Meeting]) -> dict[int, RowPayment]:
    """The paid meetings' cards and latest charges in two queries, whatever the number of rows.
    (Read from waitingroom/payments/'s models: its selectors answer for one subject at a time.)"""
    prices = {m.pk: (price, m.clinic.currency) for m in meetings if (price := price_of(m)) is not None}
    if not prices:
        return {}
    subjects = {subject_of(pk): pk for pk in prices}
    cards = {
        card.subject: card
        for card in SavedCard.objects.filter(subject__in=list(subjects), status=SavedCard.Status.SAVED)
    }
    charges = {
        charge.subject: charge
        for charge in Payment.objects.filter(subject__in=list(subjects), kind=PaymentKind.CHARGE)
        .order_by("subject", "-attempt", "-id")
        .distinct("subject")
    }
    return {pk: RowPayment(*prices[pk], cards.get(s), charges.get(s)) for s, pk in subjects.items()}


def _sort_keys(row: MeetingRow):
    m = row.meeting
    return {
        "guest": (m.guest_name.casefold(), m.guest_email),
        "key": m.guest_key,
        "indicator": INDICATOR_ORDER[row.indicator],
        "type": m.service.name.casefold(),
        "details": (row.host.casefold(), m.description.casefold()),
        "status": row.status.label,
        "date": row.when.timestamp() if row.when else 0.0,
    }


# The overview's columns, in page order: (sort name, header).
COLUMNS = (
    ("guest", "Guest"),
    ("key", "Guest key"),
    ("indicator", "Check"),
    ("type", "Meeting type"),
    ("details", "Details"),
    ("status", "Status"),
    ("date", "Date and time"),
)
SORTS = tuple(column for column, _title in COLUMNS)


def overview_clinic(*, user: User, slug: str | None) -> Clinic:
    """The clinic whose meetings are shown: the one asked for, else the user's first; 404 for a
    clinic the user does not work in."""
    clinics = tenancy.staff_clinics(user=user, roles=FRONTLINE_ROLES)
    clinic = (
        clinics.filter(slug=tenancy.checked_slug(slug)).first() if slug else clinics.order_by("name").first()
    )
    if clinic is None:
        raise Http404("No such clinic")
    return clinic


def _with_details(queryset: QuerySet[Meeting]) -> QuerySet[Meeting]:
    return queryset.select_related("clinic", "service", "provider", "visit").prefetch_related(
        Prefetch("proposals", queryset=MeetingProposal.objects.order_by("starts_at"))
    )


def meetings_overview(
    *,
    user: User,
    clinic: Clinic,
    tab: str = "my",
    sort: str = "date",
    descending: bool = True,
    now: datetime | None = None,
) -> list[MeetingRow]:
    """My meetings (hosted by `user`) or everyone's in the clinic, newest first by default. The
    caller has checked that `user` works in `clinic`."""
    now = now or timezone.now()
    meetings = Meeting.objects.filter(clinic=clinic)
    if tab != "everyone":
        meetings = meetings.filter(provider=user)
    newest = list(_with_details(meetings).order_by("-starts_at", "-created_at")[:MAX_ROWS])
    paid = _row_payments(newest)
    rows = []
    for meeting in newest:
        proposals = list(meeting.proposals.all())
        when = meeting.starts_at or (proposals[0].starts_at if proposals else None)
        rows.append(
            MeetingRow(meeting, meeting.current_status(now), meeting.indicator(), when, paid.get(meeting.pk))
        )
    sort = sort if sort in SORTS else "date"
    rows.sort(key=lambda row: _sort_keys(row)[sort], reverse=descending)
    return rows


def staff_meeting(*, user: User, meeting_id: int) -> Meeting:
    """A meeting of a clinic whose waiting room the user works in; else 404."""
    meeting = (
        _with_details(Meeting.objects.filter(pk=meeting_id))
        .filter(clinic__in=tenancy.staff_clinics(user=user, roles=FRONTLINE_ROLES))
        .first()
    )
    if meeting is None:
        raise Http404("No such meeting")
    return meeting


# --- A paid meeting's payment page -----------------------------------------------------------


@dataclass
class MeetingPayment:
    """What the meeting's payment page shows, for one viewer."""

    price: int
    currency: str
    card: SavedCard | None
    charge: Payment | None  # the latest charge
    history: list[Payment]  # charges and refunds, newest first
    completed: bool
    may_charge: bool
    now: datetime

    @property
    def price_text(self) -> str:
        return pay.money(self.price, self.currency)

    @property
    def charge_text(self) -> str:
        return pay.status_text(self.charge) if self.charge else "Not charged"

    @property
    def history_rows(self) -> list[tuple[Payment, str]]:
        return [(payment, pay.status_text(payment)) for payment in self.history]

    @property
    def open(self) -> bool:
        """No charge holds the meeting: none yet, or the last one failed or was cancelled."""
        return self.charge is None or self.charge.status in (PaymentStatus.FAILED, PaymentStatus.CANCELED)

    @property
    def chargeable(self) -> bool:
        return self.may_charge and self.completed and self.card is not None and self.open

    @property
    def retryable(self) -> bool:
        """The charge is still pending because Stripe could not be reached (it says so) or its send
        never finished: the same charge may be sent again (charge_retry's own rule)."""
        charge = self.charge
        return (
            self.may_charge
            and charge is not None
            and charge.status == PaymentStatus.PENDING
            and bool(charge.failure_message or charge.updated_at < self.now - SEND_CLAIM)
        )

    @property
    def cancellable(self) -> bool:
        """The charge waits for the guest's confirmation: whoever may charge may cancel it."""
        charge = self.charge
        return self.may_charge and charge is not None and charge.status == PaymentStatus.NEEDS_AUTHENTICATION

    @property
    def why_not(self) -> str:
        """Why there is no Charge button, for whoever may charge."""
        if not self.open or not self.may_charge:
            return ""
        if not self.completed:
            return "Charge once the meeting has taken place (completed)."
        if self.card is None:
            return "The guest has not saved a card, so there is nothing to charge."
        return ""


def meeting_payment(*, meeting: Meeting, may_charge: bool, now: datetime | None = None) -> MeetingPayment:
    """A paid meeting's payment (the caller checked it is paid and who asks)."""
    now = now or timezone.now()
    subject = subject_of(meeting.pk)
    return MeetingPayment(
        price=price_of(meeting) or 0,
        currency=meeting.clinic.currency,
        card=pay.card_for(subject=subject),
        charge=pay.current_charge(subject=subject),
        history=pay.payments_for(subject=subject),
        completed=rules_of(meeting.current_status(now)).chargeable,
        may_charge=may_charge,
        now=now,
    )
