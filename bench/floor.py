"""Scenario 1, the floor: a raw Redis PUBLISH to a subscriber in another process. Both processes
read CLOCK_MONOTONIC (system-wide on Linux), so one-way latency is measured directly."""

from __future__ import annotations

import asyncio
import multiprocessing
import struct
import time
from multiprocessing.connection import Connection

from redis import asyncio as aioredis

STAMP = struct.Struct("!d")


def _subscriber(conn: Connection, redis_url: str, channel: str) -> None:
    async def run() -> None:
        client = aioredis.Redis.from_url(redis_url, socket_timeout=None)
        pubsub = client.pubsub()
        await pubsub.subscribe(channel)
        await pubsub.get_message(timeout=5)  # the subscribe confirmation
        conn.send("ready")
        loop = asyncio.get_running_loop()
        while (count := await loop.run_in_executor(None, conn.recv)) is not None:
            latencies: list[float] = []
            deadline = time.monotonic() + 60
            while len(latencies) < count and time.monotonic() < deadline:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    latencies.append(time.monotonic() - STAMP.unpack_from(message["data"])[0])
            conn.send(latencies)
        await client.aclose()

    asyncio.run(run())


class Floor:
    """A subscriber process kept for the whole run; `measure` publishes at a fixed rate."""

    def __init__(self, redis_url: str, channel: str) -> None:
        self.redis_url, self.channel = redis_url, channel
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_subscriber, args=(child, redis_url, channel), daemon=True)
        self.proc.start()
        self.conn.recv()  # subscribed

    async def measure(self, *, count: int, rate: float, payload_bytes: int) -> list[float]:
        loop = asyncio.get_running_loop()
        self.conn.send(count)
        client = aioredis.Redis.from_url(self.redis_url, socket_timeout=None)
        padding = b"x" * max(0, payload_bytes - STAMP.size)
        start = time.monotonic()
        for i in range(count):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await client.publish(self.channel, STAMP.pack(time.monotonic()) + padding)
        await client.aclose()
        return await loop.run_in_executor(None, self.conn.recv)

    def stop(self) -> None:
        self.conn.send(None)
        self.proc.join(timeout=10)
