"""The public request form and the decision form (dispatch dialog, provider panel, admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django import forms
from django.utils import timezone

from scheduling import availability
from scheduling.meetings.forms import override_field
from scheduling.models import MAX_REQUESTED_TIMES, AppointmentRequest, SchedulingProfile, Service
from scheduling.times import local_datetime_field, numbered_times, parse_slot, slot_value
from waitingroom.models import Clinic
from waitingroom.questions import QuestionsMixin, email_input, name_input, tel_input, validate_phone
from waitingroom.validators import EmailAddressField, MultiLineField, SingleLineField

ANYONE = ""


class RequestForm(QuestionsMixin, forms.Form):
    service: forms.ModelChoiceField[Service] = forms.ModelChoiceField(queryset=None, empty_label=None)
    provider = forms.ChoiceField(label="Provider", required=False)
    kind = forms.ChoiceField(label="When", widget=forms.RadioSelect)
    slots = forms.MultipleChoiceField(
        label=f"Up to {MAX_REQUESTED_TIMES} times that suit you",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    name = SingleLineField(label="Your name", max_length=120, widget=name_input())
    email = EmailAddressField(label="Email", max_length=200, widget=email_input())
    phone = SingleLineField(
        label="Phone", max_length=20, required=False, validators=[validate_phone], widget=tel_input()
    )
    note = MultiLineField(
        label="Anything the clinic should know",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # A paid service: the page's handle on the card the requester saved through Stripe (the card
    # step sets it); the service binds it to the request.
    card_token = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args, clinic: Clinic, now: datetime | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.profile = availability.profile_for(clinic)
        self.now = now or timezone.now()
        # Video services only: phone consultations are booked on their own page.
        services = clinic.services.filter(active=True, kind=Service.Kind.VIDEO)
        cast(forms.ModelChoiceField, self.fields["service"]).queryset = services
        providers = list(availability.clinic_providers(clinic))
        cast(forms.ChoiceField, self.fields["provider"]).choices = [
            (ANYONE, "Anyone available"),
            *[(str(p.pk), p.get_full_name() or p.username) for p in providers],
        ]
        self.add_questions(list(clinic.request_questions.all()), region=clinic.default_phone_region)

        service = self._chosen("service", lambda pk: services.filter(pk=pk).first()) or services.first()
        provider_id = self._chosen("provider", lambda pk: int(pk) if pk and str(pk).isdigit() else None)
        self.chosen_service, self.provider_id = service, provider_id
        self.someone_available = bool(
            availability.available_now(clinic=clinic, provider_id=provider_id, now=self.now)
        )
        kinds = [(AppointmentRequest.Kind.SCHEDULED.value, "Scheduled: at a time I choose")]
        if self.someone_available:
            kinds.insert(0, (AppointmentRequest.Kind.NOW.value, "Now: someone is available"))
        cast(forms.ChoiceField, self.fields["kind"]).choices = kinds
        self.fields["kind"].initial = kinds[0][0]

        self.calendar = self.profile.availability_mode == SchedulingProfile.Mode.CALENDAR
        if self.calendar:
            self.open_slots = (
                availability.open_slots(clinic=clinic, service=service, provider_id=provider_id, now=self.now)
                if service
                else []
            )
            # Grouped by local day: "Tue 24 Nov" -> 09:00 EST, 09:30 EST, ...
            days: dict[str, list[tuple[str, str]]] = {}
            for slot in self.open_slots:
                local = slot.starts_at.astimezone(clinic.tzinfo)
                days.setdefault(f"{local:%a} {local.day} {local:%b}", []).append(
                    (slot_value(slot.starts_at), f"{local:%H:%M %Z}")
                )
            cast(forms.ChoiceField, self.fields["slots"]).choices = list(days.items())
        else:
            # On-demand clinics keep no calendar: requesters propose times, in the clinic's zone.
            del self.fields["slots"]
            for n in range(1, MAX_REQUESTED_TIMES + 1):
                self.fields[f"time_{n}"] = local_datetime_field(f"Proposed time {n} ({clinic.time_zone})")

    def _chosen(self, name: str, convert):
        raw = self.data.get(name) if self.is_bound else self.initial.get(name)
        try:
            return convert(raw) if raw not in (None, "") else None
        except (ValueError, TypeError):
            return None

    def clean_provider(self) -> int | None:
        value = self.cleaned_data.get("provider")
        return int(value) if value else None

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        if not self.profile.may_request(email):
            raise forms.ValidationError(
                f"Requests here are open to {self.profile.patient_group_name} only: use your "
                f"{' or '.join('@' + d for d in self.profile.allowed_domains)} address."
            )
        return email

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        service = data.get("service")
        if service is not None and service.payment_required and not data.get("card_token"):
            self.add_error(None, "Save a card to book this paid service.")
        if data.get("kind") != AppointmentRequest.Kind.SCHEDULED:
            data["times"] = []
            return data
        if self.calendar:
            chosen = data.get("slots") or []
            if len(chosen) > MAX_REQUESTED_TIMES:
                self.add_error("slots", f"Choose at most {MAX_REQUESTED_TIMES} times.")
            elif not chosen:
                self.add_error("slots", "Choose at least one time.")
            data["times"] = [parse_slot(value) for value in chosen]
        else:
            data["times"] = numbered_times(self, MAX_REQUESTED_TIMES, clinic=self.clinic, now=self.now)
            if not data["times"] and not self.errors:
                self.add_error("time_1", "Propose at least one time.")
        return data


def response_field() -> MultiLineField:
    """The note to the requester that goes with a decision: the dispatch dialog, the provider
    panel, and the admin's accept and decline forms share this one field."""
    return MultiLineField(
        label="Response to requester",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DecisionForm(forms.Form):
    """Accept (with a provider and one requested time) or decline, with a response to the requester.

    `decision` is "decline", "accept" (with `time`, or for a Now request) or "accept@<time>", so
    each requested time can have its own Accept button."""

    decision = SingleLineField()
    provider = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    time = SingleLineField(required=False)
    response = response_field()
    override = override_field()

    def __init__(self, *args, request: AppointmentRequest, providers, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.appointment = request
        cast(forms.ChoiceField, self.fields["provider"]).choices = [
            ("", "—"),
            *[(p.pk, p.get_full_name() or p.username) for p in providers],
        ]
        self.requested = {slot_value(t.starts_at): t.starts_at for t in request.times.all()}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        decision, _, time_value = (data.get("decision") or "").partition("@")
        if decision not in ("accept", "decline"):
            raise forms.ValidationError("Choose Accept or Decline.")
        data["decision"] = decision
        if decision == "decline":
            return data
        if not data.get("provider"):
            self.add_error("provider", "Choose the provider who takes the session.")
        time_value = time_value or data.get("time") or ""
        if self.appointment.kind == AppointmentRequest.Kind.NOW:
            data["starts_at"] = None
        elif time_value in self.requested:
            data["starts_at"] = self.requested[time_value]
        else:
            self.add_error("time", "Accept one of the requested times.")
        return data
