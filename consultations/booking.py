"""Booking a phone consultation: the one write that takes an expert's time for one.

Everything the page showed is checked again at the moment of booking, under row locks on the
clinic's experts: the service, the expert, the time (an open slot of consultations/slots.py, or
"as soon as possible" while an expert is available), and the "any expert" rule.

Why every expert of the clinic is locked (in id order), even for a named expert: a booking's check
reads more than one expert's time. An "any expert" booking needs some free expert; a named one must
leave enough free experts for the clinic's unclaimed consultations (slots.py). Locking only the
named expert would let two named bookings of two experts each see the other still free and both
pass, leaving an unclaimed consultation with nobody. Locking the experts' user rows, the rows
meeting bookings lock (scheduling.meetings.booking.lock_provider), also serialises a consultation
with a meeting booked for one of them at the same moment, which a lock on the clinic row would
not; and the clinic row is written by unrelated work (the SMS ceiling's alert date, the admin).
Ids in ascending order, in one statement, so two bookings (of this clinic or another that shares
an expert) can't deadlock; a meeting booking holds only one user row.
A paid service (consultations/payments.py) is booked with the card the page saved through Stripe
(its token): the card is bound to the new consultation in the booking's transaction, so a refused
card books nothing, and it is charged only after the consultation.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from consultations import emails, lifecycle, payments, publishing, slots
from consultations.lifecycle import NEW, Actor, Event
from consultations.models import Consultation
from consultations.services import ConsultationRefused, record
from scheduling import availability
from scheduling.models import Requester, Service
from waitingroom.models import Clinic
from waitingroom.payments import services as pay
from waitingroom.validators import validate_single_line

SLOT_TAKEN = "That time is no longer free; please choose another."


def _check_text(*values: str) -> None:
    """The page's form refuses control characters already; a caller without that form must not
    store them either (a name reaches email headers, SMS and the phone bridge)."""
    try:
        for value in values:
            validate_single_line(value)
    except ValidationError as error:
        raise ConsultationRefused(error.messages[0]) from None


def _lock_experts(clinic: Clinic) -> list[int]:
    """The clinic's experts' user rows, locked in id order (see the module's docstring)."""
    ids = slots.expert_ids(clinic)
    locked = get_user_model().objects.select_for_update().filter(id__in=ids).order_by("id")
    return [user.pk for user in locked]


def consultation_book(
    *,
    clinic: Clinic,
    service: Service,
    expert_id: int | None,
    starts_at: datetime | None,
    name: str,
    email: str,
    phone: str,
    answers: dict[str, str],
    card_token: str = "",
) -> Consultation:
    """Book `service` with the expert `expert_id` (None: any expert) at `starts_at` (None: as soon
    as possible). `phone` is the verified E.164 number. A paid service needs `card_token`, the card
    the booking page saved for this email (a free service ignores it). The client is emailed after
    commit and the clinic's dashboards re-fetch their Upcoming list. Raises ConsultationRefused,
    changing nothing."""
    now = timezone.now()
    _check_text(name, email, phone, *answers.keys(), *answers.values())
    if service.clinic_id != clinic.pk or not service.active or service.kind != Service.Kind.PHONE:
        raise ConsultationRefused("Choose one of the clinic's phone consultations.")
    paid = payments.is_paid(service)
    if paid and not settings.PAYMENTS_ENABLED:
        raise ConsultationRefused(payments.PAYMENTS_OFF)
    if paid and not card_token:
        raise ConsultationRefused(payments.NO_CARD)
    if not availability.profile_for(clinic).may_request(email):
        raise ConsultationRefused(f"Consultations at {clinic.name} are open to its patients only.")
    with transaction.atomic():
        experts = _lock_experts(clinic)
        if expert_id is not None and expert_id not in experts:
            raise ConsultationRefused("Choose one of the clinic's experts.")
        if starts_at is None:
            now_slot = slots.asap(clinic=clinic, service=service, expert_id=expert_id, now=now)
            if now_slot is None:
                raise ConsultationRefused("Nobody is available right now; please choose a time.")
            starts_at, mode = now, Consultation.Mode.ASAP
        else:
            offered = slots.open_slots(clinic=clinic, service=service, expert_id=expert_id, now=now)
            if starts_at not in {slot.starts_at for slot in offered}:
                raise ConsultationRefused(SLOT_TAKEN)
            mode = Consultation.Mode.SLOT
        ends_at = starts_at + service.duration
        # The slot search already left out busy experts; this is the check every booking of a
        # provider's time makes under the lock (scheduling.meetings.booking.check_free).
        if expert_id is not None and availability.overlapping(
            provider_id=expert_id, starts_at=starts_at, ends_at=ends_at
        ):
            raise ConsultationRefused(SLOT_TAKEN)
        event = Event.BOOK_EXPERT if expert_id is not None else Event.BOOK_ANY
        # A requester is known by email (as for requests): what was typed is kept on this booking.
        requester = Requester.objects.remember(email=email, name=name, phone=phone, clinic=clinic)
        consultation = Consultation.objects.create(
            clinic=clinic,
            service=service,
            expert_id=expert_id,
            status=lifecycle.transition(NEW, event, Actor.CLIENT),
            mode=mode,
            starts_at=starts_at,
            ends_at=ends_at,
            requester=requester,
            client_name=name,
            client_email=email.lower(),
            client_phone=phone,
            answers=answers,
            created_at=now,
            claimed_at=now if expert_id is not None else None,
        )
        if paid:
            # Bound once to this consultation, for this email and clinic; a refusal rolls the
            # booking back.
            try:
                pay.card_bind(
                    clinic=clinic, token=card_token, subject=payments.subject_of(consultation.pk), email=email
                )
            except pay.PaymentRefused as refused:
                raise ConsultationRefused(str(refused)) from None
        record(consultation, event, before=NEW, now=now)
        emails.booked(consultation)  # stored in this transaction, sent after commit (the outbox)
        publishing.upcoming_changed(clinic.pk)
    return consultation
