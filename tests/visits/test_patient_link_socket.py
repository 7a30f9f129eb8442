"""A patient's socket ends with its link: when the visit's link is re-issued (a Recall link opened
on another phone, a guest entering again with the key), every socket opened with the old token
closes at once, and the socket re-checks its token on its own timer and before it acts, so the
old browser can no longer change the visit, hear its chat or answer its call."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client

from tests.support.ws import communicator
from tests.visits.test_call_signalling import in_call_visit
from tests.visits.test_patient_socket import join_as_patient
from visits import chat, publishing
from visits.consumers import PatientConsumer
from visits.models import Visit, hash_token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_origins")]

LINK_GONE = 4404
RECALL_TOKEN = "recall-link-token-for-the-test"


def open_recall_link_on_another_phone(visit_id: int) -> tuple[str, str]:
    """The Recall SMS link opened on a phone: the phone takes the visit over with a fresh link.
    Returns the phone's (session key, visit token)."""
    Visit.objects.filter(pk=visit_id).update(recall_token_hash=hash_token(RECALL_TOKEN))
    phone = Client()
    response = phone.get(f"/r/{RECALL_TOKEN}/")
    assert response.status_code == 302
    return phone.cookies[settings.SESSION_COOKIE_NAME].value, response["Location"].split("/")[2]


@pytest.fixture
def notice_lost(monkeypatch):
    """The re-issue notice never arrives (as when Redis was away): only the socket's own checks
    are left."""
    monkeypatch.setattr(publishing, "link_reissued", lambda *, visit_id: None)


async def test_reissuing_the_link_closes_the_old_socket_and_it_hears_nothing_more(clinic_a, provider):
    visit, old, staff = await in_call_visit(clinic_a, provider)
    phone_session, phone_token = await sync_to_async(open_recall_link_on_another_phone)(visit.id)
    assert await old.receive_output(timeout=1) == {"type": "websocket.close", "code": LINK_GONE}

    phone = communicator(f"/ws/visit/{phone_token}/", session_key=phone_session)
    assert (await phone.connect())[0]
    await sync_to_async(chat.chat_post)(visit_id=visit.id, body="Can you hear me?", user=provider)
    await staff.send_json_to(
        {"type": "signal", "to": "patient", "data": {"sdp": {"type": "offer", "sdp": "v=0\r\n"}}}
    )
    # The phone hears the chat and the offer; the old browser nothing at all.
    heard = [await phone.receive_json_from(timeout=3) for _ in range(2)]
    assert {m["type"] for m in heard} == {"chat", "signal"}
    assert await old.receive_nothing(timeout=0.3)
    for ws in (old, phone, staff):
        await ws.disconnect()


async def test_the_old_socket_cannot_change_the_visit_before_any_notice(clinic_a, notice_lost):
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    visit = await Visit.objects.aget(patient_name="Ann")
    old = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await old.connect())[0]
    await sync_to_async(open_recall_link_on_another_phone)(visit.id)

    await old.send_json_to({"type": "media_check", "state": "started"})
    assert await old.receive_output(timeout=1) == {"type": "websocket.close", "code": LINK_GONE}
    await old.send_json_to({"type": "media", "ok": True})
    assert await old.receive_nothing(timeout=0.3)
    after = await Visit.objects.aget(pk=visit.pk)
    assert (after.media_check, after.status) == (visit.media_check, visit.status)
    await old.disconnect()


async def test_the_old_socket_cannot_answer_the_call_before_any_notice(clinic_a, provider, notice_lost):
    visit, old, staff = await in_call_visit(clinic_a, provider)
    await sync_to_async(open_recall_link_on_another_phone)(visit.id)
    await old.send_json_to(
        {
            "type": "signal",
            "to": f"staff-{provider.id}",
            "data": {"sdp": {"type": "answer", "sdp": "v=0\r\n"}},
        }
    )
    assert await old.receive_output(timeout=1) == {"type": "websocket.close", "code": LINK_GONE}
    assert await staff.receive_nothing(timeout=0.3)  # the answer never reached the provider
    await staff.send_json_to({"type": "hello"})
    assert await old.receive_nothing(timeout=0.3)
    await old.disconnect()
    await staff.disconnect()


async def test_the_servers_timer_closes_the_old_socket_though_it_sends_nothing(
    clinic_a, notice_lost, monkeypatch
):
    monkeypatch.setattr(PatientConsumer, "recheck_every", 0.3)
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    visit = await Visit.objects.aget(patient_name="Ann")
    old = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await old.connect())[0]
    await sync_to_async(open_recall_link_on_another_phone)(visit.id)
    assert await old.receive_output(timeout=1.5) == {"type": "websocket.close", "code": LINK_GONE}
    await old.disconnect()


async def test_a_guest_entering_again_closes_the_first_browsers_socket(clinic_a):
    """The other path that re-issues a link (scheduling/meetings/services.py: meeting_enter) goes
    through the same service, visit_reissue_token."""
    from django.db import transaction

    from visits import services

    session, token = await sync_to_async(join_as_patient)(clinic_a)
    visit = await Visit.objects.aget(patient_name="Ann")
    old = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await old.connect())[0]

    def reissue():
        with transaction.atomic():
            services.visit_reissue_token(visit=services.locked_visit(visit.id))

    await sync_to_async(reissue)()
    assert await old.receive_output(timeout=1) == {"type": "websocket.close", "code": LINK_GONE}
    await old.disconnect()


async def test_a_staff_call_socket_ignores_the_notice(clinic_a, provider):
    visit, old, staff = await in_call_visit(clinic_a, provider)
    await sync_to_async(open_recall_link_on_another_phone)(visit.id)
    await staff.send_json_to({"type": "ping"})
    assert await staff.receive_json_from(timeout=3) == {"type": "pong"}  # open, and told nothing
    for ws in (old, staff):
        await ws.disconnect()
