"""The consultation room's sockets: staff of the clinic join the room's staff group and hear its
hints, another clinic's staff get 4404, logging out closes the socket; the client's socket opens
with their link only, hears the same hints, and closes when the link is re-issued."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from consultations import services
from tests.support.ws import communicator, session_key_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_origins")]


async def staff_socket(user, consultation_id: int):
    key = await sync_to_async(session_key_for)(user) if user else None
    ws = communicator(f"/ws/consultations/{consultation_id}/", session_key=key)
    connected, code = await ws.connect()
    return ws, connected, code


async def test_the_clinics_staff_hear_the_room_and_another_clinics_are_refused(
    claimed, provider, csr, outsider
):
    ws, connected, _ = await staff_socket(provider, claimed.pk)
    desk, desk_connected, _ = await staff_socket(csr, claimed.pk)
    assert connected and desk_connected
    _, refused, code = await staff_socket(outsider, claimed.pk)
    assert not refused and code == 4404
    _, refused, code = await staff_socket(provider, 999999)
    assert not refused and code == 4404
    _, refused, _ = await staff_socket(None, claimed.pk)
    assert not refused

    await sync_to_async(services.message_post)(consultation_id=claimed.pk, body="Hello from Casey")
    for socket in (ws, desk):
        assert await socket.receive_json_from(timeout=3) == {
            "type": "consultation",
            "version": 0,
            "parts": ["messages"],
        }
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from(timeout=3) == {"type": "pong"}
    await ws.disconnect()
    await desk.disconnect()


async def test_a_schedulers_socket_is_refused(claimed, clinic_a):
    from tests.factories import staff
    from waitingroom.models import Role

    sam = await sync_to_async(staff)(username="sam", clinic=clinic_a, role=Role.SCHEDULER)
    _, connected, code = await staff_socket(sam, claimed.pk)
    assert not connected and code == 4404


async def test_logging_out_closes_the_staff_room_socket(claimed, provider):
    browser = Client()
    await sync_to_async(browser.force_login)(provider)
    from django.conf import settings

    ws = communicator(
        f"/ws/consultations/{claimed.pk}/", session_key=browser.cookies[settings.SESSION_COOKIE_NAME].value
    )
    assert (await ws.connect())[0]
    assert (await sync_to_async(browser.post)("/accounts/logout/")).status_code == 302
    assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    await sync_to_async(services.message_post)(consultation_id=claimed.pk, body="After logout")
    assert await ws.receive_nothing(timeout=0.3)


async def client_socket(token: str):
    ws = communicator(f"/ws/consult/room/{token}/")
    connected, code = await ws.connect()
    return ws, connected, code


async def test_the_clients_socket_opens_with_their_link_only_and_closes_when_it_is_reissued(
    claimed, provider
):
    ws, connected, _ = await client_socket(claimed.client_token)
    assert connected
    for token in ("nonsense", f"{claimed.pk}-deadbeef"):
        _, refused, code = await client_socket(token)
        assert not refused and code == 4404

    await sync_to_async(services.note_save)(
        consultation_id=claimed.pk, by=provider, body="Rest", expected_note_version=0
    )
    assert await ws.receive_json_from(timeout=3) == {"type": "consultation", "version": 0, "parts": ["note"]}

    new_token = await sync_to_async(services.client_link_reissue)(consultation_id=claimed.pk)
    assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4404}
    # The new link's socket stays open and hears the room.
    fresh, connected, _ = await client_socket(new_token)
    assert connected
    await sync_to_async(services.message_post)(consultation_id=claimed.pk, body="Hi", by=provider)
    assert (await fresh.receive_json_from(timeout=3))["parts"] == ["messages"]
    await fresh.disconnect()
