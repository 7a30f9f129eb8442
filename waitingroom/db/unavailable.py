"""Requests made while the database cannot be reached (a restart, a failover, its connections
terminated) get a clear 503, not a traceback: a page that says to try again, or for a script's
request (Accept: application/json) the JSON error the front-end library shows. Open websockets
are not requests and stay open.

A view's error is answered in process_exception. An error raised elsewhere (another middleware,
a session saved after the view) has already become a 500 on its way out; the signal Django sends
for it marks the request, and the middleware swaps that 500 for the 503.
"""

from __future__ import annotations

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)

UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
_MARK = "_database_unavailable"
MESSAGE = "The service is briefly unavailable. Please try again in a few seconds."


def unavailable_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"ok": False, "error": MESSAGE}, status=503)
    else:
        response = HttpResponse(render_to_string("waitingroom/db/unavailable.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _mark_request(sender, request: HttpRequest | None = None, **kwargs) -> None:
    """got_request_exception: sent while Django turns an exception into a 500 (inside its
    `except`, so the exception is sys.exc_info())."""
    if request is not None and isinstance(sys.exc_info()[1], UNAVAILABLE):
        setattr(request, _MARK, True)


class DatabaseUnavailableMiddleware:
    """Placed right after SecurityMiddleware, so every layer inside it is covered and the 503
    still gets the security headers."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        got_request_exception.connect(_mark_request, dispatch_uid="waitingroom-db-unavailable")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, _MARK, False):
            return unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UNAVAILABLE):
            log.warning("Database unavailable: %s %s -> 503 (%s)", request.method, request.path, exception)
            return unavailable_response(request)
        return None
