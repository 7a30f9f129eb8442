"""The Django admin, scoped by clinic and role: every registered admin declares `view_roles`, the
roles that may see it (an empty set: superusers only). Clinic admins and schedulers see and change
only their own clinics' rows; superusers see everything. Patient data (visits and all that hangs
off them, the access trail) is declared for clinic admins only, so a scheduler gets a 403 on every
admin URL of it, autocomplete included (Django's autocomplete asks the target admin's
`has_view_permission` and `get_queryset`).

Every admin also refuses odd query input with a 4xx instead of letting the database fail on it
(docs/security.md): NUL bytes, regex lookups, and filters whose SQL cannot even be built."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet, FullResultSet, PermissionDenied, SuspiciousOperation
from django.db import models
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from waitingroom.models import Clinic, Role
from waitingroom.tenancy import staff_clinics
from waitingroom.validators import EmailAddressField, MultiLineField, SingleLineField

# The admin's forms refuse line breaks and control characters in one-line values as every other
# form does (waitingroom/validators.py): a clinic's or a service's name reaches email headers, .ics
# files and SMS. Exact types only: a SlugField or a URLField keeps its own form field.
TEXT_FORM_FIELDS: dict[type[models.Field], type] = {
    models.CharField: SingleLineField,
    models.EmailField: EmailAddressField,
    models.TextField: MultiLineField,
}


class CheckedTextFields:
    """Every admin's and inline's text fields through the project's checked form fields."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        form_class = TEXT_FORM_FIELDS.get(type(db_field))
        if form_class is not None and not db_field.choices:
            kwargs.setdefault("form_class", form_class)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# Lookups whose argument the database parses (a bad pattern is a database error, not an empty
# result). The admin's own filters never use them.
REFUSED_LOOKUPS = frozenset({"regex", "iregex"})
PATIENT_DATA_ROLES: frozenset[str] = frozenset({Role.CLINIC_ADMIN})


def require_view_roles(admin_object) -> None:
    """Called when an admin is registered (an inline, when it is built): no admin without roles."""
    if not isinstance(getattr(admin_object, "view_roles", None), frozenset):
        raise TypeError(f"{type(admin_object).__qualname__} must declare view_roles (a frozenset of roles)")


class OddQuery(SuspiciousOperation):
    """A query Django's admin would pass to the database to fail on (answered with a 400)."""


def refuse_odd_query(request: HttpRequest) -> None:
    # PostgreSQL refuses a NUL in any text parameter, after the page is half built: refuse it first.
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            raise OddQuery("NUL byte in the query string")


class CheckedChangeList(ChangeList):
    def get_filters(self, request):
        # The date drill-down bounds a year, month or day by the next one, outside the try that
        # turns a bad date into an invalid filter: after 9999 there is none (`created_at__year=9999`
        # raised ValueError, `...__month=12` and `...__day=31` OverflowError: a 500).
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        # Some lookups fail only when their SQL is built (`arrived_at__year=99999999` is past
        # Python's datetime): build it now, so the admin answers as it does for any other invalid
        # filter value instead of failing with a 500 while rendering.
        try:
            queryset.query.get_compiler(queryset.db).as_sql()
        except (EmptyResultSet, FullResultSet):
            pass
        except (ValueError, TypeError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error
        return queryset


class GuardedAdmin(CheckedTextFields, admin.ModelAdmin):
    """Declared roles and refused odd input; the base of every admin in the project."""

    # Who may view this admin's rows (superusers always may). Every admin declares it.
    view_roles: frozenset[str]

    def __init__(self, *args, **kwargs) -> None:
        require_view_roles(self)
        super().__init__(*args, **kwargs)

    def get_changelist(self, request, **kwargs):
        return CheckedChangeList

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if lookup.rsplit("__", 1)[-1] in REFUSED_LOOKUPS:
            return False  # Django answers DisallowedModelAdminLookup: a 400
        return super().lookup_allowed(lookup, value, request)

    def get_search_results(self, request, queryset, search_term):
        # Also the autocomplete's `term`.
        if "\x00" in search_term:
            raise OddQuery("NUL byte in the search term")
        return super().get_search_results(request, queryset, search_term)

    def _refuse(self, request: HttpRequest) -> None:
        refuse_odd_query(request)
        # No row of this admin for this user at all: 403 before looking the object up (Django
        # would otherwise redirect to the index, the same answer as for a missing row).
        if not (self.has_view_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied

    def changelist_view(self, request, extra_context=None):
        refuse_odd_query(request)
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        self._refuse(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._refuse(request)
        return super().history_view(request, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._refuse(request)
        return super().delete_view(request, object_id, extra_context)


class SuperuserOnlyAdmin(GuardedAdmin):
    """Accounts and groups: superusers only (clinic admins manage staff through memberships)."""

    view_roles = frozenset()

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    has_change_permission = has_add_permission = has_delete_permission = has_view_permission


class ClinicScopedAdmin(GuardedAdmin):
    # The lookup from this model to its clinic ("clinic", "visit__clinic", or "pk" for Clinic).
    clinic_lookup = "clinic"
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


class ReadOnly:
    """Put first in the bases of an admin or inline whose rows are only read here (records written
    by the code that owns them: the access trail, the outbox, visits, requests, meetings): no add,
    change or delete for anyone, superusers included. `*args`: an admin's has_add_permission takes
    the request alone, an inline's also the parent row."""

    def has_add_permission(self, request, *args) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ClinicScopedInline(CheckedTextFields, admin.TabularInline):
    """Inlines live inside an already scoped parent: they declare who may view them (as admins
    do) and follow the parent's clinic for changes."""

    view_roles: frozenset[str]
    change_roles: frozenset[str] = frozenset({Role.CLINIC_ADMIN})

    def __init__(self, *args, **kwargs) -> None:
        require_view_roles(self)
        super().__init__(*args, **kwargs)

    def _allowed(self, request: HttpRequest, obj: Model | None, roles) -> bool:
        if request.user.is_superuser:
            return True
        clinics = staff_clinics(user=request.user, roles=roles)
        if obj is None:
            return clinics.exists()
        # `obj` is the parent row: a Clinic, or a row that belongs to one (a `clinic` foreign key,
        # which the Model type does not declare).
        clinic_id = obj.pk if isinstance(obj, Clinic) else obj.clinic_id  # type: ignore[attr-defined]
        return clinics.filter(pk=clinic_id).exists()

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allowed(request, obj, self.view_roles)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._allowed(request, obj, self.change_roles)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._allowed(request, obj, self.change_roles)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._allowed(request, obj, self.change_roles)


class ReadOnlyInline(ReadOnly, ClinicScopedInline):
    """History rows under a read-only parent: shown, never added, changed or deleted."""

    extra = 0
    can_delete = False
    change_roles = frozenset()
