"""The channel layer's configuration, shared by settings and the benchmark (which runs both layers
side by side to choose between them; docs/performance.md has the figures)."""

from __future__ import annotations

import time
from typing import Any

from channels_redis.core import RedisChannelLayer

LAYERS = ("pubsub", "core")


class CoreChannelLayer(RedisChannelLayer):
    """channels-redis' default layer, plus joining and leaving several groups in one Redis round
    trip (a pipeline per shard): a socket joins two groups on connect and leaves them on
    disconnect, which the stock layer does in three round trips each way (ZADD and EXPIRE per
    group, ZREM per group), each taking a pooled connection."""

    async def group_add_many(self, groups: list[str], channel: str) -> None:
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        now = time.time()
        for index, shard_groups in self._by_shard(groups).items():
            async with self.connection(index).pipeline(transaction=False) as pipe:
                for group in shard_groups:
                    key = self._group_key(group)
                    pipe.zadd(key, {channel: now})
                    # As group_add: everything in the group expires before the group itself.
                    pipe.expire(key, self.group_expiry)
                await pipe.execute()

    async def group_discard_many(self, groups: list[str], channel: str) -> None:
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        for index, shard_groups in self._by_shard(groups).items():
            async with self.connection(index).pipeline(transaction=False) as pipe:
                for group in shard_groups:
                    pipe.zrem(self._group_key(group), channel)
                await pipe.execute()

    def _by_shard(self, groups: list[str]) -> dict[int, list[str]]:
        shards: dict[int, list[str]] = {}
        for group in groups:
            assert self.require_valid_group_name(group), "Group name not valid"
            shards.setdefault(self.consistent_hash(group), []).append(group)
        return shards


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
            "BACKEND": "waitingroom.realtime.layers.CoreChannelLayer",
            "CONFIG": {
                "hosts": [host],
                "prefix": prefix,
                # Group membership outlives a dashboard left open all day (default is one day).
                "group_expiry": 7 * 24 * 3600,
                "capacity": 500,
            },
        }
    raise ValueError(f"unknown channel layer {kind!r}: one of {LAYERS}")
