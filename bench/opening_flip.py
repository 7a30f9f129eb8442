"""How late a clinic's opening hours open and close it: a real Celery worker and beat (the Procfile's
lines) against the database and Redis of the environment, a clinic whose special hours for today
open and close it on alternate whole minutes, and for each change the delay from its instant to
the `ClinicEvent` row (its `at`, and when a poll every 20 ms first saw the row).

    DATABASE_URL=... REDIS_URL=... DJANGO_SETTINGS_MODULE=waitingroom.settings \\
        python bench/opening_flip.py --changes 5

Use a database and Redis database of its own (it migrates the database and makes one clinic,
"opening-flip-bench", again each run). docs/performance.md has the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stack import stop_process  # noqa: E402

SLUG = "opening-flip-bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=5, help="openings and closings to measure")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from waitingroom.models import Clinic, ClinicEvent, HoursException

    call_command("migrate", verbosity=0)
    Clinic.objects.filter(slug=SLUG).delete()
    # Seen closed already (a first look at a closed clinic would record a closing of its own).
    clinic = Clinic.objects.create(
        name="Opening flip bench", slug=SLUG, time_zone="America/New_York", hours_open=False
    )
    tz = clinic.tzinfo
    # The first change a minute and a half away at least, so the worker and beat are up before it.
    first = (timezone.now() + timedelta(seconds=90)).astimezone(tz).replace(second=0, microsecond=0)
    changes = [first + timedelta(minutes=n) for n in range(args.changes)]
    if changes[-1].date() != first.date():
        raise SystemExit("Too close to the clinic's midnight: run it again in a few minutes.")
    # Open on even minutes from `first`, closed on odd ones (a special day of one-minute intervals).
    for opens in changes[::2]:
        closes = opens + timedelta(minutes=1)
        HoursException.objects.create(
            clinic=clinic, date=first.date(), opens=opens.time(), closes=closes.time(), note="bench"
        )
    if len(changes) % 2:  # an odd count ends with an opening: its interval's end is one more change
        changes.append(changes[-1] + timedelta(minutes=1))

    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0"}
    logs = Path(tempfile.mkdtemp(prefix="opening-flip-"))
    schedule = logs / "celerybeat-schedule"
    celery = [sys.executable, "-m", "celery", "-A", "waitingroom"]
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [*celery, "worker", "--loglevel=INFO", "--concurrency=2"],
            cwd=ROOT,
            env=env,
            stdout=(logs / "worker.log").open("w"),
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [*celery, "beat", "--loglevel=INFO", f"--schedule={schedule}"],
            cwd=ROOT,
            env=env,
            stdout=(logs / "beat.log").open("w"),
            stderr=subprocess.STDOUT,
        ),
    ]
    print(f"changes at {', '.join(f'{c:%H:%M}' for c in changes)} {tz}; logs in {logs}", flush=True)
    seen: dict[int, tuple[datetime, datetime, str]] = {}  # event id -> (at, first seen, kind)
    try:
        deadline = changes[-1] + timedelta(seconds=45)
        while timezone.now() < deadline:
            for event in ClinicEvent.objects.filter(clinic=clinic).exclude(pk__in=list(seen)):
                seen[event.pk] = (event.at, timezone.now(), event.kind)
            if any(p.poll() is not None for p in processes):
                raise SystemExit(f"the worker or beat exited: see {logs}")
            time.sleep(0.02)
    finally:
        for process in processes:
            stop_process(process)

    at_delays, seen_delays = [], []
    for change in changes:
        found = [row for row in seen.values() if row[0] >= change and row[0] < change + timedelta(seconds=50)]
        if not found:
            print(f"{change:%H:%M}: no event")
            continue
        at, first_seen, kind = min(found)
        at_delays.append((at - change).total_seconds())
        seen_delays.append((first_seen - change).total_seconds())
        print(f"{change:%H:%M} {kind}: at +{at_delays[-1]:.3f} s, row seen +{seen_delays[-1]:.3f} s")
    print(f"events: {len(seen)} for {len(changes)} changes (one each: no duplicate recorded)")
    if at_delays:
        print(
            f"at: median {statistics.median(at_delays):.3f} s, max {max(at_delays):.3f} s; "
            f"row seen: median {statistics.median(seen_delays):.3f} s, max {max(seen_delays):.3f} s"
        )
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
