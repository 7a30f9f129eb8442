"""Thin Celery adapters of card payments: they take ids and call waitingroom/payments/services.py.
Each is safe to run twice (the send is claimed, and Stripe gets the payment's idempotency key)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="waitingroom.payments.charge_send")
def payments_charge_send(payment_id: int) -> None:
    """Create and confirm the off-session PaymentIntent of a pending charge."""
    from waitingroom.payments import services

    services.charge_send(payment_id=payment_id)


@shared_task(name="waitingroom.payments.refund_send")
def payments_refund_send(payment_id: int) -> None:
    """Create the Stripe Refund of a pending refund."""
    from waitingroom.payments import services

    services.refund_send(payment_id=payment_id)


@shared_task(name="waitingroom.payments.sends_sweep")
def payments_sends_sweep() -> None:
    """Beat (every 60 s): sends that never happened (a lost task, a killed worker) go again."""
    from django.utils import timezone

    from waitingroom.payments import services

    services.sends_sweep(now=timezone.now())
