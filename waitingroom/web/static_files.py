"""Static files served by daphne itself (SERVE_STATIC, the default; a proxy may take them over)."""

from __future__ import annotations

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest, HttpResponseBase


class StaticFilesHandler(ASGIStaticFilesHandler):
    """Django's handler answers only Http404 itself: a path that climbs out of the static folders
    (`/static/..%2f..%2fmanage.py`) raised SuspiciousFileOperation past it, a 500 even with
    DEBUG off. It is a bad request: 400, logged to django.security like any other."""

    # The stub types serve() as FileResponse only; Django's own 404 path answers an HttpResponse too.
    def serve(self, request: HttpRequest) -> HttpResponseBase:  # type: ignore[override]
        try:
            return super().serve(request)
        except SuspiciousOperation as error:
            return response_for_exception(request, error)
