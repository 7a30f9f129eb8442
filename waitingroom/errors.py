"""The product's pages for dead ends: 400, 403, 404, 500 and a refused CSRF check. Each says what
happened in plain words and offers a way forward; under a clinic's URL it names the clinic and
links back to its page. Nothing of the exception is shown (messages can hold internal detail)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.urls import reverse

from waitingroom.models import Clinic


def clinic_for(request: HttpRequest) -> Clinic | None:
    """The clinic named by the URL (`/c/<slug>/...`, `/dashboard/<slug>/...`), if it exists."""
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("slug") if match else None
    if not isinstance(slug, str):
        return None
    return Clinic.objects.filter(slug=slug).first()


def _page(request: HttpRequest, *, status: int, title: str, text: str) -> HttpResponse:
    return render(
        request,
        "errors/page.html",
        {"status": status, "title": title, "text": text, "clinic": clinic_for(request)},
        status=status,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(
        request,
        status=400,
        title="Something in that request was not right",
        text="The page could not understand what was sent. Go back and try again.",
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(
        request,
        status=403,
        title="This page is not open to you",
        text="You may need to sign in with another account, or the page belongs to another clinic.",
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(
        request,
        status=404,
        title="We could not find that page",
        text="The address may be mistyped, or what it was for has ended or been replaced.",
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    # Usually a page left open for long, or cookies blocked: reloading gives a fresh form.
    return _page(
        request,
        status=403,
        title="That form had expired",
        text="For your safety the form could not be sent. Reload the page and send it again; "
        "if this keeps happening, allow cookies for this site.",
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """A static page rendered without the request: the database (or anything a context processor
    reads) may be what failed."""
    return HttpResponseServerError(loader.get_template("errors/500.html").render())


def link_not_valid(
    request: HttpRequest, *, clinic: Clinic | None = None, start_url: str | None = None, start_label: str = ""
) -> HttpResponse:
    """The one page for a link that opens nothing (404). `clinic` only where the URL names it or
    the link's secret found a row (docs/security.md, "Dead ends"): then the page names the clinic
    and offers `start_url` (the clinic's waiting room unless given; "" for none). Without a clinic
    the page is the same bytes for every link, so it tells nothing about the token."""
    if clinic is not None and start_url is None:
        start_url = reverse("clinic_intake", args=[clinic.slug])
    context = {
        "clinic": clinic,
        "start_url": start_url if clinic is not None else "",
        "start_label": start_label or (f"Start again at {clinic.name}" if clinic is not None else ""),
    }
    return render(request, "waitingroom/link_not_valid.html", context, status=404)


class ProductErrorPages:
    """With DEBUG on (`make run`), Django answers a 404 or 403 with its technical page (the URL
    patterns, the exception's text) instead of the handlers above, so a patient trying the demo
    met a bare "Page not found". This middleware keeps the product's pages under DEBUG too, unless
    TECHNICAL_ERROR_PAGES is set (a developer chasing a routing problem). Without DEBUG it does
    nothing: Django already calls handler404/handler403."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A path no URL pattern matched never reaches a view, so process_exception can't see it:
        # its technical 404 comes back here with no resolver match.
        if (
            response.status_code == 404
            and self._replacing()
            and getattr(request, "resolver_match", None) is None
        ):
            return page_not_found(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not self._replacing():
            return None
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return permission_denied(request, exception)
        return None

    @staticmethod
    def _replacing() -> bool:
        return settings.DEBUG and not settings.TECHNICAL_ERROR_PAGES
