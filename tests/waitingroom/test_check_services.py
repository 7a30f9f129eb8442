"""`make run` on a fresh machine: check_services --create makes the project's database."""

import uuid

import psycopg2
from django.core.management import call_command
from django.db import connection


def maintenance():
    db = connection.settings_dict
    conn = psycopg2.connect(dbname="postgres", user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432)
    conn.autocommit = True
    return conn


def exists(name: str) -> bool:
    conn = maintenance()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return cursor.fetchone() is not None
    finally:
        conn.close()


def test_create_makes_a_missing_database_once_and_leaves_an_existing_one(settings, capsys):
    name = f"wr_check_{uuid.uuid4().hex[:8]}"
    settings.DATABASES = {"default": {**connection.settings_dict, "NAME": name}}
    try:
        call_command("check_services", "--database", "--create")
        assert exists(name) and f"created database {name}" in capsys.readouterr().out
        call_command("check_services", "--database", "--create")  # there now: nothing to do
        assert "created database" not in capsys.readouterr().out
    finally:
        conn = maintenance()
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.close()


def test_without_create_a_missing_database_is_not_made(settings):
    name = f"wr_check_{uuid.uuid4().hex[:8]}"
    settings.DATABASES = {"default": {**connection.settings_dict, "NAME": name}}
    call_command("check_services", "--database")
    assert not exists(name)
