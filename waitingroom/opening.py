"""A clinic's opening: its state now (hours, exceptions, a clinic admin's Close now), the writes that
close and reopen it by hand, the sweep that notices its hours opening or closing it, and what each
change tells whom. The rules themselves are waitingroom/hours.py (pure); docs/architecture.md,
"Opening hours".

Whoever is already waiting when the clinic closes stays until staff end their visit: closing only
refuses new arrivals (visits/services.py `visit_start` asks `admission()` under the clinic's row
lock)."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import DateField, F, IntegerField, Prefetch, Q, Value
from django.utils import timezone

from waitingroom import hours
from waitingroom.models import Clinic, ClinicEvent, HoursException, OpeningHours
from waitingroom.realtime import groups, messages, publisher

MAX_MESSAGE = cast(int, Clinic._meta.get_field("closed_now_message").max_length)
# A change of the hours due this soon is sent as a task for its instant: two sweeps' worth, so
# every change is seen by two sweeps before it and a late or lost one still leaves a task. It stays
# far below the broker's visibility timeout (settings.BROKER_VISIBILITY_TIMEOUT), which a task
# held for its eta must not outlive (it would be delivered twice: harmless, but late).
FLIP_AHEAD = timedelta(seconds=2 * settings.HOURS_SWEEP_SECONDS)
STAYING = "patients already waiting stay until you end their visits"

logger = logging.getLogger(__name__)


class OpeningRefused(Exception):
    """A Close now or Reopen that cannot be done (the words say why)."""


# --- Reads ------------------------------------------------------------------------------------------


def schedule_of(clinic: Clinic, *, around: datetime | None = None) -> hours.Schedule:
    """The clinic's hours and exceptions: the rows prefetched by the caller, or one query for both
    (exceptions within what open_state looks at around `around`)."""
    if _prefetched(clinic, "opening_hours") and _prefetched(clinic, "hours_exceptions"):
        rows: list[tuple[int, time | None, time | None, date | None]] = [
            (row.weekday, row.opens, row.closes, None) for row in clinic.opening_hours.all()
        ] + [(-1, row.opens, row.closes, row.date) for row in clinic.hours_exceptions.all()]
    else:
        day = (around or timezone.now()).date()
        weekly_rows = OpeningHours.objects.filter(clinic_id=clinic.pk).annotate(
            w=F("weekday"), o=F("opens"), c=F("closes"), d=Value(None, output_field=DateField())
        )
        exception_rows = HoursException.objects.filter(
            clinic_id=clinic.pk,
            date__gte=day - timedelta(days=hours.LOOK_BACK_DAYS + 2),
            date__lte=day + timedelta(days=hours.LOOK_AHEAD_DAYS + 16),
        ).annotate(w=Value(-1, output_field=IntegerField()), o=F("opens"), c=F("closes"), d=F("date"))
        rows = list(
            weekly_rows.values_list("w", "o", "c", "d").union(
                exception_rows.values_list("w", "o", "c", "d"), all=True
            )
        )
    weekly: dict[int, list[hours.Interval]] = {}
    exceptions: dict[date, list[hours.Interval]] = {}
    for weekday, opens, closes, on in rows:
        if on is None:
            if opens is not None and closes is not None:
                weekly.setdefault(weekday, []).append(hours.Interval(opens, closes))
            continue
        day_intervals = exceptions.setdefault(on, [])
        if opens is not None and closes is not None:
            day_intervals.append(hours.Interval(opens, closes))
    return hours.Schedule(
        weekly={weekday: tuple(items) for weekday, items in weekly.items()},
        exceptions={on: tuple(items) for on, items in exceptions.items()},
    )


def _prefetched(clinic: Clinic, name: str) -> bool:
    return name in getattr(clinic, "_prefetched_objects_cache", {})


def manual_close(clinic: Clinic) -> hours.ManualClose | None:
    if clinic.closed_now_at is None:
        return None
    by = clinic.closed_now_by
    name = (by.first_name or by.username) if by is not None else "a clinic admin"
    return hours.ManualClose(at=clinic.closed_now_at, by=name, message=clinic.closed_now_message)


def open_state(
    *, clinic: Clinic, now: datetime | None = None, by_hours_only: bool = False
) -> hours.OpenState:
    """Open or closed now (two or three queries: hours, exceptions, who closed it)."""
    now = now or timezone.now()
    return hours.open_state(
        schedule_of(clinic, around=now),
        tz=clinic.tzinfo,
        now=now,
        manual=None if by_hours_only else manual_close(clinic),
    )


@dataclass(frozen=True)
class Words:
    """What people read about a clinic's opening (empty strings while it is open)."""

    is_open: bool
    # The patient's closed page and wait screen: "The clinic is closed." / "Opens tomorrow at 08:00
    # New York time." / the clinic's message.
    headline: str = ""
    opens: str = ""
    message: str = ""
    # The staff dashboard's banner.
    banner: str = ""
    closed_now: bool = False

    @property
    def patient_text(self) -> str:
        """One sentence group for a waiting patient's screen (read out when it changes)."""
        if self.is_open:
            return ""
        parts = [self.headline, "You keep your place: the clinic will still see you."]
        if self.message:
            parts.append(self.message)
        return " ".join(parts)


