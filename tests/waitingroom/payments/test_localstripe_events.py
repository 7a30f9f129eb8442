"""localstripe's own webhook deliveries pass the app's signature check, as `make run` registers
them (manage.py localstripe): a charge's payment_intent.succeeded, signed by localstripe with the
endpoint's secret about a second after the charge, is caught on its way and handed to the
webhook as it came."""

from __future__ import annotations

import http.server
import threading
import time

import pytest
from django.test import Client

from tests.support.stripe import register_webhook
from tests.waitingroom.payments.conftest import SUBJECT
from waitingroom.payments.models import StripeEvent

pytestmark = pytest.mark.django_db


class Catcher(http.server.BaseHTTPRequestHandler):
    caught: list[tuple[bytes, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Catcher.caught.append((body, self.headers.get("Stripe-Signature", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def caught_events(localstripe):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Catcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Catcher.caught.clear()
    register_webhook(f"http://127.0.0.1:{server.server_address[1]}/stripe/webhook/")
    yield Catcher.caught
    # localstripe keeps its webhooks for the session: later events go nowhere.
    register_webhook("http://127.0.0.1:9/nowhere/")
    server.shutdown()


def test_localstripes_signed_event_is_accepted_and_kept(caught_events, save_card, charge):
    save_card(subject=SUBJECT)
    payment = charge(4500)
    deadline = time.monotonic() + 10
    while not any(payment.stripe_payment_intent_id.encode() in body for body, _ in caught_events):
        assert time.monotonic() < deadline, "localstripe sent no event for the charge"
        time.sleep(0.1)
    for body, signature in caught_events:  # the customer's events too
        response = Client().post(
            "/stripe/webhook/", body, content_type="application/json", headers={"Stripe-Signature": signature}
        )
        assert response.status_code == 200
    event = StripeEvent.objects.get(object_id=payment.stripe_payment_intent_id)
    assert event.type == "payment_intent.succeeded"
    assert event.applied is False  # Stripe's answer had moved the payment already
