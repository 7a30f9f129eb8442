"""Typed helpers that read settings from the environment.

Every setting the project reads from the environment goes through one of these, so the README's
configuration table and the code cannot drift apart silently: a malformed value fails at start-up
with the variable's name, not later with a confusing error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; blanks are dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str, *, base_dir: Path) -> dict:
    """Django's DATABASES entry for a `postgres://` or `sqlite:///` URL."""
    parsed = urlparse(url)
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    if parsed.scheme in {"postgres", "postgresql"}:
        return {
            # Django's PostgreSQL backend with a per-process pool of idle connections (psycopg2).
            "ENGINE": "waitingroom.db.pgpool",
            "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            # Persistent connections for the websocket consumers; an HTTP request's connections
            # close when it finishes (waitingroom/db/connections.py says why).
            "CONN_MAX_AGE": int(options.pop("conn_max_age", 60)),
            "CONN_HEALTH_CHECKS": True,
            # Idle connections kept per process (0: connect per request); waitingroom/db/pgpool says why.
            "POOL_SIZE": int(options.pop("pool_size", 10)),
            "OPTIONS": options,
        }
    if parsed.scheme == "sqlite":
        # sqlite:///relative.db or sqlite:////absolute/path.db
        path = parsed.path[1:] if parsed.path.startswith("//") else parsed.path.lstrip("/")
        name = Path(path) if Path(path).is_absolute() else base_dir / path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(name),
            # daphne, the worker and beat write concurrently in `make run`: take the write lock
            # at BEGIN and wait for it rather than failing with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r} is not supported (postgres, sqlite)")


def websocket_sources(origins: Iterable[str]) -> list[str]:
    """The ws:/wss: twins of the allowed origins, for connect-src. Browsers that implement CSP 3
    let 'self' cover the page's own ws: origin; older ones (Safari before 15.4) need it listed."""
    sources = []
    for origin in origins:
        scheme, sep, rest = origin.partition("://")
        if sep and scheme in ("http", "https"):
            sources.append(("wss" if scheme == "https" else "ws") + "://" + rest.rstrip("/"))
    return sources
