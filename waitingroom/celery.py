"""The Celery app. Tasks are thin adapters that take ids and call a service (see DESIGN.md §5)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waitingroom.settings")

app = Celery("waitingroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
