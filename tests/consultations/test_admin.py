"""The clinic admin sets up phone consultations on the clinic's page: a service's kind, the number
that calls clients (E.164, checked) and the booking questions; other clinics' admins can't."""

from __future__ import annotations

import pytest

from consultations.models import BookingQuestion, ConsultationProfile
from scheduling.models import Service
from tests.conftest import client_for
from tests.factories import staff
from tests.waitingroom.test_admin_scoping import clinic_form
from waitingroom.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic_admin(clinic_a):
    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, is_staff=True)


def change(client, clinic, **rows):
    return client.post(f"/admin/waitingroom/clinic/{clinic.pk}/change/", clinic_form(clinic, **rows))


def profile_rows(number: str, **settings: str) -> dict:
    """The clinic's phone-consultation settings as the admin's inline posts them."""
    fields = {
        "voice_number": number,
        "record_calls": "on",
        "consent_text": "This call is recorded.",
        "return_window_before_minutes": "15",
        "return_window_after_minutes": "120",
        **settings,
    }
    return {
        "consultation_profile-TOTAL_FORMS": "1",
        **{f"consultation_profile-0-{name}": value for name, value in fields.items()},
    }


@pytest.mark.parametrize("number", ["555 123", "+1 555 123 0000", "+15551230000\x00", "not a number"])
def test_the_voice_number_must_be_valid_e164(clinic_admin, clinic_a, number):
    response = change(client_for(clinic_admin), clinic_a, **profile_rows(number))
    assert response.status_code == 200 and b"E.164" in response.content
    assert not ConsultationProfile.objects.exists()


def test_a_clinic_admin_sets_the_number_a_phone_service_and_a_booking_question(clinic_admin, clinic_a):
    response = change(
        client_for(clinic_admin),
        clinic_a,
        **profile_rows("+12025550100"),
        **{
            "services-TOTAL_FORMS": "1",
            "services-0-name": "Phone consultation",
            "services-0-kind": Service.Kind.PHONE,
            "services-0-duration_minutes": "20",
            "services-0-position": "0",
            "services-0-active": "on",
            "booking_questions-TOTAL_FORMS": "1",
            "booking_questions-0-label": "Pet's name",
            "booking_questions-0-key": "pet_name",
            "booking_questions-0-kind": "text",
            "booking_questions-0-position": "0",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    assert ConsultationProfile.objects.get(clinic=clinic_a).voice_number == "+12025550100"
    assert Service.objects.get(clinic=clinic_a).kind == Service.Kind.PHONE
    assert BookingQuestion.objects.get(clinic=clinic_a).key == "pet_name"


def test_another_clinics_admin_cannot_change_it(clinic_a, clinic_b):
    other = staff(username="bob", clinic=clinic_b, role=Role.CLINIC_ADMIN, is_staff=True)
    response = change(client_for(other), clinic_a, **profile_rows("+12025550100"))
    # Django's answer for a row outside the admin's queryset: back to the index, nothing saved.
    assert response.status_code in (302, 403, 404) and response.get("Location", "/admin/") == "/admin/"
    assert not ConsultationProfile.objects.exists()


def test_the_clinics_own_line_must_be_valid_e164_and_the_call_settings_are_kept(clinic_admin, clinic_a):
    browser = client_for(clinic_admin)
    refused = change(browser, clinic_a, **profile_rows("+12025550100", clinic_phone_line="555 0100"))
    assert refused.status_code == 200 and b"E.164" in refused.content
    assert not ConsultationProfile.objects.filter(clinic=clinic_a).exists()

    change(
        browser,
        clinic_a,
        **profile_rows(
            "+12025550100", clinic_phone_line="+12025550111", clients_may_listen="on", record_calls=""
        ),
    )
    profile = ConsultationProfile.objects.get(clinic=clinic_a)
    assert (profile.clinic_phone_line, profile.clients_may_listen, profile.record_calls) == (
        "+12025550111",
        True,
        False,
    )


def test_a_clinic_cannot_take_another_clinics_voice_number(clinic_a, clinic_b):
    """The number routes return calls and is the caller id: a second clinic with the same number
    would take the first one's returning clients (and call from its number)."""
    ConsultationProfile.objects.create(clinic=clinic_a, voice_number="+12025550100")
    admin_b = staff(username="bea", clinic=clinic_b, role=Role.CLINIC_ADMIN, is_staff=True)
    response = change(client_for(admin_b), clinic_b, **profile_rows("+12025550100"))
    assert response.status_code == 200 and b"already" in response.content
    assert not ConsultationProfile.objects.filter(clinic=clinic_b).exists()
    # Clinics without a number yet are many.
    ConsultationProfile.objects.create(clinic=clinic_b, voice_number="")
