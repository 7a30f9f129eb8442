"""Reads for pages and sockets. Lists use a fixed number of queries whatever their length."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.module_loading import import_string

from visits import phone_codes
from visits.guest_lifecycle import CALL_OVER_HEADING, ENDED_HEADINGS, PANEL_ENDED_WORDS, GuestStatus
from visits.guest_lifecycle import LIVE_STATUSES as LIVE_GUEST_STATUSES
from visits.guest_lifecycle import SCREEN as GUEST_SCREEN
from visits.lifecycle import (
    CLOSED_STATUSES,
    IN_PROGRESS_STATUSES,
    PATIENT_SCREEN,
    PHASE_OF,
    STATUS_LABELS,
    WAITING_PHASES,
    Event,
    Status,
)
from visits.models import CallGuest, CallParticipant, ChatMessage, IntakeField, Visit, hash_token
from visits.signalling import staff_peer
from waitingroom.models import Clinic
from waitingroom.validators import phone_number

# The browser session's key listing the visits its patient may open.
PATIENT_SESSION_KEY = "visit_ids"
# A link of a visit that ended longer ago than this is a plain 404 (nothing to show any more).
CLOSED_LINK_LIFETIME = timedelta(hours=24)
READY_STATUSES = [Status.WAITING, Status.OFFLINE, Status.RECALLED]
# An estimate needs this many recent called visits; with fewer, the patient is told so.
ESTIMATE_MIN_SAMPLES = 3
ESTIMATE_SAMPLES = 20
ESTIMATE_LOOKBACK = timedelta(days=7)
# The wait screen moves its place in line on queue pushes without asking the server; it reads the
# estimate for its new place from a table computed here (positions 1..its own, at most this many),
# so the estimate has one formula. Further back, the estimate waits for the next re-fetch.
ESTIMATE_TABLE_PLACES = 100
# Who counts against a clinic's queue cap (Clinic.max_waiting): the getting-ready and ready phases,
# everyone who has arrived and is not yet with staff: checking their devices, camera blocked, in
# line, offline in line, recalled. In a call, stepped out and Recents do not (docs/architecture.md,
# "Opening hours").
CAPPED_STATUSES = sorted(s.value for s, p in PHASE_OF.items() if p in WAITING_PHASES)


def estimate_minutes(*, position: int, seconds_per_place: float) -> int:
    return max(1, round(position * seconds_per_place / 60))


def staff_visit(*, clinic: Clinic, visit_id: int) -> Visit:
    """A visit of `clinic` (already checked against the user), else 404."""
    visit = Visit.objects.filter(clinic=clinic, pk=visit_id).select_related("clinic").first()
    if visit is None:
        raise Http404("No such visit")
    return visit


# What the patient's socket reads of its visit (visits/consumers.py uses nothing else): building a
# Visit and a Clinic with all their fields was the largest cost of a reconnect storm (22.7% of
# daphne's time in the profile, docs/performance.md).
SOCKET_FIELDS = ("id", "status", "clinic_id", "arrived_at", "ended_at", "clinic__id", "clinic__idle_seconds")


def patient_visit(*, token: str, bound_visit_ids: list[int], only: tuple[str, ...] = ()) -> Visit:
    """The visit behind a patient's link, if this browser session is bound to it and the visit did
    not end longer than CLOSED_LINK_LIFETIME ago; else 404 (a wrong token learns nothing).
    `only` limits the fields read (SOCKET_FIELDS for the socket)."""
    visits = Visit.objects.filter(token_hash=hash_token(token)).select_related("clinic")
    visit = (visits.only(*only) if only else visits).first()
    if visit is None or visit.id not in bound_visit_ids:
        raise Http404("No such visit")
    if visit.ended_at and visit.ended_at < timezone.now() - CLOSED_LINK_LIFETIME:
        raise Http404("No such visit")
    return visit


def clinic_of_token(*, token: str) -> Clinic | None:
    """The clinic of the visit behind a patient's link whatever its session or age: a link opened
    in another browser, or one that has ended, still tells the patient whose it was."""
    visit = Visit.objects.filter(token_hash=hash_token(token)).select_related("clinic").first()
    return visit.clinic if visit else None


def clinic_of_recall_token(*, link_token: str) -> Clinic | None:
    """The clinic of the visit behind a Recall SMS link that can no longer open it (the visit has
    ended): the link's 256 random bits found the row, so naming its clinic tells a stranger nothing
    (docs/security.md, "Dead ends"). None for a link that matches no visit."""
    if not link_token:
        return None
    visit = Visit.objects.filter(recall_token_hash=hash_token(link_token)).select_related("clinic").first()
    return visit.clinic if visit else None


def queue_position(*, visit: Visit) -> int:
    """1 for the first in line: ready-phase visits that arrived earlier, plus one."""
    ahead = Visit.objects.filter(clinic_id=visit.clinic_id, status__in=READY_STATUSES).filter(
        Q(arrived_at__lt=visit.arrived_at) | Q(arrived_at=visit.arrived_at, id__lt=visit.id)
    )
    return ahead.exclude(pk=visit.pk).count() + 1


def seconds_per_place(*, clinic: Clinic, now: datetime | None = None) -> float | None:
    """Median seconds of waiting per place in the queue over this clinic's recent called visits,
    or None when there are too few of them to say anything honest."""
    now = now or timezone.now()
    # The filter leaves no None in the three columns, which values_list's type cannot know.
    rows = cast(
        list[tuple[datetime, datetime, int]],
        list(
            Visit.objects.filter(
                clinic=clinic,
                first_called_at__gte=now - ESTIMATE_LOOKBACK,
                ready_at__isnull=False,
                position_when_ready__gt=0,
            )
            .order_by("-first_called_at")
            .values_list("ready_at", "first_called_at", "position_when_ready")[:ESTIMATE_SAMPLES]
        ),
    )
    if len(rows) < ESTIMATE_MIN_SAMPLES:
        return None
    return statistics.median(max(0.0, (called - ready).total_seconds()) / pos for ready, called, pos in rows)


def chat_messages(*, visit: Visit) -> list[ChatMessage]:
    return list(visit.messages.select_related("user", "visit__clinic"))


@dataclass
class PatientState:
    visit: Visit
    position: int | None
    seconds_per_place: float | None
    status_label: str
    staff_names: list[tuple[str, str]]  # (peer id, name) of each staff member in the call
    code_sent_to: str | None = None  # offline queueing: a code is waiting to be typed in
    # How a closed visit ended: the event that closed it and the status it closed from, so the
    # screen says what happened (a dropped connection is not "you left").
    ended_by: str = ""
    ended_from: str = ""
    intake_phone: str = ""  # offline queueing: the number typed at intake, offered for the code
    # "Call me instead" (visits/phone_request.py): offered on the blocked screen when the clinic
    # places phone calls; once asked, the queue screen says which number the clinic will call.
    phone_offered: bool = False
    # Back on the page after their own connection dropped a call (Recents, resumed): the screen
    # says so, not that the provider stepped out.
    came_back: bool = False

    @property
    def screen(self) -> str:
        return PATIENT_SCREEN[Status(self.visit.status)]

    @property
    def masked_phone(self) -> str:
        return phone_codes.masked(self.visit.verified_phone)

    @property
    def called_back(self) -> bool:
        """Recalled by SMS and not yet seen: the screen says the clinic is ready, as the text did
        (the patient is back in `waiting` as soon as the link's page is shown)."""
        v = self.visit
        return v.status == Status.RECALLED or (
            v.status == Status.WAITING and v.recall_count > 0 and v.first_called_at is None
        )

    @property
    def closed(self) -> bool:
        return Status(self.visit.status) in CLOSED_STATUSES

    @property
    def estimate_minutes(self) -> int | None:
        if self.position is None or self.seconds_per_place is None:
            return None
        return estimate_minutes(position=self.position, seconds_per_place=self.seconds_per_place)

    @property
    def estimate_table(self) -> list[int]:
        """The estimate for each place up to ESTIMATE_TABLE_PLACES, not only up to this patient's:
        the page moves its place live, back as well as forward (someone recalled returns ahead)."""
        if self.position is None or self.seconds_per_place is None:
            return []
        places = range(1, ESTIMATE_TABLE_PLACES + 1)
        return [estimate_minutes(position=p, seconds_per_place=self.seconds_per_place) for p in places]


def patient_state(*, visit: Visit, staff_names: list[tuple[str, str]] | None = None) -> PatientState:
    """What the patient's screen shows; `staff_names` ((peer id, name) pairs, in joining order) if
    the caller already read who is in the call (a visit change reads them once for the card and
    this). The peer ids are the signalling's (visits/signalling.py), so the patient's page can put
    each name on the right video."""
    waiting = visit.status in READY_STATUSES
    phone_offered = visit.status == Status.MEDIA_BLOCKED and bool(
        clinic_voice_number(clinic_id=visit.clinic_id)
    )
    texting = waiting and visit.clinic.offline_queueing
    if staff_names is None:
        staff_names = [
            (staff_peer(p.user_id), p.user.get_full_name() or p.user.username)
            for p in visit.call_participants.select_related("user").order_by("joined_at", "id")
        ]
        if visit.call_guest_id is not None and visit.status in IN_PROGRESS_STATUSES:
            # The admitted call guest's video is captioned from the same pairs (visits/call_guests.py);
            # a visit change passes them from its card's read (cards.call_peers), guest included.
            assert visit.call_guest is not None
            staff_names.append(visit.call_guest.peer_id_and_label)
    return PatientState(
        visit=visit,
        position=queue_position(visit=visit) if waiting else None,
        seconds_per_place=seconds_per_place(clinic=visit.clinic) if waiting else None,
        status_label=STATUS_LABELS[Status(visit.status)],
        staff_names=staff_names,
        code_sent_to=_pending_code_phone(visit) if texting or phone_offered else None,
        intake_phone=_intake_phone(visit) if texting or phone_offered else "",
        phone_offered=phone_offered,
        came_back=visit.status == Status.AVAILABLE and _last_event_to(visit) == Event.RESUME,
        **_how_it_ended(visit),
    )


def _last_event_to(visit: Visit) -> str:
    last = visit.events.filter(to_status=visit.status).order_by("-at", "-id").first()
    return last.event if last else ""


def clinic_voice_number(*, clinic_id: int) -> str:
    """The clinic's number for phone calls ("" when it has none), through settings.VOICE_CLINIC_NUMBER:
    Switch to phone dials from it, and "Call me instead" is offered only when it exists."""
    return str(import_string(settings.VOICE_CLINIC_NUMBER)(clinic_id))


def _how_it_ended(visit: Visit) -> dict[str, str]:
    if Status(visit.status) not in CLOSED_STATUSES:
        return {}
    last = visit.events.filter(to_status=visit.status).order_by("-at", "-id").first()
    return {"ended_by": last.event, "ended_from": last.from_status} if last else {}


def _intake_phone(visit: Visit) -> str:
    """The first phone number the patient typed at intake: they need not type it again. Only one
    the code step takes (the intake form checks it so since; an answer stored before is left out
    rather than offered and refused)."""
    if visit.verified_phone:
        return ""
    keys = visit.clinic.intake_fields.filter(kind=IntakeField.Kind.PHONE).values_list("key", flat=True)
    region = visit.clinic.default_phone_region
    return next((str(visit.answers[k]) for k in keys if _takes(visit.answers.get(k), region)), "")


def _takes(answer: object, region: str) -> bool:
    try:
        return bool(answer) and bool(phone_number(str(answer), region=region))
    except ValidationError:
        return False


def _pending_code_phone(visit: Visit) -> str | None:
    if visit.verified_phone:
        return None
    latest = visit.phone_verifications.first()
    if latest is None or latest.used_at or latest.expires_at <= timezone.now():
        return None
    return phone_codes.masked(latest.phone)


def queue_full(*, clinic: Clinic) -> bool:
    """The clinic has a queue cap and as many walk-ins waiting (one query; none without a cap). The
    cap is for walk-ins: meeting guests (booked visits) waiting for their provider take no place."""
    if clinic.max_waiting is None:
        return False
    waiting = Visit.objects.filter(clinic_id=clinic.pk, status__in=CAPPED_STATUSES, booked=False)
    return waiting.count() >= clinic.max_waiting


# --- Call guests (visits/call_guests.py) ------------------------------------------------------------


@dataclass
class GuestPanel:
    """The call guest part of the staff call panel: the visit's live guest (invited, asking, in the
    call) with its actions, or the invitation form, with a word on the last guest who went."""

    visit: Visit
    guest: CallGuest | None  # the live one
    last: CallGuest | None  # the latest ended one, when no guest is live
    now: datetime

    @property
    def expired(self) -> bool:
        g = self.guest
        return g is not None and g.status == GuestStatus.INVITED and g.expires_at <= self.now

    @property
    def screen(self) -> str:
        """What the panel shows: "invite" (the form), "expired", "invited", "asking", "in_call"."""
        if self.guest is None:
            return "invite"
        return "expired" if self.expired else GUEST_SCREEN[GuestStatus(self.guest.status)]

    @property
    def last_words(self) -> str:
        return PANEL_ENDED_WORDS.get(GuestStatus(self.last.status), "") if self.last else ""

    @property
    def relations(self) -> list[tuple[str, str]]:
        return [
            (c.value, "Other" if c == CallGuest.Relation.OTHER else c.label.capitalize())
            for c in CallGuest.Relation
        ]

    @property
    def sent_to(self) -> str:
        g = self.guest
        if g is None:
            return ""
        return f"by text to {phone_codes.masked(g.phone)}" if g.phone else f"by email to {g.email}"


def guest_panel(*, visit: Visit) -> GuestPanel:
    latest = CallGuest.objects.filter(visit=visit).order_by("-created_at", "-id").first()
    live = latest if latest is not None and latest.status in LIVE_GUEST_STATUSES else None
    return GuestPanel(visit=visit, guest=live, last=None if live else latest, now=timezone.now())


@dataclass
class GuestState:
    """What a call guest's screen shows: their invitation, their request, the call (with the names
    of the others in it) or how it ended. Never the visit's intake answers or chat."""

    guest: CallGuest
    clinic_name: str
    inviter: str
    peer_names: list[tuple[str, str]]  # (peer id, name) of the patient and staff, once admitted

    @property
    def status(self) -> str:
        return self.guest.status

    @property
    def waiting_for_patient(self) -> bool:
        """Admitted while the visit is in Recents: the patient's connection dropped and the staff's
        call panels closed with it, but the guest stays admitted (visits/cards.py guest_line) and
        waits alone until the patient is back in the call or the visit ends."""
        return self.guest.status == GuestStatus.ADMITTED and self.guest.visit.status == Status.DISCONNECTED

    @property
    def patient_name(self) -> str:
        return self.guest.visit.patient_name

    @property
    def screen(self) -> str:
        """ "invited", "asking", "in_call" or "ended" (visits/guest_lifecycle.py SCREEN)."""
        return GUEST_SCREEN[GuestStatus(self.guest.status)]

    @property
    def ended_heading(self) -> str:
        status = GuestStatus(self.guest.status)
        if (
            status in (GuestStatus.LEFT, GuestStatus.REVOKED)
            and self.guest.visit.status not in IN_PROGRESS_STATUSES
        ):
            return CALL_OVER_HEADING  # the visit ended or went back to the queue
        return ENDED_HEADINGS.get(status, "")


def guest_state(*, guest: CallGuest) -> GuestState:
    visit = guest.visit
    inviter = (
        guest.invited_by.get_full_name() or guest.invited_by.username if guest.invited_by else "The clinic"
    )
    names: list[tuple[str, str]] = []
    if guest.status == GuestStatus.ADMITTED:
        names = [("patient", visit.patient_name)] + [
            (staff_peer(p.user_id), p.user.get_full_name() or p.user.username)
            for p in CallParticipant.objects.filter(visit=visit)
            .select_related("user")
            .order_by("joined_at", "id")
        ]
    return GuestState(guest=guest, clinic_name=visit.clinic.name, inviter=inviter, peer_names=names)
