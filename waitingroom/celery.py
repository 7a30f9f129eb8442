"""The Celery app. Tasks are thin adapters that take ids and call a service (docs/architecture.md,
Tasks)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waitingroom.settings")

app = Celery("waitingroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Every installed app's tasks.py, and those of the outbox, the access trail and the phone bridge
# (packages of the waitingroom app, not apps; tests/waitingroom/test_celery_tasks.py checks that
# a worker finds every task the project defines).
app.autodiscover_tasks()
app.autodiscover_tasks(
    ["waitingroom.outbox", "waitingroom.audit", "waitingroom.voice", "waitingroom.payments"]
)
