"""Forms on phones: the intake form asks for the right keyboards and autofill, the SMS offer on the
wait screen starts from the number typed at intake, and a mistyped number can be changed after a
code was sent to it."""

from __future__ import annotations

import pytest
from django.test import Client

from visits import selectors, services
from visits.models import IntakeField

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(clinic_a):
    clinic_a.offline_queueing = True
    clinic_a.save(update_fields=["offline_queueing"])
    IntakeField.objects.create(clinic=clinic_a, key="mobile", label="Mobile", kind=IntakeField.Kind.PHONE)
    IntakeField.objects.create(clinic=clinic_a, key="email", label="Email", kind=IntakeField.Kind.EMAIL)
    IntakeField.objects.create(clinic=clinic_a, key="state", label="State", kind=IntakeField.Kind.REGION)
    return clinic_a


def test_the_intake_form_asks_for_phone_email_and_name_keyboards_and_autofill(clinic):
    html = Client().get(f"/c/{clinic.slug}/").content.decode()
    assert 'autocomplete="name"' in html
    assert 'type="tel"' in html and 'inputmode="tel"' in html and 'autocomplete="tel"' in html
    assert 'type="email"' in html and 'autocomplete="email"' in html
    assert '<option value="NY">New York</option>' in html


def waiting_patient(clinic, answers: dict) -> tuple[Client, str]:
    patient = Client()
    response = patient.post(f"/c/{clinic.slug}/", {"patient_name": "Ann", **answers})
    token = response["Location"].strip("/").split("/")[-1]
    visit = selectors.patient_visit(
        token=token, bound_visit_ids=patient.session[selectors.PATIENT_SESSION_KEY]
    )
    services.visit_media_result(visit_id=visit.id, ok=True)
    return patient, token


def test_the_sms_offer_starts_from_the_number_typed_at_intake(clinic):
    patient, token = waiting_patient(clinic, {"q_mobile": "+1 202 555 0123", "q_state": "NY"})
    html = patient.get(f"/v/{token}/").content.decode()
    assert 'value="+1 202 555 0123"' in html
    assert "Text me a code" in html


def test_a_mistyped_number_can_be_changed_after_the_code_was_sent(clinic):
    patient, token = waiting_patient(clinic, {})
    assert patient.post(f"/v/{token}/phone/", {"phone": "+12025550199"}).json()["ok"]
    sent = patient.get(f"/v/{token}/state/").json()["html"]
    assert "0199" in sent and "Change number" in sent and 'action="phone/"' in sent
    assert patient.post(f"/v/{token}/phone/", {"phone": "+12025550123"}).json()["ok"]
    again = patient.get(f"/v/{token}/state/").json()["html"]
    assert "0123" in again and "0199" not in again
