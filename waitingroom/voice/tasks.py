"""Thin Celery adapters of the phone bridge: they take ids and call waitingroom/voice/calling.py."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="waitingroom.voice.call_place")
def call_place(call_id: int) -> None:
    """Ask Twilio to ring the staff member's phone (calls.create); safe to run twice."""
    from waitingroom.voice import calling

    calling.place(call_id=call_id)


@shared_task(name="waitingroom.voice.recordings_fetch")
def recordings_fetch() -> None:
    """Beat (every 15 s): fetch the due recordings from Twilio; SKIP LOCKED, safe to run twice."""
    from django.utils import timezone

    from waitingroom.voice import recordings

    recordings.fetch_due(now=timezone.now())


@shared_task(name="waitingroom.voice.recordings_purge")
def recordings_purge() -> None:
    """Beat (daily): delete the stored recordings past their clinic's retention."""
    from django.utils import timezone

    from waitingroom.voice import recordings

    recordings.purge_expired(now=timezone.now())


@shared_task(name="waitingroom.voice.calls_sweep")
def calls_sweep() -> None:
    """Beat (every 30 s): calls never placed, or never reported finished, end as failed."""
    from django.utils import timezone

    from waitingroom.voice import services

    services.calls_sweep(now=timezone.now())
