"""Thin Celery adapters over the visit services."""

from celery import shared_task

from visits import call_guests, presence


@shared_task(ignore_result=True)
def sweep_due_visits() -> dict[str, int]:
    """Beat runs this every few seconds; it applies every due presence/idle/expiry timer."""
    return presence.sweep_due()


@shared_task(ignore_result=True)
def expire_call_guests() -> int:
    """Beat runs this every 10 s: unused call-guest invitations past their time expire."""
    return call_guests.guests_expire_due()
