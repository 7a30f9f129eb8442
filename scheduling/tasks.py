"""Thin Celery adapters over the scheduling services."""

from celery import shared_task

from scheduling.meetings import services as meeting_services
from scheduling.requests import services as request_services


@shared_task(ignore_result=True)
def expire_requests() -> int:
    """Beat runs this every 30 s: undecided requests past their expiry become expired."""
    return request_services.requests_expire_due()


@shared_task(ignore_result=True)
def refresh_meeting_statuses() -> int:
    """Beat runs this every 30 s: stored meeting statuses follow the facts and the clock."""
    return meeting_services.meetings_refresh_statuses()
