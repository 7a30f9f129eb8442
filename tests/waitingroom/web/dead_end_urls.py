"""The project's URLs plus three views that fail on purpose, for the error-page tests."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from waitingroom.urls import handler400, handler403, handler404, handler500
from waitingroom.urls import urlpatterns as project


def _forbidden(request):
    raise PermissionDenied("secret-detail-403")


def _bad(request):
    raise SuspiciousOperation("secret-detail-400")


def _boom(request):
    raise RuntimeError("secret-detail-500")


urlpatterns = [
    path("test-errors/403/", _forbidden),
    path("test-errors/400/", _bad),
    path("test-errors/500/", _boom),
    *project,
]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
