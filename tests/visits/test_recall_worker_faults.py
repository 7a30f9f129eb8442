"""A Celery worker killed during the Recall SMS, with real worker processes against Redis and the
test database: killed before the backend sends, or after it sent but before the SID was stored,
the patient gets exactly one SMS within a minute of the worker's return.

The worker runs with short timings (visibility timeout 3 s, sweep thresholds 2 s) so the test
takes seconds; this test plays beat, enqueueing the outbox's sweep every second."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.support import sms_file
from tests.visits.test_offline import E164, gone_offline
from visits import offline
from waitingroom.celery import app as celery_app
from waitingroom.outbox.models import SmsMessage
from waitingroom.outbox.tasks import sms_sweep

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
# kombu's Redis transport: the default queue, and where it keeps tasks taken but not acknowledged.
WORKER = [sys.executable, "-m", "celery", "-A", "waitingroom", "worker", "--pool=solo"]
BROKER_KEYS = ("celery", "unacked", "unacked_index", "unacked_mutex")


@pytest.fixture
def clinic(clinic_a):
    clinic_a.offline_queueing = True
    clinic_a.save(update_fields=["offline_queueing"])
    return clinic_a


class Worker:
    def __init__(self, sms_dir: Path, log: Path) -> None:
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "waitingroom.test_settings",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "TEST_SMS_BACKEND": "tests.support.sms_file.FileSmsBackend",
            "TEST_SMS_DIR": str(sms_dir),
            "CELERY_VISIBILITY_TIMEOUT": "3",
            "SMS_QUEUED_STALE_SECONDS": "2",
            "SMS_SENDING_STALE_SECONDS": "2",
        }
        self.proc = subprocess.Popen(
            [*WORKER, "--loglevel=INFO", "--without-mingle", "--without-gossip", "--without-heartbeat"],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def broker():
    """The tests' Redis database, with the broker's queue and unacknowledged set emptied before
    and after (a killed worker's task must not come back in a later test)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(*BROKER_KEYS)
    yield client
    celery_app.conf.update(task_always_eager=settings.CELERY_TASK_ALWAYS_EAGER)
    client.delete(*BROKER_KEYS)
    client.close()


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start() -> Worker:
        started.append(Worker(tmp_path, tmp_path / f"worker-{len(started)}.log"))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()
    connection.close()


def wait_for(predicate, seconds: float, what) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what() if callable(what) else what}"
        time.sleep(0.1)


@pytest.mark.parametrize("point", ["before", "after"])
def test_worker_killed_during_the_recall_sms_sends_it_exactly_once(
    point, clinic, provider, tmp_path, broker, workers
):
    visit = gone_offline(clinic)  # inline (eager), before the worker exists: the code SMS
    (tmp_path / f"pause-{point}").touch()
    first = workers()
    celery_app.conf.update(task_always_eager=False)
    offline.visit_recall(visit_id=visit.id, user=provider)  # the task is queued on commit
    visit.refresh_from_db()
    wait_for(lambda: (tmp_path / f"reached-{point}").exists(), 60, f"the send to reach '{point}'")
    first.kill()

    message = SmsMessage.objects.get(pk=visit.last_recall_sms_id)
    assert (message.status, message.sid) == (SmsMessage.SUBMITTING, "")  # the attempt is on record
    assert broker.hlen("unacked") == 1  # the task was taken and never acknowledged
    assert len(sms_file.sent(tmp_path)) == (1 if point == "after" else 0)

    (tmp_path / f"pause-{point}").unlink()
    returned = time.monotonic()
    workers()

    def delivered_and_drained() -> bool:
        sms_sweep.delay()  # what beat does every SMS_SWEEP_SECONDS
        time.sleep(0.9)
        message.refresh_from_db()
        # The killed worker's task came back (visibility timeout) and ran: nothing is left.
        return bool(message.sid) and broker.hlen("unacked") == 0 and broker.llen("celery") <= 1

    wait_for(
        delivered_and_drained,
        60,
        lambda: (
            f"the SMS ({message.status}, unacked {broker.hlen('unacked')}, queued "
            f"{broker.llen('celery')}): {(tmp_path / 'worker-1.log').read_text()[-3000:]}"
        ),
    )
    assert time.monotonic() - returned < 60
    sent = sms_file.sent(tmp_path)
    assert [(m["to"], m["sid"]) for m in sent] == [(E164, message.sid)]
    assert "/r/" in sent[0]["body"] and message.status == "sent"
