"""What the apps above card payments plug into: a card and its payments belong to a subject of an
app ("consultation:12", "request:5", "meeting:9"), and that app hears of every change through
settings.PAYMENT_SUBJECTS (its kind -> a callable `(payment, *, what)`), inside the transaction
that made the change, so what it publishes leaves after commit. This package never imports it."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from waitingroom.payments.models import Payment


class PaymentRefused(Exception):
    """The payment action can't be done as asked (the message says why, for the page). Changes
    nothing."""


class Change:
    """What a subject's handler hears (settings.PAYMENT_SUBJECTS): `(payment, *, what)`."""

    STARTED = "started"  # a charge or refund was stored (pending)
    UPDATED = "updated"  # its status moved (succeeded, failed, needs authentication ...)


def tell_subject(payment: Payment, what: str) -> None:
    """Hand a change to the app the payment belongs to ("consultation:12" -> the handler named for
    "consultation"). A subject with no handler is a programming error."""
    kind = payment.subject.partition(":")[0]
    import_string(settings.PAYMENT_SUBJECTS[kind])(payment, what=what)
