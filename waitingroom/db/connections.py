"""Database connections under ASGI.

Websocket consumers keep theirs: Channels runs their database work on one thread, so a persistent
connection (CONN_MAX_AGE) is reused; reconnecting on each call made socket connects about ten
times slower in the benchmark. An HTTP request runs in a thread of its own, which no later request
reuses: a connection kept open there stays open behind the finished thread, and at 5,000 sockets
PostgreSQL ran out ("too many clients"). So a request's connections close when it finishes,
which with the pooled backend (waitingroom/db/pgpool) hands them back for the next request.
"""

from __future__ import annotations

from django.db import connections


def close_request_connections(sender, **kwargs) -> None:
    """request_finished handler (sent from the request's own thread). A connection inside an
    atomic block is left alone: that is a test's transaction (no request runs in one here)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
