"""What a patient socket costs the server to open and to close: calls on Channels' one database
thread and SQL statements (a reconnect storm queues thousands of both; docs/performance.md), and
that the cheaper paths keep presence exactly as before."""

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import DatabaseSyncToAsync
from channels.layers import get_channel_layer
from django.db import DatabaseError, connection
from django.db.backends.utils import CursorWrapper
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.support.ws import communicator
from tests.visits.test_patient_socket import join_as_patient, visit_named
from visits import presence
from visits.lifecycle import Status
from visits.models import Visit
from waitingroom.realtime import groups, publisher
from waitingroom.realtime.batching import Coalesced

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ws_origins")]


class DatabaseWork:
    """Every call on Channels' database thread and every SQL statement, from any thread."""

    def __init__(self, monkeypatch) -> None:
        self.calls: list[str] = []
        self.statements: list[str] = []
        self.sql: list[str] = []
        handler, execute = DatabaseSyncToAsync.thread_handler, CursorWrapper.execute
        work = self

        def thread_handler(self, loop, *args, **kwargs):
            work.calls.append(getattr(self.func, "__qualname__", repr(self.func)))
            return handler(self, loop, *args, **kwargs)

        def recorded_execute(self, sql, params=None):
            work.statements.append(sql.split()[0].upper())
            work.sql.append(sql)
            return execute(self, sql, params)

        monkeypatch.setattr(DatabaseSyncToAsync, "thread_handler", thread_handler)
        monkeypatch.setattr(CursorWrapper, "execute", recorded_execute)

    def clear(self) -> None:
        self.calls.clear()
        self.statements.clear()
        self.sql.clear()


async def test_a_patient_connect_is_one_database_call_and_a_close_one_update(clinic_a, monkeypatch):
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    work = DatabaseWork(monkeypatch)

    ws = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await ws.connect())[0]
    # The session, the visit, the presence UPDATE: one trip to the database thread (no user
    # lookup by the auth middleware, no close_old_connections hop before the message).
    assert work.calls == ["_open_sockets"]  # visits.consumers.SOCKETS_OPENED
    # The presence statement counts the socket on the visit and under this process at once.
    assert work.statements == ["SELECT", "SELECT", "WITH"]
    assert "UPDATE visits_visit" in work.sql[2] and "INSERT INTO visits_processsockets" in work.sql[2]
    assert (await visit_named("Ann")).open_sockets == 1

    work.clear()
    await ws.disconnect()
    # One statement: this process's count, the visit's, and the clinic's grace read in it.
    assert work.statements == ["WITH"]
    assert "UPDATE visits_visit" in work.sql[0] and "UPDATE visits_processsockets" in work.sql[0]
    assert len(work.calls) == 1
    visit = await visit_named("Ann")
    assert visit.open_sockets == 0 and visit.disconnected_at is not None
    grace = (visit.grace_due_at - visit.disconnected_at).total_seconds()
    assert grace == clinic_a.reconnect_grace_seconds


async def test_a_patient_connect_reads_only_what_the_socket_uses_of_its_visit(clinic_a, monkeypatch):
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    work = DatabaseWork(monkeypatch)
    ws = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await ws.connect())[0]
    (lookup,) = [sql for sql in work.sql if "token_hash" in sql and sql.startswith("SELECT")]
    # Not the answers, the token or the clinic's settings: only what the consumer reads.
    selected = lookup.split(" FROM ")[0]
    for unused in ('"visits_visit"."answers"', '"visits_visit"."token_hash"', '"waitingroom_clinic"."name"'):
        assert unused not in selected
    assert '"waitingroom_clinic"."idle_seconds"' in selected
    await ws.disconnect()


