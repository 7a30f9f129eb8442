"""The access trail in the admin: clinic admins read their clinics' entries per patient (search,
or `?kind=visit&object_id=<id>`) and per staff member (filter), by date, and export them as CSV.
Nobody adds, changes or deletes an entry here."""

from __future__ import annotations

import csv

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import HttpResponse

from waitingroom.admin_scoping import PATIENT_DATA_ROLES, ClinicScopedAdmin, ReadOnly
from waitingroom.audit import services
from waitingroom.audit.models import AccessEvent

CSV_COLUMNS = [
    "at",
    "clinic",
    "username",
    "action",
    "kind",
    "object_id",
    "patient_label",
    "detail",
    "client_address",
]


def csv_cell(value) -> str:
    # A cell a spreadsheet would run as a formula is written as text (CSV injection).
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnly, ClinicScopedAdmin):
    view_roles = PATIENT_DATA_ROLES
    change_roles = frozenset()
    list_display = [
        "at",
        "username",
        "action",
        "kind",
        "object_id",
        "patient_label",
        "detail",
        "client_address",
    ]
    list_filter = ["action", "kind", ("user", admin.RelatedOnlyFieldListFilter), "clinic"]
    search_fields = ["patient_label", "username"]
    date_hierarchy = "at"
    actions = ["export_csv"]
    list_select_related = ["clinic"]

    @admin.action(description="Export the selected entries as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="access-trail.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        for entry in queryset.select_related("clinic").order_by("at", "id").iterator():
            writer.writerow(
                csv_cell(value)
                for value in (
                    entry.at.isoformat(),
                    entry.clinic.slug,
                    entry.username,
                    entry.action,
                    entry.kind,
                    entry.object_id,
                    entry.patient_label,
                    entry.detail,
                    entry.client_address,
                )
            )
        return response


class RecordsReads(admin.ModelAdmin):
    """A mixin for the admin of patient data: opening a row's page writes one access entry."""

    audit_kind: AccessEvent.Kind

    def audit_label(self, obj) -> str:
        raise NotImplementedError

    def audit_target(self, obj) -> tuple[AccessEvent.Kind, int] | None:
        """What the entry names: the row itself, unless the row belongs to another object of the
        patient's (a payment names the booking it paid for, so the trail is found per patient)."""
        return self.audit_kind, obj.pk

    audit_detail = "admin"

    def record_access(self, request, obj, *, action: AccessEvent.Action, detail: str) -> None:
        """One access entry for `obj` (nothing when it names no patient's object)."""
        target = self.audit_target(obj)
        if target is not None:
            services.record(
                request=request,
                clinic_id=obj.clinic_id,
                action=action,
                kind=target[0],
                object_id=target[1],
                patient_label=self.audit_label(obj),
                detail=detail,
            )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                self.record_access(request, obj, action=AccessEvent.Action.VIEWED, detail=self.audit_detail)
        return response
