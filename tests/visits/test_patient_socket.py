"""The patient's socket: token and session binding before joining, presence, device-check results,
and what staff sockets receive."""

import threading

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client

from tests.support.ws import communicator, session_key_for
from visits import leases, services
from visits.lifecycle import Status
from visits.models import Visit
from waitingroom.realtime.consumer import CLOSE_RECONNECT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_origins")]


def join_as_patient(clinic, name="Ann"):
    """A patient browser: joins through the clinic link; returns (session key, visit token)."""
    client = Client()
    location = client.post(f"/c/{clinic.slug}/", {"patient_name": name})["Location"]
    return client.cookies[settings.SESSION_COOKIE_NAME].value, location.split("/")[2]


async def visit_named(name):
    return await Visit.objects.select_related("clinic").aget(patient_name=name)


async def test_patient_socket_reports_presence_and_device_check_to_staff(clinic_a, provider):
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    staff_ws = communicator(
        f"/ws/staff/{clinic_a.slug}/", session_key=await sync_to_async(session_key_for)(provider)
    )
    assert (await staff_ws.connect())[0]

    patient_ws = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await patient_ws.connect())[0]
    assert (await visit_named("Ann")).open_sockets == 1

    await patient_ws.send_json_to({"type": "media", "ok": True})
    card = await staff_ws.receive_json_from(timeout=3)
    assert (card["type"], card["phase"], card["alert"]) == ("visit", "ready", True)
    assert 'data-status="waiting"' in card["html"]
    own = await patient_ws.receive_json_from(timeout=3)
    assert own["type"] == "visit" and "Your place in line" in own["html"]

    await patient_ws.disconnect()
    visit = await visit_named("Ann")
    assert visit.open_sockets == 0 and visit.grace_due_at is not None
    await staff_ws.disconnect()


async def test_malformed_media_message_is_rejected_without_effect(clinic_a):
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    ws = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await ws.connect())[0]
    await ws.send_json_to({"type": "media", "ok": "yes please"})
    assert "media needs ok" in (await ws.receive_json_from())["error"]
    await ws.send_json_to({"type": "call", "visit": 1})
    assert "Unknown message type" in (await ws.receive_json_from())["error"]
    assert (await visit_named("Ann")).status == Status.CONNECTING
    await ws.disconnect()


async def test_token_without_its_session_is_refused(clinic_a):
    _session, token = await sync_to_async(join_as_patient)(clinic_a)
    connected, code = await communicator(f"/ws/visit/{token}/").connect()
    assert not connected and code == 4404
    assert (await visit_named("Ann")).open_sockets == 0


async def test_patient_of_another_visit_is_refused(clinic_a):
    ann_session, _ = await sync_to_async(join_as_patient)(clinic_a, "Ann")
    _, bob_token = await sync_to_async(join_as_patient)(clinic_a, "Bob")
    connected, _ = await communicator(f"/ws/visit/{bob_token}/", session_key=ann_session).connect()
    assert not connected


async def test_wrong_token_is_refused(clinic_a):
    session, _ = await sync_to_async(join_as_patient)(clinic_a)
    connected, _ = await communicator("/ws/visit/" + "x" * 43 + "/", session_key=session).connect()
    assert not connected


async def test_clinic_b_staff_socket_hears_nothing_of_clinic_a(clinic_a, clinic_b, outsider, provider):
    outsider_ws = communicator(
        f"/ws/staff/{clinic_b.slug}/", session_key=await sync_to_async(session_key_for)(outsider)
    )
    assert (await outsider_ws.connect())[0]
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    patient_ws = communicator(f"/ws/visit/{token}/", session_key=session)
    await patient_ws.connect()
    await patient_ws.send_json_to({"type": "media", "ok": True})
    await patient_ws.receive_json_from(timeout=3)
    assert await outsider_ws.receive_nothing(timeout=0.5)
    await patient_ws.disconnect()
    await outsider_ws.disconnect()


async def next_visit_update(ws) -> dict:
    """The next update of the patient's own visit (queue moves of the clinic are skipped)."""
    while (message := await ws.receive_json_from(timeout=3))["type"] != "visit":
        pass
    return message


async def test_activity_pushes_the_idle_deadline_only_in_a_call(clinic_a, provider):
    """Activity arrives every few seconds from every moving patient: while waiting it costs no
    database work and changes nothing; in a call it holds off "away"."""
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    ws = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await ws.connect())[0]
    await ws.send_json_to({"type": "media", "ok": True})
    assert (await next_visit_update(ws))["status"] == "waiting"
    await ws.send_json_to({"type": "activity"})
    await ws.send_json_to({"type": "ping"})
    while (message := await ws.receive_json_from(timeout=3))["type"] != "pong":
        assert message["type"] == "queue"  # no error, nothing else
    assert (await visit_named("Ann")).idle_due_at is None

    visit = await visit_named("Ann")
    await sync_to_async(services.visit_call)(visit_id=visit.id, user=provider)
    assert (await next_visit_update(ws))["status"] == "in_call"
    first_deadline = (await visit_named("Ann")).idle_due_at
    await ws.send_json_to({"type": "activity"})
    await ws.send_json_to({"type": "ping"})
    while (await ws.receive_json_from(timeout=3))["type"] != "pong":
        pass  # the pong comes after the activity was handled
    assert (await visit_named("Ann")).idle_due_at > first_deadline
    await ws.disconnect()


async def test_two_tabs_start_the_grace_only_when_the_last_one_closes(clinic_a):
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    tabs = [communicator(f"/ws/visit/{token}/", session_key=session) for _ in range(2)]
    for tab in tabs:
        assert (await tab.connect())[0]
    assert (await visit_named("Ann")).open_sockets == 2
    await tabs[0].disconnect()
    visit = await visit_named("Ann")
    assert (visit.open_sockets, visit.grace_due_at) == (1, None)
    await tabs[1].disconnect()
    visit = await visit_named("Ann")
    assert visit.open_sockets == 0 and visit.grace_due_at is not None


async def test_a_buried_lease_closes_the_sockets_counted_before_it(clinic_a, monkeypatch):
    """The renewal thread hands the burial to the event loop: sockets counted before it close with
    CLOSE_RECONNECT (their pages reconnect), and so does a socket whose count was under way (it
    read the generation before its count), while a socket opened afterwards stays."""
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    before = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await before.connect())[0]

    # A connect in flight while the lease is buried: the burial lands before its hold.
    hold = leases.hold

    def buried_meanwhile(socket):
        leases.buried()
        return hold(socket)

    monkeypatch.setattr(leases, "hold", buried_meanwhile)
    in_flight = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await in_flight.connect())[0]
    monkeypatch.setattr(leases, "hold", hold)
    for socket in (before, in_flight):
        assert (await socket.receive_output(timeout=5)) == {
            "type": "websocket.close",
            "code": CLOSE_RECONNECT,
        }

    after = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await after.connect())[0]
    thread = threading.Thread(target=leases.buried)  # as the renewal thread calls it
    thread.start()
    thread.join()
    assert (await after.receive_output(timeout=5))["code"] == CLOSE_RECONNECT
    later = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await later.connect())[0]
    assert await later.receive_nothing(timeout=0.3)
    for socket in (before, in_flight, after, later):
        await socket.disconnect()
    assert (await Visit.objects.aget(patient_name="Ann")).open_sockets == 0
