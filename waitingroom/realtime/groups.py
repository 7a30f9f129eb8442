"""Every channel-layer group name, made only here: a publisher and a consumer that disagree on a
name would fail silently (pushes to a group nobody listens to)."""

from __future__ import annotations


def clinic_staff_group(clinic_id: int) -> str:
    """Every open dashboard of one clinic."""
    return f"clinic-{clinic_id}-staff"


def visit_group(visit_id: int) -> str:
    """The patient's screen(s) of one visit and the staff in its call."""
    return f"visit-{visit_id}"


def clinic_patients_group(clinic_id: int) -> str:
    """Every waiting patient's screen in one clinic: queue moves and the broadcast message."""
    return f"clinic-{clinic_id}-patients"


def clinic_scheduling_group(clinic_id: int) -> str:
    """Every open dispatch page showing one clinic's appointment requests."""
    return f"clinic-{clinic_id}-scheduling"
