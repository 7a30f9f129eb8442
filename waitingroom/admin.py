from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin.widgets import AdminTimeWidget
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.models import BaseInlineFormSet

from waitingroom import hours, opening
from waitingroom.admin_payments import PaymentAdmin  # noqa: F401 (registers payments and saved cards)
from waitingroom.admin_scoping import (
    ClinicScopedAdmin,
    ClinicScopedInline,
    ReadOnly,
    ReadOnlyInline,
    SuperuserOnlyAdmin,
)
from waitingroom.audit.admin import AccessEventAdmin  # noqa: F401 (registers the access trail)
from waitingroom.models import Clinic, ClinicEvent, HoursException, Membership, OpeningHours, Role, Weekday
from waitingroom.outbox.models import EmailMessage

# Accounts: superusers only, with the same refusal of odd query input as every other admin.
admin.site.unregister(get_user_model())
admin.site.unregister(Group)


@admin.register(get_user_model())
class UserAdmin(SuperuserOnlyAdmin, auth_admin.UserAdmin):
    pass


@admin.register(Group)
class GroupAdmin(SuperuserOnlyAdmin, auth_admin.GroupAdmin):
    pass


# Sign-in attempts and lockouts (django-axes): usernames and client addresses of staff, for
# superusers only.
@admin.register(AccessAttempt)
class AccessAttemptAdmin(SuperuserOnlyAdmin, axes_admin.AccessAttemptAdmin):
    pass


@admin.register(AccessLog)
class AccessLogAdmin(SuperuserOnlyAdmin, axes_admin.AccessLogAdmin):
    pass


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(SuperuserOnlyAdmin, axes_admin.AccessFailureLogAdmin):
    pass


