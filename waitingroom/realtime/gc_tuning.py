"""Garbage-collector settings for a process that holds thousands of websockets.

Every open socket keeps a few hundred objects alive (protocol, consumer, tasks, queues). CPython's
default thresholds (700, 10, 10) then run a full collection every second or two under load, each
walking every object of every socket: measured 0.2-1 s pauses at 5,000 sockets that found almost
nothing to free, which is the whole p99 of a status change (docs/performance.md). Waiting for
1,000 middle collections makes full ones rare; keeping the young and middle generations small
keeps each of their pauses short; freezing what start-up created keeps it out of every collection.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger(__name__)

# Young generation every 2,000 allocations (default 700), a middle one every 2 young ones, and at
# least 1,000 middle ones per full one (CPython also waits for 25% growth of the old generation).
# Measured at 5,000 sockets (docs/performance.md):
# - the defaults (700, 10, 10): a full collection every second or two, p99 of a status change 1.7 s;
# - (20,000, 5, 1,000): full collections rare, but each young or middle collection walked the tens
#   of thousands of objects every socket message leaves alive for a while (the tasks Channels keeps
#   per socket until its next message): 30 pauses of 54-401 ms in three minutes, p99 155-406 ms;
# - (2,000, 2, 1,000): small young collections, survivors promoted to the old generation quickly:
#   1-7 pauses over 50 ms in the same run, p99 44-157 ms.
THRESHOLDS = (2_000, 2, 1_000)


# A collection that stops the process longer than this is logged: every socket and request of the
# process waited for it, so it shows up as a latency spike worth knowing about.
SLOW_PAUSE_MS = 50.0


def tune_for_many_sockets(*, full_every: float = 0) -> threading.Event | None:
    """Set the thresholds; with `full_every` seconds, also run a full collection that often.
    Returns the event that stops those collections (None without them)."""
    gc.collect()
    gc.freeze()  # modules, settings, URL patterns, templates: alive for the process's life
    gc.set_threshold(*THRESHOLDS)
    if _log_slow_pauses not in gc.callbacks:
        gc.callbacks.append(_log_slow_pauses)
    if full_every <= 0:
        return None
    stop = threading.Event()
    threading.Thread(target=_collect_every, args=(full_every, stop), name="gc-full", daemon=True).start()
    return stop


def _collect_every(seconds: float, stop: threading.Event) -> None:
    """Full collections on a clock. With the thresholds above a full collection waits for 1,000
    middle ones and 25 % growth of the old generation: at the soak's load that is about 40 minutes,
    while every request and push leaves reference cycles behind that only a full collection frees.
    Unchecked, that garbage grew daphne's memory in a straight line: 244.6 -> 326.0 MiB (+33 %) over a
    30-minute soak at 3,000 sockets, with the live objects flat whenever a full collection ran
    (docs/performance.md, item 18). One full collection a couple of minutes stops the growth; its
    pause (frozen start-up objects excluded) is logged like any other slow collection."""
    while not stop.wait(seconds):
        gc.collect()


_started: list[float] = []


def _log_slow_pauses(phase: str, info: dict) -> None:
    # Runs inside the collector. Logging from here is safe with the handlers settings configure
    # (StreamHandlers: their lock is re-entrant, should a collection start inside an emit); a
    # handler with a plain lock (a queue or network handler) would need this deferred instead.
    if phase == "start":
        _started[:] = [time.perf_counter()]
    elif _started:
        ms = (time.perf_counter() - _started.pop()) * 1000
        if ms >= SLOW_PAUSE_MS:
            log.warning(
                "garbage collection paused the process %.0f ms (generation %d, %d objects collected)",
                ms,
                info["generation"],
                info["collected"],
            )
