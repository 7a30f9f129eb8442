"""The wait screen says what really happened: how a visit ended, a recall, a kind estimate."""

import pytest
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from tests.visits.conftest import in_call, ready
from tests.visits.test_offline import gone_offline
from visits import offline, selectors, services
from visits.lifecycle import Actor, Event
from visits.models import Visit
from waitingroom.outbox import sms_backends

pytestmark = pytest.mark.django_db


def screen(visit: Visit) -> str:
    """The status fragment as the wait screen and its state endpoint render it."""
    visit.refresh_from_db()
    return render_to_string("visits/_patient_status.html", {"state": selectors.patient_state(visit=visit)})


def system_event(visit: Visit, event: Event) -> None:
    with transaction.atomic():
        services.apply_event(services.locked_visit(visit.id), event, Actor.SYSTEM, now=timezone.now())


def test_a_place_released_after_a_lost_connection_says_the_connection_dropped_and_offers_rejoin(clinic_a):
    visit = ready(clinic_a)
    system_event(visit, Event.HOLD_EXPIRED)
    html = screen(visit)
    assert "Your connection dropped" in html and "Rejoin the waiting room" in html
    assert "You left" not in html


def test_leaving_the_queue_says_the_place_was_given_up(clinic_a):
    visit = ready(clinic_a)
    services.visit_patient_leave(visit_id=visit.id)
    html = screen(visit)
    assert "You left the waiting room" in html and "gave up your place" in html


def test_hanging_up_mid_visit_says_the_visit_ended_not_that_they_left_the_queue(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    services.visit_patient_leave(visit_id=visit.id)
    html = screen(visit)
    assert "You ended your visit" in html and "You hung up" in html
    assert "waiting room" not in html.split("</h2>")[0]


def test_a_visit_closed_after_a_drop_in_a_call_says_why_it_expired(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    system_event(visit, Event.CONNECTION_LOST)
    system_event(visit, Event.RECENTS_EXPIRED)
    html = screen(visit)
    assert "Your connection dropped and the visit has closed" in html and "Join again" in html


def test_too_little_history_gives_a_short_kind_estimate(clinic_a):
    html = screen(ready(clinic_a))
    assert "No wait estimate yet. The clinic will see you as soon as it can." in html
    assert "enough recent visits" not in html


def test_the_wait_screen_counts_the_wait_from_the_ready_time(clinic_a):
    visit = ready(clinic_a)
    html = screen(visit)
    assert f'data-since-ms="{int(visit.ready_at.timestamp() * 1000)}"' in html


@pytest.fixture
def offline_clinic(clinic_a):
    clinic_a.offline_queueing = True
    clinic_a.save(update_fields=["offline_queueing"])
    return clinic_a


@pytest.mark.django_db(transaction=True)  # SMS leave on commit
def test_after_a_recall_the_screen_says_the_clinic_is_ready_as_the_text_did(offline_clinic, provider):
    visit = gone_offline(offline_clinic)
    offline.visit_recall(visit_id=visit.id, user=provider)
    [sms] = sms_backends.outbox
    assert "the clinic is ready for you" in sms.body and "within 10 minutes" in sms.body
    # Staff may recall a patient who is not first in line: neither says it is their turn.
    assert "your turn" not in sms.body.lower()
    offline.visit_visibility(visit_id=visit.id, hidden=False)  # back on the wait screen
    html = screen(visit)
    assert "The clinic is ready for you" in html
    assert "your turn" not in html


def test_back_after_a_dropped_call_says_the_connection_dropped_not_that_the_provider_stepped_out(
    clinic_a, provider
):
    from visits import presence

    visit = in_call(clinic_a, provider)
    system_event(visit, Event.CONNECTION_LOST)
    presence.visit_socket_opened(visit_id=visit.id)  # nobody pressed Call back: they wait
    html = screen(visit)
    assert "You're back" in html and "Your connection dropped" in html
    assert "stepped out" not in html


def test_a_provider_who_leaves_the_call_stepped_out(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    services.visit_leave_call(visit_id=visit.id, user=provider)
    html = screen(visit)
    assert "Your provider stepped out of the call" in html and "You're back" not in html
