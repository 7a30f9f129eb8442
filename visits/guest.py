"""A call guest's pages (visits/call_guests.py): the invitation link, its state after a
reconnection, Ask to join and Leave. The link works in the one browser that opened it first (a
random key in that browser's session, only its hash on the guest's row); any other browser, and a
made-up, expired, withdrawn or used-up link, gets the product's dead-end page (404)."""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from visits import call_guests, publishing, selectors
from visits.guest_lifecycle import LIVE_STATUSES, GuestTransitionRefused
from visits.models import CallGuest
from waitingroom import errors
from waitingroom.turn import ice_servers

# This browser's key for guest links (visits/consumers.py CallGuestConsumer reads it too).
GUEST_BROWSER_KEY = "call_guest_browser"


def browser_key(request: HttpRequest) -> str:
    return request.session.get(GUEST_BROWSER_KEY, "")


@require_GET
def call(request: HttpRequest, token: str) -> HttpResponse:
    # A browser without a key gets one, kept in its session only once a link took it: a made-up
    # link creates no session.
    key = browser_key(request) or secrets.token_urlsafe(32)
    try:
        guest = call_guests.guest_open(token=token, browser_key=key)
    except call_guests.GuestNotFound:
        return errors.link_not_valid(request)
    if request.session.get(GUEST_BROWSER_KEY) != key:
        request.session[GUEST_BROWSER_KEY] = key
    live = guest.status in LIVE_STATUSES
    return render(
        request,
        "visits/guest_call.html",
        {
            "token": token,
            "state": selectors.guest_state(guest=guest),
            "live": live,
            "ended": not live,
            "ice_servers": ice_servers(user_key=f"guest-{guest.id}"),
        },
        # A link whose guest's part is over shows how it ended to its own browser, and is gone.
        status=200 if live else 410,
    )


def _guest(request: HttpRequest, token: str) -> CallGuest | None:
    try:
        return call_guests.guest_of_browser(token=token, browser_key=browser_key(request))
    except call_guests.GuestNotFound:
        return None


def _answer(guest: CallGuest) -> JsonResponse:
    guest = CallGuest.objects.select_related("visit__clinic", "invited_by").get(pk=guest.pk)
    return JsonResponse({"ok": True, "status": guest.status, "html": publishing.render_guest_status(guest)})


NOT_VALID = {"ok": False, "error": "This link is not valid."}


@require_GET
def state(request: HttpRequest, token: str) -> JsonResponse:
    """The guest's screen after every (re)connection of its socket."""
    guest = _guest(request, token)
    return _answer(guest) if guest else JsonResponse(NOT_VALID, status=404)


def _action(request: HttpRequest, token: str, service) -> JsonResponse:
    guest = _guest(request, token)
    if guest is None:
        return JsonResponse(NOT_VALID, status=404)
    try:
        service(guest_id=guest.id)
    except (call_guests.GuestRefused, GuestTransitionRefused) as refused:
        return JsonResponse({"ok": False, "error": str(refused)}, status=409)
    return _answer(guest)


@require_POST
def ask(request: HttpRequest, token: str) -> JsonResponse:
    return _action(request, token, call_guests.guest_ask)


@require_POST
def leave(request: HttpRequest, token: str) -> JsonResponse:
    return _action(request, token, call_guests.guest_leave)
