"""Thin Celery adapters over the clinic core."""

from datetime import datetime

from celery import shared_task

from waitingroom import opening, ratelimit


@shared_task(ignore_result=True)
def purge_client_attempts() -> int:
    """Beat runs this hourly: rate-limited attempts older than their window are deleted."""
    return ratelimit.purge()


@shared_task(ignore_result=True)
def opening_hours_sweep() -> int:
    """Beat runs this every 30 s: clinics whose hours opened or closed them are recorded and pushed."""
    return opening.hours_sweep()


@shared_task(ignore_result=True)
def opening_hours_flip(clinic_id: int, at: str) -> int:
    """Sent by the hours sweep with an eta at a clinic's next opening or closing (`at`, ISO 8601):
    that clinic's change, on time. Early or twice it changes nothing (waitingroom/opening.py
    `hours_flip`)."""
    return opening.hours_flip(clinic_id=clinic_id, at=datetime.fromisoformat(at))