def words(*, clinic: Clinic, state: hours.OpenState, now: datetime | None = None) -> Words:
    now = now or timezone.now()
    if state.is_open:
        return Words(is_open=True)
    tz = clinic.tzinfo
    opens = hours.opens_words(state, tz=tz, now=now, zone_label=clinic.time_zone_label)
    if state.manual is not None:
        headline = "The clinic has closed the waiting room for now."
        # Closed without a message of its own: the clinic's standing words (an urgent-help line).
        message = state.manual.message or clinic.closed_message
    else:
        headline = "The clinic is closed."
        message = clinic.closed_message
    if opens:
        headline = f"{headline} It {opens[0].lower()}{opens[1:]}."
    banner = f"{hours.closed_since_words(state, tz=tz, now=now)} — {STAYING}."
    if state.manual is None and state.opens_at is not None:
        banner += f" {hours.opens_words(state, tz=tz, now=now)}."
    return Words(
        is_open=False,
        headline=headline,
        opens=f"{opens}." if opens else "",
        message=message,
        banner=banner,
        closed_now=state.manual is not None,
    )


def waiting_text(*, clinic: Clinic, now: datetime | None = None) -> str:
    """The closed notice on a waiting patient's screen ("" while open). Read on every re-fetch of
    thousands of screens, so it asks the clinic's row first: open unless closed now or the hours
    sweep last saw it closed (it is at most one sweep behind the hours)."""
    if clinic.closed_now_at is None and clinic.hours_open is not False:
        return ""
    return clinic_words(clinic=clinic, now=now).patient_text


def dashboard_words(*, clinic: Clinic) -> Words:
    """The dashboard's banner. A clinic the hours sweep never saw with hours (hours_open None) and
    not closed by hand is open, read from its row alone: the dashboard's query count stays the same
    for clinics without hours; with hours it reads them (two or three queries, never per visit)."""
    if clinic.closed_now_at is None and clinic.hours_open is None:
        return Words(is_open=True)
    return clinic_words(clinic=clinic)


def clinic_words(*, clinic: Clinic, now: datetime | None = None) -> Words:
    now = now or timezone.now()
    return words(clinic=clinic, state=open_state(clinic=clinic, now=now), now=now)


# --- Writes -----------------------------------------------------------------------------------------


def locked_clinic(clinic_id: int) -> Clinic:
    return Clinic.objects.select_for_update(of=("self",)).get(pk=clinic_id)


