"""Call signalling over the sockets: only the visit's patient and the staff who joined its call
relay offers, answers and candidates; everyone else is refused, and malformed messages do nothing."""

import pytest
from asgiref.sync import sync_to_async

from tests.support.ws import communicator, session_key_for
from tests.visits.test_patient_socket import join_as_patient
from visits import cards, services
from visits.models import Visit, VisitEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_origins")]
OFFER = {"type": "signal", "to": "patient", "data": {"sdp": {"type": "offer", "sdp": "v=0\r\n"}}}


async def in_call_visit(clinic, provider):
    """A patient socket and the provider's call socket, both in a call. Returns (visit, patient, staff)."""
    session, token = await sync_to_async(join_as_patient)(clinic)
    visit = await Visit.objects.aget(patient_name="Ann")
    await sync_to_async(services.visit_media_result)(visit_id=visit.id, ok=True)
    await sync_to_async(services.visit_call)(visit_id=visit.id, user=provider)
    patient = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await patient.connect())[0]
    staff = communicator(
        f"/ws/call/{clinic.slug}/{visit.id}/", session_key=await sync_to_async(session_key_for)(provider)
    )
    assert (await staff.connect())[0]
    return visit, patient, staff


async def test_participants_relay_signals_to_each_other_only(clinic_a, provider):
    _visit, patient, staff = await in_call_visit(clinic_a, provider)
    await staff.send_json_to({"type": "hello"})
    assert await patient.receive_json_from(timeout=3) == {
        "type": "peer",
        "event": "hello",
        "to": "*",
        "from": f"staff-{provider.id}",
    }
    await staff.send_json_to(OFFER)
    assert await patient.receive_json_from(timeout=3) == {
        "type": "signal",
        "to": "patient",
        "from": f"staff-{provider.id}",
        "data": {"sdp": {"type": "offer", "sdp": "v=0\r\n"}},
    }
    answer = {
        "type": "signal",
        "to": f"staff-{provider.id}",
        "data": {"sdp": {"type": "answer", "sdp": "v=0\r\n"}},
    }
    await patient.send_json_to(answer)
    assert (await staff.receive_json_from(timeout=3))["data"]["sdp"]["type"] == "answer"
    candidate = {
        "candidate": "candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    }
    await patient.send_json_to(
        {"type": "signal", "to": f"staff-{provider.id}", "data": {"candidate": candidate}}
    )
    assert (await staff.receive_json_from(timeout=3))["data"]["candidate"]["candidate"] == candidate[
        "candidate"
    ]
    assert await patient.receive_nothing(timeout=0.2)  # nobody hears their own messages
    await patient.disconnect()
    await staff.disconnect()


async def test_staff_who_did_not_join_the_call_is_refused(clinic_a, provider, csr):
    visit, patient, staff = await in_call_visit(clinic_a, provider)
    connected, code = await communicator(
        f"/ws/call/{clinic_a.slug}/{visit.id}/", session_key=await sync_to_async(session_key_for)(csr)
    ).connect()
    assert not connected and code == 4404
    await patient.disconnect()
    await staff.disconnect()


async def test_clinic_b_provider_is_refused_on_clinic_a_call(clinic_a, clinic_b, provider, outsider):
    visit, patient, staff = await in_call_visit(clinic_a, provider)
    key = await sync_to_async(session_key_for)(outsider)
    for path in [f"/ws/call/{clinic_a.slug}/{visit.id}/", f"/ws/call/{clinic_b.slug}/{visit.id}/"]:
        connected, _ = await communicator(path, session_key=key).connect()
        assert not connected
    await patient.disconnect()
    await staff.disconnect()


async def test_patient_of_another_visit_hears_nothing_and_cannot_signal_in(clinic_a, provider):
    _visit, patient, staff = await in_call_visit(clinic_a, provider)
    other_session, other_token = await sync_to_async(join_as_patient)(clinic_a, "Bob")
    other = communicator(f"/ws/visit/{other_token}/", session_key=other_session)
    assert (await other.connect())[0]
    # Bob is waiting, not in a call: his signals are refused and reach no one.
    await other.send_json_to(
        {"type": "signal", "to": f"staff-{provider.id}", "data": {"sdp": {"type": "offer", "sdp": "x"}}}
    )
    assert (await other.receive_json_from(timeout=3))["error"] == "You are not in this call."
    await staff.send_json_to(OFFER)
    await patient.receive_json_from(timeout=3)
    assert await staff.receive_nothing(timeout=0.3)
    assert await other.receive_nothing(timeout=0.3)
    for ws in (patient, staff, other):
        await ws.disconnect()


@pytest.mark.parametrize(
    "message",
    [
        {"type": "signal", "to": "patient"},
        {"type": "signal", "to": "everyone", "data": {"candidate": None}},
        {"type": "signal", "to": "patient", "data": {"sdp": {"type": "pranswer", "sdp": "x"}}},
        {"type": "signal", "to": "patient", "data": {"sdp": {"type": "offer", "sdp": "x" * 70_000}}},
        {"type": "signal", "to": "patient", "data": {"candidate": {"candidate": 5}}},
        {
            "type": "signal",
            "to": "patient",
            "data": {"sdp": {"type": "offer", "sdp": "x"}, "candidate": None},
        },
    ],
    ids=["no-data", "bad-peer", "bad-sdp-type", "huge-sdp", "bad-candidate", "two-payloads"],
)
async def test_malformed_signals_are_rejected_without_effect(clinic_a, provider, message):
    _visit, patient, staff = await in_call_visit(clinic_a, provider)
    await staff.send_json_to(message)
    assert "error" in await staff.receive_json_from(timeout=3)
    assert await patient.receive_nothing(timeout=0.3)
    await patient.disconnect()
    await staff.disconnect()


async def test_leaving_the_call_closes_the_staff_call_socket(clinic_a, provider):
    visit, patient, staff = await in_call_visit(clinic_a, provider)
    await sync_to_async(services.visit_leave_call)(visit_id=visit.id, user=provider)
    assert (await staff.receive_json_from(timeout=3))["status"] == "available"
    assert (await staff.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4403}
    await patient.disconnect()


async def test_call_failure_is_recorded_once_and_shown_on_the_card(clinic_a, provider):
    visit, patient, staff = await in_call_visit(clinic_a, provider)
    await patient.send_json_to({"type": "call_failed", "reason": "no connection after 20 s"})
    await staff.send_json_to({"type": "call_failed", "reason": "no connection after 20 s"})
    await staff.receive_json_from(timeout=3)  # the visit update
    assert await VisitEvent.objects.filter(visit=visit, event="call_failed").acount() == 1
    visit = await Visit.objects.select_related("clinic").aget(pk=visit.pk)
    assert visit.call_failed_at is not None
    card = await sync_to_async(cards.card_html)(visit=visit)
    assert "call failed" in card
    await patient.disconnect()
    await staff.disconnect()


async def test_media_check_progress_is_recorded(clinic_a):
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    ws = communicator(f"/ws/visit/{token}/", session_key=session)
    await ws.connect()
    await ws.send_json_to({"type": "media_check", "state": "started"})
    await ws.receive_json_from(timeout=3)
    assert (await Visit.objects.aget(patient_name="Ann")).media_check == "in_progress"
    await ws.send_json_to({"type": "media_check", "state": "bogus"})
    assert "error" in await ws.receive_json_from(timeout=3)
    await ws.disconnect()


async def test_a_second_call_socket_of_the_same_staff_member_takes_the_call_over(clinic_a, provider, csr):
    visit, patient, older = await in_call_visit(clinic_a, provider)
    await sync_to_async(services.visit_call)(visit_id=visit.id, user=csr)
    for socket in (patient, older):
        assert (await socket.receive_json_from(timeout=3))["type"] == "visit"  # Chris joined the call
    colleague = communicator(
        f"/ws/call/{clinic_a.slug}/{visit.id}/", session_key=await sync_to_async(session_key_for)(csr)
    )
    assert (await colleague.connect())[0]
    # Return to call in a second tab: the same peer id connects again.
    newer = communicator(
        f"/ws/call/{clinic_a.slug}/{visit.id}/", session_key=await sync_to_async(session_key_for)(provider)
    )
    assert (await newer.connect())[0]
    assert await older.receive_output(timeout=3) == {"type": "websocket.close", "code": 4409}
    # The colleague's own socket stays, and nobody is told the provider left: they are still in the call.
    assert await colleague.receive_nothing(timeout=0.2) and await patient.receive_nothing(timeout=0.2)
    await newer.send_json_to({"type": "hello"})
    assert (await patient.receive_json_from(timeout=3))["from"] == f"staff-{provider.id}"
    # The patient's offer to that peer id reaches the newer socket alone.
    await patient.send_json_to(
        {"type": "signal", "to": f"staff-{provider.id}", "data": {"sdp": {"type": "offer", "sdp": "v=0\r\n"}}}
    )
    assert (await newer.receive_json_from(timeout=3))["data"]["sdp"]["type"] == "offer"
    for socket in (patient, colleague, newer):
        await socket.disconnect()


def hold_takeover_notices_until_two(monkeypatch) -> None:
    """The first takeover notice waits for the second: both sockets have joined the group before
    either's notice goes out, so each hears the other's (two tabs connecting together)."""
    import asyncio

    from waitingroom.realtime import publisher

    real_notify, pending, both_joined = publisher.notify, [], asyncio.Event()

    async def held_until_both_joined(group, payload):
        pending.append(payload)
        if len(pending) == 2:
            both_joined.set()
        await both_joined.wait()
        await real_notify(group, payload)

    monkeypatch.setattr(publisher, "notify", held_until_both_joined)


async def test_two_call_sockets_of_one_staff_member_opening_at_once_leave_exactly_one_in_the_call(
    clinic_a, provider, monkeypatch
):
    """Both sockets joined the call panels' group before either's notice went out (two tabs, or a
    double press, connecting together): each hears the other's notice. The newer must stay and the
    older end, never both (the staff member would be left with no call anywhere, and no reconnect)."""
    import asyncio

    visit, patient, existing = await in_call_visit(clinic_a, provider)
    hold_takeover_notices_until_two(monkeypatch)
    session = await sync_to_async(session_key_for)(provider)
    tabs = [communicator(f"/ws/call/{clinic_a.slug}/{visit.id}/", session_key=session) for _ in range(2)]
    assert all(ok for ok, _ in await asyncio.gather(*(tab.connect() for tab in tabs)))
    assert await existing.receive_output(timeout=3) == {"type": "websocket.close", "code": 4409}
    outcomes = []
    for tab in tabs:
        # receive_nothing, not a receive_output timing out: that would cancel the socket's consumer.
        outcomes.append("open" if await tab.receive_nothing(timeout=1) else await tab.receive_output())
    assert sorted(map(str, outcomes)) == sorted(["open", str({"type": "websocket.close", "code": 4409})]), (
        outcomes
    )
    [holder] = [tab for tab, outcome in zip(tabs, outcomes, strict=True) if outcome == "open"]
    await patient.send_json_to(
        {"type": "signal", "to": f"staff-{provider.id}", "data": {"sdp": {"type": "offer", "sdp": "v=0\r\n"}}}
    )
    assert (await holder.receive_json_from(timeout=3))["data"]["sdp"]["type"] == "offer"
    for socket in (patient, holder):
        await socket.disconnect()


async def test_a_takeover_leaves_one_call_socket_even_when_the_newer_ones_clock_reads_earlier(
    clinic_a, provider, monkeypatch
):
    """`opened` is each process's wall clock: a newer socket on a process whose clock is behind
    reads as the older one. The older-reading side must then still leave one socket of the peer
    id in the call (it says so again and the other ends), never two answering the same offers."""
    import time

    from visits import consumers

    visit, patient, existing = await in_call_visit(clinic_a, provider)
    # The first socket's own notice has come back through the layer before the second opens (the
    # pub/sub layer hands a group's message to whoever is in the group when it arrives).
    assert await existing.receive_nothing(timeout=0.5)
    behind = time.time() - 5  # the second process's clock, five seconds behind the first's
    monkeypatch.setattr(consumers, "wall_clock", lambda: behind)
    newer = communicator(
        f"/ws/call/{clinic_a.slug}/{visit.id}/", session_key=await sync_to_async(session_key_for)(provider)
    )
    assert (await newer.connect())[0]
    still_open = [socket for socket in (existing, newer) if await socket.receive_nothing(timeout=1)]
    assert len(still_open) == 1
    await patient.send_json_to(
        {"type": "signal", "to": f"staff-{provider.id}", "data": {"sdp": {"type": "offer", "sdp": "v=0\r\n"}}}
    )
    assert (await still_open[0].receive_json_from(timeout=3))["data"]["sdp"]["type"] == "offer"
    for socket in (patient, *still_open):
        await socket.disconnect()
