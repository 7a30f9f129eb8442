"""The shared question builder: a clinic configures questions, a form asks them and keeps the
answers. The intake form (visits), the pre-request form (scheduling) and the coming consultation
booking form each subclass `Question` for their own table and mix `QuestionsMixin` into their form.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db import models

from waitingroom.validators import PHONE_NOT_VALID, EmailAddressField, PhoneNumberValidator, SingleLineField


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
# The answer keeps the two-letter code (what staff and reports read); people choose by full name.
US_STATE_NAMES = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
}
US_STATES = list(US_STATE_NAMES)


def validate_phone(value: str) -> None:
    if value and not PHONE_RE.match(value):
        raise forms.ValidationError("Enter a phone number: digits, spaces and an optional leading +.")


class PhoneAnswerValidator:
    """A phone answer in a clinic's country: its characters and a number the SMS code step takes,
    refused with the code step's one message. As two validators, a short number ("555-12") broke
    both and the field said two things, the first ("digits, spaces and an optional leading +")
    wrong, since "(202) 555-0123" is taken."""

    def __init__(self, region: str) -> None:
        self.number = PhoneNumberValidator(region)

    def __call__(self, value: str) -> None:
        if value and not PHONE_RE.match(value):
            raise forms.ValidationError(PHONE_NOT_VALID, code="phone")
        self.number(value)


# What a phone needs to fill a personal field quickly: the keyboard (`type`, `inputmode`) and the
# saved value (`autocomplete`, WCAG 2.2 SC 1.3.5 Identify Input Purpose). One place for every form.
NAME_ATTRS = {"autocomplete": "name", "autocapitalize": "words", "spellcheck": "false"}
EMAIL_ATTRS = {"autocomplete": "email", "inputmode": "email", "spellcheck": "false"}
TEL_ATTRS = {"type": "tel", "inputmode": "tel", "autocomplete": "tel"}
REGION_ATTRS = {"autocomplete": "address-level1"}
BIRTH_DATE_ATTRS = {"autocomplete": "bday"}
BIRTH_DATE_KEYS = {"dob", "birth_date", "date_of_birth", "birthday", "birthdate"}


def is_birth_date(question: Question) -> bool:
    """A date question asking for the patient's birthday (by its key, or "birth" in its label)."""
    return question.key in BIRTH_DATE_KEYS or "birth" in question.label.lower()


def name_input() -> forms.TextInput:
    return forms.TextInput(attrs=NAME_ATTRS)


def email_input() -> forms.EmailInput:
    return forms.EmailInput(attrs=EMAIL_ATTRS)


def tel_input() -> forms.TextInput:
    return forms.TextInput(attrs=TEL_ATTRS)


def field_for(question: Question, *, region: str | None = None) -> forms.Field:
    """The form field of a question. `region` (the clinic's default phone country): a phone answer
    must also be a number the SMS code step takes (waitingroom/validators.py phone_number), since
    the waiting room offers it there; without it only its characters are checked."""
    label, required = question.label, question.required
    kind = question.kind
    if kind in (Question.Kind.CHOICE, Question.Kind.REGION):
        if kind == Question.Kind.REGION and not question.options:
            choices = list(US_STATE_NAMES.items())
        else:
            choices = [(o, o) for o in question.options]
        # A region is the state of the patient's address: autofill offers the saved one.
        widget = forms.Select(attrs=REGION_ATTRS if kind == Question.Kind.REGION else {})
        return forms.ChoiceField(
            choices=[("", "— choose —"), *choices], label=label, required=required, widget=widget
        )
    if kind == Question.Kind.DATE:
        attrs = {"type": "date", **(BIRTH_DATE_ATTRS if is_birth_date(question) else {})}
        return forms.DateField(widget=forms.DateInput(attrs=attrs), label=label, required=required)
    if kind == Question.Kind.EMAIL:
        # Phones show the @ keyboard and offer the saved address.
        return EmailAddressField(max_length=200, label=label, required=required, widget=email_input())
    if kind == Question.Kind.PHONE:
        validators = [validate_phone] if region is None else [PhoneAnswerValidator(region)]
        return SingleLineField(
            max_length=20,
            validators=validators,
            widget=tel_input(),
            label=label,
            required=required,
        )
    return SingleLineField(max_length=200, label=label, required=required)


class QuestionsMixin:
    """Adds a clinic's configured questions to a form as `q_<key>` fields and reads the answers back."""

    # Provided by the forms.Form that this is mixed into.
    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def add_questions(self, questions: list[Question], *, region: str | None = None) -> None:
        """`region`: the clinic's default phone country (phone answers are checked as the SMS step
        checks a number; see field_for)."""
        self.questions = questions
        for question in questions:
            self.fields[f"q_{question.key}"] = field_for(question, region=region)

    def answers(self) -> dict[str, str]:
        """Answers by question key, as strings (dates in ISO format), empty ones left out."""
        result = {}
        for question in self.questions:
            value = self.cleaned_data.get(f"q_{question.key}")
            if value is not None and value != "":
                result[question.key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return result
