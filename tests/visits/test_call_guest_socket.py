"""The call guest's socket (visits/consumers.py CallGuestConsumer): it opens only for the browser
bound to the link; before Admit it can neither join the call nor relay signals, nor hear the
visit's chat or status; after Admit it signals with the patient and staff; a removal closes it
at once and tells the others the guest left."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client

from tests.support.ws import communicator
from tests.visits.test_call_signalling import hold_takeover_notices_until_two, in_call_visit
from visits import call_guests, chat, services
from visits.models import CallGuest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_origins")]
OFFER = {"sdp": {"type": "offer", "sdp": "v=0\r\n"}}


def guest_browser(visit, user) -> tuple[CallGuest, str, str]:
    """An invited guest whose browser opened the link: (guest, token, session key)."""
    guest, token = call_guests.guest_invite(
        visit_id=visit.id, user=user, name="Alex", relation="interpreter", contact="+14155550123"
    )
    client = Client()
    assert client.get(f"/g/{token}/").status_code == 200
    return guest, token, client.cookies[settings.SESSION_COOKIE_NAME].value


async def until(socket, kind: str) -> dict:
    """The next message of `kind` (pings, other types skipped)."""
    for _ in range(10):
        message = await socket.receive_json_from(timeout=3)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind}")


async def drain(socket) -> None:
    while not await socket.receive_nothing(timeout=0.3):
        await socket.receive_output()


async def close_code(socket) -> int:
    """The code the socket was closed with; what came before it must not be call signalling."""
    for _ in range(10):
        output = await socket.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            return output["code"]
        assert '"signal"' not in output.get("text", ""), output
    raise AssertionError("not closed")


async def test_only_the_bound_browser_opens_the_guest_socket(clinic_a, provider):
    visit, patient, staff = await in_call_visit(clinic_a, provider)
    _guest, token, session = await sync_to_async(guest_browser)(visit, provider)
    connected, code = await communicator(f"/ws/guest/{token}/").connect()
    assert not connected and code == 4404
    connected, code = await communicator("/ws/guest/made-up-token/", session_key=session).connect()
    assert not connected and code == 4404
    guest_ws = communicator(f"/ws/guest/{token}/", session_key=session)
    assert (await guest_ws.connect())[0]
    for socket in (guest_ws, patient, staff):
        await socket.disconnect()


async def test_before_admit_the_guest_can_neither_signal_nor_hear_the_call(clinic_a, provider):
    visit, patient, staff = await in_call_visit(clinic_a, provider)
    guest, token, session = await sync_to_async(guest_browser)(visit, provider)
    guest_ws = communicator(f"/ws/guest/{token}/", session_key=session)
    assert (await guest_ws.connect())[0]
    await sync_to_async(call_guests.guest_ask)(guest_id=guest.id)
    assert (await until(guest_ws, "guest"))["status"] == "asking"

    # Its own signals are refused; nobody hears them.
    await guest_ws.send_json_to({"type": "hello"})
    assert await until(guest_ws, "error") == {"type": "error", "error": "You are not in this call."}
    await guest_ws.send_json_to({"type": "signal", "to": "patient", "data": OFFER})
    assert (await until(guest_ws, "error"))["error"] == "You are not in this call."
    assert await patient.receive_nothing(timeout=0.3)
    # The others' signals addressed to it, the visit's chat and status do not reach it.
    await staff.send_json_to({"type": "signal", "to": f"guest-{guest.id}", "data": OFFER})
    await sync_to_async(chat.chat_post)(visit_id=visit.id, user=provider, body="private note")
    assert await guest_ws.receive_nothing(timeout=0.5)

    # Admitted: now it is in the call.
    await sync_to_async(call_guests.guest_admit)(visit_id=visit.id, guest_id=guest.id, user=provider)
    admitted = await until(guest_ws, "guest")
    assert admitted["status"] == "admitted" and "Ann" in admitted["html"]  # the patient's name on its video
    await guest_ws.send_json_to({"type": "hello"})
    assert await until(patient, "peer") == {
        "type": "peer",
        "event": "hello",
        "to": "*",
        "from": f"guest-{guest.id}",
    }
    await staff.send_json_to({"type": "signal", "to": f"guest-{guest.id}", "data": OFFER})
    relayed = await until(guest_ws, "signal")
    assert relayed["from"] == f"staff-{provider.id}" and relayed["data"] == OFFER
    await guest_ws.send_json_to(
        {"type": "signal", "to": "patient", "data": {"sdp": {"type": "answer", "sdp": "v=0\r\n"}}}
    )
    assert (await until(patient, "signal"))["from"] == f"guest-{guest.id}"
    # Still no chat for the guest.
    await sync_to_async(chat.chat_post)(visit_id=visit.id, user=provider, body="still private")
    while not await guest_ws.receive_nothing(timeout=0.5):
        message = await guest_ws.receive_json_from()
        assert message["type"] != "chat" and "still private" not in str(message)
    for socket in (guest_ws, patient, staff):
        await socket.disconnect()


async def admitted_guest(clinic, provider):
    """A call with the patient, the provider and an admitted guest whose browser opened the link:
    (visit, patient, staff, guest, token, session), the admission's pushes read."""
    visit, patient, staff = await in_call_visit(clinic, provider)
    guest, token, session = await sync_to_async(guest_browser)(visit, provider)
    await sync_to_async(call_guests.guest_ask)(guest_id=guest.id)
    await sync_to_async(call_guests.guest_admit)(visit_id=visit.id, guest_id=guest.id, user=provider)
    for socket in (patient, staff):
        await drain(socket)
    return visit, patient, staff, guest, token, session


