"""Which clinic a staff member may act in. Views, consumers and the admin all ask here.

Anything of a clinic the user does not belong to is a 404, never a 403: an outsider must not
even learn that it exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from waitingroom.models import Clinic, Membership

# The project keeps Django's own user model (AUTH_USER_MODEL is not set), so services and
# selectors take `User`: the type that a foreign key to AUTH_USER_MODEL accepts in a lookup.
AnyUser = User | AnonymousUser


class StaffRequest(HttpRequest):
    """The type of a request that passed `login_required`: its user is signed in. An annotation only
    (no request is built from it): mypy cannot see what the decorator guarantees."""

    user: User


# What a clinic slug can be (Django's slug converter); anything else, a NUL byte say, is no clinic.
SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def scope_user(scope: Mapping[str, Any]) -> AnyUser:
    """The user that Channels' AuthMiddleware put in a websocket's scope: a lazy object standing for
    a User or an AnonymousUser, which its stub type does not say."""
    return cast(AnyUser, scope["user"])


def scope_staff(scope: Mapping[str, Any]) -> User:
    """scope_user() in a consumer whose connect() let in only signed-in staff of the clinic."""
    return cast(User, scope["user"])


def checked_slug(slug: str) -> str:
    """`slug` from a query string, or Http404 when it can't name a clinic."""
    if not SLUG.fullmatch(slug):
        raise Http404("No such clinic")
    return slug


def staff_clinics(*, user: AnyUser, roles: Iterable[str] | None = None) -> QuerySet[Clinic]:
    """The clinics `user` belongs to (optionally only in `roles`); none for anonymous users."""
    if not user.is_authenticated or not user.is_active:
        return Clinic.objects.none()
    memberships = Membership.objects.filter(user=user)
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return Clinic.objects.filter(id__in=memberships.values("clinic_id"))


def clinic_for_staff(*, user: AnyUser, slug: str, roles: Iterable[str] | None = None) -> Clinic:
    """The clinic `slug` if `user` may act in it, else Http404."""
    clinic = staff_clinics(user=user, roles=roles).filter(slug=slug).first()
    if clinic is None:
        raise Http404("No such clinic")
    return clinic


def membership_for(*, user: AnyUser, clinic: Clinic) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, clinic=clinic).first()


def has_role(*, user: AnyUser, clinic: Clinic, roles: Iterable[str]) -> bool:
    membership = membership_for(user=user, clinic=clinic)
    return membership is not None and membership.role in set(roles)


def default_clinic(*, user: AnyUser, preferred_slug: str | None = None) -> Clinic | None:
    """The clinic a staff member lands in: the one they last used, else their first."""
    clinics = staff_clinics(user=user)
    if preferred_slug:
        preferred = clinics.filter(slug=preferred_slug).first()
        if preferred is not None:
            return preferred
    return clinics.order_by("name").first()


def request_memberships(request: HttpRequest) -> list[Membership]:
    """The signed-in user's memberships with their clinics (by clinic name), read once per request:
    a page asks "which clinic, which role, which clinics to switch to, which pages in the nav" several
    times. Kept on the request, not the user: a websocket's user object lives for hours and must see
    a membership taken away."""
    cached = getattr(request, "_tenancy_memberships", None)
    if cached is None:
        user = request.user
        cached = (
            list(Membership.objects.filter(user=user).select_related("clinic").order_by("clinic__name"))
            if user.is_authenticated and user.is_active
            else []
        )
        # A private cache on the request object, which HttpRequest does not declare.
        request._tenancy_memberships = cached  # type: ignore[attr-defined]
    return cached


def request_membership(request: HttpRequest, *, slug: str, roles: Iterable[str] | None = None) -> Membership:
    """The user's membership in clinic `slug` (with a role in `roles`), from this request's read;
    else Http404, as clinic_for_staff."""
    for membership in request_memberships(request):
        if membership.clinic.slug == slug and (roles is None or membership.role in set(roles)):
            return membership
    raise Http404("No such clinic")
