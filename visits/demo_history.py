"""Ninety days of past visits for the demo clinic, so that /reports/ has something to show
(called by `manage.py seed_demo` through settings.DEMO_SEEDERS; safe to run again: it adds
nothing once its first visit exists).

Busier weekdays than weekends, a morning and an afternoon peak, waits of a few minutes (longer
at the peaks), calls of about ten, some patients stepping out of a call and back, some leaving or
cancelled while they wait, a few calls dropped until they expired, and recall SMS for patients
who queued offline (most delivered, some failed). Rows are made in bulk (a few thousand visits
and their events in a handful of statements: well under a second), with the same events the
services record (visits/services.py), so the figures come from the same rows as a real clinic's.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise

from django.utils import timezone

from visits.lifecycle import IN_PROGRESS_STATUSES, Actor, Event, Status
from visits.models import Visit, VisitEvent, hash_token
from waitingroom.models import Clinic
from waitingroom.outbox.models import SmsMessage

DAYS = 90
MARK = "demo-history"
FIRST_NAMES = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Robin", "Avery"]
LAST_NAMES = ["Rivera", "Chen", "Okafor", "Smith", "Novak", "Haddad", "Kowalski", "Garcia", "Ito", "Berg"]
# Arrivals by local hour: opening at 8, a morning peak at 10, lunch, an afternoon peak at 15.
HOURS = {8: 4, 9: 8, 10: 11, 11: 9, 12: 5, 13: 6, 14: 9, 15: 10, 16: 8, 17: 5, 18: 3, 19: 1}


@dataclass
class Step:
    event: str
    from_status: str
    to_status: str
    actor: str
    at: datetime


@dataclass
class Planned:
    """One visit to make: its fields and its events, in order."""

    name: str
    arrived_at: datetime
    status: Status = Status.CONNECTING
    ready_at: datetime | None = None
    first_called_at: datetime | None = None
    ended_at: datetime | None = None
    answers: dict = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    recalls: list[tuple[datetime, str]] = field(default_factory=list)  # (sent at, SMS status)

    def go(self, event: Event, to: Status, actor: Actor, at: datetime) -> None:
        self.steps.append(Step(event, self.status, to, actor, at))
        self.status = to
        if to is Status.WAITING and self.ready_at is None:
            self.ready_at = at
        if to is Status.IN_CALL and self.first_called_at is None:
            self.first_called_at = at
        if to in (Status.COMPLETED, Status.LEFT, Status.CANCELLED, Status.EXPIRED):
            self.ended_at = at

    @property
    def time_in_call(self) -> timedelta | None:
        """What apply_event stores when a visit closes (visits/call_time.py): the intervals from
        each step entering an In Progress status to the next step; None while open or if never
        called. The steps are in time order, as their events' (at, id)."""
        if self.ended_at is None or self.first_called_at is None:
            return None
        lengths = [
            after.at - step.at
            for step, after in pairwise(self.steps)
            if step.to_status in IN_PROGRESS_STATUSES
        ]
        return sum(lengths, timedelta()) if lengths else None


def planned_call(name: str, arrived: datetime, *, wait: timedelta, call: timedelta, answers=None) -> Planned:
    """A visit that is called after `wait` and completed after `call`: what a meeting's guest lives."""
    visit = Planned(name=name, arrived_at=arrived, answers=answers or {})
    visit.steps.append(Step("arrive", "", Status.CONNECTING, Actor.PATIENT, arrived))
    ready = arrived + timedelta(seconds=40)
    visit.go(Event.MEDIA_OK, Status.WAITING, Actor.PATIENT, ready)
    visit.go(Event.CALL, Status.IN_CALL, Actor.STAFF, ready + wait)
    visit.go(Event.END, Status.COMPLETED, Actor.STAFF, ready + wait + call)
    return visit


def places_in_line(planned: list[Planned]) -> list[int | None]:
    """Each visit's place in line when it became ready (itself included), as `visit_start` stores
    it for the wait screen's estimate: one more than those ready before it and not yet called or
    gone."""
    forever = datetime.max.replace(tzinfo=UTC)
    order = sorted((p.ready_at, n) for n, p in enumerate(planned) if p.ready_at is not None)
    still_waiting: list[datetime] = []  # when each earlier one left the line
    places: list[int | None] = [None] * len(planned)
    for ready, n in order:
        while still_waiting and still_waiting[0] <= ready:
            heapq.heappop(still_waiting)
        places[n] = len(still_waiting) + 1
        p = planned[n]
        heapq.heappush(still_waiting, p.first_called_at or p.ended_at or forever)
    return places


