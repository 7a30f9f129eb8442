"""Test stand-ins for what the apps above plug into the bridge through settings: a subject
handler that records what it heard, and an inbound route for one clinic number and client."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User

from waitingroom.models import Clinic
from waitingroom.voice.models import PhoneCall
from waitingroom.voice.services import InboundRoute

CLINIC_NUMBER = "+15005550100"
CLINIC_LINE = "+15005550199"
STAFF_NUMBER = "+15005550111"
CLIENT_NUMBER = "+15005550122"
HEARD: list[tuple[str, str, str]] = []  # (what, the call's status, its outcome) in order


def heard(call: PhoneCall, *, what: str) -> None:
    HEARD.append((what, call.status, call.outcome))


def route(*, to_number: str, from_number: str, now: datetime) -> InboundRoute | None:
    if to_number != CLINIC_NUMBER:
        return None
    if from_number != CLIENT_NUMBER:
        return InboundRoute(call_kwargs=None, message="This is Clinic A.", clinic_line=CLINIC_LINE)
    return InboundRoute(
        call_kwargs=call_kwargs(Clinic.objects.get(slug="clinic-a"), User.objects.get(username="paula")),
        message="This is Clinic A.",
        clinic_line=CLINIC_LINE,
    )


def call_kwargs(clinic: Clinic, staff: User, *, record: bool = True) -> dict:
    return {
        "clinic": clinic,
        "subject": "consultation:41",
        "staff": staff,
        "staff_number": STAFF_NUMBER,
        "client_number": CLIENT_NUMBER,
        "from_number": CLINIC_NUMBER,
        "client_first_name": "Rosa",
        "service_label": "Nutrition call",
        "record": record,
        "consent_text": "This call is recorded for your care and training.",
    }
