"""Thin Celery adapters over the clinic core."""

import logging
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
    try:
        instant = datetime.fromisoformat(at)
    except (TypeError, ValueError):
        instant = None
    if instant is None or instant.tzinfo is None:
        # Sent by hand or by another sender: no instant to flip at (a naive one would be compared
        # with an aware now). Refused with a line in the log; the beat's sweep flips the clinic.
        logging.getLogger(__name__).warning(
            "opening hours: task for clinic %s ignored, at %r is not an aware ISO 8601 instant", clinic_id, at
        )
        return 0
    return opening.hours_flip(clinic_id=clinic_id, at=instant)
