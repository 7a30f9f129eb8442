"""A Recall link opens once: the first browser gets the visit; a second open, on any device, says
where the visit continues and shows nothing of it."""

import re

import pytest
from django.test import Client

from tests.visits.test_offline import gone_offline
from tests.waitingroom.web.test_dead_ends import assert_product_page
from visits import offline, services
from waitingroom.outbox import sms_backends

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clinic(clinic_a):
    clinic_a.offline_queueing = True
    clinic_a.save(update_fields=["offline_queueing"])
    return clinic_a


def recall_link(visit, provider) -> str:
    offline.visit_recall(visit_id=visit.id, user=provider)
    found = re.search(r"(/r/[\w-]+/)", sms_backends.outbox[-1].body)
    assert found, sms_backends.outbox[-1].body
    return found.group(1)


def test_a_recall_link_opens_once_and_then_says_where_the_visit_is(clinic, provider):
    visit = gone_offline(clinic, name="Ann Secret")
    link = recall_link(visit, provider)
    phone = Client()
    opened = phone.get(link)
    assert opened.status_code == 302
    assert phone.get(opened["Location"]).status_code == 200

    for second in (Client(), phone):  # another device, or the same one again
        again = second.get(link)
        assert again.status_code == 410
        page = again.content.decode()
        assert "This link was already used" in page and "where you first opened it" in page
        assert "Ann Secret" not in page and clinic.name not in page
    # The browser that opened it keeps the visit.
    assert phone.get(opened["Location"]).status_code == 200


def test_the_next_recall_sends_a_new_link_that_opens_once(clinic, provider):
    visit = gone_offline(clinic)
    first = recall_link(visit, provider)
    assert Client().get(first).status_code == 302
    offline.visit_visibility(visit_id=visit.id, hidden=True)  # the patient switched away again
    second = recall_link(visit, provider)
    assert Client().get(first).status_code == 404  # replaced: no longer valid
    assert b"This link is no longer valid" in Client().get(first).content
    assert Client().get(second).status_code == 302
    assert Client().get(second).status_code == 410


def test_a_recall_link_of_an_ended_visit_names_its_clinic_and_offers_to_start_again(clinic, provider):
    visit = gone_offline(clinic, name="Ann Secret")
    link = recall_link(visit, provider)
    services.visit_patient_leave(visit_id=visit.id)  # the visit ends before the link is opened
    html = assert_product_page(Client().get(link), 404, "This link is no longer valid")
    assert f"<title>Link no longer valid · {clinic.name} · Waiting Room</title>" in html
    assert f'href="/c/{clinic.slug}/"' in html and "Start again" in html
    assert "Ann Secret" not in html


@pytest.mark.parametrize("link", ["/r/not-a-real-link/", "/r/" + "A" * 43 + "/"])
def test_a_made_up_recall_link_names_no_clinic(clinic, link):
    html = assert_product_page(Client().get(link), 404, "This link is no longer valid")
    assert clinic.name not in html and "Start again" not in html and "/c/" not in html
