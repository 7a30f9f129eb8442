"""Stripe in the tests: localstripe (PyPI: a fake but stateful Stripe server) in a process of its
own on the port test_settings chose (LOCALSTRIPE_URL), and a fake HTTP client for the SDK that
records the exact requests for what localstripe does not model (Connect's transfer_data and
application fees, lost answers), answering with canned Stripe JSON.

Webhooks are signed here with Stripe's scheme (`Stripe-Signature: t=<unix>,v1=<HMAC-SHA256 of
"<t>.<payload>">`), which `stripe.Webhook.construct_event` verifies."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe
from django.conf import settings

# localstripe writes its whole store to /tmp/localstripe.pickle on every write; the tests' server
# must not overwrite (or race with) the one `make run` keeps, so this launcher turns that off. It
# serves on the loopback address only, as `manage.py localstripe` does (localstripe's own start()
# listens on every interface).
_LAUNCH = (
    "import sys, localstripe.resources as r; r.Store.dump_to_disk = lambda self: None; "
    "from aiohttp import web; from localstripe.server import app; "
    "web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), access_log=None)"
)


def localstripe_port() -> int:
    return int(urlsplit(settings.LOCALSTRIPE_URL).port or 8420)


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/js.stripe.com/v3/", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def start_localstripe() -> subprocess.Popen[bytes]:
    """localstripe on settings.LOCALSTRIPE_URL's port, ready when this returns."""
    process = subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, str(localstripe_port())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 20
    while not _up(settings.LOCALSTRIPE_URL):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"localstripe did not start on {settings.LOCALSTRIPE_URL}")
        time.sleep(0.1)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


def register_webhook(url: str, *, secret: str | None = None, name: str = "tests") -> None:
    """Have localstripe POST its events, signed, to `url` (it waits a second before each)."""
    body = json.dumps({"url": url, "secret": secret or settings.STRIPE_WEBHOOK_SECRET}).encode()
    request = urllib.request.Request(
        f"{settings.LOCALSTRIPE_URL}/_config/webhooks/{name}", data=body, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


def local_api(method: str, path: str, params: dict[str, str] | None = None) -> Any:
    """A raw call to localstripe's API (what a test reads back: "how many PaymentIntents?")."""
    data = None
    if params is not None:
        data = "&".join(f"{k}={v}" for k, v in params.items()).encode()
    request = urllib.request.Request(
        settings.LOCALSTRIPE_URL + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


def stripe_signature(payload: bytes, *, secret: str | None = None, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new((secret or settings.STRIPE_WEBHOOK_SECRET).encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_payload(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> bytes:
    """A Stripe event's JSON body around `obj` (a PaymentIntent, a Refund ...)."""
    return json.dumps(
        {
            "id": event_id or f"evt_{time.monotonic_ns()}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "api_version": "2026-10-28.endive",
        }
    ).encode()


@dataclass
class RecordedStripeRequest:
    method: str
    url: str
    headers: dict[str, str]
    params: dict[str, str]  # the form body (or query), flattened as sent: "transfer_data[destination]"

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


@dataclass
class FakeStripeHttp(stripe.HTTPClient):
    """The SDK's HTTP client, faked: records each request and answers from `responses` (status,
    JSON dict), or with `default` for the path; `fail` raises a connection error for the next n."""

    responses: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    requests: list[RecordedStripeRequest] = field(default_factory=list)
    default: Callable[[RecordedStripeRequest], tuple[int, dict[str, Any]]] | None = None
    fail: int = 0
    name = "fake"

    def __post_init__(self) -> None:
        stripe.HTTPClient.__init__(self)

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        query = urlsplit(url).query
        raw = post_data.decode() if isinstance(post_data, bytes) else (post_data or query)
        recorded = RecordedStripeRequest(
            method=method.upper(), url=url, headers=dict(headers or {}), params=dict(parse_qsl(raw))
        )
        self.requests.append(recorded)
        if self.fail:
            self.fail -= 1
            raise stripe.APIConnectionError("fake: the network is down", should_retry=True)
        if self.responses:
            status, body = self.responses.pop(0)
        elif self.default is not None:
            status, body = self.default(recorded)
        else:
            status, body = 200, {"id": "obj_fake", "object": "unknown"}
        return json.dumps(body), status, {"request-id": "req_fake"}

    def close(self) -> None:
        pass

    def posts(self, path_prefix: str) -> list[RecordedStripeRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path.startswith(path_prefix)]


def fake_stripe_http() -> Iterator[FakeStripeHttp]:
    """Body of a fixture: every SDK request goes to a FakeStripeHttp for the test."""
    from waitingroom.payments import gateway

    fake = FakeStripeHttp()
    gateway.use_http_client(fake)
    try:
        yield fake
    finally:
        gateway.use_http_client(None)
