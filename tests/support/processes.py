"""Real server processes for scale-out and fault tests: daphne serving the app in a subprocess
(killable with -9, restartable on the same port) and a private redis-server on a free port.
Each is always stopped by the fixture that started it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from bench.stack import stop_process
from tests.support.live import free_port

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def wait_for_port(port: int, proc: subprocess.Popen, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            raise RuntimeError(f"{what} exited: {err}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start on port {port}")


def server_env(ports: list[int], **extra: str) -> dict[str, str]:
    """The environment of a daphne subprocess: the test database (test_<name>, so it sees what
    the test commits), the tests' Redis and channel prefix, these origins."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "waitingroom.test_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
        "WEBSOCKET_ALLOWED_ORIGINS": ",".join(f"http://127.0.0.1:{p}" for p in ports),
        "ALLOWED_HOSTS": "127.0.0.1",
        **extra,
    }


class Server:
    """daphne serving waitingroom.asgi in a subprocess on `port`."""

    def __init__(self, port: int, env: dict[str, str]) -> None:
        self.port, self.env = port, env
        self.url = f"http://127.0.0.1:{port}"
        self.proc = self._spawn()

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "waitingroom.asgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_ready(self) -> None:
        wait_for_port(self.port, self.proc, "daphne")

    def kill(self) -> None:
        """As the kernel's OOM killer or a lost machine would: no socket is closed cleanly."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def restart(self) -> None:
        """A new process on the same port (a supervisor restarting the dead one)."""
        self.proc = self._spawn()
        self.wait_ready()

    def stop(self) -> None:
        stop_process(self.proc)


@contextlib.contextmanager
def running_servers(count: int, **extra: str) -> Iterator[list[Server]]:
    """`count` daphne processes on free ports sharing one environment (server_env with `extra`),
    ready on entering, all stopped on leaving (also when one of them failed to start)."""
    ports = [free_port() for _ in range(count)]
    env = server_env(ports, **extra)
    servers = [Server(port, env) for port in ports]
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


async def socket_to(server: Server, path: str, session_key: str) -> ClientConnection:
    """A websocket to `server`'s `path` as a browser of that session on the server's own origin."""
    return await connect(
        f"ws://127.0.0.1:{server.port}{path}",
        origin=Origin(server.url),
        additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"},
        ping_interval=None,
    )


class PrivateRedis:
    """A redis-server of the test's own on a free port, in a temporary directory: it can be
    stopped and started again without touching the machine's shared Redis."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.dir = tempfile.mkdtemp(prefix="wr-redis-")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_for_port(self.port, self.proc, "redis-server")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
