"""The delivery tasks keep the names they had before the outbox was a package of its own, and a
worker finds them: a task queued by a running deployment still resolves after an upgrade."""

import subprocess
import sys
from pathlib import Path

from waitingroom.outbox.tasks import email_deliver, sms_deliver

ROOT = Path(__file__).resolve().parents[3]


def test_task_names_are_the_deployed_ones():
    assert sms_deliver.name == "waitingroom.tasks.sms_deliver"
    assert email_deliver.name == "waitingroom.tasks.email_deliver"


def test_a_worker_registers_them_by_those_names():
    # A fresh process, as a worker starts: only the Celery app's own discovery imports the tasks.
    script = (
        "import django; django.setup()\n"
        "from waitingroom.celery import app\n"
        "app.loader.import_default_modules()\n"
        "print(' '.join(sorted(app.tasks)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    # The outbox's and the clinic core's own (every other task: tests/waitingroom/test_celery_tasks.py).
    assert {
        "waitingroom.audit.tasks.purge_access_events",
        "waitingroom.outbox.sms_sweep",
        "waitingroom.tasks.email_deliver",
        "waitingroom.tasks.purge_client_attempts",
        "waitingroom.tasks.sms_deliver",
    } <= set(result.stdout.split("\n")[-2].split())
