"""Odd input never ends as a server error: every public form, URL and webhook, the staff chat and
broadcast, static files and the sockets answer a clear 4xx (or a socket error frame) and change
nothing. One case per finding of the audit, each with the state it must leave untouched."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.core import mail
from django.test import Client
from django.utils import timezone

from scheduling.models import AppointmentRequest, Meeting, Requester, SchedulingProfile, Service
from tests.conftest import client_for
from tests.support.twilio import signed_post
from tests.support.ws import ALLOWED_ORIGIN, communicator
from visits import services
from visits.models import ChatMessage, PhoneVerification, Visit
from waitingroom.models import Clinic
from waitingroom.outbox.models import EmailMessage, SmsMessage

pytestmark = [pytest.mark.django_db(transaction=True)]

JSON: dict[str, Any] = {"HTTP_ACCEPT": "application/json"}
# A few of the line breaks a one-line field refuses (tests/waitingroom/test_validators.py has all).
LINE_BREAKS = ["\x00", "a\r\nBcc: x@example.com", "a\x0bb", "a\u2028b"]


@dataclass
class World:
    clinic: Clinic
    staff: Client
    patient: Client
    visit: Visit
    token: str
    provider_id: int


@pytest.fixture
def world(clinic_a, provider, settings) -> World:
    settings.WEBSOCKET_ALLOWED_ORIGINS = [ALLOWED_ORIGIN]
    patient = Client()
    location = patient.post("/c/clinic-a/", {"patient_name": "Ann"})["Location"]
    visit = Visit.objects.get()
    services.visit_media_result(visit_id=visit.id, ok=True)  # past the device check: chat is open
    SmsMessage.objects.create(clinic=clinic_a, reference="r", to="+1", body="x", sid="SM1", status="queued")
    # Requesters propose times (on-demand mode) for the one service; the baseline cases below
    # prove the forms' other fields are valid, so each refusal is the odd value's.
    Service.objects.create(clinic=clinic_a, name="General", duration_minutes=30)
    SchedulingProfile.objects.filter(clinic=clinic_a).update(availability_mode="on_demand")
    return World(clinic_a, client_for(provider), patient, visit, location.split("/")[2], provider.pk)


def counts() -> tuple:
    """Everything a refused request could have written."""
    return (
        Visit.objects.count(),
        ChatMessage.objects.count(),
        list(Clinic.objects.values_list("broadcast_message", flat=True)),
        AppointmentRequest.objects.count(),
        Requester.objects.count(),
        Meeting.objects.count(),
        EmailMessage.objects.count(),
        list(SmsMessage.objects.values_list("status", "error")),
        list(Visit.objects.values_list("status", "verified_phone")),
        PhoneVerification.objects.count(),
    )


def static_traversal(w: World, settings) -> int:
    """Through the ASGI stack daphne runs, static handler included, with DEBUG off."""
    from waitingroom.asgi import application

    settings.DEBUG = False

    async def get() -> int:
        response = await HttpCommunicator(application, "GET", "/static/..%2f..%2fmanage.py").get_response()
        return response["status"]

    return async_to_sync(get)()


def twilio_nul_sid(w: World, settings) -> int:
    response = signed_post(
        Client(),
        "/twilio/sms-status/",
        {"MessageSid": "SM1\x00", "MessageStatus": "delivered"},
        base_url=settings.PUBLIC_BASE_URL,
        token=settings.TWILIO_AUTH_TOKEN,
    )
    return response.status_code


def deep_json_on_socket(w: World, settings) -> int:
    """A 200,000-deep array: an error frame, and the socket still answers a ping."""

    async def talk() -> int:
        session = w.patient.cookies[settings.SESSION_COOKIE_NAME].value
        ws = communicator(f"/ws/visit/{w.token}/", session_key=session)
        assert (await ws.connect())[0]
        await ws.send_to(text_data="[" * 200_000 + "]" * 200_000)
        reply = await ws.receive_json_from(timeout=5)
        await ws.send_json_to({"type": "ping"})
        pong = await ws.receive_json_from()
        await ws.disconnect()
        assert reply["type"] == "error" and pong["type"] == "pong", (reply, pong)
        return 400

    return async_to_sync(talk)()


def post(who: str, url: str, data: dict | Callable, **changes) -> Callable[[World, object], int]:
    def run(w: World, settings) -> int:
        client = {"staff": w.staff, "patient": w.patient, "anon": Client()}[who]
        form = {**(data(w) if callable(data) else data), **changes}
        return client.post(url.format(token=w.token, visit=w.visit.id), form, **JSON).status_code

    return run


def get(url: str, who: str = "anon") -> Callable[[World, object], int]:
    def run(w: World, settings) -> int:
        client = {"staff": w.staff, "anon": Client()}[who]
        return client.get(url.format(token=w.token, visit=w.visit.id)).status_code

    return run


SOON = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT10:00")


def with_ids(data: dict) -> Callable[[World], dict]:
    """The form's data with the clinic's service and provider filled in."""

    def build(w: World) -> dict:
        return {**data, "service": Service.objects.get().pk, "provider": w.provider_id}

    return build


REQUEST = with_ids({"kind": "scheduled", "name": "Rita", "email": "rita@example.com", "time_1": SOON})
MEETING = with_ids({"guest_name": "Gus", "guest_email": "gus@example.com", "time_1": SOON})


def valid(form: Callable[[World], dict], url: str, who: str, model) -> Callable[[World, object], int]:
    """The baseline: the same form, valid, is accepted."""

    def run(w: World, settings) -> int:
        client = {"staff": w.staff, "anon": Client()}[who]
        response = client.post(url, form(w))
        assert response.status_code == 302, response.context["form"].errors
        assert model.objects.count() == 1
        return 302

    return run


CASES: dict[str, tuple[Callable[[World, object], int], int]] = {
    "baseline: a valid request": (valid(REQUEST, "/c/clinic-a/request/", "anon", AppointmentRequest), 302),
    "baseline: a valid meeting": (valid(MEETING, "/meetings/new/?clinic=clinic-a", "staff", Meeting), 302),
    "patient chat NUL": (post("patient", "/v/{token}/chat/", {"body": "hi\x00"}), 400),
    "staff chat NUL": (post("staff", "/dashboard/clinic-a/visits/{visit}/chat/", {"body": "hi\x00"}), 400),
    "broadcast NUL": (post("staff", "/dashboard/clinic-a/broadcast/", {"message": "a\x00b"}), 400),
    "broadcast line break": (
        post("staff", "/dashboard/clinic-a/broadcast/", {"message": "a\u2028b"}),
        400,
    ),
    "static traversal": (static_traversal, 400),
    "signed Twilio callback, NUL in MessageSid": (twilio_nul_sid, 400),
    "200,000-deep JSON on a socket": (deep_json_on_socket, 400),
    "phone NUL": (post("patient", "/v/{token}/phone/", {"phone": "+1555\x000100"}), 400),
    "verification code NUL": (post("patient", "/v/{token}/phone/verify/", {"code": "12\x003456"}), 400),
    "visit token NUL": (get("/v/%00/"), 404),
    "meeting token NUL": (get("/m/1-%00/"), 404),
    "recall link NUL": (get("/r/%00/"), 404),
    "requester link NUL": (get("/requests/link/%00/"), 302),  # back to sign-in, saying the link is bad
    "?clinic= NUL on the overview": (get("/meetings/?clinic=%00", "staff"), 404),
    "?clinic= NUL on dispatch": (get("/dispatch/?clinic=%00", "staff"), 404),
    "?service= NUL on the calendar": (get("/c/clinic-a/calendar/?service=%00"), 200),
    "?slot= NUL on the request form": (get("/c/clinic-a/request/?slot=%00&provider=%00"), 200),
    "huge id": (get("/c/clinic-a/calendar/99999999999999999999/"), 404),
    "guest key NUL": (post("anon", "/meet/", {"key": "123\x00456789"}), 400),
    "requester sign-in NUL": (post("anon", "/requests/", {"email": "a\x00@example.com"}), 400),
    "requester sign-in \\x0b": (post("anon", "/requests/", {"email": '"a\x0bb"@example.com'}), 400),
    "meeting guest email \\x0b": (
        post("staff", "/meetings/new/?clinic=clinic-a", MEETING, guest_email='"g\x0bx"@example.com'),
        400,
    ),
    **{
        f"intake name {value!r}": (post("anon", "/c/clinic-a/", {"patient_name": value}), 400)
        for value in LINE_BREAKS
    },
    **{
        f"request name {value!r}": (post("anon", "/c/clinic-a/request/", REQUEST, name=value), 400)
        for value in LINE_BREAKS
    },
    "request email \\x0b": (
        post("anon", "/c/clinic-a/request/", REQUEST, email='"r\x0bx"@example.com'),
        400,
    ),
    "request note NUL": (post("anon", "/c/clinic-a/request/", REQUEST, note="a\x00b"), 400),
    "request note \\x0b": (post("anon", "/c/clinic-a/request/", REQUEST, note="a\x0bb"), 400),
    **{
        f"meeting guest name {value!r}": (
            post("staff", "/meetings/new/?clinic=clinic-a", MEETING, guest_name=value),
            400,
        )
        for value in LINE_BREAKS
    },
}


@pytest.mark.parametrize("case", CASES)
def test_odd_input_gets_a_clear_refusal_and_changes_nothing(world, settings, case):
    run, expected = CASES[case]
    mail.outbox.clear()
    before = counts()
    assert run(world, settings) == expected
    if case.startswith("baseline"):
        return
    assert counts() == before
    assert mail.outbox == []
