"""The clinic's intake form, built from its configured fields."""

from __future__ import annotations

from django import forms

from waitingroom.models import Clinic
from waitingroom.questions import QuestionsMixin, name_input
from waitingroom.validators import MultiLineField, SingleLineField


class IntakeForm(QuestionsMixin, forms.Form):
    patient_name = SingleLineField(label="Your name", max_length=120, widget=name_input())

    def __init__(self, *args, clinic: Clinic, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_questions(list(clinic.intake_fields.all()), region=clinic.default_phone_region)


class ChatForm(forms.Form):
    """A chat message, from the patient or from staff. Length and emptiness are the chat
    service's rules (visits/chat.py); the form refuses what no message may hold (NUL, controls)."""

    body = MultiLineField(required=False)


class BroadcastForm(forms.Form):
    """The clinic's broadcast to waiting patients: one line (empty clears it)."""

    message = SingleLineField(required=False)


class CloseNowForm(forms.Form):
    """A clinic admin's Close now: the message patients see (one line, may be empty)."""

    message = SingleLineField(required=False, max_length=280)


def first_error(form: forms.Form) -> str:
    """The message a JSON answer or a toast shows for an invalid form."""
    return next((str(e) for errors in form.errors.values() for e in errors), "Invalid input.")
