"""`make run` on a fresh machine: check_services --create makes the project's database."""

import io
import uuid

import psycopg2
from django.db import connection

from waitingroom.management.commands.check_services import Command


def maintenance():
    db = connection.settings_dict
    conn = psycopg2.connect(dbname="postgres", user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432)
    conn.autocommit = True
    return conn


def exists(conn, name: str) -> bool:
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def test_create_makes_a_missing_database_once_and_leaves_an_existing_one():
    name = f"wr_check_{uuid.uuid4().hex[:8]}"
    out = io.StringIO()
    command = Command(stdout=out)
    conn = maintenance()
    try:
        assert not exists(conn, name)
        command._create_if_missing(conn, name)
        assert exists(conn, name) and f"created database {name}" in out.getvalue()
        command._create_if_missing(conn, name)  # there now: nothing to do
        assert out.getvalue().count("created database") == 1
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.close()


def test_the_command_creates_the_database_only_when_asked(monkeypatch, capsys):
    from django.core.management import call_command

    asked: list[str] = []
    monkeypatch.setattr(Command, "_create_if_missing", lambda self, conn, name: asked.append(name))
    call_command("check_services", "--database")
    assert asked == [] and "services ok" in capsys.readouterr().out
    call_command("check_services", "--database", "--create")  # what `make run` runs
    assert asked == [connection.settings_dict["NAME"]]
