"""The base of every app's websocket consumers: permission re-checks, group membership, pings,
and the close codes the browser sees."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
import weakref
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from waitingroom.realtime import groups, messages
from waitingroom.realtime.messages import Audience, Direction

log = logging.getLogger(__name__)

# Close codes the browser sees (4000-4999 are the application's own).
CLOSE_NOT_FOUND = 4404
CLOSE_SESSION_ENDED = 4401
# Signed in, but no longer allowed here (membership removed, role changed, left the call).
CLOSE_FORBIDDEN = 4403
# The server's restart (1012's meaning): the page reconnects at once. 1012 itself cannot be sent:
# daphne's websocket library (autobahn) lets a server close only with 1000 or 3000-4999.
CLOSE_RECONNECT = 4012
# The same staff member opened the same call in another tab or browser (Return to call): the newest
# socket holds the call, this one ends and its page must not reconnect (visits/consumers.py).
CLOSE_TAKEN_OVER = 4409

# Published for the consumers and never forwarded to a browser (messages.Direction.NOTICE).
NOTICES = frozenset(messages.names(Direction.NOTICE))


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

    # How often (seconds) an open socket re-checks, on its own timer, that it may stay open. The
    # notices (waitingroom/access.py, a re-issued link) close a socket within a second; this
    # catches what no notice tells: an expired session, a notice lost while Redis was away.
    recheck_every = 30.0
    # scope["user"] is resolved from the session before connect (waitingroom/asgi.py); a consumer
    # that needs no login sets False and has no scope["user"].
    uses_login = True

    async def websocket_connect(self, message) -> None:
        self.joined: list[str] = []
        self.last_check = time.monotonic()
        self.ended = False
        self.session_expires_at: float | None = None
        self._watcher: asyncio.Task | None = None
        await super().websocket_connect(message)

    async def accept(self, subprotocol=None, headers=None) -> None:
        await super().accept(subprotocol, headers)
        self.session_expires_at = await session_expiry(self.scope) if self.uses_login else None
        self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        """The socket's own re-check timer, whether or not its browser sends anything. Spread
        (+-20%) so that sockets opened together do not all query at once; and, for a login
        socket, due just after its session expires, so that an expired session closes its sockets
        within a second (a session that was extended meanwhile is read again and the timer re-armed)."""
        while not self.ended:
            delay = max(0.1, self.recheck_every) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret
            if self.session_expires_at is not None:
                delay = min(delay, max(0.1, self.session_expires_at - time.time() + 0.2))
            await asyncio.sleep(delay)
            try:
                if await self.recheck() and self.uses_login:
                    self.session_expires_at = await session_expiry(self.scope)
            except Exception:
                # The database is away: the socket stays (a fault must not drop every page); the
                # next round checks again.
                log.warning("re-checking a socket's access failed", exc_info=True)

    async def recheck(self) -> bool:
        """Close the socket if it may no longer stay open; True while it may."""
        self.last_check = time.monotonic()
        code = await self.refusal()
        if code is not None:
            await self.end(code)
        return code is None

    async def end(self, code: int) -> None:
        """Close the socket with `code`; from now on it forwards nothing and acts on nothing,
        even before its browser acknowledges the close and its groups are left."""
        if self.ended:
            return
        self.ended = True
        if self._watcher is not None and self._watcher is not asyncio.current_task():
            self._watcher.cancel()
        await self.close(code=code)

    def member_group(self) -> str:
        """The signed-in staff member's own group (waitingroom/access.py tells it when their access
        changes). scope["user"] is resolved before connect (Channels' AuthMiddleware), and a
        consumer joins only after its permission check let a signed-in user in."""
        user = self.scope["user"]
        assert user is not None and user.pk is not None
        return groups.staff_member_group(user.pk)

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
        self.ended = True
        watcher = getattr(self, "_watcher", None)
        if watcher is not None:
            watcher.cancel()
        joined = getattr(self, "joined", [])
        if not joined:
            return
        async with membership_gate():
            discard_many = getattr(self.channel_layer, "group_discard_many", None)
            if discard_many is not None:
                await discard_many(joined, self.channel_name)
            else:
                for group in joined:
                    await self.channel_layer.group_discard(group, self.channel_name)

    async def realtime_event(self, event: dict[str, Any]) -> None:
        if not await self.took_notice(event["payload"]):
            await self.send_json(event["payload"])

    async def took_notice(self, payload: dict[str, Any]) -> bool:
        """True when `payload` is not for the browser: a notice (handled here, never forwarded),
        or anything at all once the socket has ended."""
        if self.ended:
            return True
        if payload.get("type") not in NOTICES:
            return False
        handler = self.notice_handlers().get(payload["type"])
        if handler is not None:
            await handler(payload)
        return True

    def notice_handlers(self) -> dict:
        """Handlers of the notices this consumer acts on, keyed by declared names."""
        return {messages.ACCESS.name: self.on_access} if self.uses_login else {}

    async def on_access(self, payload: dict[str, Any]) -> None:
        """The staff member's access changed: the ended session's sockets close at once (its
        row may not be gone yet: Django sends user_logged_out before it flushes the session),
        the others re-check."""
        if payload["session"] and payload["session"] == session_fingerprint(self.scope.get("session")):
            await self.end(CLOSE_SESSION_ENDED)
        else:
            await self.recheck()

    async def refusal(self) -> int | None:
        """The close code when this socket may no longer stay open, else None: an ended login
        session first, then the consumer's own permission (still_allowed)."""
        if self.uses_login and not await session_is_live(self.scope):
            return CLOSE_SESSION_ENDED
        if not await self.still_allowed():
            return CLOSE_FORBIDDEN
        return None

    async def still_allowed(self) -> bool:
        """Subclasses re-check their permission here (still a member, in a role that may)."""
        return True

    async def receive_json(self, content: Any, **kwargs) -> None:
        if self.ended:
            return
        if time.monotonic() - self.last_check > self.recheck_every and not await self.recheck():
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


def session_fingerprint(session) -> str:
    """What names a login session in a notice: a hash, so that the channel layer never carries
    a session key (a credential)."""
    key = getattr(session, "session_key", None)
    return hashlib.sha256(key.encode()).hexdigest() if key else ""


@database_sync_to_async
def session_expiry(scope) -> float | None:
    """When the socket's login session expires (a Unix time), where the session engine stores it
    in the database; None otherwise (the periodic re-check still catches it)."""
    from django.contrib.sessions.models import Session

    session = scope.get("session")
    if session is None or not session.session_key or "db" not in settings.SESSION_ENGINE:
        return None
    expires = (
        Session.objects.filter(session_key=session.session_key).values_list("expire_date", flat=True).first()
    )
    return expires.timestamp() if expires is not None else None


@database_sync_to_async
def session_is_live(scope) -> bool:
    """The socket's login session still exists, has not expired, and still signs in the same user
    with the same password (an active user, for the session's backend): what Django's get_user()
    decides for a request, on the session read afresh (the scope's copy was read at connect).
    Unlike get_user() it changes nothing: a socket's check must never flush or re-key the session
    its browser's pages use."""
    from importlib import import_module

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
    from django.utils.crypto import constant_time_compare

    session, user = scope.get("session"), scope.get("user")
    if session is None or not session.session_key or user is None or not user.is_authenticated:
        return False
    data = import_module(settings.SESSION_ENGINE).SessionStore(session.session_key).load()
    backend = data.get(BACKEND_SESSION_KEY)
    if data.get(SESSION_KEY) != str(user.pk) or backend not in settings.AUTHENTICATION_BACKENDS:
        return False
    account = load_backend(backend).get_user(user.pk)  # None once deleted or deactivated
    stored = data.get(HASH_SESSION_KEY) or ""
    if account is None or not stored:
        return False
    return any(
        constant_time_compare(stored, known)
        for known in (account.get_session_auth_hash(), *account.get_session_auth_fallback_hash())
    )
