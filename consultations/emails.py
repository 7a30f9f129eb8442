"""What a consultation's client is emailed. The words are templates (templates/consultations/emails/,
a text and an HTML part each); this module picks the recipient and the context. Queued through
waitingroom.outbox.queueing: stored in the caller's transaction, sent after commit, one per
reference."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from consultations.models import Consultation
from scheduling.availability import person
from scheduling.links import absolute
from scheduling.times import local_time
from waitingroom.models import Clinic
from waitingroom.outbox.queueing import email_queue
from waitingroom.outbox.rendering import render_email

# The clinic's consultation booking page (consultations/booking views).
BOOKING_URL_NAME = "consultation_book"


def booking_link(clinic: Clinic) -> str:
    """The absolute link to book another consultation with the clinic."""
    try:
        return absolute(reverse(BOOKING_URL_NAME, args=[clinic.slug]))
    except NoReverseMatch:
        # Until the booking pages are merged: the clinic's request form is its public booking page.
        return absolute(reverse("request_form", args=[clinic.slug]))


def room_link(consultation: Consultation) -> str:
    return absolute(reverse("consultation_client_room", args=[consultation.client_token]))


def cancelled(consultation: Consultation) -> None:
    """The clinic cancelled: the client hears why and is invited to book again."""
    clinic = consultation.clinic
    email_queue(
        clinic=clinic,
        reference=f"consultation-{consultation.pk}-cancelled",
        to=[consultation.client_email],
        content=render_email(
            "consultations/emails/cancelled",
            {
                "consultation": consultation,
                "clinic": clinic,
                "expert": person(consultation.expert) if consultation.expert else "",
                "when": local_time(consultation.starts_at, clinic),
                "reason": consultation.cancel_reason,
                "booking_url": booking_link(clinic),
                "room_url": room_link(consultation),
            },
        ),
    )
