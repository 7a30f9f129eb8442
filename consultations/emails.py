"""What consultation emails say, and to whom: the words are template pairs under
templates/consultations/emails/ (waitingroom/outbox/rendering.py); this module picks the context.
Each is queued through the outbox (stored once per reference, sent after commit by a task)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from consultations.models import Consultation, ConsultationProfile
from scheduling.availability import person
from scheduling.links import absolute, requester_link
from scheduling.times import local_time
from waitingroom.models import Clinic
from waitingroom.outbox.queueing import email_queue
from waitingroom.outbox.rendering import render_email
from waitingroom.payments import selectors as pay_selectors

TEMPLATES = "consultations/emails/"


def voice_number(clinic: Clinic) -> str:
    """The number the clinic's phone bridge calls clients from ("" until an admin sets it)."""
    number = ConsultationProfile.objects.filter(clinic=clinic).values_list("voice_number", flat=True).first()
    return number or ""


def room_url(consultation: Consultation) -> str:
    return absolute(reverse("consultation_client_room", args=[consultation.client_token]))


def book_url(clinic: Clinic) -> str:
    return absolute(reverse("consultation_book", args=[clinic.slug]))


def paying(consultation: Consultation) -> str:
    """For a paid service, what the client will pay and with which card ("" for a free one): the
    booking saved the card without charging it. The payments core's reads, not consultations.payments
    (which imports the services that send these emails)."""
    service = consultation.service
    if not (service.payment_required and service.price and service.price > 0):
        return ""
    price = pay_selectors.money(pay_selectors.minor_units(service.price), consultation.clinic.currency)
    card = pay_selectors.card_for(subject=f"consultation:{consultation.pk}")
    return f"Price: {price}, charged to your {card.label if card else 'card'} after the consultation."


def _context(consultation: Consultation) -> dict[str, Any]:
    clinic = consultation.clinic
    return {
        "consultation": consultation,
        "clinic": clinic,
        "service": consultation.service,
        "asap": consultation.mode == Consultation.Mode.ASAP,
        "when": local_time(consultation.starts_at, clinic),
        "expert": person(consultation.expert) if consultation.expert_id else "",
        "voice_number": voice_number(clinic),
        "room_url": room_url(consultation),
        "requester_url": requester_link(consultation.requester),
        "paying": paying(consultation),
    }


def booked(consultation: Consultation) -> None:
    """The client's confirmation: their room link, the time in the clinic's zone, the number that
    will call them, and their requester page."""
    email_queue(
        clinic=consultation.clinic,
        reference=f"consultation-{consultation.pk}-booked",
        to=[consultation.client_email],
        content=render_email(TEMPLATES + "booked", _context(consultation)),
    )


def reminder_24h(consultation: Consultation) -> None:
    email_queue(
        clinic=consultation.clinic,
        reference=f"consultation-{consultation.pk}-reminder-24h",
        to=[consultation.client_email],
        content=render_email(TEMPLATES + "reminder_24h", _context(consultation)),
    )


def cancelled(consultation: Consultation, reason: str) -> None:
    """The clinic cancelled (the room's cancel service calls this after commit): why, and a link to
    book again."""
    email_queue(
        clinic=consultation.clinic,
        reference=f"consultation-{consultation.pk}-cancelled",
        to=[consultation.client_email],
        content=render_email(
            TEMPLATES + "cancelled",
            {**_context(consultation), "reason": reason, "book_url": book_url(consultation.clinic)},
        ),
    )
