"""`manage.py localstripe` (the Procfile's stripe: line): it starts localstripe on LOCALSTRIPE_URL's
port, registers the app's webhook with it (localstripe's signed events reach PUBLIC_BASE_URL's
/stripe/webhook/), passes SIGTERM on, and refuses to run when the app talks to the real Stripe.

The run here puts a sitecustomize first on PYTHONPATH that keeps localstripe from writing
/tmp/localstripe.pickle (`make run`'s store)."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import stripe
from django.core.management import CommandError, call_command

from tests.support.live import free_port

ROOT = Path(__file__).resolve().parents[3]

# Loaded by every Python process of the run (first on PYTHONPATH): localstripe's store is never
# written to /tmp/localstripe.pickle (`make run`'s).
SITECUSTOMIZE = """
import localstripe.resources as r
r.Store.dump_to_disk = lambda self: None
"""


def listening(port: int) -> set[tuple[str, str]]:
    """The (protocol, local address in /proc's hex) of every socket listening on `port`."""
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add((table, address))
    return found


def test_it_refuses_to_run_when_a_stripe_key_is_configured(settings):
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    with pytest.raises(CommandError, match="A Stripe secret key is configured"):
        call_command("localstripe")


def test_it_refuses_a_localstripe_url_elsewhere(settings):
    settings.STRIPE_API_BASE = settings.LOCALSTRIPE_URL = "http://stripe.example.test:8420"
    with pytest.raises(CommandError, match="LOCALSTRIPE_URL must be on this machine"):
        call_command("localstripe")


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, bytes, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.path, body, self.headers.get("Stripe-Signature", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_it_runs_localstripe_with_the_apps_webhook_and_stops_on_sigterm(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
        "DJANGO_SETTINGS_MODULE": "waitingroom.settings",
        "DEBUG": "1",
        "LOCALSTRIPE_URL": base,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{app.server_address[1]}",
    }
    env.pop("STRIPE_SECRET_KEY", None)
    command = subprocess.Popen(
        [sys.executable, "manage.py", "localstripe"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert command.stdout is not None
        # Written once localstripe answers and the webhook is registered (localstripe's own lines
        # share the output).
        ready = f"localstripe at {base}; its events go to {env['PUBLIC_BASE_URL']}/stripe/webhook/"
        lines: list[str] = []
        threading.Thread(
            target=lambda: lines.extend(line.strip() for line in command.stdout), daemon=True
        ).start()
        deadline = time.monotonic() + 20
        while ready not in lines:
            assert time.monotonic() < deadline and command.poll() is None, lines
            time.sleep(0.1)
        # On the loopback address only: localstripe's own command listens on "::" (every
        # interface, IPv4 and IPv6).
        assert listening(port) == {("tcp", "0100007F")}

        # A charge at localstripe: its signed event arrives at the app's webhook URL.
        client = stripe.StripeClient("sk_test_localstripe", base_addresses={"api": base})
        client.v1.payment_intents.create(
            params={"amount": 100, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
        )
        deadline = time.monotonic() + 10
        while not Receiver.received:
            assert time.monotonic() < deadline, "no event reached the webhook"
            time.sleep(0.1)
        path, body, signature = Receiver.received[0]
        assert path == "/stripe/webhook/"
        event = stripe.Webhook.construct_event(body, signature, "whsec_localstripe")
        assert event.type == "payment_intent.succeeded"

        command.send_signal(signal.SIGTERM)
        assert command.wait(timeout=15) == 0
        with pytest.raises(stripe.APIConnectionError):
            client.v1.customers.list()  # localstripe stopped with it
    finally:
        if command.poll() is None:
            command.terminate()  # passed on to localstripe: neither outlives a failed test
            try:
                command.wait(timeout=10)
            except subprocess.TimeoutExpired:
                command.kill()
        app.shutdown()
