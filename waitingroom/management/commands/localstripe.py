"""`manage.py localstripe` (the Procfile's `stripe:` line under `make run`): localstripe, a fake but
stateful Stripe server from PyPI, on LOCALSTRIPE_URL's loopback address and port (never every
interface, as its own command would), with the app's webhook registered, so a newcomer books,
pays and refunds with test cards and no Stripe account.

localstripe's app runs unmodified, in a process of its own (it is GPL and a development
dependency: the app's process never imports it). It keeps its data in /tmp/localstripe.pickle across restarts, but not
its webhooks, so they are registered on every start. SIGTERM and SIGINT are passed on to it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

READY_SECONDS = 30


# localstripe's own entry point (`localstripe --port N`, server.start()) binds its socket to "::",
# every interface of the machine, IPv4 and IPv6 alike, and has no option for the address. This
# launcher does what start() does (load the store kept in /tmp/localstripe.pickle, log each request)
# but serves localstripe's aiohttp app on LOCALSTRIPE_URL's loopback host only, so a development
# machine on a shared network doesn't offer its fake Stripe (and the cards, customers and webhook
# registrations it holds) to the network. It runs in a process of its own, as before: the app's
# process never imports localstripe.
LAUNCH = """\
import logging, sys
from aiohttp import web
from localstripe.server import app, store
store.try_load_from_disk()
access = logging.getLogger("aiohttp.access")
access.setLevel(logging.DEBUG)
access.addHandler(logging.StreamHandler())
web.run_app(app, host=sys.argv[1], port=int(sys.argv[2]), access_log=access)
"""


def localstripe_argv(host: str, port: int) -> list[str]:
    """localstripe's app on `host` (a loopback address: handle checks LOCALSTRIPE_URL) and `port`,
    run by this interpreter (the virtualenv's, which has localstripe)."""
    return [sys.executable, "-c", LAUNCH, host, str(port)]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/js.stripe.com/v3/", timeout=1) as response:  # noqa: S310 - http, checked in handle
            return bool(response.status == 200)
    except OSError:
        return False


class Command(BaseCommand):
    help = "Run localstripe (a fake Stripe for development) at LOCALSTRIPE_URL with the app's webhook registered."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.STRIPE_API_BASE != settings.LOCALSTRIPE_URL:
            raise CommandError(
                "A Stripe secret key is configured (STRIPE_SECRET_KEY), so the app talks to Stripe: "
                "localstripe is for development without one."
            )
        base = settings.LOCALSTRIPE_URL
        split = urlsplit(base)
        if split.scheme != "http" or split.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise CommandError(
                f"LOCALSTRIPE_URL must be on this machine (http://127.0.0.1:<port>) to start localstripe here; it is {base}."
            )
        child = subprocess.Popen(localstripe_argv(split.hostname or "127.0.0.1", split.port or 8420))  # noqa: S603 - our own argv

        def forward(signum: int, _frame: FrameType | None) -> None:
            if child.poll() is None:
                child.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        try:
            self._wait_until_up(child, base)
            webhook = settings.PUBLIC_BASE_URL + reverse("stripe_webhook")
            self._register(base, webhook)
            self.stdout.write(f"localstripe at {base}; its events go to {webhook}")
            self.stdout.flush()  # a pipe (honcho's) would hold it until the end
        except CommandError:
            child.terminate()
            child.wait(timeout=10)
            raise
        code = child.wait()
        if code not in (0, -signal.SIGTERM, -signal.SIGINT):
            raise CommandError(f"localstripe exited with status {code}")

    def _wait_until_up(self, child: subprocess.Popen[bytes], base: str) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while not answers(base):
            if child.poll() is not None:
                raise CommandError(
                    f"localstripe exited with status {child.returncode} before answering at {base}"
                )
            if time.monotonic() > deadline:
                raise CommandError(f"localstripe did not answer at {base} within {READY_SECONDS} s")
            time.sleep(0.2)

    def _register(self, base: str, webhook: str) -> None:
        body = json.dumps({"url": webhook, "secret": settings.STRIPE_WEBHOOK_SECRET}).encode()
        request = urllib.request.Request(f"{base}/_config/webhooks/app", data=body, method="POST")  # noqa: S310 - http, checked in handle
        try:
            with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - http, checked in handle
                pass
        except (urllib.error.URLError, OSError) as error:
            raise CommandError(f"localstripe refused the webhook {webhook}: {error}") from error
