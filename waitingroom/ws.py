"""Websocket plumbing shared by every app's consumers: the origin check and the consumer base."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlparse

from channels.auth import AuthMiddleware
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import URLPattern

# Close codes the browser sees (4000-4999 are the application's own).
CLOSE_NOT_FOUND = 4404
CLOSE_SESSION_ENDED = 4401


class SettingsOriginValidator(OriginValidator):
    """Channels' OriginValidator, reading settings.WEBSOCKET_ALLOWED_ORIGINS at each handshake so
    the list stays the one in settings (and tests can override it). A missing Origin is refused."""

    def __init__(self, application) -> None:
        super().__init__(application, allowed_origins=[])

    async def __call__(self, scope, receive, send):
        self.allowed_origins = list(settings.WEBSOCKET_ALLOWED_ORIGINS)
        return await super().__call__(scope, receive, send)

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return False
        return super().valid_origin(parsed_origin)


# Group joins and leaves in flight at once, per process. A reconnect storm starts thousands at
# the same moment; unbounded, they exhaust the channel layer's Redis pool ("Too many
# connections"), a leave fails and the patient's presence is never closed. Half the pool, so that
# pushes always find a connection.
_membership_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def membership_gate() -> asyncio.Semaphore:
    """This event loop's gate (a semaphore belongs to one loop; tests run many)."""
    loop = asyncio.get_running_loop()
    gate = _membership_gates.get(loop)
    if gate is None:
        gate = _membership_gates[loop] = asyncio.Semaphore(max(1, settings.REDIS_MAX_CONNECTIONS // 2))
    return gate


def with_login(route: URLPattern) -> URLPattern:
    """The route behind Channels' AuthMiddleware (scope["user"] from the session's login), unless
    its consumer says it needs no login: resolving the user is a database call per connect, and
    the patient's socket, whose credentials are its visit's token and its browser session, has
    no use for it."""
    consumer = getattr(route.callback, "consumer_class", None)
    if consumer is not None and getattr(consumer, "uses_login", True) is False:
        return route
    return URLPattern(route.pattern, AuthMiddleware(route.callback), route.default_args, route.name)


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


def origin_of(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    """Base of every consumer: it joins groups only after a permission check done by the
    subclass, forwards published events verbatim, answers pings, and refuses anything else."""

    # How often (seconds) a long-lived socket re-checks that its session still grants access.
    recheck_every = 60.0
    # scope["user"] is resolved from the session before connect (waitingroom/asgi.py); a consumer
    # that needs no login sets False and has no scope["user"].
    uses_login = True

    async def websocket_connect(self, message) -> None:
        self.joined: list[str] = []
        self.last_check = time.monotonic()
        await super().websocket_connect(message)

    async def dispatch(self, message) -> None:
        # Channels' dispatch first sends close_old_connections to the database thread before
        # every message (connect, disconnect, each ping): one thread hop each, 6.5% of daphne's
        # time in a reconnect storm. Every database call of these consumers goes through
        # database_sync_to_async, which closes old connections on that thread around the call.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def join(self, *groups: str) -> None:
        """Join these groups, in one Redis round trip where the layer can (CoreChannelLayer)."""
        self.joined.extend(groups)  # first: leaving a group never joined is harmless
        async with membership_gate():
            add_many = getattr(self.channel_layer, "group_add_many", None)
            if add_many is not None:
                await add_many(list(groups), self.channel_name)
            else:
                for group in groups:
                    await self.channel_layer.group_add(group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        groups = getattr(self, "joined", [])
        if not groups:
            return
        async with membership_gate():
            discard_many = getattr(self.channel_layer, "group_discard_many", None)
            if discard_many is not None:
                await discard_many(groups, self.channel_name)
            else:
                for group in groups:
                    await self.channel_layer.group_discard(group, self.channel_name)

    async def realtime_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["payload"])

    async def still_allowed(self) -> bool:
        """Subclasses re-check their permission here (session still valid, still a member)."""
        return True

    async def receive_json(self, content: Any, **kwargs) -> None:
        if time.monotonic() - self.last_check > self.recheck_every:
            self.last_check = time.monotonic()
            if not await self.still_allowed():
                await self.close(code=CLOSE_SESSION_ENDED)
                return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_json({"type": "error", "error": "Messages must be JSON objects with a type."})
            return
        handler = self.message_handlers().get(content["type"])
        if handler is None:
            await self.send_json({"type": "error", "error": f"Unknown message type {content['type']!r}."})
            return
        await handler(content)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # Only decoding is guarded here: a malformed frame gets a clear error instead of killing the
        # socket with a traceback, while errors inside handlers still surface as errors.
        if text_data is None:
            await self.send_json({"type": "error", "error": "Messages must be JSON text, not binary."})
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self.send_json({"type": "error", "error": "Messages must be valid JSON."})
            return
        await self.receive_json(content, **kwargs)

    def message_handlers(self) -> dict:
        return {"ping": self.on_ping}

    async def on_ping(self, content: dict) -> None:
        await self.send_json({"type": "pong"})


@database_sync_to_async
def session_is_live(scope) -> bool:
    """The socket's login session still exists and has not expired (not logged out meanwhile)."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    session = scope.get("session")
    if session is None or not session.session_key:
        return False
    return Session.objects.filter(session_key=session.session_key, expire_date__gt=timezone.now()).exists()
