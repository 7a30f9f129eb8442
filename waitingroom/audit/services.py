"""The one writer of the access trail, and its retention purge."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone

from waitingroom.audit.models import AccessEvent
from waitingroom.clients import client_address

Action, Kind = AccessEvent.Action, AccessEvent.Kind
PURGE_BATCH = 5000


def record(
    *,
    request: HttpRequest,
    clinic_id: int,
    action: AccessEvent.Action,
    kind: AccessEvent.Kind,
    object_id: int,
    patient_label: str,
    detail: str = "",
) -> AccessEvent:
    """One entry for a staff member's read or change of a patient's data. Called by the view that
    shows or changes it (never by a push: pushes go to pages whose opening was recorded)."""
    user: User = request.user  # type: ignore[assignment]  # views record only for signed-in staff
    return AccessEvent.objects.create(
        clinic_id=clinic_id,
        user=user,
        username=user.get_username(),
        action=action,
        kind=kind,
        object_id=object_id,
        patient_label=patient_label[:200],
        detail=detail[:100],
        at=timezone.now(),
        client_address=client_address(request)[:45],
    )


# A later part of a file this user opened within this long is that reading's seek (a video or a
# recording asks for ranges as the player moves), not a new read.
SEEKS_WITHIN = timedelta(hours=1)


def read_lately(*, user: User, kind: str, object_id: int, detail: str) -> bool:
    """Whether this user's read of a file continues one the trail holds. A range that starts past
    the first byte is usually a seek, but "bytes=1-" is the whole file but one byte: without an
    entry of its own lately, it is a new read."""
    return AccessEvent.objects.filter(
        user=user, kind=kind, object_id=object_id, detail=detail, at__gte=timezone.now() - SEEKS_WITHIN
    ).exists()


def purge_expired(*, now=None) -> int:
    """Delete the entries older than AUDIT_RETENTION_DAYS, in batches (short transactions)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    purged = 0
    while True:
        batch = list(AccessEvent.objects.filter(at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            return purged
        purged += AccessEvent.objects.filter(pk__in=batch)._purge()
