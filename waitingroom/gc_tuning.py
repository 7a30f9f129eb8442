"""Garbage-collector settings for a process that holds thousands of websockets.

Every open socket keeps a few hundred objects alive (protocol, consumer, tasks, queues). CPython's
default thresholds (700, 10, 10) then run a full collection every second or two under load, each
walking every object of every socket: measured 0.2-1 s pauses at 5,000 sockets that found almost
nothing to free, which is the whole p99 of a status change (docs/performance.md). Collecting the
young generation less often promotes far fewer short-lived objects, so full collections become
rare; freezing what start-up created keeps it out of every collection.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)

# Young generation every 20,000 allocations (default 700), 5 young collections per middle one,
# and at least 1,000 middle ones per full one (CPython also waits for 25% growth of the old
# generation). Measured at 5,000 sockets: p99 of a status change 1.7 s with the defaults, about
# 150 ms with these (docs/performance.md).
THRESHOLDS = (20_000, 5, 1_000)


# A collection that stops the process longer than this is logged: every socket and request of the
# process waited for it, so it shows up as a latency spike worth knowing about.
SLOW_PAUSE_MS = 50.0


def tune_for_many_sockets() -> None:
    gc.collect()
    gc.freeze()  # modules, settings, URL patterns, templates: alive for the process's life
    gc.set_threshold(*THRESHOLDS)
    if _log_slow_pauses not in gc.callbacks:
        gc.callbacks.append(_log_slow_pauses)


_started: list[float] = []


def _log_slow_pauses(phase: str, info: dict) -> None:
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
