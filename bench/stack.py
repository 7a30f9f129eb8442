"""The real stack on loopback: the benchmark's own database, daphne subprocesses started the way
the Procfile starts them, and figures read from /proc (memory, CPU) of those processes.

Nothing here imports Django: the environment must be settled before `django.setup()`.
"""

from __future__ import annotations

import os
import resource
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / ".run"
HOST = "127.0.0.1"


def raise_fd_limit() -> int:
    """Every socket is a file descriptor: lift the soft limit to the hard one. Child processes
    (daphne, the load generators) inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def bench_database_url(url: str) -> str:
    """The benchmark's own database next to the configured one (`<name>_bench`): it is flushed
    on every run, so it must never be the development or test database."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise SystemExit("The benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    return urlunparse(parsed._replace(path=parsed.path.rstrip("/") + "_bench"))


def ensure_database(url: str) -> None:
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    conn = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or None,
        dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


@dataclass
class StackEnv:
    """Settings every process of one run shares: servers and the benchmark itself."""

    database_url: str
    redis_url: str
    prefix: str
    ports: list[int]
    secret_key: str

    @classmethod
    def from_environ(cls, *, servers: int) -> StackEnv:
        return cls(
            database_url=bench_database_url(
                os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/waitingroom")
            ),
            redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"),
            prefix=os.environ.get("CHANNEL_LAYER_PREFIX", "waitingroom") + "-bench",
            ports=[free_port() for _ in range(servers)],
            secret_key=secrets.token_urlsafe(50),
        )

    @property
    def origins(self) -> list[str]:
        return [f"http://{HOST}:{port}" for port in self.ports]

    def django_env(self, layer: str | None = None) -> dict[str, str]:
        """Production settings (DEBUG off) on plain HTTP loopback."""
        env = {
            "DJANGO_SETTINGS_MODULE": "waitingroom.settings",
            "DEBUG": "0",
            "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": HOST,
            "CSRF_TRUSTED_ORIGINS": ",".join(self.origins),
            "WEBSOCKET_ALLOWED_ORIGINS": ",".join(self.origins),
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CHANNEL_LAYER_PREFIX": self.prefix,
        }
        if layer:
            env["CHANNEL_LAYER"] = layer
        return env


def stop_process(proc: subprocess.Popen, *, timeout: float = 10) -> None:
    """SIGTERM, and SIGKILL if it has not exited within `timeout` seconds; a no-op once it exited.
    Also the tests' (tests/support/processes.py)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def procfile_web_command(port: int) -> list[str]:
    """The `web:` line of the Procfile, moved to `port`: the benchmark measures what production
    runs, server options included."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            args = shlex.split(line.removeprefix("web:"))
            break
    else:  # pragma: no cover - the Procfile always has a web process
        raise SystemExit("Procfile has no web: line")
    args = [a.replace("port=8000", f"port={port}") for a in args]
    if "-p" in args:
        args[args.index("-p") + 1] = str(port)
    return [sys.executable, "-m", *args]


class Daphne:
    """One daphne subprocess serving the app on loopback."""

    def __init__(self, *, name: str, port: int, env: dict[str, str]) -> None:
        self.name, self.port, self.env = name, port, env
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Daphne:
        LOG_DIR.mkdir(exist_ok=True)
        log = (LOG_DIR / f"bench-{self.name}.log").open("w")
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and the Procfile's arguments
            procfile_web_command(self.port),
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"daphne {self.name} exited; see {log.name}")
            try:
                socket.create_connection((HOST, self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"daphne {self.name} did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=15)


class Profile:
    """py-spy recording one process (raw folded stacks, for flame graphs or grep), from start()
    until stop(). Only the thread holding the GIL is sampled (`--gil`): a daphne process runs on
    one core at most, so that is where its time goes. py-spy is in the dev extras."""

    def __init__(self, pid: int, name: str) -> None:
        self.path = LOG_DIR / f"profile-{name}.txt"
        self.proc = subprocess.Popen(  # noqa: S603 - the venv's own py-spy, fixed arguments
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--nonblocking",
                "--gil",
                "--output",
                str(self.path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)  # attached before the measured work starts

    def stop(self) -> Path:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        return self.path


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine so far (every core, every process: /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, str | int | float]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count() or 0,
        "cpu_model": model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
