"""The links scheduling emails and pages give people: the requester's magic link (their requests
and meetings, no password) and a meeting's join link. Both sides send them."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from scheduling.models import Meeting, Requester

REQUESTER_LINK_SALT = "scheduling.requester-link"
REQUESTER_LINK_MAX_AGE = 14 * 24 * 3600


def absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL + path


def requester_link(requester: Requester) -> str:
    """The magic link to the requester's page: signed, expiring, no password."""
    token = signing.dumps({"r": requester.pk, "e": requester.email}, salt=REQUESTER_LINK_SALT)
    return absolute(reverse("requester_enter", args=[token]))


def requester_from_link(token: str) -> Requester | None:
    try:
        data = signing.loads(token, salt=REQUESTER_LINK_SALT, max_age=REQUESTER_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    # The email is part of the signed data, so a link stops working if the address changes.
    return Requester.objects.filter(pk=data.get("r"), email=data.get("e")).first()


def join_link(meeting: Meeting) -> str:
    return absolute(reverse("meeting_join", args=[meeting.join_token]))
