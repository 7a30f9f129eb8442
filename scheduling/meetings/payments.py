"""A meeting's side of card payments: its subject in waitingroom/payments/, its price, what the
receipt calls it, who may charge it, whether the guest must still save a card, and the handler
waitingroom/payments/ tells of every change of a meeting's payments (settings.PAYMENT_SUBJECTS),
so the staff's open pages re-fetch. The writes (saving the guest's card, charging) are in
charges.py, which builds on services.py; this module imports neither, so both may ask it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User

from scheduling.meetings import publishing
from scheduling.models import Meeting
from waitingroom.models import Role
from waitingroom.payments import selectors as pay
from waitingroom.payments.models import Payment, SavedCard
from waitingroom.tenancy import has_role

logger = logging.getLogger(__name__)


def subject_of(meeting_id: int) -> str:
    """A meeting's subject in waitingroom/payments/ (the request it came from had "request:<id>")."""
    return f"meeting:{meeting_id}"


def price_of(meeting: Meeting) -> int | None:
    """The meeting's price in minor units, None for a free service."""
    service = meeting.service
    if not service.payment_required or service.price is None:
        return None
    return pay.minor_units(service.price)


def description(meeting: Meeting) -> str:
    """What the receipt and the client's payments list call the charge."""
    when = meeting.starts_at or meeting.created_at
    local = when.astimezone(meeting.clinic.tzinfo)
    return f"Video appointment: {meeting.service.name}, {local.day} {local:%b %Y}"


def may_charge(*, user: User, meeting: Meeting) -> bool:
    """The meeting's host and the clinic's admins charge it; a CSR or another provider sees the
    payment but does not decide on the amount. (Schedulers never reach a meeting: 404.)"""
    return meeting.provider_id == user.pk or has_role(
        user=user, clinic=meeting.clinic, roles=[Role.CLINIC_ADMIN]
    )


@dataclass(frozen=True)
class CardState:
    """A meeting's price (minor units; None: free) and the card saved for it."""

    price: int | None
    card: SavedCard | None

    @property
    def required(self) -> bool:
        """A paid meeting without a saved card can't be joined while payments are on: the guest
        saves one on their meeting page first (booking a paid service needs a card)."""
        return bool(settings.PAYMENTS_ENABLED and self.price is not None and self.card is None)


def card_state(meeting: Meeting) -> CardState:
    price = price_of(meeting)
    card = pay.card_for(subject=subject_of(meeting.pk)) if price is not None else None
    return CardState(price, card)


# --- What waitingroom/payments/ tells us ---------------------------------------------------------


def payment_changed(payment: Payment, *, what: str) -> None:
    """settings.PAYMENT_SUBJECTS["meeting"] (and ["request"]): a meeting's charge or refund was
    stored or moved on. Inside the payments transaction, so the hint leaves after commit: the
    clinic's meetings overviews and open payment pages re-fetch (the `meetings` push).

    A request is never charged (its card moves to the meeting when it is accepted), so a
    "request:<id>" payment would be a bug elsewhere: it is logged and nothing is published."""
    kind = payment.subject.partition(":")[0]
    if kind != "meeting":
        logger.warning(
            "Payment %s of %s: only meetings are charged in scheduling", payment.pk, payment.subject
        )
        return
    publishing.meetings_changed_in(payment.clinic_id)