def create(clinic: Clinic, planned: list[Planned], *, key: str) -> list[Visit]:
    """The visits, their events and their recall SMS, in bulk. `key` makes their tokens (and SMS
    references) unique and recognisable to the seeder that made them."""
    places = places_in_line(planned)
    visits = Visit.objects.bulk_create(
        [
            Visit(
                clinic=clinic,
                token_hash=hash_token(f"{key}-{clinic.pk}-{n}"),
                patient_name=p.name,
                answers=p.answers,
                status=p.status,
                arrived_at=p.arrived_at,
                status_changed_at=p.steps[-1].at,
                ready_at=p.ready_at,
                first_called_at=p.first_called_at,
                position_when_ready=places[n],
                ended_at=p.ended_at,
                time_in_call=p.time_in_call,
                media_check=Visit.MediaCheck.PASSED,
                verified_phone="+15555550177" if p.recalls else "",
                recall_count=len(p.recalls),
            )
            for n, p in enumerate(planned)
        ],
        batch_size=1000,
    )
    VisitEvent.objects.bulk_create(
        [
            VisitEvent(
                visit=v,
                event=s.event,
                from_status=s.from_status,
                to_status=s.to_status,
                actor=s.actor,
                at=s.at,
            )
            for v, p in zip(visits, planned, strict=True)
            for s in p.steps
        ],
        batch_size=2000,
    )
    sms = SmsMessage.objects.bulk_create(
        [
            SmsMessage(
                clinic=clinic,
                reference=f"recall:{v.pk}:{n}",
                to=v.verified_phone,
                body=f"{clinic.name}: it's your turn. Please come back to the waiting room.",
                status=status,
                sid=f"SMdemo{v.pk}x{n}",
                error="Unreachable destination handset" if status in SmsMessage.FAILED else "",
            )
            for v, p in zip(visits, planned, strict=True)
            for n, (_at, status) in enumerate(p.recalls, 1)
        ]
    )
    # created_at is auto_now_add: bulk_update writes the recall times as given.
    times = [at for p in planned for at, _status in p.recalls]
    for message, at in zip(sms, times, strict=True):
        message.created_at = message.updated_at = at
    SmsMessage.objects.bulk_update(sms, ["created_at", "updated_at"], batch_size=1000)
    return visits


def _minutes(rng: random.Random, shape: float, scale: float, cap: float) -> timedelta:
    return timedelta(minutes=min(cap, rng.gammavariate(shape, scale)))


def plan_day(rng: random.Random, day: datetime, n: int) -> list[Planned]:
    planned = []
    hours, weights = list(HOURS), list(HOURS.values())
    for _ in range(n):
        hour = rng.choices(hours, weights)[0]
        arrived = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        visit = Planned(name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", arrived_at=arrived)
        visit.steps.append(Step("arrive", "", Status.CONNECTING, Actor.PATIENT, arrived))
        now = arrived + timedelta(seconds=rng.randint(20, 120))
        visit.go(Event.MEDIA_OK, Status.WAITING, Actor.PATIENT, now)
        # Waits grow at the peaks.
        busy = HOURS[hour] / max(HOURS.values())
        wait = _minutes(rng, 2, 1.5 + 4 * busy, 60)
        fate = rng.random()
        if fate < 0.07:  # left while waiting
            visit.go(Event.PATIENT_LEAVE, Status.LEFT, Actor.PATIENT, now + wait)
        elif fate < 0.12:  # cancelled by the clinic
            visit.go(Event.CANCEL, Status.CANCELLED, Actor.STAFF, now + wait)
        else:
            if rng.random() < 0.08:  # queued offline and recalled by SMS
                wait = max(wait, timedelta(minutes=5))
                visit.go(Event.GO_OFFLINE, Status.OFFLINE, Actor.SYSTEM, now + wait * 0.2)
                recalled = now + wait - timedelta(minutes=2)
                visit.go(Event.RECALL, Status.RECALLED, Actor.STAFF, recalled)
                status = rng.choices(["delivered", "undelivered", "failed", "sent"], [85, 6, 4, 5])[0]
                visit.recalls.append((recalled, status))
                visit.go(Event.RETURN, Status.WAITING, Actor.PATIENT, now + wait - timedelta(seconds=30))
            now += wait
            visit.go(Event.CALL, Status.IN_CALL, Actor.STAFF, now)
            now += _minutes(rng, 3, 3.5, 50)
            if rng.random() < 0.1:  # the provider steps out and comes back
                visit.go(Event.LEAVE_CALL, Status.AVAILABLE, Actor.STAFF, now)
                now += _minutes(rng, 2, 1, 10)
                visit.go(Event.CALL, Status.IN_CALL, Actor.STAFF, now)
                now += _minutes(rng, 2, 2, 20)
            if fate < 0.15:  # the call dropped and was never resumed
                visit.go(Event.CONNECTION_LOST, Status.DISCONNECTED, Actor.SYSTEM, now)
                visit.go(Event.RECENTS_EXPIRED, Status.EXPIRED, Actor.SYSTEM, now + timedelta(minutes=20))
            else:
                visit.go(Event.END, Status.COMPLETED, Actor.STAFF, now)
        planned.append(visit)
    return planned


def seed(clinic: Clinic) -> None:
    if Visit.objects.filter(token_hash=hash_token(f"{MARK}-{clinic.pk}-0")).exists():
        return
    rng = random.Random(20)  # noqa: S311 - demo data, the same on every machine
    today = timezone.localdate(timezone.now(), clinic.tzinfo)
    planned: list[Planned] = []
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back)
        start = datetime.combine(day, time(0), tzinfo=clinic.tzinfo)
        weekend = day.weekday() >= 5
        planned += plan_day(rng, start, rng.randint(8, 15) if weekend else rng.randint(28, 46))
    create(clinic, planned, key=MARK)
