"""Reads for the meetings overview: the clinic it shows, its rows (My or Everyone, sorted by any
column), and one meeting a staff member may act on. Every read is scoped to the user's clinics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from scheduling.meetings.status import INDICATOR_LABELS, INDICATOR_SYMBOLS, MeetingStatus, Rules, rules_of
from scheduling.models import Meeting, MeetingProposal
from waitingroom import tenancy
from waitingroom.models import FRONTLINE_ROLES, Clinic

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
    newest = _with_details(meetings).order_by("-starts_at", "-created_at")[:MAX_ROWS]
    rows = []
    for meeting in newest:
        proposals = list(meeting.proposals.all())
        when = meeting.starts_at or (proposals[0].starts_at if proposals else None)
        rows.append(MeetingRow(meeting, meeting.current_status(now), meeting.indicator(), when))
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
