"""A staff member's sockets end with the right to them (waitingroom/access.py): logging out, a
membership removed or its role changed, an account deactivated or given a new password close
every socket of theirs (dashboard, dispatch, meetings overview, call) within a second, and the
consumers' own timer closes what no signal told (an expired session, a bulk update). A closed
socket hears nothing more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from tests.factories import staff
from tests.support.ws import communicator
from tests.visits.conftest import ready
from visits import chat, services
from visits.models import Visit
from waitingroom.models import Membership, Role
from waitingroom.realtime import groups, publisher
from waitingroom.realtime.consumer import RealtimeConsumer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_origins")]

SESSION_ENDED, FORBIDDEN = 4401, 4403
SOCKETS = ("dashboard", "dispatch", "meetings", "call")


@sync_to_async
def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def session_of(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def admin(clinic_a):
    """A clinic admin: the one role that may open all four staff sockets."""
    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN)


def _in_call(clinic, user) -> int:
    visit = ready(clinic)
    services.visit_call(visit_id=visit.id, user=user)
    return visit.id


async def open_sockets(clinic, user, session_key: str) -> dict:
    """The four staff sockets of `user`'s browser session, all open."""
    visit_id = await sync_to_async(_in_call)(clinic, user)
    paths = {
        "dashboard": f"/ws/staff/{clinic.slug}/",
        "dispatch": "/ws/dispatch/",
        "meetings": f"/ws/meetings/{clinic.slug}/",
        "call": f"/ws/call/{clinic.slug}/{visit_id}/",
    }
    sockets = {name: communicator(path, session_key=session_key) for name, path in paths.items()}
    for name, ws in sockets.items():
        assert (await ws.connect())[0], name
    return sockets


async def closed_with(sockets: dict, code: int) -> None:
    """Each socket closes with `code` within a second."""
    for name, ws in sockets.items():
        assert await ws.receive_output(timeout=1) == {"type": "websocket.close", "code": code}, name


async def hear_nothing_more(clinic, sockets: dict) -> None:
    """What each of the four would hear while open (a new patient, a broadcast, a hint to the
    dispatch page and the meetings overview, a change of the call's visit) reaches none of them."""

    def changes():
        ready(clinic, "Later Patient")
        chat.clinic_broadcast_set(clinic=clinic, message="After the close")
        publisher.publish(groups.clinic_scheduling_group(clinic.id), {"type": "requests"})
        publisher.publish(groups.clinic_meetings_group(clinic.id), {"type": "meetings"})
        for visit in Visit.objects.filter(clinic=clinic):
            publisher.publish(
                groups.visit_group(visit.id), {"type": "visit", "status": "in_call", "html": ""}
            )

    await sync_to_async(changes)()
    for name, ws in sockets.items():
        assert await ws.receive_nothing(timeout=0.3), name
        await ws.disconnect()


async def test_logging_out_closes_that_sessions_sockets_and_no_other(admin, clinic_a):
    browser, other_browser = await signed_in(admin), await signed_in(admin)
    sockets = await open_sockets(clinic_a, admin, session_of(browser))
    elsewhere = communicator(f"/ws/staff/{clinic_a.slug}/", session_key=session_of(other_browser))
    assert (await elsewhere.connect())[0]

    assert (await sync_to_async(browser.post)("/accounts/logout/")).status_code == 302
    await closed_with(sockets, SESSION_ENDED)
    await hear_nothing_more(clinic_a, sockets)
    # The same person signed in on another computer keeps that session, and its socket.
    assert (await elsewhere.receive_json_from(timeout=3))["type"] == "visit"
    await elsewhere.disconnect()


async def test_removing_the_membership_closes_every_socket(admin, clinic_a):
    sockets = await open_sockets(clinic_a, admin, session_of(await signed_in(admin)))
    await Membership.objects.filter(user=admin, clinic=clinic_a).adelete()
    await closed_with(sockets, FORBIDDEN)
    await hear_nothing_more(clinic_a, sockets)


