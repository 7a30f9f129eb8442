"""Test stand-ins for what the apps above plug into payments through settings.PAYMENT_SUBJECTS: a
subject handler that records what it heard (and whether it heard it inside a transaction)."""

from __future__ import annotations

from django.db import connection

from waitingroom.payments.models import Payment

# (what, the payment's kind, its status, inside a transaction) in order.
HEARD: list[tuple[str, str, str, bool]] = []


def heard(payment: Payment, *, what: str) -> None:
    HEARD.append((what, payment.kind, payment.status, connection.in_atomic_block))
