"""The client's booking page: the SMS code step (offline queueing's code, limits and storage), the
booking POST (JSON for the page script, a redirect without it), its refusals changing nothing, the
confirmation email, and the requester page listing the consultation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client

from consultations import services
from consultations.lifecycle import Status
from consultations.models import BookingQuestion, Consultation, ConsultationProfile
from scheduling.links import requester_link
from scheduling.models import Requester, Service
from scheduling.times import slot_value
from tests.consultations.booking_support import BOOK_URL, last_code, send_code, verify
from tests.consultations.conftest import CLIENT_EMAIL, CLIENT_PHONE, make_consultation
from tests.scheduling.conftest import MONDAY_NOON, tomorrow, weekday_hours
from tests.support.fields import EMAIL, NAME, TEL, assert_field, fields, fields_by_id
from visits.models import PhoneVerification
from waitingroom.outbox import sms_backends
from waitingroom.outbox.models import EmailMessage, SmsMessage

# Codes and emails leave on commit: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)
JSON = {"HTTP_ACCEPT": "application/json"}
VOICE = "+15551230000"


@pytest.fixture
def page(clinic_a, provider, phone_service):
    """Clinic A takes phone consultations with Paula (09-17 daily), calls from VOICE, and asks the
    pet's name; the clock is Monday noon."""
    weekday_hours(clinic_a, provider)
    ConsultationProfile.objects.create(clinic=clinic_a, voice_number=VOICE)
    BookingQuestion.objects.create(clinic=clinic_a, label="Pet's name", key="pet_name", required=True)
    with time_machine.travel(MONDAY_NOON, tick=False) as traveller:
        yield traveller


def booking(phone_service, **changes) -> dict:
    return {
        "service": phone_service.pk,
        "expert": "",
        "when": slot_value(tomorrow(phone_service.clinic, 10)),
        "q_pet_name": "Rex",
        "name": "Casey Client",
        "email": CLIENT_EMAIL,
        "phone": "(202) 555-0143",
        **changes,
    }


def booking_for_clinic_a(**changes) -> dict:
    return booking(Service.objects.get(kind=Service.Kind.PHONE, clinic__slug="clinic-a"), **changes)


def state() -> tuple:
    return (
        Consultation.objects.count(),
        Requester.objects.count(),
        EmailMessage.objects.count(),
        SmsMessage.objects.count(),
    )


# --- The code step --------------------------------------------------------------------------------


def test_the_page_offers_phone_services_and_open_times_only(page, clinic_a, provider, phone_service):
    Service.objects.create(clinic=clinic_a, name="Video visit", kind=Service.Kind.VIDEO)
    html = Client().get(BOOK_URL).content.decode()
    assert "Phone consultation" in html and "Video visit" not in html
    assert slot_value(tomorrow(clinic_a, 10)) in html and "Paula Provider" in html and "Any expert" in html
    assert 'name="files" multiple' in html and "data-booking-files" in html
    # ...and the request form offers video services only.
    request_form = Client().get("/c/clinic-a/request/").content.decode()
    assert "Video visit" in request_form and "Phone consultation" not in request_form


def test_a_six_digit_code_is_texted_stored_hashed_and_verifies_the_number(page, clinic_a):
    client = Client()
    answer = send_code(client, "(202) 555-0143")
    assert answer.status_code == 200 and answer.json() == {"ok": True, "sent_to": "•••• 0143"}
    [sms] = sms_backends.outbox
    code = last_code()
    assert sms.to == CLIENT_PHONE and len(code) == 6 and "Clinic A" in sms.body
    row = PhoneVerification.objects.get()
    stored = [str(value) for value in PhoneVerification.objects.values_list().get()]
    assert row.subject.startswith("booking:") and row.visit is None and len(row.code_hash) == 64
    assert not any(code in value for value in stored)  # the row never holds the code
    verified = client.post(f"{BOOK_URL}code/verify/", {"code": code})
    assert verified.json() == {"ok": True, "verified": "•••• 0143"}
    # A code is this browser's: another browser can't use it (its booking key differs).
    assert Client().post(f"{BOOK_URL}code/verify/", {"code": code}).status_code == 400


def test_wrong_codes_are_limited_to_five(page):
    client = Client()
    send_code(client)
    wrong = "000000" if last_code() != "000000" else "111111"
    for left in [4, 3, 2, 1, 0]:
        answer = client.post(f"{BOOK_URL}code/verify/", {"code": wrong})
        assert answer.status_code == 400 and f"{left} tr" in answer.json()["error"]
    answer = client.post(f"{BOOK_URL}code/verify/", {"code": last_code()})
    assert answer.status_code == 400 and "Too many wrong codes" in answer.json()["error"]
    assert client.post(BOOK_URL, booking_for_clinic_a(), **JSON).status_code == 400


