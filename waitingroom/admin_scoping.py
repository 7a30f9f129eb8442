"""The Django admin, scoped by clinic: clinic admins and schedulers see and change only their own
clinics' rows; superusers see everything. Every clinic-owned ModelAdmin derives from this."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from waitingroom.models import Clinic, Role
from waitingroom.tenancy import staff_clinics


class ClinicScopedAdmin(admin.ModelAdmin):
    # The lookup from this model to its clinic ("clinic", "visit__clinic", or "pk" for Clinic).
    clinic_lookup = "clinic"
    view_roles: frozenset[str] = frozenset({Role.CLINIC_ADMIN, Role.SCHEDULER})
    change_roles: frozenset[str] = frozenset({Role.CLINIC_ADMIN})

    def clinics(self, request: HttpRequest, roles) -> QuerySet[Clinic]:
        return staff_clinics(user=request.user, roles=roles)

    def clinic_id_of(self, obj: Model) -> int:
        value = obj
        for part in self.clinic_lookup.split("__"):
            value = value.pk if part == "pk" else getattr(value, part)
        return value if isinstance(value, int) else value.pk

    def _allowed(self, request: HttpRequest, obj: Model | None, roles) -> bool:
        if request.user.is_superuser:
            return True
        clinics = self.clinics(request, roles)
        if obj is None:
            return clinics.exists()
        return clinics.filter(pk=self.clinic_id_of(obj)).exists()

    def get_list_filter(self, request: HttpRequest):
        # Django's default filter for a foreign key lists every clinic in the database; offer only
        # the clinics of the rows this user may see, so other clinics' names never show.
        return [
            (name, admin.RelatedOnlyFieldListFilter) if name == "clinic" else name
            for name in super().get_list_filter(request)
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.clinic_lookup}__in": self.clinics(request, self.view_roles)})

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request, None, self.view_roles)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, obj, self.view_roles)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, obj, self.change_roles)

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return self._allowed(request, None, self.change_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, obj, self.change_roles)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A clinic admin may only point rows at their own clinics.
        if db_field.related_model is Clinic and not request.user.is_superuser:
            kwargs["queryset"] = self.clinics(request, self.change_roles)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ClinicScopedInline(admin.TabularInline):
    """Inlines live inside an already scoped parent; they follow its change permission."""

    change_roles: frozenset[str] = frozenset({Role.CLINIC_ADMIN})

    def _allowed(self, request: HttpRequest, obj: Model | None) -> bool:
        if request.user.is_superuser:
            return True
        clinics = staff_clinics(user=request.user, roles=self.change_roles)
        if obj is None:
            return clinics.exists()
        # `obj` is the parent row: a Clinic, or a row that belongs to one (a `clinic` foreign key,
        # which the Model type does not declare).
        clinic_id = obj.pk if isinstance(obj, Clinic) else obj.clinic_id  # type: ignore[attr-defined]
        return clinics.filter(pk=clinic_id).exists()

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser or staff_clinics(user=request.user).exists()

    def has_change_permission(self, request, obj=None) -> bool:
        return self._allowed(request, obj)

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission
