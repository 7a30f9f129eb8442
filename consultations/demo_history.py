"""Ninety days of past phone consultations for the demo clinic, with their card payments, so that
/reports/ shows consultation volumes and payments (called by `manage.py seed_demo` after
consultations' own demo; safe to run again).

Consultations of the paid service (Vet medication review, 45.00): most completed and charged
(a few charges failed, a few refunded in part), some cancelled. Made in bulk with their booking
and closing events; the payments as waitingroom/payments/ stores them once Stripe has answered."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from consultations.lifecycle import NEW, Event, Status
from consultations.models import Consultation, ConsultationEvent
from scheduling.models import Requester, Service
from waitingroom.models import Clinic
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment
from waitingroom.payments.selectors import minor_units

DAYS = 90
CLIENTS = "@demo-client-history.example"
NAMES = ["Kim Barker", "Lou Whisker", "Mia Hooves", "Ned Feathers", "Oli Paws", "Pia Tails"]


def seed(clinic: Clinic) -> None:
    if Consultation.objects.filter(clinic=clinic, client_email__endswith=CLIENTS).exists():
        return
    expert = get_user_model().objects.get(username="provider")
    service = Service.objects.get(clinic=clinic, name="Vet medication review")
    price = minor_units(service.price or Decimal(0))
    rng = random.Random(22)  # noqa: S311 - demo data, the same on every machine
    today = timezone.localdate(timezone.now(), clinic.tzinfo)
    requesters = {}
    for name in NAMES:
        email = f"{name.split()[0].lower()}{CLIENTS}"
        requesters[name], _ = Requester.objects.get_or_create(email=email, defaults={"name": name})
    rows: list[Consultation] = []
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back)
        for hour in sorted(
            rng.sample(range(8, 19), rng.randint(0, 2) if day.weekday() >= 5 else rng.randint(1, 5))
        ):
            starts = datetime.combine(day, time(hour, rng.choice([0, 20, 40])), tzinfo=clinic.tzinfo)
            name = rng.choice(NAMES)
            cancelled = rng.random() < 0.12
            rows.append(
                Consultation(
                    clinic=clinic,
                    service=service,
                    expert=expert,
                    status=Status.CANCELLED if cancelled else Status.COMPLETED,
                    is_open=False,
                    starts_at=starts,
                    ends_at=starts + service.duration,
                    requester=requesters[name],
                    client_name=name,
                    client_email=requesters[name].email,
                    client_phone="+15555550145",
                    answers={"pet_name": "Biscuit", "species": "Dog", "problem": "Medication review."},
                    created_at=starts - timedelta(days=rng.randint(1, 6)),
                    claimed_at=starts - timedelta(days=1),
                    started_at=None if cancelled else starts,
                    completed_at=None if cancelled else starts + service.duration,
                    cancelled_at=starts - timedelta(hours=3) if cancelled else None,
                    cancel_reason="The client asked to cancel." if cancelled else "",
                )
            )
    consultations = Consultation.objects.bulk_create(rows, batch_size=500)
    events, payments = [], []
    for c in consultations:
        events.append(ConsultationEvent(consultation=c, event=Event.BOOK_EXPERT, from_status=NEW,
                                        to_status=Status.CLAIMED, at=c.created_at))  # fmt: skip
        if c.status == Status.CANCELLED:
            assert c.cancelled_at is not None
            events.append(ConsultationEvent(consultation=c, event=Event.CLIENT_CANCEL, from_status=Status.CLAIMED,
                                            to_status=Status.CANCELLED, at=c.cancelled_at))  # fmt: skip
            continue
        assert c.completed_at is not None
        events.append(ConsultationEvent(consultation=c, event=Event.COMPLETE, from_status=Status.CLAIMED,
                                        to_status=Status.COMPLETED, at=c.completed_at))  # fmt: skip
        if rng.random() < 0.15:
            continue  # not charged (yet)
        at = c.completed_at + timedelta(minutes=rng.randint(1, 30))
        failed = rng.random() < 0.07
        payments.append(
            Payment(
                clinic=clinic,
                subject=f"consultation:{c.pk}",
                description=f"Phone consultation: {service.name}",
                amount=price,
                currency=clinic.currency,
                status=PaymentStatus.FAILED if failed else PaymentStatus.SUCCEEDED,
                idempotency_key=f"charge:consultation:{c.pk}:1",
                failure_code="card_declined" if failed else "",
                failure_message="Your card was declined." if failed else "",
                created_by=expert,
                created_at=at,
                updated_at=at,
                succeeded_at=None if failed else at,
            )
        )
    ConsultationEvent.objects.bulk_create(events, batch_size=1000)
    charges = Payment.objects.bulk_create(payments, batch_size=500)
    refunds = []
    for charge in charges:
        if charge.status == PaymentStatus.SUCCEEDED and rng.random() < 0.06:
            at = charge.created_at + timedelta(days=rng.randint(0, 3))
            refunds.append(
                Payment(
                    clinic=clinic,
                    subject=charge.subject,
                    kind=PaymentKind.REFUND,
                    parent=charge,
                    description=charge.description,
                    amount=price // 3,
                    currency=charge.currency,
                    status=PaymentStatus.SUCCEEDED,
                    idempotency_key=f"refund:{charge.subject}:1",
                    reason="Part of the fee waived.",
                    created_by=expert,
                    created_at=at,
                    updated_at=at,
                    succeeded_at=at,
                )
            )
    Payment.objects.bulk_create(refunds)
