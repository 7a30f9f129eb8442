"""Every fragment of the visits app escapes what patients and staff type (the cards have their own
test in test_cards.py): chat messages pushed and listed, the staff chat panel, the staff side of a
call, and the patient's status panel."""

import pytest
from django.urls import reverse

from tests.factories import ClinicFactory, staff
from tests.support.hostile import HOSTILE, assert_escaped
from tests.visits.conftest import in_call, ready
from visits import chat, selectors
from visits.publishing import render_patient_status
from waitingroom.fragments import render_fragment
from waitingroom.models import Role
from waitingroom.realtime import groups

pytestmark = pytest.mark.django_db


def test_chat_messages_escape_the_patient_the_staff_member_and_the_body(clinic_a, provider_client, published):
    user = staff(username="eve", clinic=clinic_a, first_name=HOSTILE, last_name="")
    visit = ready(clinic_a, HOSTILE)
    published.clear()
    with published.commit():
        chat.chat_post(visit_id=visit.id, body=HOSTILE)
        chat.chat_post(visit_id=visit.id, body=HOSTILE, user=user)
    pushed = [p["html"] for p in published.to(groups.visit_group(visit.id)) if p["type"] == "chat"]
    assert len(pushed) == 2
    for html in pushed:  # the author and the body
        assert_escaped(html, 2)
    log = render_fragment("visits/_chat_log.html", {"chat_messages": selectors.chat_messages(visit=visit)})
    assert_escaped(log, 4)
    panel = provider_client.get(reverse("visit_chat", args=[clinic_a.slug, visit.id])).content.decode()
    # The title and placeholder name the patient; then the two messages.
    assert_escaped(panel, 6)


def test_the_staff_side_of_a_call_escapes_the_patients_name(clinic_a, provider, provider_client):
    visit = in_call(clinic_a, provider, HOSTILE)
    page = provider_client.get(reverse("visit_room", args=[clinic_a.slug, visit.id])).content.decode()
    assert_escaped(page, 2)  # the header and data-patient-name (the second-call question)


def test_the_patients_status_escapes_staff_names_clinic_names_and_phone_numbers():
    clinic = ClinicFactory(name=HOSTILE, slug="hostile")
    user = staff(username="eve", clinic=clinic, role=Role.PROVIDER, first_name=HOSTILE, last_name="")
    visit = in_call(clinic, user, "Pat")
    assert_escaped(render_patient_status(visit), 1)  # "You're with ..."
    visit.status, visit.verified_phone = "waiting", HOSTILE
    # "We'll text •••• ...": the number is shown masked (its last characters, escaped), never whole.
    html = render_patient_status(visit)
    assert_escaped(html, 0)
    assert "We'll text ••••" in html and "&gt; when it" in html
    visit.status = "completed"
    assert_escaped(render_patient_status(visit), 1)  # "Thank you for visiting ..."
