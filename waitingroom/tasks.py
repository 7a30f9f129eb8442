"""Thin Celery adapters over the clinic core."""

from celery import shared_task

from waitingroom import ratelimit


@shared_task(ignore_result=True)
def purge_client_attempts() -> int:
    """Beat runs this hourly: rate-limited attempts older than their window are deleted."""
    return ratelimit.purge()
