"""Fail fast, in one clear line, when PostgreSQL or Redis is not there (used by `make`)."""

import sys

import redis
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import OperationalError, connection


class Command(BaseCommand):
    help = "Check that the database and Redis answer; exit non-zero with how to start them if not."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--redis", action="store_true", help="check REDIS_URL")
        parser.add_argument("--database", action="store_true", help="check DATABASE_URL")
        parser.add_argument(
            "--create", action="store_true", help="with --database: create the PostgreSQL database if missing"
        )

    def handle(self, *args, **options) -> None:
        failures = []
        if options["redis"]:
            try:
                redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
            except redis.RedisError as exc:
                failures.append(
                    f"Redis is not reachable at {settings.REDIS_URL} ({exc.__class__.__name__}). Start one with "
                    "`redis-server --daemonize yes --port 6379` or set REDIS_URL."
                )
        if options["database"]:
            db = settings.DATABASES["default"]
            try:
                if connection.vendor == "postgresql":
                    # Connect to the maintenance database: the project's own may not exist yet.
                    import psycopg2

                    maintenance = psycopg2.connect(
                        dbname="postgres",
                        user=db["USER"],
                        password=db["PASSWORD"],
                        host=db["HOST"],
                        port=db["PORT"] or 5432,
                        connect_timeout=3,
                    )
                    try:
                        if options["create"]:
                            self._create_if_missing(maintenance, db["NAME"])
                    finally:
                        maintenance.close()
                else:
                    connection.ensure_connection()
            except (OperationalError, Exception) as exc:  # psycopg2.OperationalError and friends
                failures.append(
                    f"PostgreSQL is not reachable at {db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432} as "
                    f"user {db.get('USER')!r} ({str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}). "
                    "Start it with `pg_ctlcluster 15 main start` or set DATABASE_URL."
                )
        for line in failures:
            self.stderr.write(line)
        if failures:
            sys.exit(1)
        self.stdout.write("services ok")

    def _create_if_missing(self, maintenance, name: str) -> None:
        """`make run` on a fresh machine: the project's database is made on first use."""
        from psycopg2 import sql

        maintenance.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with maintenance.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                self.stdout.write(f"created database {name}")