async def test_coming_back_from_offline_still_publishes_once_joined(clinic_a, monkeypatch):
    """The quiet UPDATE runs before the groups are joined; a visible return (offline, recalled,
    Recents, lost connection) is applied only after, so the returning socket hears it."""
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    await Visit.objects.filter(patient_name="Ann").aupdate(status=Status.OFFLINE)
    ws = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await ws.connect())[0]
    own = await ws.receive_json_from(timeout=3)
    assert own["type"] == "visit" and own["status"] == Status.WAITING
    visit = await visit_named("Ann")
    assert (visit.status, visit.open_sockets) == (Status.WAITING, 1)
    await ws.disconnect()


async def test_a_failed_group_join_leaves_no_socket_counted(clinic_a, monkeypatch):
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    layer = get_channel_layer()

    async def broken(*args, **kwargs):
        raise ConnectionError("redis went away")

    monkeypatch.setattr(layer, "group_add_many", broken, raising=False)
    monkeypatch.setattr(layer, "group_add", broken)
    ws = communicator(f"/ws/visit/{token}/", session_key=session)
    with pytest.raises(ConnectionError):
        await ws.connect()
    visit = await visit_named("Ann")
    assert visit.open_sockets == 0 and visit.grace_due_at is not None


async def test_patient_sockets_have_no_user_lookup_and_staff_sockets_keep_theirs(clinic_a):
    from waitingroom.asgi import websocket_urlpatterns

    wrapped = {str(route.pattern): type(route.callback).__name__ for route in websocket_urlpatterns}
    assert wrapped["ws/visit/<str:token>/"] != "AuthMiddleware"
    assert wrapped["ws/staff/<slug:slug>/"] == "AuthMiddleware"
    assert wrapped["ws/call/<slug:slug>/<int:visit_id>/"] == "AuthMiddleware"
    assert wrapped["ws/dispatch/"] == "AuthMiddleware"


async def test_the_socket_joins_both_groups_in_one_go(clinic_a):
    session, token = await sync_to_async(join_as_patient)(clinic_a)
    ws = communicator(f"/ws/visit/{token}/", session_key=session)
    assert (await ws.connect())[0]
    visit = await visit_named("Ann")
    layer = get_channel_layer()
    # Both groups reach the socket (the pipelined join did both).
    for group in (groups.visit_group(visit.id), groups.clinic_patients_group(clinic_a.id)):
        await layer.group_send(
            group, {"type": publisher.EVENT_TYPE, "payload": {"type": "probe", "g": group}}
        )
        assert (await ws.receive_json_from(timeout=3))["g"] == group
    await ws.disconnect()


def test_sockets_closed_in_one_batch_count_as_closed_one_after_the_other(clinic_a):
    from tests.visits.conftest import arrive

    two_tabs, one_tab, three_tabs = (arrive(clinic_a, name) for name in ("Two", "One", "Three"))
    # Opened by this process: a process takes back only the sockets it counted.
    presence.visit_sockets_opened_quietly(visit_ids=[two_tabs.id] * 2 + [one_tab.id] + [three_tabs.id] * 3)

    with CaptureQueriesContext(connection) as captured:
        presence.visit_sockets_closed(
            visit_ids=[two_tabs.id, one_tab.id, two_tabs.id, three_tabs.id, three_tabs.id]
        )

    # One statement for the whole batch, whatever the counts (here 2 and 1).
    assert [q["sql"].split()[0] for q in captured] == ["WITH"]
    two_tabs, one_tab, three_tabs = (Visit.objects.get(pk=v.pk) for v in (two_tabs, one_tab, three_tabs))
    assert (two_tabs.open_sockets, one_tab.open_sockets, three_tabs.open_sockets) == (0, 0, 1)
    assert two_tabs.grace_due_at is not None and one_tab.grace_due_at is not None
    assert three_tabs.grace_due_at is None  # one tab still open


