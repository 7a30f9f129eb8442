"""The access-trail entry for a staff member's read or change of an appointment request: one
place for how a request is named in the trail, shared by the dispatch views and the admin."""

from __future__ import annotations

from scheduling.models import AppointmentRequest
from waitingroom.audit import services as audit
from waitingroom.audit.models import AccessEvent
from waitingroom.tenancy import StaffRequest


def record(
    request: StaffRequest, appointment: AppointmentRequest, action: AccessEvent.Action, detail: str
) -> None:
    audit.record(
        request=request,
        clinic_id=appointment.clinic_id,
        action=action,
        kind=audit.Kind.REQUEST,
        object_id=appointment.pk,
        patient_label=appointment.name,
        detail=detail,
    )
