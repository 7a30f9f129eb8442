"""A meeting's card and charge, the writes: the guest saves a card for a paid service on their
meeting page (or the card of the request the meeting was accepted from followed it here), and once
the meeting is completed its host or a clinic admin charges it. The money itself is
waitingroom/payments/'s: these check the meeting's side (its status, its service's price) under the
meeting's row lock, and record a MeetingEvent. Who asks is the view's check (payments.may_charge)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from scheduling.meetings import publishing
from scheduling.meetings.payments import description, price_of, subject_of
from scheduling.meetings.services import MeetingRefused, locked, record
from scheduling.meetings.status import rules_of
from waitingroom.payments import selectors as pay
from waitingroom.payments import services as payments
from waitingroom.payments.lifecycle import PaymentStatus
from waitingroom.payments.models import Payment, SavedCard

# --- Writes --------------------------------------------------------------------------------------


def meeting_card_save(*, meeting_id: int, token: str) -> SavedCard:
    """The guest saved a card on their meeting page (`token` from the card step): it becomes the
    meeting's, once. Refused for a free service, a cancelled or missed meeting, or when the meeting
    already has a card."""
    now = timezone.now()
    with transaction.atomic():
        meeting = locked(meeting_id)
        if price_of(meeting) is None:
            raise MeetingRefused("This session is free: no card is needed.")
        if not rules_of(meeting.current_status(now)).card_savable:
            raise MeetingRefused("A card can't be saved for this session any more.")
        subject = subject_of(meeting.pk)
        if pay.card_for(subject=subject) is not None:
            raise MeetingRefused("A card is already saved for this session.")
        try:
            card = payments.card_bind(
                clinic=meeting.clinic, token=token, subject=subject, email=meeting.guest_email
            )
        except payments.PaymentRefused as refused:
            raise MeetingRefused(str(refused)) from None
        record(meeting, "card_saved", now=now, detail=card.label)
        publishing.meetings_changed(meeting.clinic)
    return card


def meeting_charge(*, meeting_id: int, by: User, amount: int, now: datetime | None = None) -> Payment:
    """The host (or a clinic admin) charges a completed paid meeting `amount` minor units: at most
    the service's price, above zero, on the card the guest saved. waitingroom/payments/ sends it
    after commit and tells us how it went (payment_changed). The caller checked may_charge()."""
    now = now or timezone.now()
    with transaction.atomic():
        meeting = locked(meeting_id)
        price = price_of(meeting)
        if price is None:
            raise MeetingRefused("This meeting's service is free: there is nothing to charge.")
        if not rules_of(meeting.current_status(now)).chargeable:
            raise MeetingRefused("A meeting can be charged once it has taken place (completed).")
        if amount <= 0:
            raise MeetingRefused("Enter an amount above zero.")
        if amount > price:
            raise MeetingRefused(
                f"The amount can't be more than the service's price ({pay.money(price, meeting.clinic.currency)})."
            )
        subject = subject_of(meeting.pk)
        if pay.card_for(subject=subject) is None:
            raise MeetingRefused("The guest has not saved a card, so there is nothing to charge.")
        try:
            payment = payments.charge_request(
                clinic=meeting.clinic,
                subject=subject,
                amount=amount,
                price=price,
                description=description(meeting),
                by=by,
            )
        except payments.PaymentRefused as refused:
            raise MeetingRefused(str(refused)) from None
        record(meeting, "charge", by=by, now=now, detail=pay.money(amount, payment.currency))
    return payment


def meeting_charge_retry(*, meeting_id: int, by: User) -> Payment:
    """Send again a charge Stripe could not be reached for, or whose send never finished (still
    pending; the same idempotency key: waitingroom/payments/ decides whether it may go again)."""
    now = timezone.now()
    with transaction.atomic():
        meeting = locked(meeting_id)
        charge = pay.current_charge(subject=subject_of(meeting.pk))
        if charge is None or charge.status != PaymentStatus.PENDING:
            raise MeetingRefused("There is no charge waiting to be sent again.")
        try:
            payment = payments.charge_retry(payment=charge, by=by)
        except payments.PaymentRefused as refused:
            raise MeetingRefused(str(refused)) from None
        record(meeting, "charge_retry", by=by, now=now)
    return payment


def meeting_charge_cancel(*, meeting_id: int, payment_id: int, by: User) -> Payment:
    """Cancel the meeting's charge `payment_id` (the one the page showed) while it waits for the
    guest's confirmation (their bank asked; they were emailed the link), so the meeting may be
    charged again. The caller checked may_charge(); waitingroom/payments/ calls Stripe (outside this
    meeting's lock) and moves the charge forward only: a guest who confirmed first leaves it paid,
    and the refusal says so; a charge already cancelled says that."""
    now = timezone.now()
    with transaction.atomic():
        meeting = locked(meeting_id)
        charge = pay.charge_of(subject=subject_of(meeting.pk), payment_id=payment_id)
        if charge is None:
            raise MeetingRefused("This charge is not one of this meeting's.")
    try:
        payment = payments.charge_cancel(payment=charge, by=by)
    except payments.PaymentRefused as refused:
        raise MeetingRefused(str(refused)) from None
    with transaction.atomic():
        record(
            locked(meeting_id),
            "charge_cancel",
            by=by,
            now=now,
            detail=pay.money(payment.amount, payment.currency),
        )
    return payment
