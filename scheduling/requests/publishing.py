"""What a change to requests or to providers' availability tells whom. Pushes are hints: the
dispatch page and the dashboards' request panels re-fetch their fragment over HTTP, so there is
one rendering path."""

from __future__ import annotations

from waitingroom.models import Clinic
from waitingroom.realtime import groups, messages, publisher


def requests_changed(clinic: Clinic) -> None:
    """A request arrived, was decided or expired."""
    publisher.publish(groups.clinic_scheduling_group(clinic.pk), {"type": messages.REQUESTS.name})
    # The providers' dashboards list the requests addressed to them.
    publisher.publish(
        groups.clinic_staff_group(clinic.pk), {"type": messages.PANEL.name, "panel": "requests"}
    )


def availability_changed(clinic: Clinic) -> None:
    """A provider switched Available / Not available (the assign dialog shows it)."""
    publisher.publish(groups.clinic_scheduling_group(clinic.pk), {"type": messages.AVAILABILITY.name})
    publisher.publish(
        groups.clinic_staff_group(clinic.pk), {"type": messages.PANEL.name, "panel": "requests"}
    )
