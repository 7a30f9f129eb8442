"""The daphne serving a patient and a provider in a video call is killed with -9 and started
again on the same port: both pages reconnect by themselves, show the database's state, no visit
is lost or duplicated, the call is offered again and its video comes back, and presence counts
the patient's one socket (the dead process's is counted as closed once its lease expired)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.live import check_in, open_dashboard
from tests.support.processes import Server, running_servers
from tests.visits.test_browser_video import CONNECT, REMOTE_VIDEO_DECODES
from visits import presence
from visits.lifecycle import Status
from visits.models import Visit

pytestmark = pytest.mark.browser
BACK_MS = 30_000  # killed -> restarted -> the pages' backoff (1, 2, 4 ... s) brings them back

# A peer connected over a connection made after the restart (the old ones are marked).
NEW_PEER_CONNECTED = """(name) => { const call = window[name];
  return !!call && Object.values((call.mesh || call).peers).some(p => !p.pc.beforeKill
    && ['connected', 'completed'].includes(p.pc.iceConnectionState)); }"""
MARK_PEERS = """(name) => { const call = window[name];
  Object.values((call.mesh || call).peers).forEach(p => { p.pc.beforeKill = true; }); }"""


@pytest.fixture
def server(transactional_db) -> Iterator[Server]:
    with running_servers(1, PRESENCE_LEASE_SECONDS="2") as (running,):
        yield running


@pytest.fixture
def live_url(server) -> str:
    # The pages of `new_page` go to the server in a subprocess, not to the in-process one.
    return server.url


def test_a_call_survives_its_server_being_killed(new_page, server, provider, clinic_a):
    dashboard = new_page()
    open_dashboard(dashboard)
    patient = new_page()
    check_in(patient, clinic_a, "Ann Patient")
    patient.wait_for_selector("[data-patient-status='waiting']")
    patient.wait_for_function("() => document.querySelector('[data-preview]').videoWidth > 0")
    visit = Visit.objects.get(patient_name="Ann Patient")
    card = f"[data-visit='{visit.id}']"
    dashboard.wait_for_selector(f"{card}[data-phase='ready']", state="attached")
    dashboard.click(f"{card} form[data-action='call'] button")
    for p, name in ((patient, "patientCall"), (dashboard, "staffCall")):
        p.wait_for_function(NEW_PEER_CONNECTED, arg=name, timeout=CONNECT)
        p.evaluate(MARK_PEERS, name)

    server.kill()
    for p in (patient, dashboard):
        p.wait_for_selector("body[data-socket='closed']")
    server.restart()

    # Both pages come back by themselves, showing what the database says.
    for p in (patient, dashboard):
        p.wait_for_selector("body[data-socket='open']", timeout=BACK_MS)
    assert Visit.objects.filter(clinic=clinic_a).count() == 1
    visit.refresh_from_db()
    assert visit.status == Status.IN_CALL
    patient.wait_for_selector("[data-patient-status='in_call']", state="attached")
    dashboard.wait_for_selector(f"[data-phase='in_progress'] {card}[data-status='in_call']", state="attached")
    assert dashboard.locator(f"article{card}").count() == 1  # one card (the call panel names it too)

    # The call is offered again over fresh connections, and the video plays.
    for p, name in ((patient, "patientCall"), (dashboard, "staffCall")):
        p.wait_for_function(NEW_PEER_CONNECTED, arg=name, timeout=CONNECT)
        p.wait_for_function(REMOTE_VIDEO_DECODES, timeout=CONNECT)

    # Presence: the dead process's socket is counted as closed, the new one stays.
    deadline = time.monotonic() + 10
    while True:
        presence.sweep_due()
        visit.refresh_from_db()
        if visit.open_sockets == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert (visit.open_sockets, visit.status, visit.grace_due_at) == (1, Status.IN_CALL, None)
    for p in (dashboard, patient):
        p.context.close()
