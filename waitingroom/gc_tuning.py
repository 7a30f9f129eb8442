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

# Young generation every 20,000 allocations (default 700), 5 young collections per middle one,
# and at least 1,000 middle ones per full one (CPython also waits for 25% growth of the old
# generation). Measured at 5,000 sockets: p99 of a status change 1.7 s with the defaults, about
# 150 ms with these (docs/performance.md).
THRESHOLDS = (20_000, 5, 1_000)


def tune_for_many_sockets() -> None:
    gc.collect()
    gc.freeze()  # modules, settings, URL patterns, templates: alive for the process's life
    gc.set_threshold(*THRESHOLDS)
