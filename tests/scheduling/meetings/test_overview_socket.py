"""The meetings overview's socket: its own group per clinic, joined only by that clinic's staff;
it hears meeting changes and the visits of meetings' guests, never the dashboards' cards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async

from scheduling.meetings import services as meeting_services
from tests.scheduling.conftest import tomorrow
from tests.scheduling.meetings.test_meetings import schedule
from tests.support.ws import communicator, session_key_for
from visits import services as visit_services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_origins")]


async def connect(user, slug="clinic-a"):
    key = await sync_to_async(session_key_for)(user) if user else None
    ws = communicator(f"/ws/meetings/{slug}/", session_key=key)
    connected, code = await ws.connect()
    return ws, connected, code


async def received(ws) -> list[dict]:
    out = []
    while not await ws.receive_nothing(timeout=0.5):
        out.append(await ws.receive_json_from())
    return out


async def test_the_overview_hears_meetings_and_their_guests_visits_but_no_cards(
    frozen, clinic_a, provider, service
):
    ws, connected, _ = await connect(provider)
    assert connected
    meeting = await sync_to_async(schedule)(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    assert await received(ws) == [{"type": "meetings"}]

    frozen.move_to(tomorrow(clinic_a, 9) + timedelta(minutes=50))  # the room opens
    visit, _token = await sync_to_async(meeting_services.meeting_enter)(meeting_id=meeting.pk)
    heard = await received(ws)
    # A hint, no card: the overview re-fetches its rows.
    assert {"type": "visit", "visit_id": visit.pk} in heard and all("html" not in m for m in heard)

    # A walk-in patient's visit is the dashboards' business only.
    await sync_to_async(visit_services.visit_start)(clinic=clinic_a, patient_name="Walk In", answers={})
    assert await received(ws) == []
    await ws.disconnect()


@pytest.mark.parametrize("who", ["outsider", "anonymous"])
async def test_staff_of_another_clinic_and_strangers_are_refused(who, clinic_a, outsider):
    user = {"outsider": outsider, "anonymous": None}[who]
    _, connected, code = await connect(user)
    assert not connected
    if user is not None:
        assert code == 4404  # as every other consumer: the clinic's existence is not revealed


async def test_the_overview_of_ones_other_clinic_is_its_own_group(
    frozen, clinic_a, clinic_b, outsider, provider, service
):
    # The outsider works in clinic B only: clinic A's meeting changes do not reach B's overview.
    ws, connected, _ = await connect(outsider, slug="clinic-b")
    assert connected
    await sync_to_async(schedule)(clinic_a, provider, service, [tomorrow(clinic_a, 10)])
    assert await received(ws) == []
    await ws.disconnect()
