"""Redis restarts under open pages: daphne in a subprocess, its channel layer on a private
redis-server the test kills with -9 and starts again on the same port. Staff and patient actions
made while Redis is down succeed; once it is back every page shows what changed meanwhile (the
layer tells its sockets to re-fetch) and receives pushes again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.live import LIVE_MS, free_port, login
from tests.support.processes import PrivateRedis, Server, server_env
from waitingroom.models import Clinic

pytestmark = pytest.mark.browser
BACK_MS = 10_000  # Redis back -> the page shows the change (the layer retries once a second)


@pytest.fixture
def redis_and_server(transactional_db) -> Iterator[tuple[PrivateRedis, Server]]:
    redis = PrivateRedis(free_port())
    redis.start()
    port = free_port()
    server = None
    try:
        server = Server(port, server_env([port], REDIS_URL=redis.url, CHANNEL_LAYER="pubsub"))
        server.wait_ready()
        yield redis, server
    finally:
        if server is not None:
            server.stop()
        redis.close()


def staff_post(page, path: str, data: dict) -> dict:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        path, form=data, headers={"X-CSRFToken": token, "Accept": "application/json"}
    )
    assert response.status == 200, response.text()
    return response.json()


def test_pages_catch_up_after_redis_restarts(browser, redis_and_server, provider, clinic_a):
    redis, server = redis_and_server

    def page():
        context = browser.new_context(base_url=server.url)
        context.set_default_timeout(10_000)
        return context.new_page()

    dashboard = page()
    login(dashboard, username="paula", password="pw-for-tests-1")
    dashboard.wait_for_selector("body[data-socket='open']")
    patient = page()
    patient.goto(f"/c/{clinic_a.slug}/")
    patient.fill("input[name=patient_name]", "Ann Patient")
    patient.click("button[type=submit]")
    patient.wait_for_selector("body[data-socket='open']")

    redis.kill()
    # While Redis is down: a staff broadcast and a new patient's arrival both succeed.
    started = time.monotonic()
    assert staff_post(dashboard, f"/dashboard/{clinic_a.slug}/broadcast/", {"message": "Running late"})["ok"]
    assert time.monotonic() - started < 6  # the lost push is given up on, not waited for
    assert Clinic.objects.get(pk=clinic_a.pk).broadcast_message == "Running late"
    newcomer = page()
    newcomer.goto(f"/c/{clinic_a.slug}/")
    newcomer.fill("input[name=patient_name]", "Bob Newcomer")
    newcomer.click("button[type=submit]")
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
