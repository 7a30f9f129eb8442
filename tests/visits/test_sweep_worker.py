"""The beat sweep, run by a real Celery worker against Redis and the test database."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tests.visits.conftest import in_call
from visits.lifecycle import Status
from visits.models import Visit
from visits.tasks import sweep_due_visits
from waitingroom.celery import app as celery_app

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "waitingroom.test_settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "waitingroom",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-mingle",
            "--without-gossip",
            "--queues=sweep-test",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc
    proc.terminate()
    proc.wait(timeout=20)
    connection.close()


@pytest.fixture
def not_eager():
    """Send tasks to the broker for this test (the suite otherwise runs them inline)."""
    celery_app.conf.update(task_always_eager=False)
    yield
    celery_app.conf.update(task_always_eager=settings.CELERY_TASK_ALWAYS_EAGER)


def test_real_worker_applies_a_due_call_drop(worker, not_eager, clinic_a, provider):
    visit = in_call(clinic_a, provider)
    Visit.objects.filter(pk=visit.pk).update(grace_due_at=timezone.now() - timedelta(seconds=1))
    sweep_due_visits.apply_async(queue="sweep-test")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        visit.refresh_from_db()
        if visit.status == Status.DISCONNECTED:
            break
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.2)
    assert visit.status == Status.DISCONNECTED


def test_real_worker_flips_a_clinic_at_the_opening_tasks_eta_not_before(worker, not_eager, clinic_a):
    """The opening hours' exact-time task (waitingroom/opening.py flip_at) held by a real worker
    until its eta: the clinic's closing is recorded at the instant, not before, not a sweep later."""
    from waitingroom import tasks
    from waitingroom.models import Clinic, ClinicEvent, HoursException

    # Closed all day by its hours, last seen open: the next look records the closing.
    HoursException.objects.create(clinic=clinic_a, date=timezone.localdate(timezone=clinic_a.tzinfo))
    Clinic.objects.filter(pk=clinic_a.pk).update(hours_open=True)
    deadline = time.monotonic() + 20
    # The worker is up first: a task sent while it starts would measure its start-up.
    while not celery_app.control.ping(timeout=0.3):
        assert time.monotonic() < deadline and worker.poll() is None
    eta = timezone.now() + timedelta(seconds=1)
    tasks.opening_hours_flip.apply_async(args=(clinic_a.pk, eta.isoformat()), eta=eta, queue="sweep-test")
    while not (event := ClinicEvent.objects.filter(clinic=clinic_a).first()):
        assert time.monotonic() < deadline, worker.stdout.read() if worker.poll() is not None else "no flip"
        time.sleep(0.05)
    assert event.kind == ClinicEvent.Kind.HOURS_CLOSED
    assert eta <= event.at < eta + timedelta(seconds=1)
