"""The channel layer's configuration: either layer keeps the idle-socket and pool settings."""

import pytest

from waitingroom.realtime.layers import LAYERS, channel_layer


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
