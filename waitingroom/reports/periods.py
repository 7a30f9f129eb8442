"""The period form: which clinic (one the user administers) and which days, in the clinic's time
zone, with presets. A bad or too long period is a form error the page shows, never a 500."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone

from waitingroom.models import Clinic

# A year and a day: a leap year's whole year fits.
MAX_DAYS = 366
# Dates outside these years are typing mistakes (and year 9999 has no next day to end a period on).
FIRST_YEAR, LAST_YEAR = 2000, 2100

PRESETS = [
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("last_7", "Last 7 days"),
    ("last_30", "Last 30 days"),
]
DEFAULT_PRESET = "this_month"


def preset_days(preset: str, today: date) -> tuple[date, date]:
    """(first day, last day) of a preset, from the clinic's today."""
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if preset == "last_7":
        return today - timedelta(days=6), today
    if preset == "last_30":
        return today - timedelta(days=29), today
    return today.replace(day=1), today  # this month, so far


def clinic_today(clinic: Clinic, now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), clinic.tzinfo).date()


@dataclass(frozen=True)
class Period:
    clinic: Clinic
    start: date
    end: date
    preset: str  # "" when the days were typed

    @property
    def query(self) -> dict[str, str]:
        """The period as the page's and the CSV links' query string."""
        return {"clinic": self.clinic.slug, "start": self.start.isoformat(), "end": self.end.isoformat()}


class PeriodForm(forms.Form):
    clinic = forms.ChoiceField(label="Clinic")
    preset = forms.ChoiceField(label="Period", required=False, choices=[("", "Chosen days"), *PRESETS])
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, *, clinics: list[Clinic], now: datetime | None = None) -> None:
        super().__init__(data)
        self.clinics = {clinic.slug: clinic for clinic in clinics}
        self.now = now
        cast(forms.ChoiceField, self.fields["clinic"]).choices = [(c.slug, c.name) for c in clinics]

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())
        clinic = self.clinics.get(data.get("clinic") or "")
        if clinic is None:
            return data  # the clinic field has its error (or the view answers 404 first)
        preset = data.get("preset") or ""
        start, end = data.get("start"), data.get("end")
        if self.errors:
            return data
        if preset or (start is None and end is None):
            preset = preset or DEFAULT_PRESET
            start, end = preset_days(preset, clinic_today(clinic, self.now))
        elif start is None or end is None:
            raise forms.ValidationError("Give both days of the period (From and To), or choose a period.")
        for day, name in ((start, "From"), (end, "To")):
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise forms.ValidationError(f"{name} must be a day between {FIRST_YEAR} and {LAST_YEAR}.")
        if end < start:
            raise forms.ValidationError("To must be the same day as From or later.")
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"A report covers at most {MAX_DAYS} days: choose a shorter period.")
        data["period"] = Period(clinic=clinic, start=start, end=end, preset=preset)
        return data