class MembershipInline(ClinicScopedInline):
    model = Membership
    view_roles = frozenset({Role.CLINIC_ADMIN, Role.SCHEDULER})
    extra = 0
    fields = ["user", "role"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Clinic admins pick among their own clinics' staff, never browse every user account.
        if db_field.name == "user" and not request.user.is_superuser:
            own = Membership.objects.filter(clinic__memberships__user=request.user).values("user_id")
            kwargs["queryset"] = get_user_model().objects.filter(id__in=own)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class DayIntervalsFormSet(BaseInlineFormSet):
    """No two intervals of one day overlap (each interval's own order is the model's clean)."""

    def day_of(self, form) -> object:
        raise NotImplementedError

    def clean(self) -> None:
        super().clean()
        days: dict[object, list[hours.Interval]] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or form.errors:
                continue
            day = self.day_of(form)
            if day is None:
                continue
            days.setdefault(day, [])
            if data.get("opens") is not None and data.get("closes") is not None:
                days[day].append(hours.Interval(data["opens"], data["closes"]))
        for day, intervals in days.items():
            try:
                hours.check_intervals(intervals)
            except hours.HoursError as error:
                raise ValidationError(f"{self.day_label(day)}: {error}") from error

    def day_label(self, day) -> str:
        return str(day)


class WeeklyHoursFormSet(DayIntervalsFormSet):
    def day_of(self, form):
        return form.cleaned_data.get("weekday")

    def day_label(self, day) -> str:
        return Weekday(day).label


class ExceptionFormSet(DayIntervalsFormSet):
    def day_of(self, form):
        return form.cleaned_data.get("date")

    def clean(self) -> None:
        super().clean()
        # A date is closed all day (a row without times) or has special hours, not both.
        kinds: dict[object, set[bool]] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if data and not data.get("DELETE") and data.get("date") is not None:
                kinds.setdefault(data["date"], set()).add(data.get("opens") is None)
        for day, seen in kinds.items():
            if len(seen) > 1:
                raise ValidationError(
                    f"{day:%Y-%m-%d}: a date is either closed all day (no times) or open at the times given, not both."
                )


# Hours count whole minutes: the times are shown as 08:30, not 08:30:00 (a time typed with
# seconds is refused by the models' check_interval, never cut in silence).
MINUTE_TIMES: dict[type[models.Field], dict[str, object]] = {
    models.TimeField: {"widget": AdminTimeWidget(format="%H:%M")}
}


class OpeningHoursInline(ClinicScopedInline):
    """The clinic's week, in its own time zone (several intervals a day allowed)."""

    model = OpeningHours
    formset = WeeklyHoursFormSet
    formfield_overrides = MINUTE_TIMES
    view_roles = frozenset({Role.CLINIC_ADMIN, Role.SCHEDULER})
    extra = 0
    fields = ["weekday", "opens", "closes"]
    verbose_name_plural = "opening hours (clinic time zone; none at all: always open)"


class HoursExceptionInline(ClinicScopedInline):
    """Holidays and special days: a date's rows replace its weekly hours."""

    model = HoursException
    formset = ExceptionFormSet
    formfield_overrides = MINUTE_TIMES
    view_roles = frozenset({Role.CLINIC_ADMIN, Role.SCHEDULER})
    extra = 0
    fields = ["date", "opens", "closes", "note"]
    verbose_name_plural = "date exceptions (no times: closed all day)"


class ClinicEventInline(ReadOnlyInline):
    """Who closed and reopened the waiting room, and when its hours opened and closed it."""

    model = ClinicEvent
    view_roles = frozenset({Role.CLINIC_ADMIN})
    fields = readonly_fields = ("at", "kind", "user", "message")
    verbose_name_plural = "opening and closing (the latest 50, latest first)"
    # The hours sweep records every opening and closing (two to four a day): the clinic's page,
    # where its hours are edited, lists the latest only, not years of them.
    shown = 50

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    clinic_lookup = "pk"
    view_roles = frozenset({Role.CLINIC_ADMIN, Role.SCHEDULER})
    list_display = ["name", "slug", "time_zone", "currency"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline, OpeningHoursInline, HoursExceptionInline, ClinicEventInline]

    def get_readonly_fields(self, request, obj=None):
        # The connected account is where the clinic's card payments are paid out: whoever sets it
        # receives the money. A clinic admin's account taken over (or a careless paste) must not
        # be able to send a clinic's takings elsewhere, so only superusers (the platform, who
        # onboarded the account with Stripe) set it; clinic admins see it.
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if request.user.is_superuser else [*readonly, "stripe_account_id"]

    def has_add_permission(self, request, *args) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Only the page's own fields: the row's state written elsewhere (Close now, the hours
        # sweep, the SMS limit's alert) is never put back as this page read it a moment ago.
        concrete = {field.name for field in obj._meta.concrete_fields}
        obj.save(update_fields=[name for name in form.cleaned_data if name in concrete])

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, ClinicEventInline) and obj is not None and obj.pk is not None:
            latest = ClinicEvent.objects.filter(clinic=obj).values_list("pk", flat=True)[: inline.shown]
            kwargs["queryset"] = kwargs["queryset"].filter(pk__in=list(latest))
        return kwargs

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # New hours that close (or open) the clinic now reach its dashboards and waiting patients
        # at once, after this save commits, instead of at the next hours sweep.
        opening.hours_sweep(clinic_ids=[form.instance.pk])
        if change and "closed_message" in form.changed_data:
            # The closed message shows on waiting patients' screens while the room is closed: a
            # new one reaches them now, not at their next re-fetch.
            opening.opening_changed(form.instance)


@admin.register(EmailMessage)
class EmailMessageAdmin(ReadOnly, ClinicScopedAdmin):
    """The email outbox, read-only: what was sent, what is pending, and why one failed."""

    view_roles = frozenset({Role.CLINIC_ADMIN})
    list_display = ["created_at", "subject", "status", "error", "sent_at"]
    list_filter = ["status"]
    fields = readonly_fields = ("reference", "to", "subject", "status", "error", "created_at", "sent_at")