@pytest.mark.parametrize(
    "role, closed",
    [
        # A scheduler may dispatch, but not see the waiting room, the meetings or a call.
        (Role.SCHEDULER, {"dashboard", "meetings", "call"}),
        # A provider sees the waiting room, but no longer dispatches.
        (Role.PROVIDER, {"dispatch"}),
    ],
)
async def test_a_role_change_closes_the_sockets_the_new_role_may_not_hold(admin, clinic_a, role, closed):
    sockets = await open_sockets(clinic_a, admin, session_of(await signed_in(admin)))
    membership = await Membership.objects.aget(user=admin, clinic=clinic_a)
    membership.role = role
    await membership.asave()  # as the clinic's admin page saves its inline
    await closed_with({name: sockets[name] for name in closed}, FORBIDDEN)
    for name in set(SOCKETS) - closed:
        await sockets[name].send_json_to({"type": "ping"})
        assert await sockets[name].receive_json_from(timeout=3) == {"type": "pong"}, name
    await hear_nothing_more(clinic_a, {name: sockets[name] for name in closed})
    for name in set(SOCKETS) - closed:
        await sockets[name].disconnect()


@pytest.mark.parametrize("change", ["deactivated", "new password", "deleted"])
async def test_an_account_change_closes_every_socket(admin, clinic_a, change):
    sockets = await open_sockets(clinic_a, admin, session_of(await signed_in(admin)))

    def apply():
        if change == "deactivated":
            admin.is_active = False
            admin.save()
        elif change == "new password":
            admin.set_password("a-brand-new-password-1")
            admin.save()
        else:
            admin.delete()

    await sync_to_async(apply)()
    await closed_with(sockets, SESSION_ENDED)
    for ws in sockets.values():
        await ws.disconnect()


@pytest.fixture
def quick_recheck(monkeypatch):
    """Consumers re-check on their own timer every 0.3 s instead of every 30 s."""
    monkeypatch.setattr(RealtimeConsumer, "recheck_every", 0.3)


async def test_an_expired_session_closes_its_sockets_on_the_servers_timer(admin, clinic_a, quick_recheck):
    browser = await signed_in(admin)
    sockets = await open_sockets(clinic_a, admin, session_of(browser))
    await Session.objects.filter(session_key=session_of(browser)).aupdate(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    # The browsers send nothing: the server's own timer finds the session over.
    await closed_with(sockets, SESSION_ENDED)
    await hear_nothing_more(clinic_a, sockets)


async def test_a_session_closes_its_sockets_within_a_second_of_expiring(admin, clinic_a):
    """No quick re-check here: the timer is due when the session expires, not a period later."""
    browser = await signed_in(admin)
    await Session.objects.filter(session_key=session_of(browser)).aupdate(
        expire_date=timezone.now() + timedelta(seconds=3)
    )
    sockets = await open_sockets(clinic_a, admin, session_of(browser))
    for name, ws in sockets.items():
        assert await ws.receive_nothing(timeout=0.1), name  # still open before it expires
    for name, ws in sockets.items():
        assert await ws.receive_output(timeout=4) == {"type": "websocket.close", "code": SESSION_ENDED}, name


async def test_a_change_no_signal_told_is_caught_by_the_timer(admin, clinic_a, quick_recheck):
    sockets = await open_sockets(clinic_a, admin, session_of(await signed_in(admin)))
    # A bulk update sends no signal (nor would a notice lost while Redis was away).
    await Membership.objects.filter(user=admin).aupdate(role=Role.CSR)
    await closed_with({"dispatch": sockets["dispatch"]}, FORBIDDEN)
    await Membership.objects.filter(user=admin).aupdate(clinic=await _another_clinic())
    await closed_with({n: sockets[n] for n in ("dashboard", "meetings", "call")}, FORBIDDEN)
    for ws in sockets.values():
        await ws.disconnect()


@sync_to_async
def _another_clinic():
    from tests.factories import ClinicFactory

    return ClinicFactory(name="Elsewhere", slug="elsewhere")