def test_sockets_opened_in_one_batch_count_only_the_quiet_visits(clinic_a):
    from tests.visits.conftest import arrive

    two_tabs, one_tab, offline = (arrive(clinic_a, name) for name in ("Two", "One", "Offline"))
    Visit.objects.filter(pk=offline.pk).update(status=Status.OFFLINE)
    Visit.objects.filter(pk=one_tab.pk).update(open_sockets=0, grace_due_at=timezone.now())

    counted = presence.visit_sockets_opened_quietly(
        visit_ids=[two_tabs.id, one_tab.id, offline.id, two_tabs.id]
    )

    assert counted == {two_tabs.id, one_tab.id}  # offline comes back through visit_socket_opened
    two_tabs, one_tab, offline = (Visit.objects.get(pk=v.pk) for v in (two_tabs, one_tab, offline))
    assert (two_tabs.open_sockets, one_tab.open_sockets, offline.open_sockets) == (2, 1, 0)
    assert one_tab.grace_due_at is None


async def test_a_failed_batch_of_closes_is_written_one_by_one(clinic_a, monkeypatch):
    from tests.visits.conftest import arrive
    from visits import consumers

    ann, bob = [await sync_to_async(arrive)(clinic_a, name) for name in ("Ann", "Bob")]
    await sync_to_async(presence.visit_sockets_opened_quietly)(visit_ids=[ann.id, bob.id])

    batch = presence.visit_sockets_closed

    def deadlocked(*, visit_ids):
        if len(visit_ids) > 1:
            raise DatabaseError("deadlock detected")
        batch(visit_ids=visit_ids)

    monkeypatch.setattr(presence, "visit_sockets_closed", deadlocked)
    assert await sync_to_async(consumers._close_sockets)([ann.id, bob.id]) == [None, None]
    async for visit in Visit.objects.filter(pk__in=[ann.pk, bob.pk]):
        assert visit.open_sockets == 0 and visit.grace_due_at is not None


async def test_a_failed_batch_of_opens_is_counted_one_by_one(clinic_a, monkeypatch):
    from visits import consumers

    ann_session, ann_token = await sync_to_async(join_as_patient)(clinic_a, "Ann")
    bob_session, bob_token = await sync_to_async(join_as_patient)(clinic_a, "Bob")
    batch = presence.visit_sockets_opened_quietly

    def deadlocked(*, visit_ids):
        if len(visit_ids) > 1:
            raise DatabaseError("deadlock detected")
        return batch(visit_ids=visit_ids)

    monkeypatch.setattr(presence, "visit_sockets_opened_quietly", deadlocked)

    class Socket:  # what _open_sockets reads of a consumer
        def __init__(self, token, session_key):
            from django.contrib.sessions.backends.db import SessionStore

            self.scope = {"url_route": {"kwargs": {"token": token}}, "session": SessionStore(session_key)}

        _find = consumers.PatientConsumer._find

    sockets = [
        Socket(ann_token, ann_session),
        Socket(bob_token, bob_session),
        Socket("no-such-token", ann_session),
    ]
    results = await sync_to_async(consumers._open_sockets)(sockets)
    ann, bob = [await visit_named(name) for name in ("Ann", "Bob")]
    assert [(visit.id, counted) for visit, counted in results[:2]] == [(ann.id, True), (bob.id, True)]
    assert results[2] is None  # a wrong token still learns nothing
    assert (ann.open_sockets, bob.open_sockets) == (1, 1)