def clinic_close_now(*, clinic_id: int, user: User, message: str) -> Clinic:
    """A clinic admin closes the waiting room now: new arrivals see the closed page with
    `message`; everyone waiting stays and is told. Closing again changes the message."""
    message = " ".join((message or "").split())
    if len(message) > MAX_MESSAGE:
        raise OpeningRefused(f"The message is limited to {MAX_MESSAGE} characters.")
    now = timezone.now()
    with transaction.atomic():
        clinic = locked_clinic(clinic_id)
        if clinic.closed_now_at is None:
            clinic.closed_now_at = now
        clinic.closed_now_by = user
        clinic.closed_now_message = message
        clinic.save(update_fields=["closed_now_at", "closed_now_by", "closed_now_message"])
        ClinicEvent.objects.create(
            clinic=clinic, kind=ClinicEvent.Kind.CLOSED_NOW, user=user, message=message, at=now
        )
        opening_changed(clinic)
    return clinic


def clinic_reopen(*, clinic_id: int, user: User) -> Clinic:
    """The clinic admin reopens the waiting room (its hours apply again)."""
    now = timezone.now()
    with transaction.atomic():
        clinic = locked_clinic(clinic_id)
        if clinic.closed_now_at is None:
            raise OpeningRefused("The waiting room is not closed.")
        clinic.closed_now_at = None
        clinic.closed_now_by = None
        clinic.closed_now_message = ""
        clinic.save(update_fields=["closed_now_at", "closed_now_by", "closed_now_message"])
        ClinicEvent.objects.create(clinic=clinic, kind=ClinicEvent.Kind.REOPENED, user=user, at=now)
        opening_changed(clinic)
    return clinic


def hours_sweep(
    *, now: datetime | None = None, clinic_ids: list[int] | None = None, send_flips: bool = True
) -> int:
    """Beat, every 30 s: clinics whose hours opened or closed them since the last look are recorded
    and pushed (the dashboards' banner, the waiting patients). Fixed query count plus two writes
    per clinic that changed; a compare-and-set makes two sweeps at once change a clinic once.
    `clinic_ids`: only these (the admin saved their hours: told at once, not at the next sweep;
    or the exact-time task of one clinic, `hours_flip`).

    A clinic whose hours change within FLIP_AHEAD gets a task for that instant after commit
    (`flip_at`), so the change is recorded and pushed on time rather than at the next sweep.
    `send_flips=False`: the exact-time task itself, which leaves the next change to the sweeps (a
    task sending one for the next change would add two more tasks to every change than the last)."""
    now = now or timezone.now()
    day = now.date()
    window = Q(date__gte=day - timedelta(days=hours.LOOK_BACK_DAYS + 2)) & Q(
        date__lte=day + timedelta(days=hours.LOOK_AHEAD_DAYS + 16)
    )
    clinics = Clinic.objects.filter(
        Q(hours_open__isnull=False)
        | Q(pk__in=OpeningHours.objects.values("clinic_id"))
        | Q(pk__in=HoursException.objects.values("clinic_id"))
    )
    if clinic_ids is not None:
        clinics = clinics.filter(pk__in=clinic_ids)
    clinics = clinics.select_related("closed_now_by").prefetch_related(
        "opening_hours", Prefetch("hours_exceptions", HoursException.objects.filter(window))
    )
    changed = 0
    for clinic in clinics:
        schedule = schedule_of(clinic)
        is_open = hours.open_state(schedule, tz=clinic.tzinfo, now=now).is_open
        if send_flips:
            due = hours.next_change(schedule, tz=clinic.tzinfo, now=now, within=FLIP_AHEAD)
            if due is not None:
                # After commit: an admin's save of hours (inside its transaction) is read by the task.
                transaction.on_commit(functools.partial(flip_at, clinic_id=clinic.pk, at=due))
        # No hours left (its admin removed them all): back to "never seen" (None), so the clinic is
        # open at once and its wait screens and dashboard read its row alone again, as a clinic
        # that never set hours does (waiting_text, dashboard_words); the beat stops reading it.
        seen: bool | None = is_open if schedule.is_set else None
        if clinic.hours_open is seen:
            continue
        with transaction.atomic():
            won = Clinic.objects.filter(pk=clinic.pk, hours_open=clinic.hours_open).update(hours_open=seen)
            if not won:
                continue  # another sweep got there first
            was_open = clinic.hours_open is not False  # never seen (None) is open
            clinic.hours_open = seen
            changed += 1
            if was_open and is_open:
                continue  # nothing to tell: it was open and still is
            ClinicEvent.objects.create(
                clinic=clinic,
                kind=ClinicEvent.Kind.HOURS_OPENED if is_open else ClinicEvent.Kind.HOURS_CLOSED,
                at=now,
            )
            opening_changed(clinic)
    return changed


