"""Card payments' reads (CONTRACT: the lead wrote the signatures; the payments helper fills them)."""

from __future__ import annotations

from decimal import Decimal

from waitingroom.payments.models import Payment, SavedCard


def minor_units(price: Decimal) -> int:
    """A service price (45.00) in the minor unit Stripe counts in (4500): every currency a clinic
    may choose has cents."""
    return int((price * 100).to_integral_value())


def money(amount: int, currency: str) -> str:
    """4500, "usd" -> "$45.00" (what pages, receipts and the admin show)."""
    raise NotImplementedError


def card_for(*, subject: str) -> SavedCard | None:
    """The saved card bound to a subject, or None."""
    raise NotImplementedError


def payments_for(*, subject: str) -> list[Payment]:
    """A subject's charges and their refunds, newest first (one query)."""
    raise NotImplementedError


def current_charge(*, subject: str) -> Payment | None:
    """The subject's latest charge (any status), or None: what the room's payment panel shows."""
    raise NotImplementedError


def payments_for_client(*, email: str) -> list[Payment]:
    """Every charge and refund of cards saved by `email` (any clinic), newest first: the requester
    page's list."""
    raise NotImplementedError
