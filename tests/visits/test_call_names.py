"""The patient's screen names each staff member in the call with their video's peer id, in the
fetched state and in the pushed fragment alike, escaped."""

import re

import pytest
from django.test import Client

from tests.factories import staff
from tests.visits.conftest import in_call
from visits import selectors, services
from visits.publishing import render_patient_status
from waitingroom.realtime import groups

pytestmark = pytest.mark.django_db

NAMED = re.compile(r'<span data-peer-name="([^"]+)">([^<]*)</span>')


def test_the_selector_pairs_each_staff_members_peer_id_with_their_name_in_joining_order(
    clinic_a, provider, csr
):
    visit = in_call(clinic_a, provider)
    services.visit_call(visit_id=visit.id, user=csr)
    state = selectors.patient_state(visit=visit)
    assert state.staff_names == [
        (f"staff-{provider.id}", "Paula Provider"),
        (f"staff-{csr.id}", "Chris Desk"),
    ]
    html = render_patient_status(visit)
    assert NAMED.findall(html) == [
        (f"staff-{provider.id}", "Paula Provider"),
        (f"staff-{csr.id}", "Chris Desk"),
    ]
    # The sentence reads as before: "You're with Paula Provider, Chris Desk."
    assert "Paula Provider</span>, <span" in html


def test_the_pushed_fragment_carries_the_same_pairs(clinic_a, provider, csr, published):
    visit = in_call(clinic_a, provider)
    with published.commit():
        services.visit_call(visit_id=visit.id, user=csr)
    html = published.to(groups.visit_group(visit.id))[-1]["html"]
    assert NAMED.findall(html) == [
        (f"staff-{provider.id}", "Paula Provider"),
        (f"staff-{csr.id}", "Chris Desk"),
    ]


def test_a_staff_members_name_is_escaped_in_the_peer_names(clinic_a, provider):
    odd = staff(username="odd", clinic=clinic_a, role="csr", first_name='<b>"Eve"', last_name="&Co")
    visit = in_call(clinic_a, odd)
    html = render_patient_status(visit)
    assert f'<span data-peer-name="staff-{odd.id}">&lt;b&gt;&#34;Eve&#34; &amp;Co</span>' in html
    assert "<b>" not in html


def test_the_state_endpoint_carries_the_pairs(clinic_a, provider):
    client = Client()
    visit, token = services.visit_start(clinic=clinic_a, patient_name="Pat", answers={})
    session = client.session
    session[selectors.PATIENT_SESSION_KEY] = [visit.id]
    session.save()
    services.visit_media_result(visit_id=visit.id, ok=True)
    services.visit_call(visit_id=visit.id, user=provider)
    html = client.get(f"/v/{token}/state/").json()["html"]
    assert NAMED.findall(html) == [(f"staff-{provider.id}", "Paula Provider")]
