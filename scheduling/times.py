"""Scheduling's times as people see and type them: formatted in the clinic's zone, slots carried
in forms as UTC instants, and wall-clock times typed in the clinic's zone read back as instants.
Shared by the request and the meeting sides (pages, forms and emails)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import forms
from django.utils import timezone

from waitingroom.models import Clinic

# How far ahead a typed time may be (requesters proposing times, staff scheduling meetings).
PROPOSE_WITHIN_DAYS = 365


def local_time(moment: datetime, clinic: Clinic) -> str:
    """`Tuesday 24 November 2026, 10:00 EST`: in the clinic's time zone, with its abbreviation."""
    local = moment.astimezone(clinic.tzinfo)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M %Z}"


def slot_value(moment: datetime) -> str:
    """A slot in a form: its UTC instant, so the browser's own time zone can't shift it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def parse_slot(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)


def slot_label(moment: datetime, clinic: Clinic) -> str:
    local = moment.astimezone(clinic.tzinfo)
    return f"{local:%a} {local.day} {local:%b, %H:%M %Z}"


# --- Typed times (datetime-local fields) ---------------------------------------------------------


def clinic_instant(value: datetime, clinic: Clinic, now: datetime) -> datetime:
    """A wall-clock time typed in the clinic's zone (a datetime-local field), as a UTC instant.
    Refused: more than PROPOSE_WITHIN_DAYS ahead, a time the clocks skip, or one already past."""
    wall = value.replace(tzinfo=None)
    # Compared as wall clocks first, a day either way: a date far out (year 1, year 9999) must be
    # refused before a time zone is applied to it, or the conversion overflows.
    if wall < now.replace(tzinfo=None) - timedelta(days=1):
        raise forms.ValidationError("Choose a time in the future.")
    if wall > now.replace(tzinfo=None) + timedelta(days=PROPOSE_WITHIN_DAYS):
        raise forms.ValidationError(f"Choose a time within the next {PROPOSE_WITHIN_DAYS} days.")
    local = timezone.make_aware(wall, clinic.tzinfo)
    if local.astimezone(UTC).astimezone(clinic.tzinfo).replace(tzinfo=None) != wall:
        raise forms.ValidationError("That time does not exist in the clinic's time zone (clocks change).")
    if local <= now:
        raise forms.ValidationError("Choose a time in the future.")
    return local.astimezone(UTC)


def numbered_times(form: forms.Form, count: int, *, clinic: Clinic, now: datetime) -> list[datetime]:
    """The filled ones of a form's `time_1`..`time_<count>` fields (typed in its clinic's zone), as
    UTC instants; a time that can't be used becomes that field's error."""
    times = []
    for n in range(1, count + 1):
        value = form.cleaned_data.get(f"time_{n}")
        if value is None:
            continue
        try:
            times.append(clinic_instant(value, clinic, now))
        except forms.ValidationError as error:
            form.add_error(f"time_{n}", error)
    return times


def local_datetime_field(label: str, *, required: bool = False) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
