"""Security headers on every response: pages and fragments through the middleware below, static
files through the ASGI wrapper (Django's middleware never sees what ASGIStaticFilesHandler serves).

The Content-Security-Policy itself is django-csp's (settings.CONTENT_SECURITY_POLICY); the rest of
the set (nosniff, Referrer-Policy, X-Frame-Options, Cross-Origin-Opener-Policy) is Django's
SecurityMiddleware and XFrameOptionsMiddleware for pages. The static wrapper reads the same settings,
so the two can never drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

# Camera and microphone for the app's own pages (the device check and the call); autoplay too,
# because the call's remote video and the device check's preview start without a tap. Every other
# powerful feature is off, so that a script injected some day still could not reach it. An unknown
# name is logged on every page load, so only features browsers know; Debian's Chromium 156 on Linux
# still logs "bluetooth" and "web-share" as unrecognised (builds without them), kept on purpose for
# the phones and desktops whose browsers have them.
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=(self)",
        "microphone=(self)",
        "autoplay=(self)",
        *(
            f"{feature}=()"
            for feature in (
                "accelerometer",
                "bluetooth",
                "browsing-topics",
                "clipboard-read",
                "clipboard-write",
                "display-capture",
                "encrypted-media",
                "fullscreen",
                "gamepad",
                "geolocation",
                "gyroscope",
                "hid",
                "idle-detection",
                "local-fonts",
                "magnetometer",
                "midi",
                "payment",
                "picture-in-picture",
                "publickey-credentials-get",
                "screen-wake-lock",
                "serial",
                "usb",
                "web-share",
                "xr-spatial-tracking",
            )
        ),
    ]
)


class PrivateResponses(MiddlewareMixin):
    """Permissions-Policy on every response, and `Cache-Control: no-store` on every response that
    did not set its own caching: one rule instead of a decorator per view, so a new page carrying
    patient data cannot be forgotten (a shared computer's back button, a proxy or the disk cache
    would otherwise keep a wait screen, a dashboard or a requester's page). Static files are the
    only cacheable responses, and they never pass through Django's middleware.

    A MiddlewareMixin like the rest of the stack, so that under ASGI the chain is not split by a
    sync-only middleware (each split costs a thread hop per request)."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cache-Control", "no-store")
        return response


def static_headers() -> list[tuple[bytes, bytes]]:
    """The headers pages get from the middleware, for a static file."""
    headers = {
        "Content-Security-Policy": build_policy(),
        "Permissions-Policy": PERMISSIONS_POLICY,
        "X-Frame-Options": settings.X_FRAME_OPTIONS,
    }
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers["X-Content-Type-Options"] = "nosniff"
    if settings.SECURE_REFERRER_POLICY:
        headers["Referrer-Policy"] = settings.SECURE_REFERRER_POLICY
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers["Cross-Origin-Opener-Policy"] = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
    return [(name.lower().encode(), value.encode("latin-1")) for name, value in headers.items() if value]


# The shapes Django's ASGI handlers declare.
Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class StaticSecurityHeaders:
    """Wraps the HTTP application: responses under STATIC_URL (files, and the 404s of missing
    ones) get the security headers; headers already set are kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(settings.STATIC_URL):
            await self.app(scope, receive, send)
            return
        extra = static_headers()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
