"""The channel layer's configuration, shared by settings and the benchmark (which runs both layers
side by side to choose between them; docs/performance.md has the figures)."""

from __future__ import annotations

import logging
import time
import types
from typing import Any

from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

from waitingroom.realtime import messages

log = logging.getLogger(__name__)

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


class ResyncingPubSubChannelLayer(RedisPubSubChannelLayer):
    """channels-redis' pubsub layer, plus a `resync` to every socket of this process once its
    subscriptions are back after Redis was unreachable.

    While Redis is away, published pushes are lost (the publisher logs them) but no socket drops,
    so no page re-fetches on its own. redis-py reconnects the subscription connection and
    subscribes it again to every group and channel it had (`PubSub.on_connect`); right after
    that, everything published reaches this process again, so a re-fetch made then misses
    nothing. The hook wraps that callback on each shard's PubSub as the layer creates it
    (channels-redis has no hook of its own: its `on_reconnect` argument is never called)."""

    def _get_layer(self):
        layer = super()._get_layer()
        for shard in layer._shards:
            if not getattr(shard, "_resyncs", False):
                shard._resyncs = True
                _watch_reconnects(shard, layer)
        return layer


# What a socket receives: the consumers' `realtime_event` forwards the payload to the page.
RESYNC_PAYLOAD: dict[str, Any] = {"type": messages.RESYNC.name}
messages.check(messages.Direction.PUSH, messages.Audience.EVERY_SOCKET, RESYNC_PAYLOAD)
RESYNC_EVENT = {"type": "realtime.event", "payload": RESYNC_PAYLOAD}


def _watch_reconnects(shard, layer) -> None:
    ensure_redis = shard._ensure_redis

    def ensure_redis_watched() -> None:
        fresh = shard._pubsub is None
        ensure_redis()
        if fresh:
            pubsub = shard._pubsub
            resubscribe = pubsub.on_connect

            async def on_connect(self, connection) -> None:
                # Subscriptions already held: this is a reconnection, not the first connect.
                reconnected = self.subscribed
                await resubscribe(connection)
                if reconnected:
                    _tell_every_socket(layer)

            # redis-py keeps a weak reference to a bound method; the PubSub holds this one.
            pubsub.on_connect = types.MethodType(on_connect, pubsub)

    shard._ensure_redis = ensure_redis_watched


def _tell_every_socket(layer) -> None:
    data = layer.channel_layer.serialize(RESYNC_EVENT)
    for queue in list(layer.channels.values()):
        queue.put_nowait(data)
    log.warning("channel layer reconnected to Redis: %d socket(s) told to re-fetch", len(layer.channels))


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
            "BACKEND": "waitingroom.realtime.layers.ResyncingPubSubChannelLayer",
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
