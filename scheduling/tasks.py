"""Thin Celery adapters over the scheduling services."""

from celery import shared_task

from scheduling import services


@shared_task(ignore_result=True)
def expire_requests() -> int:
    """Beat runs this every 30 s: undecided requests past their expiry become expired."""
    return services.requests_expire_due()
