"""Production settings: `check --deploy` is clean, and unsafe configurations refuse to start."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "waitingroom.settings",
    "DEBUG": "0",
    "SECRET_KEY": "a-production-like-secret-key-with-plenty-of-entropy-0f3a9c1e7b2d4f6a8c0e",
    "ALLOWED_HOSTS": "clinic.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://clinic.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_reports_nothing_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_wildcard_websocket_origin_is_refused():
    result = manage("check", **{**PRODUCTION_ENV, "WEBSOCKET_ALLOWED_ORIGINS": "*"})
    assert result.returncode != 0
    assert "WEBSOCKET_ALLOWED_ORIGINS must list origins explicitly" in result.stderr


def test_demo_seed_is_refused_with_debug_off():
    result = manage("seed_demo", **PRODUCTION_ENV)
    assert result.returncode != 0
    assert "Refusing to seed demo data with DEBUG off" in result.stderr


def test_check_services_names_the_unreachable_redis_in_one_line():
    result = manage(
        "check_services",
        "--redis",
        DJANGO_SETTINGS_MODULE="waitingroom.settings",
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "Redis is not reachable at redis://127.0.0.1:1/0" in result.stderr
    assert "redis-server" in result.stderr


def test_check_services_names_the_unreachable_database():
    result = manage(
        "check_services",
        "--database",
        DJANGO_SETTINGS_MODULE="waitingroom.settings",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/waitingroom",
    )
    assert result.returncode == 1
    assert "PostgreSQL is not reachable at 127.0.0.1:1" in result.stderr


def test_check_services_passes_when_both_answer():
    result = manage(
        "check_services", "--redis", "--database", DJANGO_SETTINGS_MODULE="waitingroom.test_settings"
    )
    assert result.returncode == 0, result.stderr
