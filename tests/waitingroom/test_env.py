from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from waitingroom.env import database_from_url, env_bool, env_int, env_list


def test_env_bool_reads_common_spellings_and_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "0")
    assert env_bool("FLAG", default=True) is False
    monkeypatch.delenv("FLAG")
    assert env_bool("FLAG", default=True) is True
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG")


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("N", "12")
    assert env_int("N", 3) == 12
    monkeypatch.setenv("N", "twelve")
    with pytest.raises(ImproperlyConfigured, match="N must be an integer"):
        env_int("N", 3)
    monkeypatch.setenv("HOSTS", " a.example , ,b.example")
    assert env_list("HOSTS") == ["a.example", "b.example"]
    assert env_list("UNSET_LIST", ["x"]) == ["x"]


def test_postgres_url_becomes_a_django_database():
    db = database_from_url(
        "postgres://u%40x:p%2Fw@db.internal:6543/clinic?sslmode=require", base_dir=Path("/app")
    )
    assert db["ENGINE"] == "waitingroom.db.pgpool" and db["POOL_SIZE"] == 10
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "clinic",
        "u@x",
        "p/w",
        "db.internal",
        "6543",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}


def test_sqlite_url_relative_and_absolute():
    assert database_from_url("sqlite:///db.sqlite3", base_dir=Path("/app"))["NAME"] == "/app/db.sqlite3"
    assert database_from_url("sqlite:////var/lib/wr.db", base_dir=Path("/app"))["NAME"] == "/var/lib/wr.db"


def test_unknown_database_scheme_is_refused():
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        database_from_url("mysql://x/y", base_dir=Path("/app"))
