"""A payment's lifecycle as data. Stripe's answers and events arrive late, twice or out of order,
so a status only moves forward (by rank): a late `payment_intent.requires_action` after
`payment_intent.succeeded` changes nothing, and the first final status wins.

    pending -> needs_authentication -> succeeded
        \\______________\\_____________-> failed | canceled

`pending`: stored, the request to Stripe not answered yet (or Stripe was unreachable: retried with
the same idempotency key). `needs_authentication`: the bank wants the client to confirm (3-D Secure);
the client is emailed a link. A refund is a Payment of kind `refund` with the same statuses
(it never needs authentication).
"""

from __future__ import annotations

from django.db import models


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    NEEDS_AUTHENTICATION = "needs_authentication", "Waiting for the client to confirm"
    SUCCEEDED = "succeeded", "Paid"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Cancelled"


class PaymentKind(models.TextChoices):
    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"


RANK = {
    PaymentStatus.PENDING: 0,
    PaymentStatus.NEEDS_AUTHENTICATION: 1,
    PaymentStatus.SUCCEEDED: 2,
    PaymentStatus.FAILED: 2,
    PaymentStatus.CANCELED: 2,
}
FINAL = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELED})
# A charge in one of these holds its subject: a second Charge is refused (a partial unique index).
LIVE = frozenset({PaymentStatus.PENDING, PaymentStatus.NEEDS_AUTHENTICATION, PaymentStatus.SUCCEEDED})


def moves_forward(current: str, new: str) -> bool:
    """Whether an answer or event saying `new` may change a payment that is `current`."""
    return current not in FINAL and RANK[PaymentStatus(new)] > RANK[PaymentStatus(current)]


def from_payment_intent(status: str, error_code: str = "") -> PaymentStatus:
    """Our status for a Stripe PaymentIntent's `status` (and its last error's code).

    An off-session charge that needs the client's authentication is `requires_action` (localstripe)
    or, on Stripe, an `authentication_required` error leaving the intent `requires_payment_method`:
    both mean the client must confirm it on the page we email them."""
    if status == "succeeded":
        return PaymentStatus.SUCCEEDED
    if status == "canceled":
        return PaymentStatus.CANCELED
    if status in ("requires_action", "requires_confirmation"):
        return PaymentStatus.NEEDS_AUTHENTICATION
    if status == "requires_payment_method":
        if error_code == "authentication_required":
            return PaymentStatus.NEEDS_AUTHENTICATION
        return PaymentStatus.FAILED
    return PaymentStatus.PENDING  # processing, requires_capture
