"""Thin Celery adapters of the phone bridge: they take ids and call waitingroom/voice/calling.py."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="waitingroom.voice.call_place")
def call_place(call_id: int) -> None:
    """Ask Twilio to ring the staff member's phone (calls.create); safe to run twice."""
    from waitingroom.voice import calling

    calling.place(call_id=call_id)
