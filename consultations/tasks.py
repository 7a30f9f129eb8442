"""Thin Celery adapters over the consultation services."""

from celery import shared_task

from consultations import reminders


@shared_task(name="consultations.tasks.send_reminders", ignore_result=True)
def send_reminders() -> tuple[int, int]:
    """Beat runs this every 30 s: the 24-hour emails and 15-minute SMS that are due, each once."""
    return reminders.reminders_send_due()