def batch_socket(token: str, session_key: str):
    """What _open_sockets reads of a connecting consumer: its URL's token and lazy session."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils.functional import LazyObject

    from visits.consumers import PatientConsumer

    class Socket:
        _find = PatientConsumer._find
        scope: dict[str, Any]

    socket = Socket()
    session = LazyObject()
    session._wrapped = SessionStore(session_key)  # as Channels' session middleware leaves it
    socket.scope = {"url_route": {"kwargs": {"token": token}}, "session": session}
    return socket


async def test_a_batch_of_connects_loads_its_sessions_in_one_query(clinic_a, monkeypatch):
    from django.contrib.sessions.models import Session

    from visits import consumers

    people = [await sync_to_async(join_as_patient)(clinic_a, name) for name in ("Ann", "Bob", "Cy")]
    # Cy's browser session has expired: like Django's own load, it reads as empty.
    await Session.objects.filter(session_key=people[2][0]).aupdate(expire_date=timezone.now())
    work = DatabaseWork(monkeypatch)
    sockets = [batch_socket(token, session) for session, token in people]
    results = await sync_to_async(consumers._open_sockets)(sockets)
    assert sum("django_session" in sql for sql in work.sql) == 1
    ann, bob = [await visit_named(name) for name in ("Ann", "Bob")]
    assert [(visit.id, counted) for visit, counted in results[:2]] == [(ann.id, True), (bob.id, True)]
    assert results[2] is None


async def test_coalesced_writes_take_everything_queued_meanwhile() -> None:
    batches: list[list[int]] = []
    first_started, release = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()

    def write(items):
        batches.append(list(items))
        if len(batches) == 1:
            loop.call_soon_threadsafe(first_started.set)
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result()

    coalesced = Coalesced(write)
    first = asyncio.create_task(coalesced.submit(1))
    await first_started.wait()
    rest = [asyncio.create_task(coalesced.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, *rest)
    assert batches == [[1], [2, 3, 4]]


async def test_coalesced_write_errors_reach_every_waiter():
    def write(items):
        raise RuntimeError("database down")

    coalesced = Coalesced(write)
    results = await asyncio.gather(coalesced.submit(1), coalesced.submit(2), return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]


def slow_find_for(token: str, monkeypatch) -> None:
    """The lookup of `token`'s socket takes 0.5 s: a busy database thread."""
    import time

    from visits.consumers import PatientConsumer

    find = PatientConsumer._find

    def slow_find(self):
        if self.scope["url_route"]["kwargs"]["token"] == token:
            time.sleep(0.5)
        return find(self)

    monkeypatch.setattr(PatientConsumer, "_find", slow_find)


async def test_a_connect_cancelled_while_queued_is_never_counted(clinic_a, monkeypatch):
    ann_session, ann_token = await sync_to_async(join_as_patient)(clinic_a, "Ann")
    bob_session, bob_token = await sync_to_async(join_as_patient)(clinic_a, "Bob")
    slow_find_for(ann_token, monkeypatch)
    ann = communicator(f"/ws/visit/{ann_token}/", session_key=ann_session)
    bob = communicator(f"/ws/visit/{bob_token}/", session_key=bob_session)
    ann_connect = asyncio.create_task(ann.connect(timeout=5))
    await asyncio.sleep(0.1)  # Ann's batch is being written
    bob_connect = asyncio.create_task(bob.connect(timeout=5))
    await asyncio.sleep(0.1)  # Bob waits for the next batch
    bob.future.cancel()  # daphne kills the app of a client gone longer than its close timeout
    assert (await ann_connect)[0]
    await asyncio.gather(bob_connect, return_exceptions=True)
    await asyncio.sleep(0.7)  # a next batch, had Bob still been in the queue
    assert (await visit_named("Bob")).open_sockets == 0
    assert (await visit_named("Ann")).open_sockets == 1
    await ann.disconnect()


async def test_a_connect_cancelled_while_written_gives_its_count_back(clinic_a, monkeypatch):
    ann_session, ann_token = await sync_to_async(join_as_patient)(clinic_a, "Ann")
    slow_find_for(ann_token, monkeypatch)
    ann = communicator(f"/ws/visit/{ann_token}/", session_key=ann_session)
    ann_connect = asyncio.create_task(ann.connect(timeout=5))
    await asyncio.sleep(0.1)  # her batch is being written: the count will be taken
    ann.future.cancel()
    await asyncio.gather(ann_connect, return_exceptions=True)
    for _ in range(30):  # the write ends, then the count is given back
        await asyncio.sleep(0.1)
        visit = await visit_named("Ann")
        if visit.disconnected_at is not None:
            break
    assert visit.open_sockets == 0 and visit.disconnected_at is not None  # the grace has started
