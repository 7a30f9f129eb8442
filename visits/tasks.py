"""Thin Celery adapters over the visit services."""

from celery import shared_task

from visits import presence


@shared_task(ignore_result=True)
def sweep_due_visits() -> dict[str, int]:
    """Beat runs this every few seconds; it applies every due presence/idle/expiry timer."""
    return presence.sweep_due()
