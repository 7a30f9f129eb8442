"""The pooled PostgreSQL backend (waitingroom/db/pgpool): a finished request's connection serves the
next one, and nothing of one request's session state, nor a dead connection, reaches the next."""

import os
import stat
import threading
import time
from types import SimpleNamespace

import pytest
from django.db import ProgrammingError, connections
from psycopg2 import extensions

from waitingroom.db.pgpool import base as pgpool

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_pools():
    pgpool.clear_all()
    yield
    pgpool.clear_all()


def fresh():
    """A new wrapper for the default database, as a new request thread gets."""
    return connections.create_connection("default")


def backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def in_thread(fn):
    result = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join()
    return result[0]


def request_pid() -> int:
    """What an HTTP request does under ASGI: a thread of its own, its connection closed at the end."""
    wrapper = fresh()
    try:
        return backend_pid(wrapper)
    finally:
        wrapper.close()


def test_the_next_request_reuses_the_connection_of_the_last():
    assert in_thread(request_pid) == in_thread(request_pid)


def test_pool_size_zero_connects_per_request():
    def unpooled_pid():
        wrapper = fresh()
        wrapper.settings_dict = {**wrapper.settings_dict, "POOL_SIZE": 0}  # a copy: it is shared
        try:
            return backend_pid(wrapper)
        finally:
            wrapper.close()

    assert in_thread(unpooled_pid) != in_thread(unpooled_pid)


def test_a_transaction_left_open_is_rolled_back_before_reuse():
    def leave_open():
        wrapper = fresh()
        wrapper.set_autocommit(False)
        with wrapper.cursor() as cursor:
            cursor.execute("CREATE TABLE pool_probe (n int)")
        pid = backend_pid(wrapper)
        wrapper.close()  # never committed
        return pid

    def probe():
        wrapper = fresh()
        try:
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT to_regclass('pool_probe') IS NULL, pg_backend_pid()")
                return cursor.fetchone()
        finally:
            wrapper.close()

    pid = in_thread(leave_open)
    assert in_thread(probe) == (True, pid)  # the same connection, without the uncommitted table


def test_a_connection_killed_by_the_server_is_not_handed_out(monkeypatch):
    monkeypatch.setattr(pgpool, "TRUST_FOR", 0.0)  # idle long enough to be checked
    pid = in_thread(request_pid)
    killer = connections.create_connection("default")
    killer.settings_dict = {**killer.settings_dict, "POOL_SIZE": 0}  # not a pooled one
    with killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(50):  # termination is asynchronous
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.05)
    killer.close()
    assert in_thread(request_pid) != pid  # the next request works, on a new connection


def test_a_connection_that_saw_an_error_is_closed_not_kept():
    def failing():
        wrapper = fresh()
        pid = backend_pid(wrapper)
        with pytest.raises(ProgrammingError), wrapper.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")
        wrapper.close()
        return pid

    pid = in_thread(failing)
    assert in_thread(request_pid) != pid


def test_at_most_pool_size_idle_connections_are_kept():
    # The pool alone, with stand-ins: the database's own connections are shared with the rest of
    # the suite's threads, which may take from the pool meanwhile.
    class Conn:
        closed = 0
        info = SimpleNamespace(transaction_status=extensions.TRANSACTION_STATUS_IDLE)

    pool = pgpool.ConnectionPool(size=2)
    kept = [pool.give_back(conn) for conn in (Conn(), Conn(), Conn())]
    assert kept == [True, True, False]  # the third is closed by the caller (the wrapper's _close)
    assert len(pool._idle) == 2


def test_a_connection_idle_for_a_while_is_checked_before_use(monkeypatch):
    quiet, _writer = os.pipe()  # a socket with nothing waiting on it

    class Conn:
        closed = 0
        info = SimpleNamespace(transaction_status=extensions.TRANSACTION_STATUS_IDLE)

        def fileno(self):
            return quiet

    checked = []
    monkeypatch.setattr(pgpool, "_alive", lambda conn: checked.append(conn) or True)
    pool = pgpool.ConnectionPool(size=2)
    fresh_conn = Conn()
    pool.give_back(fresh_conn)
    assert pool.take() is fresh_conn and checked == []  # handed back just now: used as it is
    pool.give_back(fresh_conn)
    monkeypatch.setattr(pgpool, "TRUST_FOR", 0.0)
    assert pool.take() is fresh_conn and checked == [fresh_conn]


def test_a_connection_terminated_moments_after_it_was_handed_back_is_not_handed_out():
    """pg_terminate_backend (or a server restart) just after a request finished: the next request
    must not get the dead connection, though it was handed back less than TRUST_FOR ago (the
    server's termination notice waits on its socket)."""
    first = in_thread(request_pid)

    def terminate():  # from a connection of its own (a pooled one could be `first` itself)
        wrapper = fresh()
        wrapper.settings_dict = {**wrapper.settings_dict, "POOL_SIZE": 0}
        try:
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [first])
        finally:
            wrapper.close()

    in_thread(terminate)
    time.sleep(0.1)  # the notice travels to our socket
    second = in_thread(request_pid)  # raised "terminating connection" before the check
    assert second != first


def test_a_forked_child_never_uses_nor_closes_its_parents_connections(monkeypatch):
    in_thread(request_pid)  # a connection now idle in the "parent's" pool
    (parent_conn,) = [conn for pool in pgpool._pools.values() for conn, _ in pool._idle]
    parent_pid = parent_conn.get_backend_pid()
    monkeypatch.setattr(pgpool, "_pools_pid", -1)  # the pools are a parent's: as in a Celery worker's child

    assert in_thread(request_pid) != parent_pid  # the child connects on its own
    # The inherited socket now leads to /dev/null in this process: whatever psycopg2 writes on it
    # (a Terminate when the object goes) cannot reach the parent's session.
    assert stat.S_ISCHR(os.fstat(parent_conn.fileno()).st_mode)
    assert parent_conn in pgpool._detached


def test_a_connection_closed_in_a_forked_child_never_enters_a_pool():
    def close_in_child():
        wrapper = fresh()
        backend_pid(wrapper)
        pool = wrapper._pooled_from
        pool.pid = -1  # the pool is a parent's: this wrapper closes in a forked child
        wrapper.close()  # as Celery's worker fixup does with what the child inherited
        return pool

    pool = in_thread(close_in_child)
    assert len(pool._idle) == 0  # closed, not kept for a process it does not belong to
