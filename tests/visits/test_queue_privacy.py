"""Waiting patients learn nothing about each other: a patient's screen hears that someone ahead of
it joined or left the queue (its place moves), never which visit or when they arrived, and hears
nothing of the patients behind it."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.support.ws import communicator
from tests.visits.test_patient_socket import join_as_patient
from visits import services
from visits.models import Visit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_origins")]


async def waiting_patient(clinic, name: str):
    """A patient in the queue with their wait screen open: (visit, socket)."""
    session, token = await sync_to_async(join_as_patient)(clinic, name)
    visit = await Visit.objects.aget(patient_name=name)
    await sync_to_async(services.visit_media_result)(visit_id=visit.id, ok=True)
    ws = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await ws.connect())[0]
    return visit, ws


async def heard(ws) -> list[dict]:
    messages = []
    while not await ws.receive_nothing(timeout=0.3):
        messages.append(await ws.receive_json_from())
    return messages


async def test_a_patient_hears_only_moves_ahead_of_them_and_never_who(clinic_a):
    _, first_ws = await waiting_patient(clinic_a, "Ann")
    second, second_ws = await waiting_patient(clinic_a, "Bob")
    _, third_ws = await waiting_patient(clinic_a, "Cy")
    await heard(first_ws), await heard(second_ws), await heard(third_ws)  # their own arrival

    _, late_ws = await waiting_patient(clinic_a, "Dee")  # behind all three
    await sync_to_async(services.visit_patient_leave)(visit_id=second.id)

    got = {name: await heard(ws) for name, ws in (("Ann", first_ws), ("Cy", third_ws), ("Dee", late_ws))}
    # Dee joined behind everyone: nobody hears of it. Bob left ahead of Cy and Dee: they move up.
    assert [m for m in got["Ann"] if m["type"] == "queue"] == []
    assert [m for m in got["Cy"] if m["type"] == "queue"] == [{"type": "queue", "change": -1}]
    assert [m for m in got["Dee"] if m["type"] == "queue"] == [{"type": "queue", "change": -1}]
    # Nothing any of them heard names another visit or its arrival.
    for name, frames in got.items():
        for frame in frames:
            assert "visit_id" not in frame and "arrived" not in frame, (name, frame)
    for ws in (first_ws, second_ws, third_ws, late_ws):
        await ws.disconnect()
