"""The channel layer's configuration (either layer keeps the idle-socket and pool settings) and the
web process's garbage-collector tuning."""

import gc

import pytest

from waitingroom import gc_tuning
from waitingroom.channel_layers import LAYERS, channel_layer
from waitingroom.gc_tuning import THRESHOLDS, tune_for_many_sockets


@pytest.mark.parametrize("kind", LAYERS)
def test_either_layer_keeps_no_socket_timeout_and_an_explicit_pool(kind):
    config = channel_layer(kind, redis_url="redis://cache:6379/1", max_connections=123, prefix="wr")
    host = config["CONFIG"]["hosts"][0]
    assert (host["address"], host["socket_timeout"], host["max_connections"]) == (
        "redis://cache:6379/1",
        None,
        123,
    )
    assert config["CONFIG"]["prefix"] == "wr"


def test_default_layer_bounds_queues_and_outlives_a_day():
    config = channel_layer("core", redis_url="redis://cache:6379/1", max_connections=10, prefix="wr")
    assert config["CONFIG"]["capacity"] == 500
    assert config["CONFIG"]["group_expiry"] >= 24 * 3600


def test_unknown_layer_is_refused():
    with pytest.raises(ValueError, match="unknown channel layer"):
        channel_layer("memory", redis_url="redis://cache:6379/1", max_connections=10, prefix="wr")


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
