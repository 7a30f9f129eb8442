"""Staff sessions end after SESSION_IDLE_SECONDS without a request, so each request moves the
expiry on. Saving the session on every request (SESSION_SAVE_EVERY_REQUEST) cost every page a
write (an UPDATE inside a savepoint: three statements); moving it on at most once a minute keeps
the idle limit to the minute at a fraction of the cost."""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

REFRESH_EVERY_SECONDS = 60
REFRESHED_KEY = "_idle_refreshed"


class IdleSessionRefresh(MiddlewareMixin):
    """Must come after SessionMiddleware: it marks the session modified, and SessionMiddleware's
    response step (which runs after this one) saves it with a new expiry."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        # A session that could not be loaded (the database refused a connection) is left alone:
        # the response already says what went wrong, and touching it would only raise again.
        if session is None or not hasattr(session, "_session_cache") or session.is_empty():
            return response
        now = int(time.time())
        if now - session.get(REFRESHED_KEY, 0) >= REFRESH_EVERY_SECONDS:
            session[REFRESHED_KEY] = now
        return response


def session_refreshed_at_login(sender, request: HttpRequest, user, **kwargs) -> None:
    """A new login's session already has a fresh expiry: its first minute needs no refresh."""
    if request is not None and hasattr(request, "session"):
        request.session[REFRESHED_KEY] = int(time.time())
