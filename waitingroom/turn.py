"""ICE servers for WebRTC, with short-lived TURN credentials made from a shared secret (the TURN
REST API convention that coturn implements with `use-auth-secret` / `static-auth-secret`):

    username   = "<expiry unix time>:<user key>"
    credential = base64(HMAC-SHA1(secret, username))
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings


def turn_credentials(
    *, secret: str, user_key: str, ttl_seconds: int, now: float | None = None
) -> tuple[str, str]:
    expiry = int((now if now is not None else time.time()) + ttl_seconds)
    username = f"{expiry}:{user_key}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(*, user_key: str) -> list[dict]:
    """What a browser passes to RTCPeerConnection({iceServers}). Empty when nothing is configured
    (two browsers on one network find each other through their host candidates)."""
    servers: list[dict] = []
    if settings.STUN_URLS:
        servers.append({"urls": list(settings.STUN_URLS)})
    if settings.TURN_URLS and settings.TURN_SECRET:
        username, credential = turn_credentials(
            secret=settings.TURN_SECRET, user_key=user_key, ttl_seconds=settings.TURN_CREDENTIAL_TTL
        )
        servers.append({"urls": list(settings.TURN_URLS), "username": username, "credential": credential})
    return servers
