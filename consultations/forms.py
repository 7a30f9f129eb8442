"""The consultation forms: the client's booking form (a phone service, an expert or any expert, a
time (an open slot, or as soon as possible), the clinic's booking questions and the client's
details), and the room's forms. In the room, length and emptiness are the services' rules
(consultations/services.py); the forms refuse what no text may hold (NUL bytes, control characters)
and read the version the page showed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django import forms
from django.utils import timezone

from consultations import payments, slots
from scheduling import availability
from scheduling.models import Service
from scheduling.times import parse_slot, slot_value
from visits.phone_codes import VerificationError, normalise_phone
from waitingroom.models import Clinic
from waitingroom.questions import QuestionsMixin, email_input, name_input, tel_input
from waitingroom.validators import EmailAddressField, MultiLineField, SingleLineField

ANY_EXPERT = ""
ASAP = "asap"


def _int_or_none(value: object) -> int | None:
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


class BookingForm(QuestionsMixin, forms.Form):
    service: forms.ModelChoiceField[Service] = forms.ModelChoiceField(queryset=None, empty_label=None)
    expert = forms.ChoiceField(label="Expert", required=False)
    when = forms.ChoiceField(label="When", widget=forms.RadioSelect)
    name = SingleLineField(label="Your name", max_length=120, widget=name_input())
    email = EmailAddressField(label="Email", max_length=200, widget=email_input())
    phone = SingleLineField(label="Mobile number", max_length=30, widget=tel_input())
    # A paid service's card, saved on the page through Stripe before the booking is posted (the
    # payments core's handle on it; consultations/booking.py binds it).
    card_token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, clinic: Clinic, now: datetime | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.now = now or timezone.now()
        services = clinic.services.filter(active=True, kind=Service.Kind.PHONE)
        cast(forms.ModelChoiceField, self.fields["service"]).queryset = services
        experts = list(availability.clinic_providers(clinic))
        cast(forms.ChoiceField, self.fields["expert"]).choices = [
            (ANY_EXPERT, "Any expert"),
            *[(str(e.pk), availability.person(e)) for e in experts],
        ]
        self.add_questions(list(clinic.booking_questions.all()), region=clinic.default_phone_region)

        raw_service = _int_or_none(self._raw("service"))
        service = (services.filter(pk=raw_service).first() if raw_service else None) or services.first()
        raw_expert = _int_or_none(self._raw("expert"))
        self.expert_id = raw_expert if raw_expert in {e.pk for e in experts} else None
        self.chosen_service = service
        self.asap_open = bool(
            service and slots.asap(clinic=clinic, service=service, expert_id=self.expert_id, now=self.now)
        )
        choices: list[tuple[str, Any]] = [(ASAP, "As soon as possible")] if self.asap_open else []
        self.calendar = slots.is_calendar(clinic)
        if self.calendar and service is not None:
            days: dict[str, list[tuple[str, str]]] = {}
            for slot in slots.open_slots(
                clinic=clinic, service=service, expert_id=self.expert_id, now=self.now
            ):
                local = slot.starts_at.astimezone(clinic.tzinfo)
                days.setdefault(f"{local:%a} {local.day} {local:%b}", []).append(
                    (slot_value(slot.starts_at), f"{local:%H:%M %Z}")
                )
            choices += list(days.items())
        cast(forms.ChoiceField, self.fields["when"]).choices = choices

    def _raw(self, name: str) -> object:
        return self.data.get(name) if self.is_bound else self.initial.get(name)

    def clean_expert(self) -> int | None:
        return _int_or_none(self.cleaned_data.get("expert"))

    def clean_when(self) -> datetime | None:
        value = self.cleaned_data["when"]
        return None if value == ASAP else parse_slot(value)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].lower()

    @property
    def paid(self) -> bool:
        """The chosen service is paid by card (the page shows its price and the card step)."""
        return self.chosen_service is not None and payments.is_paid(self.chosen_service)

    def clean_card_token(self) -> str:
        return self.cleaned_data["card_token"].strip()

    def clean_phone(self) -> str:
        try:
            return normalise_phone(self.cleaned_data["phone"], region=self.clinic.default_phone_region)
        except VerificationError as error:
            raise forms.ValidationError(str(error)) from None


# --- The room ------------------------------------------------------------------------------------


class MessageForm(forms.Form):
    body = MultiLineField(required=False)


class CancelForm(forms.Form):
    reason = MultiLineField(required=False)


class NoteForm(forms.Form):
    body = MultiLineField(required=False)
    # The note version the form showed (0: no note yet).
    note_version = forms.IntegerField(min_value=0, required=False)


class ChargeForm(forms.Form):
    """The amount the expert confirms, in the clinic's currency (45.00): whether it is above zero
    and at most the price is the charge's rule (consultations/payments.py)."""

    amount = forms.DecimalField(
        max_digits=10,
        decimal_places=2,
        error_messages={
            "required": "Enter the amount to charge.",
            "invalid": "Enter the amount as a number, like 45.00.",
            "max_decimal_places": "Enter the amount in whole cents, like 45.00.",
            "max_digits": "Enter the amount as a number, like 45.00.",
            "max_whole_digits": "Enter the amount as a number, like 45.00.",
        },
    )


class RetryForm(forms.Form):
    payment = forms.IntegerField(
        min_value=1, max_value=2**31 - 1, error_messages={"required": "Which charge?"}
    )


def version_of(data) -> int | None:
    """The consultation version a page sent (`version`), or None when missing or not a number
    (then the service cannot tell a stale page: the view refuses instead)."""
    seen = str(data.get("version", ""))
    return int(seen) if seen.isascii() and seen.isdigit() and len(seen) < 10 else None
