"""The web process's garbage-collector tuning."""

import gc

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
