"""Each process that serves patient sockets holds a lease it renews every few seconds.

`Visit.open_sockets` counts sockets, and a process killed with sockets open (kill -9, an OOM kill,
a lost machine) never closes them: the visit would show its patient present forever, and no grace
would ever start once the page really closed. So every socket is also counted under its process
(`ProcessSockets`), and the presence sweep (visits/presence.py) counts the sockets of a process
whose lease expired as closed: their grace starts as if the network had dropped them.

The lease is taken on the database thread before the process counts its first socket, then
renewed by a thread of its own, so a busy event loop cannot make a live process look dead.

A live process can still miss its renewals (the database unreachable for longer than two of
them): the sweep then buries its lease and counts its open sockets as closed although their
patients are still there. The renewal that has to re-create the lease knows it was buried, and
closes every patient socket counted before that (`buried`) with CLOSE_RECONNECT: their pages
reconnect at once and are counted again, within the grace the sweep started.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.db import connection
from django.utils import timezone

from visits.models import PresenceLease

log = logging.getLogger(__name__)

_lock = threading.Lock()
_state: dict[str, object] = {"pid": 0, "process": "", "thread": None}
# Bumped each time the renewal finds its lease buried: a socket counted under an older generation
# may have been counted as closed by the sweep.
_generation = 0


class LeasedSocket(Protocol):
    lease_generation: int

    async def lease_buried(self) -> None: ...


# The live patient sockets of this process, per event loop (daphne runs one; tests run many).
# Weak: a socket that is gone needs no unregistering. Touched on its loop, except that the
# renewal thread reads which loops there are (under _lock).
_sockets: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakSet[LeasedSocket]] = (
    weakref.WeakKeyDictionary()
)


def process_id() -> str:
    """This process's name in the presence tables: host, pid and a random part (a pid is reused
    after a restart, and the old process's rows must not be taken for the new one's)."""
    with _lock:
        if _state["pid"] != os.getpid():
            _state.update(
                pid=os.getpid(),
                process=f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}",
                thread=None,
            )
        return str(_state["process"])


def lease_seconds() -> float:
    return float(settings.PRESENCE_LEASE_SECONDS)


def renew() -> bool:
    """Take or extend this process's lease; True when it had to be created."""
    _, created = PresenceLease.objects.update_or_create(
        process=process_id(),
        defaults={"expires_at": timezone.now() + timedelta(seconds=lease_seconds())},
    )
    return created


def generation() -> int:
    """Read by a socket before it is counted (see `hold`)."""
    return _generation


def hold(consumer: LeasedSocket) -> bool:
    """Called on the event loop once `consumer` (a socket) is counted, with the generation it read
    before its count. False when the lease was buried since: it must close as `buried` closes the
    others (its count may have been taken back by the sweep)."""
    loop = asyncio.get_running_loop()
    with _lock:
        _sockets.setdefault(loop, weakref.WeakSet()).add(consumer)
    return consumer.lease_generation == _generation


def release(consumer: LeasedSocket) -> None:
    with _lock:
        held = _sockets.get(asyncio.get_running_loop())
        if held is not None:
            held.discard(consumer)


def buried() -> None:
    """The renewal found this process's lease buried (it re-created it): every socket counted
    before now may have been counted as closed. Called on the renewal thread; the sockets are
    closed on their own loops. Sockets counted after the burial are closed too (they cannot be
    told apart): their closes are counted as any close, and their pages come back as well."""
    global _generation
    with _lock:
        _generation += 1
        loops = [loop for loop in list(_sockets.keys()) if not loop.is_closed()]
    for loop in loops:
        asyncio.run_coroutine_threadsafe(_close_buried(), loop)


async def _close_buried() -> None:
    with _lock:
        held = list(_sockets.get(asyncio.get_running_loop(), ()))
    for consumer in held:
        if consumer.lease_generation != _generation:
            try:
                await consumer.lease_buried()
            except Exception:
                log.exception("closing a socket of a buried lease failed")


def ensure_lease() -> None:
    """Called on the database thread before a socket is counted: the first time in this process,
    take the lease and start renewing it. Off (PRESENCE_LEASE_SECONDS = 0) in the test process,
    whose sweeps run beside its own sockets; real-process tests turn it on."""
    if lease_seconds() <= 0:
        return
    process = process_id()
    with _lock:
        if _state["thread"] is not None:
            return
        _state["thread"] = thread = threading.Thread(
            target=_keep_renewing, args=(process,), name="presence-lease", daemon=True
        )
    try:
        renew()
    finally:
        # Renewing from now on even if this first take failed (the database is down as the first
        # patient connects): a thread never started would never renew, and a lease never renewed
        # is buried with every socket this process counts afterwards.
        thread.start()


def _keep_renewing(process: str) -> None:
    # Three renewals per lease: a renewal can fail twice (a database restart) before the
    # process's sockets are counted as closed.
    every = lease_seconds() / 3
    while process_id() == process:
        time.sleep(every)
        try:
            if renew():
                log.warning("the presence lease of %s had expired and was buried", process)
                buried()
        except Exception:
            log.exception("renewing the presence lease of %s failed", process)
        finally:
            connection.close()  # hold no connection between renewals
