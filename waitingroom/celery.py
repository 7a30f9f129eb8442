"""The Celery app. Tasks are thin adapters that take ids and call a service (docs/architecture.md,
Tasks)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waitingroom.settings")

app = Celery("waitingroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Every installed app's tasks.py, and those of the outbox and the access trail (packages of the
# waitingroom app, not apps).
app.autodiscover_tasks()
app.autodiscover_tasks(["waitingroom.outbox", "waitingroom.audit"])
