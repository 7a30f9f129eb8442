"""The staff navigation: which of the staff pages this user may open (one query per page)."""

from __future__ import annotations

from django.http import HttpRequest

from waitingroom.models import FRONTLINE_ROLES, Membership, Role

DISPATCH_ROLES = {Role.SCHEDULER, Role.CLINIC_ADMIN}


def staff_nav(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True).distinct())
    return {
        "nav_dashboard": bool(roles),
        "nav_requests": bool(roles & DISPATCH_ROLES),
        "nav_meetings": bool(roles & FRONTLINE_ROLES),
        "nav_admin": user.is_staff,
    }
