"""The database's bad day, with real processes: a daphne process against a private PostgreSQL
cluster (tests/support/private_pg.py) whose connections are terminated, then which is stopped
for 10 s and started again. No request after the database is back fails (the pool checks what it
hands out), requests during the outage get a clear 503 page, and open sockets stay open."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import connect
from websockets.typing import Origin

from tests.support.live import free_port
from tests.support.private_pg import PG_BIN, private_pg  # noqa: F401  (a fixture)
from tests.support.ws import session_key_for
from tests.waitingroom.test_scale_out import Server

pytestmark = pytest.mark.django_db(transaction=True)
OUTAGE_SECONDS = 10


def copy_test_database(cluster) -> str:
    """The test database as it is now (schema and the rows this test committed) into the private
    cluster, as database `wr`."""
    db = connection.settings_dict
    dump = cluster.root / "test.dump"
    source = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    subprocess.run([PG_BIN / "pg_dump", "-Fc", "-f", dump, "-d", source], check=True, timeout=60)
    subprocess.run([PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "wr"])
    subprocess.run(
        [PG_BIN / "pg_restore", "--no-owner", "-d", cluster.url("wr"), dump], check=True, timeout=60
    )
    return cluster.url("wr")


def get(port: int, path: str, session_key: str) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def terminate_connections(url: str) -> int:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = current_database()"
        )
        row = cursor.fetchone()
    assert row is not None
    (count,) = row
    conn.close()
    return count


@pytest.fixture
def server(private_pg, clinic_a, provider):  # noqa: F811  (private_pg: the imported fixture)
    key = session_key_for(provider)
    url = copy_test_database(private_pg)
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "waitingroom.test_settings",
        "DATABASE_URL": url,
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
        "WEBSOCKET_ALLOWED_ORIGINS": f"http://127.0.0.1:{port}",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    daphne = Server(port, env)
    try:
        daphne.wait_ready()
        yield daphne, key, url
    finally:
        daphne.stop()
        connection.close()


async def test_requests_after_an_outage_succeed_and_during_it_get_503(server, private_pg, clinic_a):  # noqa: F811
    daphne, key, url = server
    board = f"/dashboard/{clinic_a.slug}/"
    call = asyncio.to_thread
    socket = await connect(
        f"ws://127.0.0.1:{daphne.port}/ws/staff/{clinic_a.slug}/",
        origin=Origin(f"http://127.0.0.1:{daphne.port}"),
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={key}"},
        ping_interval=None,
    )
    for _ in range(3):  # the pool now holds connections handed back moments ago
        assert (await call(get, daphne.port, board, key))[0] == 200

    # Every connection terminated: the next requests get fresh ones.
    assert await call(terminate_connections, url) >= 1
    for _ in range(3):
        status, body = await call(get, daphne.port, board, key)
        assert status == 200, body[-2000:]

    # The server stopped: a clear 503 page, not a traceback; then back, and nothing fails.
    await call(private_pg.stop)
    down = time.monotonic()
    during = []
    while time.monotonic() - down < OUTAGE_SECONDS:
        during.append(await call(get, daphne.port, board, key))
        await asyncio.sleep(1)
    assert {status for status, _ in during} == {503}
    assert all("We'll be right back" in body and "Traceback" not in body for _, body in during)
    await call(private_pg.start)
    for _ in range(5):
        status, body = await call(get, daphne.port, board, key)
        assert status == 200, body[-2000:]

    # The dashboard's socket stayed open throughout.
    await socket.send(json.dumps({"type": "ping"}))
    async with asyncio.timeout(5):
        while json.loads(await socket.recv())["type"] != "pong":
            pass
    await socket.close()
