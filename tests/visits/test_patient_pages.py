"""The clinic link, the intake form, and the wait screen behind an unguessable, session-bound token."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.support.fields import NAME, assert_field, fields
from tests.visits.conftest import ready
from visits import services
from visits.lifecycle import Status
from visits.models import IntakeField, Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def intake_fields(clinic_a):
    IntakeField.objects.create(
        clinic=clinic_a,
        label="Visit option",
        key="visit_option",
        kind="choice",
        choices="New\nFollow-up",
        required=True,
        show_on_card=True,
        position=1,
    )
    IntakeField.objects.create(
        clinic=clinic_a, label="State", key="state", kind="region", show_on_card=True, position=2
    )
    IntakeField.objects.create(
        clinic=clinic_a, label="Date of birth", key="dob", kind="date", required=True, position=3
    )
    IntakeField.objects.create(clinic=clinic_a, label="Phone", key="phone", kind="phone", position=4)
    IntakeField.objects.create(clinic=clinic_a, label="Email", key="email", kind="email", position=5)


def join(client, clinic, **answers):
    data = {
        "patient_name": "Ann Patient",
        "q_visit_option": "New",
        "q_state": "NY",
        "q_dob": "1990-04-01",
        **answers,
    }
    return client.post(f"/c/{clinic.slug}/", data)


def test_intake_form_shows_the_clinics_fields(client, clinic_a, intake_fields):
    page = client.get(f"/c/{clinic_a.slug}/")
    assert page.status_code == 200
    for label in [b"Your name", b"Visit option", b"State", b"Date of birth", b"Phone", b"Email"]:
        assert label in page.content


def test_joining_creates_a_visit_and_opens_the_wait_screen(client, clinic_a, intake_fields):
    response = join(client, clinic_a, q_phone="+1 415 555 0100")
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert visit.status == Status.CONNECTING
    assert visit.answers == {
        "visit_option": "New",
        "state": "NY",
        "dob": "1990-04-01",
        "phone": "+1 415 555 0100",
    }
    wait = client.get(response["Location"])
    assert wait.status_code == 200
    assert b"Checking your camera and microphone" in wait.content


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        ({"patient_name": ""}, b"This field is required"),
        ({"q_visit_option": "Surgery"}, b"Select a valid choice"),
        ({"q_dob": "yesterday"}, b"Enter a valid date"),
        ({"q_phone": "call me"}, b"Enter a valid phone number, with its area code."),
        ({"q_email": "not-an-email"}, b"Enter a valid email address"),
    ],
)
def test_bad_intake_answers_are_explained_and_create_nothing(client, clinic_a, intake_fields, answers, error):
    response = join(client, clinic_a, **answers)
    assert response.status_code == 400
    assert error in response.content
    assert not Visit.objects.exists()


def test_unknown_clinic_link_is_404(client):
    assert client.get("/c/nowhere/").status_code == 404


def test_token_opens_only_in_the_session_it_was_issued_to(client, clinic_a, intake_fields):
    location = join(client, clinic_a)["Location"]
    assert client.get(location).status_code == 200
    assert Client().get(location).status_code == 404  # the same link in another browser


def test_wrong_token_is_404(client, clinic_a, intake_fields):
    join(client, clinic_a)
    assert client.get("/v/" + "A" * 43 + "/").status_code == 404
    assert client.get("/v/short/").status_code == 404


def test_patient_cannot_open_another_patients_visit(clinic_a, intake_fields):
    ann, bob = Client(), Client()
    ann_link = join(ann, clinic_a)["Location"]
    bob_link = join(bob, clinic_a, patient_name="Bob")["Location"]
    assert ann.get(bob_link).status_code == 404
    assert bob.get(ann_link).status_code == 404
    assert ann.post(bob_link + "leave/").status_code == 404
    assert ann.post(bob_link + "chat/", {"body": "hi"}).status_code == 404
    assert Visit.objects.get(patient_name="Bob").status == Status.CONNECTING


def test_old_link_of_a_visit_that_ended_a_day_ago_is_404(client, clinic_a, intake_fields):
    location = join(client, clinic_a)["Location"]
    visit = Visit.objects.get()
    services.visit_patient_leave(visit_id=visit.id)
    assert b"You left the waiting room" in client.get(location).content
    Visit.objects.filter(pk=visit.pk).update(ended_at=timezone.now() - timedelta(hours=25))
    assert client.get(location).status_code == 404


def test_expired_visit_link_says_so_and_offers_to_start_again(client, clinic_a, intake_fields):
    location = join(client, clinic_a)["Location"]
    Visit.objects.update(status=Status.EXPIRED, ended_at=timezone.now())
    page = client.get(location)
    assert b"This visit has expired" in page.content
    assert f'href="/c/{clinic_a.slug}/"'.encode() in page.content


def test_state_endpoint_gives_position_and_broadcast(client, clinic_a, intake_fields):
    ready(clinic_a, "Earlier")
    location = join(client, clinic_a)["Location"]
    services.visit_media_result(visit_id=Visit.objects.get(patient_name="Ann Patient").id, ok=True)
    clinic_a.broadcast_message = "Running late"
    clinic_a.save(update_fields=["broadcast_message"])
    state = client.get(location + "state/").json()
    assert (state["status"], state["position"], state["broadcast"]) == ("waiting", 2, "Running late")
    assert "No wait estimate yet" in state["html"]


def test_patient_leave_and_chat(client, clinic_a, intake_fields):
    location = join(client, clinic_a)["Location"]
    assert client.post(location + "chat/", {"body": "Hello?"}).json() == {"ok": True}
    assert client.post(location + "chat/", {"body": ""}).status_code == 400
    assert client.post(location + "leave/").status_code == 302
    assert Visit.objects.get().status == Status.LEFT
    assert client.post(location + "leave/").status_code == 302  # twice: still fine, nothing changes
    assert client.post(location + "chat/", {"body": "Still there?"}).status_code == 400


def test_patient_actions_need_post(client, clinic_a, intake_fields):
    location = join(client, clinic_a)["Location"]
    assert client.get(location + "leave/").status_code == 405


def test_the_intake_name_is_offered_from_the_phones_saved_name(client, clinic_a):
    assert_field(fields(client.get(f"/c/{clinic_a.slug}/").content.decode())["patient_name"], NAME)


def test_the_state_and_the_date_of_birth_offer_the_saved_values(client, clinic_a, intake_fields):
    """A phone's autofill fills the address's state and the birthday (WCAG 2.2 SC 1.3.5)."""
    found = fields(client.get(f"/c/{clinic_a.slug}/").content.decode())
    assert_field(found["q_state"], {"tag": "select", "autocomplete": "address-level1"})
    assert_field(found["q_dob"], {"type": "date", "autocomplete": "bday"})
    assert "autocomplete" not in found["q_visit_option"]
