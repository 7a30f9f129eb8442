"""The base of every app's websocket consumers: permission re-checks, group membership, pings,
and the close codes the browser sees."""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from waitingroom.realtime import messages
from waitingroom.realtime.messages import Audience

# Close codes the browser sees (4000-4999 are the application's own).
CLOSE_NOT_FOUND = 4404
CLOSE_SESSION_ENDED = 4401


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


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    """Base of every consumer: it joins groups only after a permission check done by the
    subclass, forwards published events verbatim, answers pings, and refuses anything else.

    `message_handlers()` is keyed by names declared in waitingroom/realtime/messages.py as sent
    client->server to one of the consumer's `audiences` (tests/waitingroom/realtime check it)."""

    # Whom this consumer serves: the audiences of the groups it joins and of the messages it takes.
    audiences: tuple[Audience, ...] = ()

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
            await self.send_error("Messages must be JSON objects with a type.")
            return
        handler = self.message_handlers().get(content["type"])
        if handler is None:
            await self.send_error(f"Unknown message type {content['type']!r}.")
            return
        await handler(content)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # Only decoding is guarded here: a malformed frame gets a clear error instead of killing the
        # socket with a traceback, while errors inside handlers still surface as errors.
        if text_data is None:
            await self.send_error("Messages must be JSON text, not binary.")
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self.send_error("Messages must be valid JSON.")
            return
        except RecursionError:
            # json.loads recurses once per nesting level: a 200,000-deep array ended the socket
            # with 1011. No message of ours nests more than a few levels.
            await self.send_error("Messages must not nest that deeply.")
            return
        await self.receive_json(content, **kwargs)

    def message_handlers(self) -> dict:
        return {messages.PING.name: self.on_ping}

    async def on_ping(self, content: dict) -> None:
        await self.send_json({"type": messages.PONG.name})

    async def send_error(self, error: str) -> None:
        """Refuse a message: the socket stays open and is told why."""
        await self.send_json({"type": messages.ERROR.name, "error": error})


@database_sync_to_async
def session_is_live(scope) -> bool:
    """The socket's login session still exists and has not expired (not logged out meanwhile)."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    session = scope.get("session")
    if session is None or not session.session_key:
        return False
    return Session.objects.filter(session_key=session.session_key, expire_date__gt=timezone.now()).exists()
