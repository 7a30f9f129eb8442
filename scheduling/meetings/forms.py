"""Forms of the meetings overview (schedule, reschedule, assign, summary, charge) and the guest's pages
(guest key, pick a time, review). Times are typed in the clinic's zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django import forms
from django.utils import timezone

from scheduling import availability
from scheduling.models import GUEST_KEY_DIGITS, MAX_PROPOSED_TIMES, Meeting, Service
from scheduling.times import clinic_instant, local_datetime_field, numbered_times
from waitingroom.models import Clinic
from waitingroom.questions import validate_phone
from waitingroom.validators import EmailAddressField, MultiLineField, SingleLineField


def override_field() -> forms.BooleanField:
    """The tick that books a provider's time over an overlap (BookingConflict.describe tells staff
    to tick it): one field for every form that books, here and on the requests side."""
    return forms.BooleanField(label="Book even though it overlaps another session", required=False)


def _providers(clinic: Clinic) -> list[tuple[int, str]]:
    return [(p.pk, availability.person(p)) for p in availability.clinic_providers(clinic)]


class MeetingForm(forms.Form):
    """Staff schedule a meeting: one time books it, two or three make the guest pick."""

    guest_name = SingleLineField(label="Guest name", max_length=120)
    guest_email = EmailAddressField(label="Guest email", max_length=200)
    guest_phone = SingleLineField(
        label="Guest phone", max_length=20, required=False, validators=[validate_phone]
    )
    service: forms.ModelChoiceField[Service] = forms.ModelChoiceField(
        label="Meeting type", queryset=None, empty_label=None
    )
    provider = forms.TypedChoiceField(label="Host", coerce=int)
    description = MultiLineField(
        label="Description", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    override = override_field()

    def __init__(self, *args, clinic: Clinic, now: datetime | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clinic, self.now = clinic, now or timezone.now()
        cast(forms.ModelChoiceField, self.fields["service"]).queryset = clinic.services.filter(
            active=True, kind=Service.Kind.VIDEO
        )
        cast(forms.ChoiceField, self.fields["provider"]).choices = _providers(clinic)
        for n in range(1, MAX_PROPOSED_TIMES + 1):
            label = f"Time ({clinic.time_zone})" if n == 1 else f"Or propose another time {n}"
            self.fields[f"time_{n}"] = local_datetime_field(label, required=n == 1)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["times"] = numbered_times(self, MAX_PROPOSED_TIMES, clinic=self.clinic, now=self.now)
        return data


class RescheduleForm(forms.Form):
    starts_at = local_datetime_field("New time", required=True)
    override = override_field()

    def __init__(self, *args, meeting: Meeting, now: datetime | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.meeting, self.now = meeting, now or timezone.now()
        self.fields["starts_at"].label = f"New time ({meeting.clinic.time_zone})"

    def clean_starts_at(self) -> datetime:
        return clinic_instant(self.cleaned_data["starts_at"], self.meeting.clinic, self.now)


class AssignForm(forms.Form):
    provider = forms.TypedChoiceField(label="Colleague", coerce=int)
    override = override_field()

    def __init__(self, *args, meeting: Meeting, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["provider"]).choices = [
            (pk, name) for pk, name in _providers(meeting.clinic) if pk != meeting.provider_id
        ]


class SummaryForm(forms.Form):
    summary = MultiLineField(
        label="Summary for the guest", max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )


class ChargeForm(forms.Form):
    """The amount to charge a completed paid meeting, in the clinic's currency (the price by
    default). The service checks it against the price: above zero, at most the price."""

    amount = forms.DecimalField(
        label="Amount to charge",
        max_digits=8,
        decimal_places=2,
        error_messages={
            "required": "Enter the amount to charge.",
            "invalid": "Enter the amount as a number, like 45.00.",
            "max_decimal_places": "Enter the amount in whole cents, like 45.00.",
            "max_digits": "Enter the amount as a number, like 45.00.",
            "max_whole_digits": "Enter the amount as a number, like 45.00.",
        },
    )


class ChargeIdForm(forms.Form):
    """Which charge a Cancel charge button was shown for: a page left open while a colleague
    cancelled and charged again must not cancel the newer charge."""

    payment = forms.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        error_messages={"required": "Which charge?", "invalid": "Which charge?"},
    )


class GuestKeyForm(forms.Form):
    # Digits read from an email: the number keyboard, no saved value or spelling fix offered.
    key = SingleLineField(
        label="Guest key",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_key(self) -> str:
        # People read keys in groups ("123 456 789" or "123-456-789").
        key = "".join(c for c in self.cleaned_data["key"] if c not in " -")
        if not (key.isascii() and key.isdigit() and len(key) == GUEST_KEY_DIGITS):
            raise forms.ValidationError(f"A guest key has {GUEST_KEY_DIGITS} digits.")
        return key


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label="Rating",
        coerce=int,
        choices=[(n, f"{n} / 5") for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    text = MultiLineField(
        label="Your review", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
