"""Each process that serves patient sockets holds a lease it renews every few seconds.

`Visit.open_sockets` counts sockets, and a process killed with sockets open (kill -9, an OOM kill,
a lost machine) never closes them: the visit would show its patient present forever, and no grace
would ever start once the page really closed. So every socket is also counted under its process
(`ProcessSockets`), and the presence sweep (visits/presence.py) counts the sockets of a process
whose lease expired as closed: their grace starts as if the network had dropped them.

The lease is taken on the database thread before the process counts its first socket, then
renewed by a thread of its own, so a busy event loop cannot make a live process look dead.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from visits.models import PresenceLease

log = logging.getLogger(__name__)

_lock = threading.Lock()
_state: dict[str, object] = {"pid": 0, "process": "", "thread": None}


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


def renew() -> None:
    """Take or extend this process's lease (one statement)."""
    PresenceLease.objects.update_or_create(
        process=process_id(),
        defaults={"expires_at": timezone.now() + timedelta(seconds=lease_seconds())},
    )


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
    renew()
    thread.start()


def _keep_renewing(process: str) -> None:
    # Three renewals per lease: a renewal can fail twice (a database restart) before the
    # process's sockets are counted as closed.
    every = lease_seconds() / 3
    while process_id() == process:
        time.sleep(every)
        try:
            renew()
        except Exception:
            log.exception("renewing the presence lease of %s failed", process)
        finally:
            connection.close()  # hold no connection between renewals
