"""The dispatch page's socket: only schedulers and clinic admins join, only their clinics'
groups, and a new request reaches an open page as a hint after commit."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from scheduling.models import AppointmentRequest
from tests.factories import staff
from tests.scheduling.conftest import scheduled_request, tomorrow, weekday_hours
from tests.support.ws import communicator, session_key_for
from waitingroom.models import Role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_origins")]


async def connect(user, origin="http://127.0.0.1:8000"):
    key = await sync_to_async(session_key_for)(user) if user else None
    ws = communicator("/ws/dispatch/", session_key=key, origin=origin)
    connected, code = await ws.connect()
    return ws, connected, code


async def test_a_new_request_reaches_the_schedulers_open_dispatch_page(
    frozen, scheduler, clinic_a, provider, service, hours
):
    ws, connected, _ = await connect(scheduler)
    assert connected
    request = await sync_to_async(scheduled_request)(clinic_a, service, times=[tomorrow(clinic_a, 10)])
    assert await ws.receive_json_from(timeout=3) == {"type": "requests"}
    assert await sync_to_async(AppointmentRequest.objects.filter(pk=request.pk).exists)()
    await ws.disconnect()


async def test_another_clinics_requests_do_not_reach_the_page(frozen, scheduler, clinic_b, outsider):
    from scheduling.models import Service

    ws, connected, _ = await connect(scheduler)
    assert connected

    def make_b_request():
        weekday_hours(clinic_b, outsider)
        service = Service.objects.create(clinic=clinic_b, name="B")
        return scheduled_request(clinic_b, service, times=[tomorrow(clinic_b, 10)])

    await sync_to_async(make_b_request)()
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


@pytest.mark.parametrize("who", ["provider", "csr", "anonymous"])
async def test_staff_without_a_dispatch_role_are_refused(who, provider, csr):
    user = {"provider": provider, "csr": csr, "anonymous": None}[who]
    _, connected, code = await connect(user)
    assert not connected
    if user is not None:
        assert code == 4404


async def test_a_clinic_admin_may_join_but_not_from_a_foreign_origin(clinic_a):
    admin = await sync_to_async(staff)(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN)
    ws, connected, _ = await connect(admin)
    assert connected
    await ws.disconnect()
    _, connected, _ = await connect(admin, origin="https://evil.example")
    assert not connected
