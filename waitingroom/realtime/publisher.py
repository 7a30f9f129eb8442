"""The one realtime publisher.

Services call `publish()`, `publish_many()` or `publish_built()`; nothing else sends to the
channel layer. Events leave only after the surrounding transaction commits, so a rolled-back change
is never announced and a listener that re-fetches on the hint always reads the committed state.
Delivery is at-most-once: pushes are hints, and a client that reconnects re-fetches over HTTP.

Group names come only from waitingroom/realtime/groups.py, and every payload must be declared for
its group's audience in waitingroom/realtime/messages.py (ContractError otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from waitingroom.realtime import groups, messages

log = logging.getLogger(__name__)

# The consumer method that receives published events: `realtime.event` -> `realtime_event`.
EVENT_TYPE = "realtime.event"


def publish(group: str, payload: dict[str, Any]) -> None:
    """Send `payload` to every socket in `group` once the current transaction commits."""
    publish_many([(group, payload)])


def publish_many(batch: list[tuple[str, dict[str, Any]]]) -> None:
    """Send several (group, payload) pairs, in order, once the current transaction commits.

    One change usually tells several audiences (dashboards, the patient, the queue). Sent as one
    batch they cost one hand-over to the publishing loop (below) instead of one each.
    """
    batch = _checked(batch)  # here, so that the caller's own line is in the traceback
    transaction.on_commit(lambda: _deliver(batch))


def publish_built(build: Callable[[], list[tuple[str, dict[str, Any]]]]) -> None:
    """Build the batch once the current transaction commits, then send it.

    For payloads that carry rendered fragments: reading and rendering them inside the service's
    transaction would do it while the changed row is still locked, holding up every other writer
    of that row (docs/performance.md). After commit they also show what was committed.
    """
    transaction.on_commit(lambda: _build_and_deliver(build))


def _build_and_deliver(build: Callable[[], list[tuple[str, dict[str, Any]]]]) -> None:
    try:
        batch = _checked(build())
    except messages.ContractError:
        if settings.REALTIME_STRICT_CONTRACT:
            raise  # a programming error: development and the tests see it
        # In production the change is committed: an undeclared payload must not turn it into an
        # error page. Logged, and the hint dropped (the clients' re-fetch repairs it).
        log.exception("a realtime batch broke the message contract")
        return
    except Exception:
        # The change is committed: failing to render its hint must not turn it into an error
        # page. The clients' re-fetch repairs what they missed, as for a lost push.
        log.exception("building a realtime batch failed")
        return
    _deliver(batch)


def _checked(batch: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    batch = list(batch)
    for group, payload in batch:
        messages.check_published(groups.audience_of(group), payload)
    return batch


def _deliver(batch: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:  # pragma: no cover - CHANNEL_LAYERS is always configured
        return
    try:
        _publisher.run(_send_in_order(layer, batch), timeout=PUBLISH_TIMEOUT)
    except Exception:
        # The change is committed; a lost hint is repaired by the client's re-fetch. Never let a
        # Redis hiccup turn a successful action into an error page.
        log.exception("realtime publish to %s failed", ", ".join(group for group, _ in batch))


# Seconds a request waits for its events to be handed to Redis before it gives up on them.
PUBLISH_TIMEOUT = 5.0


class _PublisherLoop:
    """An event loop on a thread of its own that only sends published events.

    Sync code (requests, the consumers' database thread, Celery tasks) used async_to_sync, which
    under daphne runs the coroutine on the server's event loop: with thousands of sockets that loop
    is busy with their frames, and in the benchmark a staff action spent most of its time waiting
    there for its turn (py-spy: 21 of the 23% of samples inside a staff action). This loop has
    nothing else to do. Made on first use and again after a fork (a Celery worker's children).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # A fork leaves the thread behind in the parent; a loop that stopped would never
            # run what it is given (every publish would wait for its timeout).
            if (
                self._loop is None
                or self._thread is None
                or self._pid != os.getpid()
                or not self._thread.is_alive()
            ):
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="realtime-publisher", daemon=True)
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            return self._loop

    def run(self, coroutine: Coroutine[Any, Any, None], *, timeout: float) -> None:
        loop = self._running_loop()
        if threading.current_thread() is self._thread:
            # Called from this loop itself (nothing does today): waiting would stall the loop
            # that has to run it, so it is only scheduled.
            loop.create_task(coroutine)
            return
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            raise


_publisher = _PublisherLoop()


async def _send_in_order(layer, batch: list[tuple[str, dict[str, Any]]]) -> None:
    # In order: a patient's screen is in two of the groups and reads the messages as they come.
    for group, payload in batch:
        await layer.group_send(group, {"type": EVENT_TYPE, "payload": payload})


async def notify(group: str, payload: dict[str, Any]) -> None:
    """A notice from a consumer to the other consumers of `group`, sent at once: it tells of a
    socket, not of a database change, so there is no transaction to wait for (a staff member's
    new call socket taking over from their older one, visits/consumers.py)."""
    messages.check(messages.Direction.NOTICE, groups.audience_of(group), payload)
    layer = get_channel_layer()
    assert layer is not None  # CHANNEL_LAYERS is always configured
    await layer.group_send(group, {"type": EVENT_TYPE, "payload": payload})


# The consumer method that receives relayed call signalling: `call.signal` -> `call_signal`.
SIGNAL_TYPE = "call.signal"


async def relay(group: str, payload: dict[str, Any]) -> None:
    """Call signalling between the browsers of one visit: relayed at once, not tied to a database
    transaction (nothing is stored). Each consumer forwards only what is addressed to it."""
    messages.check(messages.Direction.RELAY, messages.Audience.CALL_PEERS, payload)
    layer = get_channel_layer()
    assert layer is not None  # CHANNEL_LAYERS is always configured
    await layer.group_send(group, {"type": SIGNAL_TYPE, "payload": payload})
