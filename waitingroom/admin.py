from django.contrib import admin
from django.contrib.auth import get_user_model

from waitingroom.admin_scoping import ClinicScopedAdmin, ClinicScopedInline
from waitingroom.models import Clinic, Membership, Role
from waitingroom.outbox.models import EmailMessage


class MembershipInline(ClinicScopedInline):
    model = Membership
    extra = 0
    fields = ["user", "role"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Clinic admins pick among their own clinics' staff, never browse every user account.
        if db_field.name == "user" and not request.user.is_superuser:
            own = Membership.objects.filter(clinic__memberships__user=request.user).values("user_id")
            kwargs["queryset"] = get_user_model().objects.filter(id__in=own)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    clinic_lookup = "pk"
    list_display = ["name", "slug", "time_zone"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def has_add_permission(self, request, *args) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(EmailMessage)
class EmailMessageAdmin(ClinicScopedAdmin):
    """The email outbox, read-only: what was sent, what is pending, and why one failed."""

    view_roles = frozenset({Role.CLINIC_ADMIN})
    list_display = ["created_at", "subject", "status", "error", "sent_at"]
    list_filter = ["status"]
    fields = readonly_fields = ("reference", "to", "subject", "status", "error", "created_at", "sent_at")

    def has_add_permission(self, request, *args) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
