"""The clinic's intake form, built from its configured fields."""

from __future__ import annotations

import re

from django import forms

from visits.models import IntakeField
from waitingroom.models import Clinic

PHONE_RE = re.compile(r"^\+?[0-9 ().-]{7,20}$")
US_STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
]


def _phone(value: str) -> None:
    if value and not PHONE_RE.match(value):
        raise forms.ValidationError("Enter a phone number: digits, spaces and an optional leading +.")


def field_for(intake: IntakeField) -> forms.Field:
    common = {"label": intake.label, "required": intake.required}
    kind = intake.kind
    if kind in (IntakeField.Kind.CHOICE, IntakeField.Kind.REGION):
        options = intake.options or (US_STATES if kind == IntakeField.Kind.REGION else [])
        return forms.ChoiceField(choices=[("", "— choose —"), *[(o, o) for o in options]], **common)
    if kind == IntakeField.Kind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == IntakeField.Kind.EMAIL:
        return forms.EmailField(max_length=200, **common)
    if kind == IntakeField.Kind.PHONE:
        return forms.CharField(
            max_length=20, validators=[_phone], widget=forms.TextInput(attrs={"type": "tel"}), **common
        )
    return forms.CharField(max_length=200, **common)


class IntakeForm(forms.Form):
    patient_name = forms.CharField(label="Your name", max_length=120)

    def __init__(self, *args, clinic: Clinic, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.intake_fields = list(clinic.intake_fields.all())
        for intake in self.intake_fields:
            self.fields[f"q_{intake.key}"] = field_for(intake)

    def answers(self) -> dict[str, str]:
        """Answers by field key, as strings (dates in ISO format), empty ones left out."""
        result = {}
        for intake in self.intake_fields:
            value = self.cleaned_data.get(f"q_{intake.key}")
            if value not in (None, ""):
                result[intake.key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return result