async def test_a_removed_guests_socket_closes_at_once_and_the_others_hear_bye(clinic_a, provider):
    visit, patient, staff, guest, token, session = await admitted_guest(clinic_a, provider)
    guest_ws = communicator(f"/ws/guest/{token}/", session_key=session)
    assert (await guest_ws.connect())[0]
    await sync_to_async(call_guests.guest_remove)(visit_id=visit.id, guest_id=guest.id, user=provider)
    assert (await until(guest_ws, "guest"))["status"] == "removed"
    assert await close_code(guest_ws) == 4403
    assert await until(patient, "peer") == {
        "type": "peer",
        "event": "bye",
        "to": "*",
        "from": f"guest-{guest.id}",
    }
    # Its link opens no socket any more.
    connected, code = await communicator(f"/ws/guest/{token}/", session_key=session).connect()
    assert not connected and code == 4404
    for socket in (patient, staff):
        await socket.disconnect()


async def test_the_visits_end_closes_the_guests_socket(clinic_a, provider):
    visit, patient, _staff, _guest, token, session = await admitted_guest(clinic_a, provider)
    guest_ws = communicator(f"/ws/guest/{token}/", session_key=session)
    assert (await guest_ws.connect())[0]
    await sync_to_async(services.visit_end)(visit_id=visit.id, user=provider)
    ended = await until(guest_ws, "guest")
    assert ended["status"] == "left" and "The call has ended" in ended["html"]
    assert await close_code(guest_ws) == 4403
    await patient.disconnect()


async def test_the_staff_call_socket_hears_the_request_to_join(clinic_a, provider):
    visit, patient, staff = await in_call_visit(clinic_a, provider)
    guest, _token, _session = await sync_to_async(guest_browser)(visit, provider)
    invited = await until(staff, "call_guest")
    assert invited["announce"] == "" and "Invitation sent to Alex (interpreter)" in invited["html"]
    await sync_to_async(call_guests.guest_ask)(guest_id=guest.id)
    panel = await until(staff, "call_guest")
    assert panel["announce"] == "Alex (interpreter) is asking to join" and ">Admit<" in panel["html"]
    # The patient's screen hears nothing of it.
    while not await patient.receive_nothing(timeout=0.5):
        assert (await patient.receive_json_from())["type"] != "call_guest"
    for socket in (patient, staff):
        await socket.disconnect()


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '{"type": 5}',
        '{"type": "ask"}',
        '{"type": "signal", "to": "nobody", "data": {}}',
        '{"type": "signal", "to": "patient", "data": {"sdp": {"type": "offer", "sdp": 5}}}',
        "[" * 100_000,
    ],
)
async def test_malformed_guest_socket_messages_get_an_error_and_change_nothing(clinic_a, provider, frame):
    _visit, patient, staff, guest, token, session = await admitted_guest(clinic_a, provider)
    guest_ws = communicator(f"/ws/guest/{token}/", session_key=session)
    assert (await guest_ws.connect())[0]
    await drain(patient)
    await guest_ws.send_to(text_data=frame)
    assert (await until(guest_ws, "error"))["error"]
    assert await patient.receive_nothing(timeout=0.3)
    assert (await CallGuest.objects.aget(pk=guest.id)).status == "admitted"
    for socket in (guest_ws, patient, staff):
        await socket.disconnect()


