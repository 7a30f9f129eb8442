"""The asyncio load generator: staff HTTP actions, dashboard sockets that time every update, and
fleets of patient sockets (each fleet a separate process, so that holding thousands of sockets
does not slow the process that measures latency).

Patient sockets behave like the wait screen's page (static/waitingroom/lib/socket.js and
static/visits/patient.js): they send `ping` (socket.js sends one every 25 s), no `activity` (the
page sends it only in a call, and these patients are waiting; `activity=True` adds one per
heartbeat, as a patient in a call moving the mouse), and reconnect after a drop with the page's
backoff (0.5-1 s, doubling up to 30 s).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.stack import HOST, raise_fd_limit

SESSION_COOKIE = "sessionid"
CSRF_TOKEN = "b" * 32  # the CSRF middleware accepts a 32-character secret as cookie and header
PONG_DEADLINE = 5.0  # a ping not answered within this counts as a missed heartbeat
OPEN_TIMEOUT = 30.0


def ws_url(port: int, path: str) -> str:
    return f"ws://{HOST}:{port}{path}"


async def open_socket(port: int, path: str, session_key: str) -> ClientConnection:
    """A browser's websocket: the page's Origin and the session cookie, no compression (daphne
    negotiates none)."""
    return await connect(
        ws_url(port, path),
        origin=f"http://{HOST}:{port}",  # type: ignore[arg-type]
        additional_headers={"Cookie": f"{SESSION_COOKIE}={session_key}"},
        open_timeout=OPEN_TIMEOUT,
        ping_interval=None,
        compression=None,
        close_timeout=1,
        max_size=2**20,
    )


async def http(
    port: int,
    method: str,
    path: str,
    *,
    session_key: str,
    accept: str = "application/json",
    form: bytes = b"",
) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a fresh loopback connection, as a staff member's browser sends it
    (session and CSRF cookies, the CSRF header; `form`: an urlencoded body). Returns (status, body)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    headers = [
        f"{method} {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        f"Cookie: {SESSION_COOKIE}={session_key}; csrftoken={CSRF_TOKEN}",
        f"Accept: {accept}",
        "Connection: close",
    ]
    if method == "POST":
        headers += [f"X-CSRFToken: {CSRF_TOKEN}", f"Content-Length: {len(form)}"]
        if form:
            headers.append("Content-Type: application/x-www-form-urlencoded")
    writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + form)
    await writer.drain()
    response = await reader.read()
    writer.close()
    status = int(response.split(b" ", 2)[1]) if response else 0
    return status, response.partition(b"\r\n\r\n")[2]


# --- Dashboards ---------------------------------------------------------------------------------

Key = tuple[int, str]  # (visit_id, status): what one update carries


class Boards:
    """D open dashboards of one clinic. Each arrival of an update is timed; `expect(key)` resolves
    when every dashboard has it."""

    def __init__(self) -> None:
        self.sockets: list[ClientConnection] = []
        self.arrivals: dict[Key, list[float]] = {}
        self.waiters: dict[Key, asyncio.Future[float]] = {}
        self.tasks: list[asyncio.Task] = []
        self.unexpected_closes = 0

    async def open(self, port: int, slug: str, session_keys: list[str]) -> None:
        for key in session_keys:
            ws = await open_socket(port, f"/ws/staff/{slug}/", key)
            self.sockets.append(ws)
            self.tasks.append(asyncio.create_task(self._listen(ws)))

    async def _listen(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                now = time.monotonic()
                msg = json.loads(raw)
                if msg.get("type") == "visit":
                    self._arrived((msg["visit_id"], msg["status"]), now)
        except ConnectionClosed:
            self.unexpected_closes += 1

    def _arrived(self, key: Key, at: float) -> None:
        times = self.arrivals.setdefault(key, [])
        times.append(at)
        waiter = self.waiters.get(key)
        if waiter is not None and len(times) == len(self.sockets) and not waiter.done():
            waiter.set_result(max(times))

    def expect(self, key: Key) -> asyncio.Future[float]:
        self.arrivals.pop(key, None)
        waiter = asyncio.get_running_loop().create_future()
        self.waiters[key] = waiter
        return waiter

    def delivered(self, key: Key) -> int:
        return len(self.arrivals.get(key, []))

    def reset(self) -> None:
        self.arrivals.clear()
        self.waiters.clear()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for ws in self.sockets:
            ws.transport.abort()
        self.sockets, self.tasks = [], []


@dataclass
class Timed:
    """Outcome of one timed update: latency to the last dashboard, deliveries, errors."""

    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    expected: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: Timed) -> None:
        self.latencies += other.latencies
        self.delivered += other.delivered
        self.expected += other.expected
        self.errors += other.errors

    @property
    def delivery_ratio(self) -> float | None:
        return round(self.delivered / self.expected, 4) if self.expected else None


async def open_loop(
    rate: float, count: int, fire: Callable[[int], Any], *, boards: Boards, wait: float = 5.0
) -> Timed:
    """Fire `count` updates at a fixed rate regardless of how long each takes (open loop: a slow
    server does not slow the arrivals). `fire(i)` returns the update's key and a coroutine
    function that sends it (raising on failure); latency runs from the send to the moment the
    last dashboard has the update."""
    result = Timed()
    start = time.monotonic()

    async def one(i: int) -> None:
        key, send = fire(i)
        waiter = boards.expect(key)
        started = time.monotonic()
        result.expected += len(boards.sockets)
        try:
            await send()
            done = await asyncio.wait_for(waiter, wait)
            result.latencies.append(done - started)
        except Exception as error:  # every failure is counted and reported
            result.errors.append(f"{type(error).__name__}: {error}"[:200])
        result.delivered += boards.delivered(key)

    tasks = []
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return result


# --- Patient fleets (separate processes) ---------------------------------------------------------


@dataclass(frozen=True)
class PatientSpec:
    port: int
    token: str
    session_key: str


@dataclass
class FleetOptions:
    heartbeat: float  # seconds between pings (and between activity messages)
    activity: bool = False  # waiting patients' pages send none (static/visits/patient.js)


class Fleet:
    """Patient sockets held in one process. Counters are read (and reset) by `stats`."""

    def __init__(self, options: FleetOptions) -> None:
        self.options = options
        self.tasks: list[asyncio.Task] = []
        self.live: dict[int, ClientConnection] = {}
        self.reset()
        self.dropped: set[int] = set()  # ids of sockets the storm dropped on purpose
        self.stopping = False

    def reset(self) -> None:
        self.rtts: list[float] = []
        self.missed = 0
        self.errors: list[str] = []
        self.closed_by_server = 0

    async def connect(self, specs: list[PatientSpec], concurrency: int) -> dict[str, Any]:
        """Open these sockets (at most `concurrency` handshakes at once) and keep them."""
        started = time.monotonic()
        gate = asyncio.Semaphore(concurrency)
        ready = [asyncio.get_running_loop().create_future() for _ in specs]
        for spec, fut in zip(specs, ready, strict=True):
            self.tasks.append(asyncio.create_task(self._patient(len(self.tasks), spec, fut, gate)))
        await asyncio.wait(ready, timeout=180)
        return {"seconds": time.monotonic() - started, "open": len(self.live)}

    async def _patient(self, n: int, spec: PatientSpec, ready: asyncio.Future, gate) -> None:
        attempt = 0
        while not self.stopping:
            try:
                async with gate:
                    ws = await open_socket(spec.port, f"/ws/visit/{spec.token}/", spec.session_key)
            except Exception as error:  # counted; the page would retry too
                self.errors.append(f"connect: {type(error).__name__}: {error}"[:200])
                attempt += 1
                await asyncio.sleep(backoff(attempt))
                continue
            attempt = 0
            self.live[n] = ws
            if not ready.done():
                ready.set_result(None)
            dropped_by_us = await self._hold(ws)
            self.live.pop(n, None)
            if self.stopping:
                return
            if not dropped_by_us:
                self.closed_by_server += 1
            attempt += 1
            await asyncio.sleep(backoff(attempt))

    async def _hold(self, ws: ClientConnection) -> bool:
        """Heartbeats until the socket closes. True when we dropped it (a storm)."""
        sent: list[float] = []

        async def heartbeat() -> None:
            period = self.options.heartbeat
            await asyncio.sleep(random.uniform(0, period))
            while True:
                if sent:  # the previous ping was never answered
                    self.missed += 1
                    sent.clear()
                sent.append(time.monotonic())
                await ws.send('{"type": "ping"}')
                await asyncio.sleep(period / 2)
                if self.options.activity:
                    await ws.send('{"type": "activity"}')
                await asyncio.sleep(period / 2)

        beat = asyncio.create_task(heartbeat())
        try:
            async for raw in ws:
                if '"pong"' in raw and sent:
                    rtt = time.monotonic() - sent.pop()
                    self.rtts.append(rtt)
                    if rtt > PONG_DEADLINE:
                        self.missed += 1
                elif '"error"' in raw:
                    self.errors.append(f"server: {raw!s}"[:200])
        except ConnectionClosed:
            pass
        finally:
            beat.cancel()
        return id(ws) in self.dropped

    def stats(self) -> dict[str, Any]:
        out = {
            "open": len(self.live),
            "rtts": self.rtts,
            "missed": self.missed,
            "errors": self.errors,
            "closed_by_server": self.closed_by_server,
        }
        self.reset()
        return out

    async def storm(self) -> dict[str, Any]:
        """Every socket drops at once (a network blip); the page reconnects each with its backoff.
        Returns how long until all were back, and the failed attempts."""
        count = len(self.live)
        self.reset()
        started = time.monotonic()
        for ws in list(self.live.values()):
            self.dropped.add(id(ws))
            ws.transport.abort()
        await asyncio.sleep(0.05)
        # Polls a count the socket tasks change (an Event per count would cost more than it saves).
        while len(self.live) < count and time.monotonic() - started < 120:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        return {
            "sockets": count,
            "seconds": time.monotonic() - started,
            "back": len(self.live),
            "errors": self.errors[:20],
            "error_count": len(self.errors),
        }

    async def stop(self) -> None:
        self.stopping = True
        for ws in list(self.live.values()):
            ws.transport.abort()
        for task in self.tasks:
            task.cancel()


def backoff(attempt: int) -> float:
    """lib/socket.js: min(30 s, 1 s * 2^(attempt-1)), then a random half to all of it."""
    delay = min(30.0, 2 ** (attempt - 1))
    return delay / 2 + random.random() * delay / 2


def _fleet_main(conn: Connection, options: FleetOptions) -> None:
    raise_fd_limit()

    async def serve() -> None:
        fleet = Fleet(options)
        loop = asyncio.get_running_loop()
        while True:
            command, kwargs = await loop.run_in_executor(None, conn.recv)
            if command == "stop":
                await fleet.stop()
                conn.send(None)
                return
            if command == "stats":
                conn.send(fleet.stats())
            else:
                conn.send(await getattr(fleet, command)(**kwargs))

    asyncio.run(serve())


class Fleets:
    """K fleet processes; specs are dealt round-robin, commands go to all and answers are merged."""

    def __init__(self, count: int, options: FleetOptions) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs = []
        for _ in range(count):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_fleet_main, args=(child, options), daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)
        self.size = 0

    async def _all(self, command: str, per_fleet: list[dict] | None = None) -> list[Any]:
        loop = asyncio.get_running_loop()
        for i, conn in enumerate(self.conns):
            conn.send((command, per_fleet[i] if per_fleet else {}))
        return [await loop.run_in_executor(None, conn.recv) for conn in self.conns]

    async def connect(self, specs: list[PatientSpec], concurrency: int = 200) -> dict[str, Any]:
        k = len(self.conns)
        started = time.monotonic()
        parts = await self._all(
            "connect",
            [{"specs": specs[i::k], "concurrency": max(1, concurrency // k)} for i in range(k)],
        )
        self.size += len(specs)
        return {"seconds": time.monotonic() - started, "open": sum(p["open"] for p in parts)}

    async def stats(self) -> dict[str, Any]:
        parts = await self._all("stats")
        return {
            "open": sum(p["open"] for p in parts),
            "rtts": [r for p in parts for r in p["rtts"]],
            "missed": sum(p["missed"] for p in parts),
            "errors": [e for p in parts for e in p["errors"]],
            "closed_by_server": sum(p["closed_by_server"] for p in parts),
        }

    async def storm(self) -> dict[str, Any]:
        parts = await self._all("storm")
        return {
            "sockets": sum(p["sockets"] for p in parts),
            "seconds": max(p["seconds"] for p in parts),
            "back": sum(p["back"] for p in parts),
            "error_count": sum(p["error_count"] for p in parts),
            "errors": [e for p in parts for e in p["errors"]][:10],
        }

    def pids(self) -> list[int]:
        # Started in __init__, so each has its pid (typed as None until start()).
        return [p.pid for p in self.procs if p.pid is not None]

    async def stop(self) -> None:
        await self._all("stop")
        for proc in self.procs:
            proc.join(timeout=10)
