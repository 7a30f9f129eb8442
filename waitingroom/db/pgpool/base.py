"""PostgreSQL with a small pool of open connections per process (psycopg2).

Under ASGI every HTTP request runs in a thread of its own, so Django's persistent connections
(CONN_MAX_AGE) never reach the next request: each request connected and disconnected, about 5 ms
of a 30 ms staff action on the benchmark's machine (docs/performance.md). Django's own pool
(`OPTIONS["pool"]`) needs psycopg 3; the stack here is psycopg2, so this backend keeps up to
`POOL_SIZE` idle connections per database and process instead:

- "closing" a connection hands it back, after a rollback if a transaction was left open;
- every connection taken is checked without a round trip: one the server has ended (its
  connections terminated, a restart) has a termination notice or end-of-file waiting on its
  socket, seen by a zero-timeout select(), and is then checked with a round trip and dropped;
- taking one idle for a second or more checks it with a round trip as well (a server gone
  without a word, e.g. a network partition); one handed back less than a second ago and with
  nothing waiting is used as it is;
- when the pool is empty a plain connection is made, and closed for real afterwards, so a burst
  never waits for a connection and never holds more than POOL_SIZE idle ones;
- a forked child starts with empty pools (it must not share the parent's sockets).

A connection that saw an error, or whose state is unknown, is closed instead of handed back.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections import deque

from django.db.backends.postgresql import base as postgresql
from psycopg2 import extensions

DEFAULT_POOL_SIZE = 10
# Seconds after being handed back during which a connection is taken without a check.
TRUST_FOR = 1.0


class ConnectionPool:
    """Idle psycopg2 connections of one database (keyed by its connection parameters)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pid = os.getpid()  # the process whose connections these are
        self._idle: deque = deque()
        self._lock = threading.Lock()

    def take(self):
        while True:
            with self._lock:
                if not self._idle:
                    return None
                # The most recently used: the least likely to be stale.
                conn, returned_at = self._idle.pop()
            # A connection handed back moments ago with nothing waiting on its socket is used as it
            # is; a round trip to check it would be one more wait for the GIL in a busy process,
            # on every request. Anything waiting on an idle session is the server ending it.
            recent = time.monotonic() - returned_at < TRUST_FOR
            if (recent and not _has_input(conn)) or _alive(conn):
                return conn
            conn.close()

    def give_back(self, conn) -> bool:
        """Keep `conn` for a later request; False if it should be closed instead."""
        if conn.closed or not _reset(conn):
            return False
        with self._lock:
            if len(self._idle) < self.size:
                self._idle.append((conn, time.monotonic()))
                return True
        return False

    def detach_all(self) -> None:
        """Point this process's copies of the idle sockets at /dev/null and forget them."""
        with self._lock:
            idle, self._idle = [conn for conn, _ in self._idle], deque()
        for conn in idle:
            sink = os.open(os.devnull, os.O_RDWR)
            try:
                os.dup2(sink, conn.fileno())
            finally:
                os.close(sink)
            _detached.append(conn)  # kept: collecting it would run its close on /dev/null anyway

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = [conn for conn, _ in self._idle], deque()
        for conn in idle:
            conn.close()


def _has_input(conn) -> bool:
    """Whether anything (a termination notice, end-of-file) waits on the idle connection's socket:
    a zero-timeout select(), no round trip."""
    if conn.closed:
        return True
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _alive(conn) -> bool:
    if conn.closed:
        return False
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not conn.autocommit:
            conn.rollback()
    except Exception:
        return False
    return True


def _reset(conn) -> bool:
    """Back to a clean, idle session; False if that cannot be made sure."""
    try:
        status = conn.info.transaction_status
        if status == extensions.TRANSACTION_STATUS_UNKNOWN:
            return False
        if status != extensions.TRANSACTION_STATUS_IDLE:
            conn.rollback()
    except Exception:
        return False
    return True


_pools: dict[tuple, ConnectionPool] = {}
_detached: list = []
_pools_lock = threading.Lock()
_pools_pid = os.getpid()


def pool_for(conn_params: dict, size: int) -> ConnectionPool:
    global _pools, _pools_pid
    key = tuple(sorted((k, str(v)) for k, v in conn_params.items()))
    with _pools_lock:
        if _pools_pid != os.getpid():
            # A forked child (a Celery worker process) inherited the parent's idle connections.
            # Their sockets are the parent's: never used here, and never closed either, as a
            # close (even a garbage-collected one) would send the parent's session a Terminate.
            for inherited in _pools.values():
                inherited.detach_all()
            _pools, _pools_pid = {}, os.getpid()
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ConnectionPool(size)
        return pool


def clear_all() -> None:
    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        pool.clear()


class DatabaseWrapper(postgresql.DatabaseWrapper):
    _pooled_from: ConnectionPool | None = None

    def _pool(self, conn_params: dict) -> ConnectionPool | None:
        size = int(self.settings_dict.get("POOL_SIZE", DEFAULT_POOL_SIZE))
        return pool_for(conn_params, size) if size > 0 else None

    def get_new_connection(self, conn_params):
        pool = self._pool(conn_params)
        conn = pool.take() if pool is not None else None
        if conn is None:
            conn = super().get_new_connection(conn_params)  # sets isolation level, jsonb loads
        else:
            self.isolation_level = postgresql.IsolationLevel.READ_COMMITTED
            options = self.settings_dict["OPTIONS"]
            if "isolation_level" in options:
                self.isolation_level = postgresql.IsolationLevel(options["isolation_level"])
        self._pooled_from = pool
        return conn

    def _close(self):
        pool, self._pooled_from = self._pooled_from, None
        # A connection a forked child closes is its parent's (Celery's worker fixup closes the
        # inherited ones, their descriptors first): never into a pool, whoever's it is.
        mine = pool is not None and pool.pid == os.getpid()
        if self.connection is not None and mine and not self.errors_occurred:
            with self.wrap_database_errors:
                if pool.give_back(self.connection):
                    return
        super()._close()
