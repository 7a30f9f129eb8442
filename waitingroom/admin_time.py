"""The Django admin in the clinic's time: Django shows and reads datetimes in the active time zone,
which is the server's UTC unless something activates another. Staff whose clinics share one time
zone (a clinic's own staff) get that zone for every admin page, its lists, drill-downs, filters and
forms: the access trail, visits, meetings and payments read as the clinic's clocks do. A superuser
or anyone across clinics of several zones keeps UTC (there is no one clinic's time)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from waitingroom.tenancy import staff_clinics


def admin_zone(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    """The time zone the admin runs in for this request's user, or None for the server's."""
    user = request.user
    if not user.is_authenticated or user.is_superuser:
        return None
    # order_by(): Clinic's ordering (name) would make DISTINCT rows of (zone, name), and two clinics
    # of one zone would fill the two rows read while a third is in another zone.
    clinics = staff_clinics(user=user).order_by()
    zones = set(clinics.values_list("time_zone", flat=True).distinct()[:2])
    return zoneinfo.ZoneInfo(zones.pop()) if len(zones) == 1 else None


class AdminClinicTime:
    """After AuthenticationMiddleware. The override spans the view and the rendering of its
    TemplateResponse (both happen inside get_response), so a drill-down read at render time is in
    the same zone as the rows it lists."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefix = ""  # the admin's path, read on the first request (the URLconf is loaded by then)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.prefix = self.prefix or reverse("admin:index")
        zone = admin_zone(request) if request.path.startswith(self.prefix) else None
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)
