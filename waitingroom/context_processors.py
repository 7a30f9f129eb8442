"""The staff navigation: which of the staff pages this user may open (from the request's one
read of the user's memberships)."""

from __future__ import annotations

from django.http import HttpRequest

from waitingroom import tenancy
from waitingroom.models import FRONTLINE_ROLES, Role

DISPATCH_ROLES = {Role.SCHEDULER, Role.CLINIC_ADMIN}


def staff_nav(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = {membership.role for membership in tenancy.request_memberships(request)}
    return {
        "nav_dashboard": bool(roles),
        "nav_requests": bool(roles & DISPATCH_ROLES),
        "nav_meetings": bool(roles & FRONTLINE_ROLES),
        "nav_admin": user.is_staff,
        "nav_reports": Role.CLINIC_ADMIN in roles,
    }
