"""Redis restarts under open pages: daphne in a subprocess, its channel layer on a private
redis-server the test kills with -9 and starts again on the same port. Staff and patient actions
made while Redis is down succeed; once it is back every page shows what changed meanwhile (the
layer tells its sockets to re-fetch) and receives pushes again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.live import LIVE_MS, check_in, free_port, open_dashboard
from tests.support.processes import PrivateRedis, Server, running_servers
from waitingroom.models import Clinic

pytestmark = pytest.mark.browser
BACK_MS = 10_000  # Redis back -> the page shows the change (the layer retries once a second)


@pytest.fixture
def redis_and_server(transactional_db) -> Iterator[tuple[PrivateRedis, Server]]:
    redis = PrivateRedis(free_port())
    redis.start()
    try:
        with running_servers(1, REDIS_URL=redis.url, CHANNEL_LAYER="pubsub") as (server,):
            yield redis, server
    finally:
        redis.close()


@pytest.fixture
def live_url(redis_and_server) -> str:
    # The pages of `new_page` go to the server in a subprocess, not to the in-process one.
    return redis_and_server[1].url


def staff_post(page, path: str, data: dict) -> dict:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        path, form=data, headers={"X-CSRFToken": token, "Accept": "application/json"}
    )
    assert response.status == 200, response.text()
    return response.json()


def test_pages_catch_up_after_redis_restarts(new_page, redis_and_server, provider, clinic_a):
    redis = redis_and_server[0]

    dashboard = new_page()
    open_dashboard(dashboard)
    patient = new_page()
    check_in(patient, clinic_a, "Ann Patient")
    patient.wait_for_selector("body[data-socket='open']")

    redis.kill()
    # While Redis is down: a staff broadcast and a new patient's arrival both succeed.
    started = time.monotonic()
    assert staff_post(dashboard, f"/dashboard/{clinic_a.slug}/broadcast/", {"message": "Running late"})["ok"]
    assert time.monotonic() - started < 6  # the lost push is given up on, not waited for
    assert Clinic.objects.get(pk=clinic_a.pk).broadcast_message == "Running late"
    newcomer = new_page()
    check_in(newcomer, clinic_a, "Bob Newcomer")
    newcomer.wait_for_selector("[data-status-panel]")
    # Their pushes were lost: the open pages still show the state from before the outage.
    assert patient.locator("[data-broadcast]").is_hidden()
    assert dashboard.locator("[data-visit]", has_text="Bob Newcomer").count() == 0

    redis.start()
    patient.wait_for_selector("[data-broadcast]:has-text('Running late')", timeout=BACK_MS)
    dashboard.wait_for_selector("[data-visit]:has-text('Bob Newcomer')", state="attached", timeout=BACK_MS)

    # Pushes flow again, live.
    staff_post(dashboard, f"/dashboard/{clinic_a.slug}/broadcast/", {"message": "Back on time"})
    patient.wait_for_selector("[data-broadcast]:has-text('Back on time')", timeout=LIVE_MS)
    dashboard.wait_for_function(
        "() => document.querySelector('#broadcast').value === 'Back on time'", timeout=LIVE_MS
    )
    for p in (dashboard, patient, newcomer):
        p.context.close()
