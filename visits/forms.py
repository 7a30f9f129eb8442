"""The clinic's intake form, built from its configured fields."""

from __future__ import annotations

from django import forms

from waitingroom.models import Clinic
from waitingroom.questions import QuestionsMixin


class IntakeForm(QuestionsMixin, forms.Form):
    patient_name = forms.CharField(label="Your name", max_length=120)

    def __init__(self, *args, clinic: Clinic, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_questions(list(clinic.intake_fields.all()))
