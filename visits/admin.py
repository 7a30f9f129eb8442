from django.contrib import admin

from visits.models import IntakeField, Visit, VisitEvent
from waitingroom.admin import ClinicAdmin as BaseClinicAdmin
from waitingroom.admin_scoping import ClinicScopedAdmin, ClinicScopedInline
from waitingroom.models import Clinic


class IntakeFieldInline(ClinicScopedInline):
    model = IntakeField
    extra = 0
    fields = ["position", "label", "key", "kind", "choices", "required", "show_on_card"]
    prepopulated_fields = {"key": ["label"]}


# The clinic page gains its intake form (the clinic core cannot import this app, so this app
# extends the clinic's admin instead).
admin.site.unregister(Clinic)


@admin.register(Clinic)
class ClinicAdmin(BaseClinicAdmin):
    inlines = [*BaseClinicAdmin.inlines, IntakeFieldInline]


class VisitEventInline(admin.TabularInline):
    model = VisitEvent
    extra = 0
    can_delete = False
    readonly_fields = ("at", "event", "from_status", "to_status", "actor", "user")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Visit)
class VisitAdmin(ClinicScopedAdmin):
    """History and audit, read-only: visits change only through the waiting room's services."""

    list_display = ["patient_name", "clinic", "status", "arrived_at", "ended_at"]
    list_filter = ["status"]
    search_fields = ["patient_name"]
    inlines = [VisitEventInline]
    # Link-token hashes are of no use to staff: never on screen.
    exclude = ["token_hash", "recall_token_hash"]
    change_roles = frozenset()

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Visit._meta.fields if f.name not in self.exclude]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request, *args) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
