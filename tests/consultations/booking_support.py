"""Helpers of the booking tests: clinic A's experts' hours, booking through the service, and the
client's code step on the booking page."""

from __future__ import annotations

import re
from datetime import datetime

from django.test import Client

from consultations.booking import consultation_book
from consultations.models import Consultation
from tests.consultations.conftest import CLIENT_EMAIL, CLIENT_PHONE
from waitingroom.outbox import sms_backends

BOOK_URL = "/c/clinic-a/consult/"
ANSWERS = {"pet_name": "Rex", "species": "Dog", "problem": "Limping since Sunday"}


def book(
    clinic, service, *, starts_at: datetime | None, expert=None, email=CLIENT_EMAIL, **changes
) -> Consultation:
    fields = {
        "name": "Casey Client",
        "email": email,
        "phone": CLIENT_PHONE,
        "answers": dict(ANSWERS),
        **changes,
    }
    return consultation_book(
        clinic=clinic,
        service=service,
        expert_id=expert.pk if expert is not None else None,
        starts_at=starts_at,
        **fields,
    )


def last_code() -> str:
    body = sms_backends.outbox[-1].body
    found = re.search(r"\b(\d{6})\b", body)
    assert found, body
    return found.group(1)


def send_code(client: Client, phone: str = CLIENT_PHONE):
    return client.post(f"{BOOK_URL}code/send/", {"phone": phone})


def verify(client: Client, phone: str = CLIENT_PHONE) -> None:
    """This browser verifies `phone` (a code texted, then entered)."""
    assert send_code(client, phone).status_code == 200
    answer = client.post(f"{BOOK_URL}code/verify/", {"code": last_code()})
    assert answer.status_code == 200, answer.content
