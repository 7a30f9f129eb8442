"""The web process's garbage-collector tuning."""

import gc
import threading
import time

from waitingroom.realtime import gc_tuning
from waitingroom.realtime.gc_tuning import THRESHOLDS, tune_for_many_sockets


def test_gc_tuning_sets_the_thresholds():
    saved = gc.get_threshold()
    try:
        tune_for_many_sockets()
        assert gc.get_threshold() == THRESHOLDS
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
        gc.callbacks.remove(gc_tuning._log_slow_pauses)


def test_a_slow_collection_is_logged_with_its_length(caplog, monkeypatch):
    monkeypatch.setattr(gc_tuning, "SLOW_PAUSE_MS", 0.0)  # every collection counts as slow here
    gc.callbacks.append(gc_tuning._log_slow_pauses)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(gc_tuning._log_slow_pauses)
    assert "garbage collection paused the process" in caplog.text and "generation 2" in caplog.text


def test_with_full_every_a_full_collection_runs_on_the_clock():
    saved = gc.get_threshold()
    full = []

    def seen(phase, info):
        if phase == "stop" and info["generation"] == 2:
            full.append(info)

    stop = tune_for_many_sockets(full_every=0.05)
    gc.callbacks.append(seen)
    try:
        assert stop is not None
        deadline = time.monotonic() + 5
        while len(full) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)  # allocates nothing that would trigger a collection by itself
        assert len(full) >= 2
    finally:
        if stop is not None:
            stop.set()
        gc.callbacks.remove(seen)
        gc.unfreeze()
        gc.set_threshold(*saved)
        gc.callbacks.remove(gc_tuning._log_slow_pauses)


def test_without_full_every_no_collector_thread_is_started():
    saved = gc.get_threshold()
    before = {t for t in threading.enumerate() if t.name == "gc-full"}
    try:
        assert tune_for_many_sockets() is None
        assert {t for t in threading.enumerate() if t.name == "gc-full"} <= before
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
        gc.callbacks.remove(gc_tuning._log_slow_pauses)
