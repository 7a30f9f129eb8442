"""Phone consultations in the Django admin, on the clinic's page: the clinic's consultation
settings (the number that calls clients) and its booking questions, kept by clinic admins
(scheduling/admin.py's Clinic admin, extended as scheduling extends visits')."""

from __future__ import annotations

import phonenumbers
from django import forms
from django.contrib import admin

from consultations.models import BookingQuestion, ConsultationProfile
from scheduling.admin import ClinicAdmin as SchedulingClinicAdmin
from waitingroom.admin_scoping import ClinicScopedInline
from waitingroom.models import Clinic, Role

# The booking form's questions and the clinic's number: settings, no client data.
SETTINGS_ROLES = frozenset({Role.CLINIC_ADMIN})


def e164(value: str) -> str:
    """A valid phone number written in E.164 (+ and digits only), else a ValidationError."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise forms.ValidationError("Enter a valid phone number in E.164 form, e.g. +15551234567.")
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if formatted != value:
        raise forms.ValidationError(f"Write it in E.164 form: {formatted}.")
    return formatted


PROFILE_FIELDS = (
    "voice_number",
    "record_calls",
    "consent_text",
    "clients_may_listen",
    "return_window_before_minutes",
    "return_window_after_minutes",
    "clinic_phone_line",
    "recording_retention_days",
)


class ConsultationProfileForm(forms.ModelForm):
    class Meta:
        model = ConsultationProfile
        fields = PROFILE_FIELDS

    def clean_voice_number(self) -> str:
        value = (self.cleaned_data.get("voice_number") or "").strip()
        return e164(value) if value else ""

    def clean_clinic_phone_line(self) -> str:
        value = (self.cleaned_data.get("clinic_phone_line") or "").strip()
        return e164(value) if value else ""


class ConsultationProfileInline(ClinicScopedInline):
    model = ConsultationProfile
    form = ConsultationProfileForm
    view_roles = SETTINGS_ROLES
    template = "admin/edit_inline/stacked.html"
    can_delete = False
    max_num = 1
    verbose_name = verbose_name_plural = "phone consultations"
    fields = PROFILE_FIELDS


class BookingQuestionInline(ClinicScopedInline):
    model = BookingQuestion
    view_roles = SETTINGS_ROLES
    extra = 0
    verbose_name = "consultation booking question"
    fields = ["position", "label", "key", "kind", "choices", "required"]
    prepopulated_fields = {"key": ["label"]}


admin.site.unregister(Clinic)


@admin.register(Clinic)
class ClinicAdmin(SchedulingClinicAdmin):
    inlines = [*SchedulingClinicAdmin.inlines, ConsultationProfileInline, BookingQuestionInline]
