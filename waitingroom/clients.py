"""Who is asking, as far as the network can tell: the client address rate limits count by."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind TRUSTED_PROXIES proxies the address the nearest one saw. Addresses
    further left in X-Forwarded-For are the client's own claims and are not believed."""
    proxies = settings.TRUSTED_PROXIES
    if proxies > 0:
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")
