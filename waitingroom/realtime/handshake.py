"""What a websocket handshake passes before any consumer runs: the origin allow-list, and the
login for the routes whose consumer needs one (asgi.py wraps every route with these)."""

from __future__ import annotations

from channels.auth import AuthMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import URLPattern


class SettingsOriginValidator(OriginValidator):
    """Channels' OriginValidator, reading settings.WEBSOCKET_ALLOWED_ORIGINS at each handshake so
    the list stays the one in settings (and tests can override it). A missing Origin is refused."""

    def __init__(self, application) -> None:
        super().__init__(application, allowed_origins=[])

    async def __call__(self, scope, receive, send):
        self.allowed_origins = list(settings.WEBSOCKET_ALLOWED_ORIGINS)
        return await super().__call__(scope, receive, send)

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return False
        return super().valid_origin(parsed_origin)


def with_login(route: URLPattern) -> URLPattern:
    """The route behind Channels' AuthMiddleware (scope["user"] from the session's login), unless
    its consumer says it needs no login: resolving the user is a database call per connect, and
    the patient's socket, whose credentials are its visit's token and its browser session, has
    no use for it."""
    consumer = getattr(route.callback, "consumer_class", None)
    if consumer is not None and getattr(consumer, "uses_login", True) is False:
        return route
    return URLPattern(route.pattern, AuthMiddleware(route.callback), route.default_args, route.name)
