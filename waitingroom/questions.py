"""The shared question builder: a clinic configures questions, a form asks them and keeps the
answers. The intake form (visits), the pre-request form (scheduling) and the coming consultation
booking form each subclass `Question` for their own table and mix `QuestionsMixin` into their form.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db import models

from waitingroom.validators import EmailAddressField, SingleLineField


class Question(models.Model):
    """One configurable question of a clinic's form. Abstract: each form keeps its own table of
    questions (visits' intake fields, scheduling's pre-request questions)."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        CHOICE = "choice", "Choice"
        DATE = "date", "Date"
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        REGION = "region", "Region / State"

    label = models.CharField(max_length=80)
    key = models.SlugField(max_length=40, help_text="Stable name of the answer, e.g. 'visit_option'.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.TextField(blank=True, help_text="For Choice and Region: one option per line.")
    required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label

    @property
    def options(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]


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


def validate_phone(value: str) -> None:
    if value and not PHONE_RE.match(value):
        raise forms.ValidationError("Enter a phone number: digits, spaces and an optional leading +.")


def field_for(question: Question) -> forms.Field:
    label, required = question.label, question.required
    kind = question.kind
    if kind in (Question.Kind.CHOICE, Question.Kind.REGION):
        options = question.options or (US_STATES if kind == Question.Kind.REGION else [])
        return forms.ChoiceField(
            choices=[("", "— choose —"), *[(o, o) for o in options]], label=label, required=required
        )
    if kind == Question.Kind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=label, required=required)
    if kind == Question.Kind.EMAIL:
        return EmailAddressField(max_length=200, label=label, required=required)
    if kind == Question.Kind.PHONE:
        return SingleLineField(
            max_length=20,
            validators=[validate_phone],
            widget=forms.TextInput(attrs={"type": "tel"}),
            label=label,
            required=required,
        )
    return SingleLineField(max_length=200, label=label, required=required)


class QuestionsMixin:
    """Adds a clinic's configured questions to a form as `q_<key>` fields and reads the answers back."""

    # Provided by the forms.Form that this is mixed into.
    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def add_questions(self, questions: list[Question]) -> None:
        self.questions = questions
        for question in questions:
            self.fields[f"q_{question.key}"] = field_for(question)

    def answers(self) -> dict[str, str]:
        """Answers by question key, as strings (dates in ISO format), empty ones left out."""
        result = {}
        for question in self.questions:
            value = self.cleaned_data.get(f"q_{question.key}")
            if value is not None and value != "":
                result[question.key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return result