def test_a_code_expires_after_ten_minutes(page):
    client = Client()
    send_code(client)
    page.shift(timedelta(minutes=10, seconds=1))
    answer = client.post(f"{BOOK_URL}code/verify/", {"code": last_code()})
    assert answer.status_code == 400 and "expired" in answer.json()["error"]


def test_code_sends_are_limited_per_browser_and_per_address(page, settings):
    client = Client()
    for _ in range(3):
        assert send_code(client).status_code == 200
    answer = send_code(client, "+1 202 555 0199")
    assert answer.status_code == 400 and "Too many codes" in answer.json()["error"]
    # Per client address too (waitingroom/ratelimit.py), whatever the browser and the number.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone-verification": (5, 3600)}
    answer = send_code(Client(), "+1 202 555 0188")
    assert answer.status_code == 200
    answer = send_code(Client(), "+1 202 555 0177")
    assert answer.status_code == 429
    assert len(sms_backends.outbox) == 4


def test_code_endpoints_of_a_clinic_without_phone_consultations_are_404(clinic_b):
    assert Client().post("/c/clinic-b/consult/code/send/", {"phone": CLIENT_PHONE}).status_code == 404
    assert Client().post("/c/nowhere/consult/code/send/", {"phone": CLIENT_PHONE}).status_code == 404
    assert sms_backends.outbox == []


# --- Booking --------------------------------------------------------------------------------------


def test_booking_answers_json_with_the_room_and_emails_the_link_and_the_clinics_number(page, clinic_a):
    client = Client()
    verify(client)
    answer = client.post(BOOK_URL, booking_for_clinic_a(), **JSON)
    assert answer.status_code == 200, answer.content
    consultation = Consultation.objects.get()
    token = consultation.client_token
    assert answer.json() == {
        "ok": True,
        "room_url": f"/consult/room/{token}/",
        "upload_url": f"/consult/room/{token}/files/",
    }
    assert consultation.answers == {"pet_name": "Rex"} and consultation.client_phone == CLIENT_PHONE
    [email] = mail.outbox
    assert email.to == [CLIENT_EMAIL]
    assert f"https://clinic.example.test/consult/room/{token}/" in email.body
    assert VOICE in email.body and "Tuesday 24 November 2026, 10:00 EST" in email.body
    assert "https://clinic.example.test/requests/link/" in email.body  # the requester's page
    html = email.alternatives[0][0]
    assert f"https://clinic.example.test/consult/room/{token}/" in html and VOICE in html


def test_booking_without_javascript_redirects_to_the_room(page):
    client = Client()
    verify(client)
    response = client.post(BOOK_URL, booking_for_clinic_a())
    consultation = Consultation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/consult/room/{consultation.client_token}/"


def test_booking_with_an_unverified_number_is_refused(page):
    before = state()
    answer = Client().post(BOOK_URL, booking_for_clinic_a(), **JSON)
    assert answer.status_code == 400 and "Verify this mobile number" in answer.json()["errors"]["phone"][0]
    assert state() == before


def test_booking_with_another_number_than_the_verified_one_is_refused(page):
    client = Client()
    verify(client)
    before = state()
    answer = client.post(BOOK_URL, booking_for_clinic_a(phone="+1 202 555 0199"), **JSON)
    assert answer.status_code == 400 and "Verify this mobile number" in answer.json()["error"]
    assert state() == before


def test_a_verification_is_good_for_thirty_minutes(page):
    client = Client()
    verify(client)
    page.shift(timedelta(minutes=31))
    assert client.post(BOOK_URL, booking_for_clinic_a(), **JSON).status_code == 400
    assert not Consultation.objects.exists()


def test_a_taken_slot_is_refused_with_409(page, clinic_a, provider):
    first, second = Client(), Client()
    verify(first)
    verify(second)
    assert first.post(BOOK_URL, booking_for_clinic_a(expert=provider.pk), **JSON).status_code == 200
    before = state()
    answer = second.post(BOOK_URL, booking_for_clinic_a(expert=provider.pk, email="b@example.com"), **JSON)
    # The slot left the form's choices: refused by the form, or by the service if it was a race.
    assert answer.status_code in (400, 409) and answer.json()["ok"] is False
    assert state() == before


def test_a_video_service_or_another_clinics_service_or_expert_is_refused(page, clinic_a, clinic_b, outsider):
    client = Client()
    verify(client)
    video = Service.objects.create(clinic=clinic_a, name="Video", kind=Service.Kind.VIDEO)
    theirs = Service.objects.create(clinic=clinic_b, name="Theirs", kind=Service.Kind.PHONE)
    before = state()
    for changes in ({"service": video.pk}, {"service": theirs.pk}, {"expert": outsider.pk}):
        answer = client.post(BOOK_URL, booking_for_clinic_a(**changes), **JSON)
        assert answer.status_code == 400, changes
    assert state() == before


