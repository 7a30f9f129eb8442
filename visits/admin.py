from django.contrib import admin

from visits.models import IntakeField, Visit, VisitEvent
from waitingroom.admin import ClinicAdmin as BaseClinicAdmin
from waitingroom.admin_scoping import (
    PATIENT_DATA_ROLES,
    ClinicScopedAdmin,
    ClinicScopedInline,
    ReadOnly,
    ReadOnlyInline,
)
from waitingroom.audit.admin import RecordsReads
from waitingroom.audit.models import AccessEvent
from waitingroom.models import Clinic, Role


class IntakeFieldInline(ClinicScopedInline):
    model = IntakeField
    view_roles = frozenset({Role.CLINIC_ADMIN, Role.SCHEDULER})  # the form's questions, no answers
    extra = 0
    fields = ["position", "label", "key", "kind", "choices", "required", "show_on_card"]
    prepopulated_fields = {"key": ["label"]}


# The clinic page gains its intake form (the clinic core cannot import this app, so this app
# extends the clinic's admin instead).
admin.site.unregister(Clinic)


@admin.register(Clinic)
class ClinicAdmin(BaseClinicAdmin):
    inlines = [*BaseClinicAdmin.inlines, IntakeFieldInline]


class VisitEventInline(ReadOnlyInline):
    model = VisitEvent
    view_roles = PATIENT_DATA_ROLES
    # `guest`: the call guest an event names (invited, joined, left, removed, declined: issue 20).
    readonly_fields = ("at", "event", "from_status", "to_status", "actor", "user", "guest")
    fields = readonly_fields


@admin.register(Visit)
class VisitAdmin(ReadOnly, RecordsReads, ClinicScopedAdmin):
    """History and audit, read-only: visits change only through the waiting room's services.
    Patient data: clinic admins (and superusers) only."""

    view_roles = PATIENT_DATA_ROLES
    audit_kind = AccessEvent.Kind.INTAKE_ANSWERS  # the page shows every answer
    list_display = ["patient_name", "clinic", "status", "arrived_at", "ended_at"]
    list_filter = ["status"]
    search_fields = ["patient_name"]
    ordering = [
        "-arrived_at",
        "-id",
    ]  # newest first; a stable order for the changelist and autocomplete pages
    inlines = [VisitEventInline]
    # Link-token hashes are of no use to staff: never on screen.
    exclude = ["token_hash", "recall_token_hash"]
    change_roles = frozenset()

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Visit._meta.fields if f.name not in self.exclude]

    def audit_label(self, obj: Visit) -> str:
        return obj.patient_name
