"""Presence heals itself: a daphne process killed with -9 while a patient's socket is open leaves
no ghost socket behind. The page reconnects to another process; once the dead process's lease
has expired the sweep counts its socket as closed, and closing the page starts the grace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.support.processes import Server, running_servers, socket_to
from tests.visits.test_patient_socket import join_as_patient
from visits import presence, services
from visits.lifecycle import Status
from visits.models import PresenceLease, ProcessSockets, Visit
from visits.templatetags import client_rules
from waitingroom.realtime.consumer import CLOSE_RECONNECT

pytestmark = pytest.mark.django_db(transaction=True)

LEASE_SECONDS = 2  # renewed every 0.7 s by the servers of this test


@pytest.fixture
def two_servers(transactional_db) -> Iterator[tuple[Server, Server]]:
    with running_servers(2, PRESENCE_LEASE_SECONDS=str(LEASE_SECONDS)) as (a, b):
        yield a, b


async def patient_socket(server: Server, token: str, session_key: str) -> ClientConnection:
    return await socket_to(server, f"/ws/visit/{token}/", session_key)


async def until(predicate, seconds: float = 10, every: float = 0.1):
    """Poll `predicate` (a sync function run off the event loop) until it returns something true."""
    deadline = time.monotonic() + seconds
    while True:
        result = await sync_to_async(predicate)()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(every)


def visit_of(name: str) -> Visit:
    return Visit.objects.get(patient_name=name)


async def test_a_killed_process_leaves_no_ghost_socket(two_servers, clinic_a, provider):
    a, b = two_servers
    clinic_a.reconnect_grace_seconds = 1
    await clinic_a.asave(update_fields=["reconnect_grace_seconds"])
    session, token = await sync_to_async(join_as_patient)(clinic_a)

    # In a call, served by process A.
    first = await patient_socket(a, token, session)
    assert await until(lambda: visit_of("Ann").open_sockets == 1)
    visit = await sync_to_async(visit_of)("Ann")
    await sync_to_async(services.visit_media_result)(visit_id=visit.id, ok=True)
    await sync_to_async(services.visit_call)(visit_id=visit.id, user=provider)

    # A dies with the socket open; the page reconnects to B. For a while both are counted.
    a.kill()
    await first.close()
    second = await patient_socket(b, token, session)
    assert await until(lambda: visit_of("Ann").open_sockets == 2)

    # Once A's lease has expired, the sweep counts A's socket as closed, and only A's: the
    # patient is still there (B), so no grace starts and the call goes on.
    def swept_to_one() -> Visit | None:
        presence.sweep_due()
        found = visit_of("Ann")
        return found if found.open_sockets == 1 else None

    healed = await until(swept_to_one, seconds=LEASE_SECONDS + 8, every=0.3)
    assert healed, "the dead process's socket is still counted"
    assert (healed.status, healed.grace_due_at) == (Status.IN_CALL, None)
    assert not await ProcessSockets.objects.exclude(
        process__in=PresenceLease.objects.values("process")
    ).aexists()
    assert await PresenceLease.objects.acount() == 1  # B's, renewed all along

    # The patient really leaves: the grace starts, and once it has passed the visit is in Recents.
    await second.close()
    assert await until(lambda: visit_of("Ann").grace_due_at is not None)

    def swept_to_recents() -> bool:
        presence.sweep_due()
        return visit_of("Ann").status == Status.DISCONNECTED

    assert await until(swept_to_recents, seconds=5, every=0.3)


@pytest.fixture
def server(transactional_db) -> Iterator[Server]:
    with running_servers(1, PRESENCE_LEASE_SECONDS=str(LEASE_SECONDS)) as (one,):
        yield one


def bury_leases() -> int:
    """What the sweep does to a live process that missed its renewals (the database was away for
    longer than two of them): its lease expired, so its sockets are counted as closed. Expired and
    swept in one transaction, so that the renewal thread cannot extend the lease in between."""
    with transaction.atomic():
        PresenceLease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        return presence.sweep_due()["dead_processes"]


async def test_a_process_whose_lease_was_buried_has_its_pages_reconnect(server, clinic_a):
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    first = await patient_socket(server, token, session)
    assert await until(lambda: visit_of("Ann").open_sockets == 1)
    assert await until(lambda: PresenceLease.objects.exists())
    visit = await sync_to_async(visit_of)("Ann")
    await sync_to_async(services.visit_media_result)(visit_id=visit.id, ok=True)  # waiting

    # The sweep buries the live process's lease: the patient, still there, is counted as gone.
    assert await sync_to_async(bury_leases)() == 1
    swept = await sync_to_async(visit_of)("Ann")
    assert (swept.open_sockets, swept.grace_due_at is not None) == (0, True)

    # The renewal re-creates the lease and closes the socket so that its page reconnects at once.
    async def closed() -> None:
        with pytest.raises(ConnectionClosed):
            while True:
                await first.recv()  # the pushes of the device check, then the close

    await asyncio.wait_for(closed(), timeout=LEASE_SECONDS + 5)
    assert first.close_code == CLOSE_RECONNECT
    assert CLOSE_RECONNECT not in client_rules.RULES["closeCodes"]["refused"]  # socket.js reconnects
    assert await until(lambda: PresenceLease.objects.exists())

    # The page reconnects: counted again, the grace the sweep started is called off, and the
    # buried socket's close took nothing back.
    second = await patient_socket(server, token, session)
    healed = await until(lambda: (v := visit_of("Ann")).open_sockets == 1 and v.grace_due_at is None)
    assert healed
    await asyncio.sleep(1)  # the old socket's close is written by now
    visit = await sync_to_async(visit_of)("Ann")
    assert (visit.open_sockets, visit.grace_due_at, visit.status) == (1, None, Status.WAITING)
    held = await sync_to_async(lambda: sum(ProcessSockets.objects.values_list("sockets", flat=True)))()
    assert held == 1
    await second.send('{"type": "ping"}')
    assert '"pong"' in await asyncio.wait_for(second.recv(), timeout=5)  # not closed in its turn
    await second.close()


def test_renewing_starts_even_when_the_first_take_of_the_lease_fails(settings, monkeypatch):
    """The database is down as the first patient connects: the first take fails, and the renewal
    thread must still start (it retries), or the process would never renew its lease again."""
    import threading

    from django.db import OperationalError

    from visits import leases

    settings.PRESENCE_LEASE_SECONDS = 10
    monkeypatch.setitem(leases._state, "thread", None)
    started = threading.Event()
    monkeypatch.setattr(leases, "_keep_renewing", lambda process: started.set())

    def down() -> bool:
        raise OperationalError("the database is down")

    monkeypatch.setattr(leases, "renew", down)
    with pytest.raises(OperationalError):
        leases.ensure_lease()
    assert started.wait(timeout=5), "the renewal thread was never started"
