"""The channel layer's configuration, shared by settings and the benchmark (which runs both layers
side by side to choose between them; docs/performance.md has the figures)."""

from __future__ import annotations

from typing import Any

LAYERS = ("pubsub", "core")


def channel_layer(kind: str, *, redis_url: str, max_connections: int, prefix: str) -> dict[str, Any]:
    """The CHANNEL_LAYERS["default"] entry for `kind` ("pubsub" or "core")."""
    host = {
        "address": redis_url,
        # redis-py 8 defaults to a 5 s socket timeout, while channels-redis blocks on BZPOPMIN
        # (core) or waits on its subscription (pubsub) for longer: every idle websocket would
        # then die with TimeoutError.
        "socket_timeout": None,
        # Bursts of connections exhaust redis-py's default pool ("Too many connections"); the
        # size is set explicitly.
        "max_connections": max_connections,
    }
    if kind == "pubsub":
        # Group membership is a subscription the process holds while the socket is open: it
        # never expires under a dashboard left open all week. No per-channel capacity: pushes
        # are hints, delivered at most once with either layer.
        return {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [host], "prefix": prefix},
        }
    if kind == "core":
        return {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [host],
                "prefix": prefix,
                # Group membership outlives a dashboard left open all day (default is one day).
                "group_expiry": 7 * 24 * 3600,
                "capacity": 500,
            },
        }
    raise ValueError(f"unknown channel layer {kind!r}: one of {LAYERS}")