async def test_the_guest_link_opened_in_a_second_tab_takes_the_call_over_and_the_others_see_one_guest(
    clinic_a, provider
):
    _visit, patient, staff, guest, token, session = await admitted_guest(clinic_a, provider)
    gid = f"guest-{guest.id}"
    older = communicator(f"/ws/guest/{token}/", session_key=session)
    assert (await older.connect())[0]
    await older.send_json_to({"type": "hello"})
    assert (await until(patient, "peer"))["from"] == gid
    await drain(staff)
    # The same browser opens the link in a second tab: the same peer id connects again.
    newer = communicator(f"/ws/guest/{token}/", session_key=session)
    assert (await newer.connect())[0]
    assert await close_code(older) == 4409
    # Nobody is told the guest left: they are still in the call, in the newer tab.
    assert await patient.receive_nothing(timeout=0.3) and await staff.receive_nothing(timeout=0.3)
    await older.disconnect()
    assert await patient.receive_nothing(timeout=0.3) and await staff.receive_nothing(timeout=0.3)
    await newer.send_json_to({"type": "hello"})
    assert await until(patient, "peer") == {"type": "peer", "event": "hello", "to": "*", "from": gid}
    # An offer to the guest's peer id reaches the newer socket, which answers in the call.
    await staff.send_json_to({"type": "signal", "to": gid, "data": OFFER})
    assert (await until(newer, "signal"))["data"] == OFFER
    await newer.send_json_to(
        {
            "type": "signal",
            "to": f"staff-{provider.id}",
            "data": {"sdp": {"type": "answer", "sdp": "v=0\r\n"}},
        }
    )
    assert (await until(staff, "signal"))["from"] == gid
    # The guest is still admitted: a takeover is no leaving.
    assert (await CallGuest.objects.aget(pk=guest.id)).status == "admitted"
    for socket in (newer, patient, staff):
        await socket.disconnect()


async def test_two_guest_tabs_opening_at_once_leave_exactly_one_in_the_call(clinic_a, provider, monkeypatch):
    """Both tabs joined the guest's group before either's notice went out: each hears the other's,
    and the order they agree on ends exactly one (never both: the guest would be left with no call)."""
    import asyncio

    _visit, patient, staff, guest, token, session = await admitted_guest(clinic_a, provider)
    hold_takeover_notices_until_two(monkeypatch)
    tabs = [communicator(f"/ws/guest/{token}/", session_key=session) for _ in range(2)]
    assert all(ok for ok, _ in await asyncio.gather(*(tab.connect() for tab in tabs)))
    outcomes = []
    for tab in tabs:
        # receive_nothing, not a receive_output timing out: that would cancel the socket's consumer.
        outcomes.append("open" if await tab.receive_nothing(timeout=1) else await tab.receive_output())
    assert sorted(map(str, outcomes)) == sorted(["open", str({"type": "websocket.close", "code": 4409})]), (
        outcomes
    )
    [holder] = [tab for tab, outcome in zip(tabs, outcomes, strict=True) if outcome == "open"]
    await patient.send_json_to({"type": "signal", "to": f"guest-{guest.id}", "data": OFFER})
    assert (await until(holder, "signal"))["data"] == OFFER
    for socket in (holder, patient, staff):
        await socket.disconnect()


async def test_an_admitted_guest_stays_in_the_call_while_the_patient_is_in_recents_and_is_told_why(
    clinic_a, provider
):
    """What the Recents card's "still in the call, waiting for the patient" rests on: the patient's
    drop ends nothing of the guest's part; once the patient is back, their hello reaches the guest.
    Meanwhile the guest's screen says the patient dropped and the call carries on (it said "You're
    in the call" to nobody), then that they are in the call again."""
    from django.db import transaction
    from django.utils import timezone

    from visits import presence
    from visits.lifecycle import Actor, Event

    visit, patient, staff, guest, token, session = await admitted_guest(clinic_a, provider)
    guest_ws = communicator(f"/ws/guest/{token}/", session_key=session)
    assert (await guest_ws.connect())[0]

    def drop() -> None:
        with transaction.atomic():
            services.apply_event(
                services.locked_visit(visit.id), Event.CONNECTION_LOST, Actor.SYSTEM, now=timezone.now()
            )

    await sync_to_async(drop)()
    assert (await until(patient, "visit"))["status"] == "disconnected"
    waiting = await until(guest_ws, "guest")
    assert waiting["status"] == "admitted"
    assert f"Waiting for {visit.patient_name} to reconnect" in waiting["html"]
    assert "the call carries on when they" in waiting["html"] and "You're in the call" not in waiting["html"]
    assert (await CallGuest.objects.aget(pk=guest.id)).status == "admitted"
    assert await guest_ws.receive_nothing(timeout=0.5)  # not closed
    # The patient's page comes back (its socket counted again): into the call, the guest still there.
    await sync_to_async(presence.visit_socket_opened)(visit_id=visit.id)
    assert (await until(patient, "visit"))["status"] == "available"
    back = await until(guest_ws, "guest")
    assert "You're in the call" in back["html"] and "Waiting for" not in back["html"]
    await patient.send_json_to({"type": "hello"})
    assert (await until(guest_ws, "peer"))["from"] == "patient"
    for socket in (guest_ws, patient, staff):
        await socket.disconnect()