def hours_flip(*, clinic_id: int, at: datetime, now: datetime | None = None) -> int:
    """The exact-time task's service (`waitingroom.tasks.opening_hours_flip`, sent by `flip_at` for
    the change due `at`): the sweep of this one clinic, so the same compare-and-set records and
    pushes the change once however many tasks arrive. Run before `at` by this machine's clock (a
    task run before its eta: clocks set apart, a task sent by hand) it looks at nothing and sends itself again
    for `at` if `at` is within FLIP_AHEAD (else the sweeps send one when it comes near): the clinic
    is never flipped before its time here. 1 when the clinic changed, else 0."""
    now = now or timezone.now()
    if now < at:
        # Waited for again only within FLIP_AHEAD: a task held for a later eta would outlive the
        # broker's visibility timeout and be handed out again each timeout until then. A later
        # change gets its task from the sweeps when it comes near.
        if at - now <= FLIP_AHEAD:
            transaction.on_commit(functools.partial(flip_at, clinic_id=clinic_id, at=at))
        else:
            logger.warning(
                "opening hours: task for clinic %s at %s ran %s early, not sent again",
                clinic_id,
                at,
                at - now,
            )
        return 0
    return hours_sweep(now=now, clinic_ids=[clinic_id], send_flips=False)


def flip_at(*, clinic_id: int, at: datetime) -> None:
    """Send the clinic's exact-time task for `at` (eta). It expires a sweep interval after `at`:
    by then the beat's sweep has flipped the clinic anyway."""
    from waitingroom import tasks  # the task module imports this one

    task = tasks.opening_hours_flip
    if task.app.conf.task_always_eager:
        # Run inline, an eta means "now": a task run early would send itself again at once, and
        # again, until the instant. The sweep flips the clinic instead.
        return
    try:
        task.apply_async(
            args=(clinic_id, at.isoformat()),
            eta=at,
            expires=at + timedelta(seconds=settings.HOURS_SWEEP_SECONDS),
        )
    except Exception:  # the broker unreachable: the sweep still flips the clinic, later
        logger.warning(
            "opening hours: the task for clinic %s at %s was not sent", clinic_id, at, exc_info=True
        )


# --- Pushes -----------------------------------------------------------------------------------------


def opening_changed(clinic: Clinic) -> None:
    """The dashboards' banner and every waiting patient's screen, worded after commit."""
    clinic_id = clinic.pk
    publisher.publish_built(lambda: _opening_batch(clinic_id))


def _opening_batch(clinic_id: int) -> list[tuple[str, dict]]:
    clinic = Clinic.objects.select_related("closed_now_by").get(pk=clinic_id)
    said = clinic_words(clinic=clinic)
    return [
        (
            groups.clinic_staff_group(clinic_id),
            {
                "type": messages.OPENING.name,
                "open": said.is_open,
                "text": said.banner,
                "closed_now": said.closed_now,
            },
        ),
        (
            groups.clinic_patients_group(clinic_id),
            {"type": messages.OPENING.name, "open": said.is_open, "text": said.patient_text},
        ),
    ]
