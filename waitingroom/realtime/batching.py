"""Many sockets' database work in few calls: a reconnect storm's connects and closes, written in
batches on Channels' one database thread (docs/performance.md has the figures)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from channels.db import database_sync_to_async


class Coalesced:
    """Database work on many items at once, fed one item per socket: `await submit(item)`
    returns this item's result once `write(items)` (which returns None or one result per item)
    has run on the database thread with this item among them. While one write runs, items
    queue, and the next write takes them all (a group commit): a lone item is written at once,
    and a reconnect storm's thousands of items take a few database-thread calls instead of one
    each, every one of which would queue ahead of the reconnecting sockets on Channels' one
    database thread (with a thread hand-off and a connection health check each). One queue per
    event loop."""

    def __init__(
        self,
        write: Callable[[list[Any]], list[Any] | None],
        *,
        abandoned: Callable[[Any, Any], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        """`abandoned(item, result)` undoes an item's write whose waiter was cancelled while the
        write ran (daphne cancels the app of a client gone for 10 s): nobody else would."""
        self.write = database_sync_to_async(write)
        self.abandoned = abandoned
        self._undoing: set[asyncio.Task] = set()
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, item: Any) -> Any:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        done = loop.create_future()
        entry = (item, done)
        queue.items.append(entry)
        if queue.drainer is None:
            queue.drainer = loop.create_task(self._drain(queue))
        try:
            return await done
        except asyncio.CancelledError:
            if entry in queue.items:  # not written yet: it never will be
                queue.items.remove(entry)
            raise

    async def _drain(self, queue: _Queue) -> None:
        batch: list[tuple[Any, asyncio.Future]] = []
        try:
            while queue.items:
                batch, queue.items = queue.items, []
                try:
                    results = await self.write([item for item, _ in batch])
                except Exception as error:  # each waiter raises it, as its own write would have
                    results = [_Raised(error)] * len(batch)
                for (item, done), result in zip(batch, results or [None] * len(batch), strict=True):
                    if done.cancelled() and self.abandoned and not isinstance(result, _Raised):
                        undo = asyncio.get_running_loop().create_task(self.abandoned(item, result))
                        self._undoing.add(undo)
                        undo.add_done_callback(self._undoing.discard)
                    if done.done():
                        continue
                    if isinstance(result, _Raised):
                        done.set_exception(result.error)
                    else:
                        done.set_result(result)
        finally:
            queue.drainer = None
            # Cancelled (the loop is closing): nobody is left waiting for nothing.
            for _, done in batch + queue.items:
                done.cancel()
            queue.items = []


class _Queue:
    def __init__(self) -> None:
        self.items: list[tuple[Any, asyncio.Future]] = []
        self.drainer: asyncio.Task | None = None


class _Raised:
    def __init__(self, error: Exception) -> None:
        self.error = error


def call_each(calls: list[Callable[[], Any]]) -> list[Any]:
    """Each call's result, or its error kept for that caller (Coalesced raises it there)."""
    results: list[Any] = []
    for call in calls:
        try:
            results.append(call())
        except Exception as error:  # that caller's own error; the others go on
            results.append(_Raised(error))
    return results
