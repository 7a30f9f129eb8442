"""Scheduling in the Django admin, scoped by clinic: clinic admins set up services, the pre-request
form and the request settings; schedulers keep providers' hours and accept or decline requests
(through an intermediate form, via the same services as the dispatch page)."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.template.response import TemplateResponse

from scheduling import availability
from scheduling.meetings.booking import BookingConflict
from scheduling.meetings.forms import override_field
from scheduling.models import (
    AppointmentRequest,
    DateException,
    Meeting,
    MeetingEvent,
    MeetingProposal,
    RequestedTime,
    RequestEvent,
    RequestQuestion,
    SchedulingProfile,
    Service,
    WeeklyHours,
)
from scheduling.requests import access, services
from scheduling.requests.forms import DecisionForm, response_field
from scheduling.requests.lifecycle import AlreadyDecided
from scheduling.requests.selectors import DISPATCH_ROLES
from scheduling.times import slot_label, slot_value
from visits.admin import ClinicAdmin as VisitsClinicAdmin
from waitingroom.admin_scoping import ClinicScopedAdmin, ClinicScopedInline, ReadOnly
from waitingroom.admin_scoping import ReadOnlyInline as BaseReadOnlyInline
from waitingroom.audit import services as audit
from waitingroom.audit.admin import RecordsReads
from waitingroom.audit.models import AccessEvent
from waitingroom.models import Clinic, Membership, Role
from waitingroom.tenancy import StaffRequest, staff_clinics


def providers_for(request: HttpRequest):
    """Providers of the clinics this admin user manages (all providers for a superuser)."""
    memberships = Membership.objects.filter(role=Role.PROVIDER)
    if not request.user.is_superuser:
        memberships = memberships.filter(clinic__in=staff_clinics(user=request.user, roles=DISPATCH_ROLES))
    return get_user_model().objects.filter(id__in=memberships.values("user_id")).order_by("username")


class SchedulingProfileInline(ClinicScopedInline):
    model = SchedulingProfile
    view_roles = DISPATCH_ROLES
    template = "admin/edit_inline/stacked.html"
    can_delete = False
    fields = [
        "availability_mode",
        ("patient_group_name", "patient_email_domains"),
        ("host_group_name", "hosts"),
        ("now_request_expiry_minutes", "booking_days", "minimum_notice_minutes"),
    ]
    filter_horizontal = ["hosts"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "hosts":
            kwargs["queryset"] = providers_for(request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ServiceInline(ClinicScopedInline):
    model = Service
    view_roles = DISPATCH_ROLES
    extra = 0
    fields = [
        "position",
        "name",
        "kind",
        "description",
        "duration_minutes",
        "payment_required",
        "price",
        "active",
    ]


class RequestQuestionInline(ClinicScopedInline):
    model = RequestQuestion
    view_roles = DISPATCH_ROLES
    extra = 0
    verbose_name = "pre-request question"
    fields = ["position", "label", "key", "kind", "choices", "required"]
    prepopulated_fields = {"key": ["label"]}


admin.site.unregister(Clinic)


@admin.register(Clinic)
class ClinicAdmin(VisitsClinicAdmin):
    inlines = [*VisitsClinicAdmin.inlines, SchedulingProfileInline, ServiceInline, RequestQuestionInline]

    def save_formset(self, request, form, formset, change) -> None:
        # A new clinic already has its scheduling settings (made when the clinic row was saved,
        # scheduling/apps.py): the inline's values update that row instead of adding a second one.
        if formset.model is SchedulingProfile:
            existing = SchedulingProfile.objects.filter(clinic=form.instance).first()
            for inline_form in formset.forms:
                if existing and inline_form.instance.pk is None:
                    inline_form.instance.pk, inline_form.instance._state.adding = existing.pk, False
        super().save_formset(request, form, formset, change)


class AvailabilityAdmin(ClinicScopedAdmin):
    """Providers' hours: kept by clinic admins and schedulers."""

    view_roles = change_roles = DISPATCH_ROLES
    list_filter = ["clinic"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "provider":
            kwargs["queryset"] = providers_for(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(WeeklyHours)
class WeeklyHoursAdmin(AvailabilityAdmin):
    list_display = ["provider", "clinic", "weekday", "start", "end"]


@admin.register(DateException)
class DateExceptionAdmin(AvailabilityAdmin):
    list_display = ["provider", "clinic", "date", "available", "start", "end"]


# --- Requests ----------------------------------------------------------------------------------


class ReadOnlyInline(BaseReadOnlyInline):
    view_roles = DISPATCH_ROLES


class RequestedTimeInline(ReadOnlyInline):
    model = RequestedTime
    fields = readonly_fields = ("starts_at",)


class RequestEventInline(ReadOnlyInline):
    model = RequestEvent
    fields = readonly_fields = ("at", "event", "from_status", "to_status", "user", "detail")


class AdminAcceptForm(forms.Form):
    provider = forms.TypedChoiceField(coerce=int)
    time = forms.ChoiceField(label="Time")
    response = response_field()
    override = override_field()

    def __init__(self, *args, appointment: AppointmentRequest, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        providers = availability.clinic_providers(appointment.clinic)
        cast(forms.ChoiceField, self.fields["provider"]).choices = [
            (p.pk, p.get_full_name() or p.username) for p in providers
        ]
        if appointment.provider_id:
            self.fields["provider"].initial = appointment.provider_id
        times = [
            (slot_value(t.starts_at), slot_label(t.starts_at, appointment.clinic))
            for t in appointment.times.all()
        ]
        cast(forms.ChoiceField, self.fields["time"]).choices = times or [("now", "Now")]


class AdminDeclineForm(forms.Form):
    response = response_field()


@admin.register(AppointmentRequest)
class AppointmentRequestAdmin(ReadOnly, RecordsReads, ClinicScopedAdmin):
    """Requests change only through decisions (the actions), never by editing fields."""

    view_roles = DISPATCH_ROLES
    audit_kind = AccessEvent.Kind.REQUEST
    list_display = ["id", "name", "email", "kind", "service", "provider", "clinic", "status", "created_at"]
    list_filter = ["status", "kind", "clinic"]
    search_fields = ["name", "email"]
    ordering = ["created_at"]
    readonly_fields = [
        "clinic", "service", "provider", "kind", "requester", "name", "email", "phone", "answers", "note",
        "status", "created_at", "expires_at", "decided_at", "decided_by", "response",
    ]  # fmt: skip
    inlines = [RequestedTimeInline, RequestEventInline]
    actions = ["accept_request", "decline_requests"]

    def audit_label(self, obj: AppointmentRequest) -> str:
        return obj.name

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request, None, DISPATCH_ROLES)

    def _intermediate(self, request, queryset, form, action: str, title: str) -> TemplateResponse:
        return TemplateResponse(
            request,
            "admin/scheduling/decide.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "form": form,
                "requests": queryset,
                "action": action,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(
        description="Accept the selected request (choose provider and time)", permissions=["decide"]
    )
    def accept_request(self, request: StaffRequest, queryset):
        pending = list(queryset.select_related("clinic", "service").prefetch_related("times"))
        if len(pending) != 1:
            text = "Accept one request at a time." if pending else "No request of yours was selected."
            self.message_user(request, text, messages.WARNING)
            return None
        appointment = pending[0]
        form = AdminAcceptForm(request.POST if "apply" in request.POST else None, appointment=appointment)
        if not form.is_valid():
            return self._intermediate(
                request, queryset, form, "accept_request", f"Accept request #{appointment.pk}"
            )
        data = form.cleaned_data
        decision = DecisionForm(
            {
                "decision": "accept",
                "provider": data["provider"],
                "time": data["time"],
                "response": data["response"],
            },
            request=appointment,
            providers=availability.clinic_providers(appointment.clinic),
        )
        if not decision.is_valid():
            self.message_user(
                request, "; ".join(str(e) for errs in decision.errors.values() for e in errs), messages.ERROR
            )
            return None
        try:
            meeting = services.request_accept(
                request_id=appointment.pk,
                by=request.user,
                provider_id=data["provider"],
                starts_at=decision.cleaned_data["starts_at"],
                response=data["response"],
                override=data["override"],
            )
        except BookingConflict as conflict:
            form.add_error("override", conflict.describe(appointment.clinic))
            return self._intermediate(
                request, queryset, form, "accept_request", f"Accept request #{appointment.pk}"
            )
        except (AlreadyDecided, services.RequestRefused) as refused:
            self.message_user(request, f"Request #{appointment.pk}: {refused}", messages.ERROR)
            return None
        access.record(request, appointment, audit.Action.CHANGED, "accept")
        self.message_user(
            request, f"Request #{appointment.pk} accepted: meeting #{meeting.pk} booked, invitation sent."
        )
        return None

    @admin.action(description="Decline the selected requests", permissions=["decide"])
    def decline_requests(self, request: StaffRequest, queryset):
        form = AdminDeclineForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._intermediate(request, queryset, form, "decline_requests", "Decline requests")
        declined, refused = 0, []
        for appointment in queryset:
            try:
                services.request_decline(
                    request_id=appointment.pk, by=request.user, response=form.cleaned_data["response"]
                )
                access.record(request, appointment, audit.Action.CHANGED, "decline")
                declined += 1
            except AlreadyDecided as error:
                refused.append(f"#{appointment.pk}: {error}")
        if declined:
            self.message_user(request, f"Declined {declined} request(s).")
        if refused:
            self.message_user(request, " ".join(refused), messages.WARNING)
        return None


class MeetingProposalInline(ReadOnlyInline):
    model = MeetingProposal
    fields = readonly_fields = ("starts_at",)


class MeetingEventInline(ReadOnlyInline):
    model = MeetingEvent
    fields = readonly_fields = ("at", "event", "user", "detail")


@admin.register(Meeting)
class MeetingAdmin(ReadOnly, RecordsReads, ClinicScopedAdmin):
    """Meetings are made by accepting requests or on the meetings overview, and changed there
    (so every change is emailed and audited); here they are read."""

    view_roles = DISPATCH_ROLES
    audit_kind = AccessEvent.Kind.MEETING
    list_display = ["starts_at", "service", "provider", "guest_name", "guest_key", "clinic", "status"]
    list_filter = ["status", "clinic"]
    search_fields = ["guest_name", "guest_email", "guest_key"]
    exclude = ["join_nonce"]
    inlines = [MeetingProposalInline, MeetingEventInline]

    def audit_label(self, obj: Meeting) -> str:
        return obj.guest_name