ODD = ["\x00", "a\r\nBcc: x@example.com", "a\x0bb", "a\u2028b", "1\x00"]


@pytest.mark.parametrize("field", ["service", "expert", "when", "q_pet_name", "name", "email", "phone"])
def test_control_characters_in_any_field_are_a_400_that_changes_nothing(page, field):
    client = Client()
    verify(client)
    before = state()
    for odd in ODD:
        for accept in (JSON, {}):
            response = client.post(BOOK_URL, booking_for_clinic_a(**{field: odd}), **accept)
            assert response.status_code == 400, (field, odd)
    assert state() == before


def test_control_characters_on_the_code_endpoints_are_a_400_that_changes_nothing(page, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone-verification": (100, 3600)}
    client = Client()
    send_code(client)
    before = (state(), list(PhoneVerification.objects.values_list("attempts", "used_at")))
    for odd in ODD:
        assert client.post(f"{BOOK_URL}code/send/", {"phone": odd}).status_code == 400
        assert client.post(f"{BOOK_URL}code/verify/", {"code": odd}).status_code == 400
    # A wrong code counts (that is its limit); nothing else changed.
    assert (state(), PhoneVerification.objects.count()) == (before[0], 1)


# --- The requester's page -------------------------------------------------------------------------


def test_the_requester_page_lists_the_consultation_with_its_room(page, clinic_a, provider):
    client = Client()
    verify(client)
    client.post(BOOK_URL, booking_for_clinic_a(expert=provider.pk), **JSON)
    consultation = Consultation.objects.get()
    requester = Client()
    requester.get(requester_link(consultation.requester).removeprefix("https://clinic.example.test"))
    html = requester.get("/requests/").content.decode()
    section = html.split("data-consultations")[1]
    assert f'data-consultation="{consultation.pk}"' in section and "Phone consultation" in section
    assert "Tue 24 Nov 2026, 10:00 EST" in section and "Paula Provider" in section and "Claimed" in section
    assert f'href="/consult/room/{consultation.client_token}/"' in section
    # Someone else's page does not list it.
    other = Requester.objects.create(email="other@example.com", name="Other")
    stranger = Client()
    stranger.get(requester_link(other).removeprefix("https://clinic.example.test"))
    assert "data-consultations" not in stranger.get("/requests/").content.decode()


def test_json_errors_are_plain_words(page):
    answer = Client().post(BOOK_URL, booking_for_clinic_a(name=""), **JSON)
    body = json.loads(answer.content)
    assert answer.status_code == 400 and body["ok"] is False and body["error"]


def test_a_service_without_a_description_shows_its_length_alone(page, phone_service):
    html = Client().get(BOOK_URL).content.decode()
    assert "data-service-info>20 min</p>" in html
    phone_service.description = "A call with an expert"
    phone_service.save(update_fields=["description"])
    html = Client().get(BOOK_URL).content.decode()
    assert "data-service-info>A call with an expert · 20 min</p>" in html


def test_booking_with_someone_elses_email_does_not_open_their_history_and_notes(
    page, clinic_a, provider, phone_service
):
    earlier = make_consultation(
        clinic_a,
        phone_service,
        expert=provider,
        status=Status.COMPLETED,
        starts_at=MONDAY_NOON - timedelta(days=30),
    )
    services.note_save(
        consultation_id=earlier.pk, by=provider, body="Old limp, healed", expected_note_version=0
    )
    stranger = Client()
    verify(stranger, "(202) 555-0199")  # their own number: the code proves it, not the email

    room = stranger.post(BOOK_URL, booking_for_clinic_a(phone="(202) 555-0199"), follow=True)

    assert room.status_code == 200 and "data-history" in room.content.decode()
    assert f'data-history-row="{earlier.pk}"' not in room.content.decode()
    assert "Old limp, healed" not in room.content.decode()
    # The client who booked with their own number sees their history in their new room.
    owner = Client()
    verify(owner)
    mine = owner.post(BOOK_URL, booking_for_clinic_a(when=slot_value(tomorrow(clinic_a, 11))), follow=True)
    assert f'data-history-row="{earlier.pk}"' in mine.content.decode()
    assert "Old limp, healed" in mine.content.decode()


def test_every_personal_field_tells_a_phone_its_keyboard_and_saved_value(page):
    html = Client().get(BOOK_URL).content.decode()
    found = fields(html)
    assert_field(found["name"], NAME)
    assert_field(found["email"], EMAIL)
    assert_field(found["phone"], TEL)
    # The texted code: the number keyboard and the SMS's code offered by the phone.
    assert_field(
        fields_by_id(html)["booking-code"], {"inputmode": "numeric", "autocomplete": "one-time-code"}
    )
