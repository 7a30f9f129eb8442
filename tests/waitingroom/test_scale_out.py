"""Scale-out: two daphne processes sharing Redis and PostgreSQL behave as one. A patient connected
to process A and a dashboard connected to process B see each other's changes, and a call's
signalling relays between them, with either channel layer."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from websockets.asyncio.client import ClientConnection

from tests.support.processes import Server, running_servers, socket_to
from tests.support.ws import session_key_for
from tests.visits.test_patient_socket import join_as_patient
from visits.models import Visit
from waitingroom.realtime.layers import LAYERS

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = "c" * 32  # a CSRF secret the middleware accepts as cookie and header alike


@pytest.fixture(params=LAYERS)
def two_servers(request, transactional_db) -> Iterator[tuple[Server, Server]]:
    """Processes A and B on free ports, against the test database and the tests' Redis, running
    the channel layer of the parameter."""
    with running_servers(2, CHANNEL_LAYER=request.param) as (a, b):
        yield a, b


async def next_of(sock: ClientConnection, type_: str, **fields) -> dict:
    """The next message of `type_` carrying `fields` (earlier ones are skipped)."""
    async with asyncio.timeout(5):
        while True:
            message = json.loads(await sock.recv())
            if message.get("type") == type_ and fields.items() <= message.items():
                return message


def staff_post(server: Server, path: str, session_key: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}",
        method="POST",
        data=b"",
        headers={
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "Accept": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def test_patient_on_a_and_dashboard_on_b_see_each_other(two_servers, clinic_a, provider):
    a, b = two_servers
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    staff_key = await sync_to_async(session_key_for)(provider)
    dashboard = await socket_to(b, f"/ws/staff/{clinic_a.slug}/", staff_key)
    patient = await socket_to(a, f"/ws/visit/{token}/", session)

    # Patient (A) -> dashboard (B): the device check passes, the card moves to Ready.
    await patient.send(json.dumps({"type": "media", "ok": True}))
    card = await next_of(dashboard, "visit", visit_id=(await Visit.objects.aget(patient_name="Ann")).id)
    assert (card["status"], card["phase"], card["alert"]) == ("waiting", "ready", True)

    # Staff action (HTTP to B) -> patient (A): the call starts on the patient's screen.
    visit = await Visit.objects.aget(patient_name="Ann")
    result = await asyncio.to_thread(
        staff_post, b, f"/dashboard/{clinic_a.slug}/visits/{visit.id}/call/", staff_key
    )
    assert result["ok"]
    await next_of(patient, "visit", status="in_call")

    # Call signalling: the provider's call socket on B and the patient on A relay to each other.
    call = await socket_to(b, f"/ws/call/{clinic_a.slug}/{visit.id}/", staff_key)
    await call.send(json.dumps({"type": "hello"}))
    hello = await next_of(patient, "peer")
    assert (hello["event"], hello["from"]) == ("hello", f"staff-{provider.id}")
    offer = {"sdp": {"type": "offer", "sdp": "v=0\r\n"}}
    await call.send(json.dumps({"type": "signal", "to": "patient", "data": offer}))
    assert (await next_of(patient, "signal"))["data"] == offer
    answer = {"sdp": {"type": "answer", "sdp": "v=0\r\n"}}
    await patient.send(json.dumps({"type": "signal", "to": f"staff-{provider.id}", "data": answer}))
    relayed = await next_of(call, "signal")
    assert (relayed["from"], relayed["data"]) == ("patient", answer)

    for sock in (call, patient, dashboard):
        await sock.close()
