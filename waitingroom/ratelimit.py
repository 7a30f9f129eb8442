"""Per-client limits on public actions (each sends an SMS or an email, or guesses a guest key):
attempts are stored, committed, with the client address as a keyed hash, and counted over a
sliding window. settings.RATE_LIMITS holds each action's (attempts, window in seconds)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from waitingroom.clients import client_address
from waitingroom.models import ClientAttempt


class RateLimited(Exception):
    """Too many attempts from this client: answer 429 with the message."""


def _client_hash(action: str, address: str) -> str:
    # Keyed by the server's secret: the IPv4 space is small enough to reverse a plain hash.
    return hmac.new(settings.SECRET_KEY.encode(), f"{action}:{address}".encode(), hashlib.sha256).hexdigest()


def _window(action: str) -> tuple[int, timedelta]:
    count, seconds = settings.RATE_LIMITS[action]
    return count, timedelta(seconds=seconds)


def wait_message(action: str) -> str:
    _, window = _window(action)
    minutes = int(window.total_seconds() // 60)
    when = "an hour" if minutes == 60 else f"{minutes} minutes"
    return f"Too many requests from your network. Please try again in {when}."


def attempt(action: str, client: HttpRequest | str, *, message: str = "") -> ClientAttempt:
    """Record one attempt and raise RateLimited when it is past the action's limit. Call it outside
    a transaction: the attempt is committed before counting, so of a burst of parallel attempts
    each counts those before it, and a refused one still counts (a client that keeps trying stays
    refused)."""
    address = client if isinstance(client, str) else client_address(client)
    limit, window = _window(action)
    now = timezone.now()
    key = _client_hash(action, address)
    record = ClientAttempt.objects.create(action=action, client=key, at=now)
    recent = ClientAttempt.objects.filter(action=action, client=key, counted=True, at__gt=now - window)
    if recent.count() > limit:
        raise RateLimited(message or wait_message(action))
    return record


def forgive(record: ClientAttempt) -> None:
    """This attempt does not count against the client (a guest key that was right)."""
    ClientAttempt.objects.filter(pk=record.pk).update(counted=False)


def purge(*, now: datetime | None = None) -> int:
    """Attempts older than their action's window count for nothing: the beat task deletes them."""
    now = now or timezone.now()
    deleted = 0
    for action in settings.RATE_LIMITS:
        _, window = _window(action)
        count, _ = ClientAttempt.objects.filter(action=action, at__lte=now - window).delete()
        deleted += count
    return deleted
