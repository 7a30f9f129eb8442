"""Presence and the due-time sweep, with a frozen clock (time-machine)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.visits.conftest import in_call, ready
from visits import presence, services
from visits.lifecycle import Status
from visits.models import Visit, VisitEvent
from waitingroom.realtime import groups

pytestmark = pytest.mark.django_db


def at(start, seconds):
    return time_machine.travel(start + timedelta(seconds=seconds), tick=False)


def sweep_at(start, seconds):
    with at(start, seconds):
        return presence.sweep_due()


def drop(visit, start):
    with at(start, 0):
        presence.visit_socket_opened(visit_id=visit.id)
        presence.visit_socket_closed(visit_id=visit.id)


def test_drop_shorter_than_grace_changes_nothing_and_publishes_nothing(clinic_a, published):
    visit = ready(clinic_a)
    start = timezone.now()
    with published.commit():
        drop(visit, start)
        with at(start, 10):
            presence.visit_socket_opened(visit_id=visit.id)
        sweep_at(start, 30)
    visit.refresh_from_db()
    assert (visit.status, visit.connection_lost, visit.grace_due_at) == (Status.WAITING, False, None)
    assert published.sent == []  # heartbeats and short drops never fan out


def test_waiting_patient_lost_past_grace_keeps_place_for_the_hold_then_leaves(clinic_a, published):
    visit = ready(clinic_a)
    start = timezone.now()
    drop(visit, start)
    assert sweep_at(start, 14)["grace"] == 0
    with published.commit():
        assert sweep_at(start, 16)["grace"] == 1
    visit.refresh_from_db()
    assert visit.status == Status.WAITING and visit.connection_lost
    assert "connection lost" in published.to(groups.clinic_staff_group(clinic_a.id))[0]["html"]
    assert sweep_at(start, 119)["hold"] == 0  # hold window: 120 s from the drop
    sweep_at(start, 121)
    visit.refresh_from_db()
    assert visit.status == Status.LEFT


def test_lost_patient_who_returns_within_the_hold_keeps_their_place(clinic_a):
    visit = ready(clinic_a)
    start = timezone.now()
    drop(visit, start)
    sweep_at(start, 20)
    with at(start, 60):
        presence.visit_socket_opened(visit_id=visit.id)
    sweep_at(start, 200)
    visit.refresh_from_db()
    assert (visit.status, visit.connection_lost) == (Status.WAITING, False)


def test_call_drop_moves_to_recents_then_reopening_after_call_back_resumes_into_the_call(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    start = timezone.now()
    drop(visit, start)
    sweep_at(start, 16)
    visit.refresh_from_db()
    assert visit.status == Status.DISCONNECTED
    assert visit.expires_at == visit.status_changed_at + timedelta(minutes=20)
    with at(start, 60):
        services.visit_call_back(visit_id=visit.id, user=provider)  # the provider waits in the call
    with at(start, 120):
        presence.visit_socket_opened(visit_id=visit.id)
    visit.refresh_from_db()
    assert visit.status == Status.IN_CALL


def test_call_drop_then_reopening_without_call_back_waits_for_the_provider(clinic_a, provider):
    """The provider's panel closed at the drop: the patient is not let into an empty call."""
    visit = in_call(clinic_a, provider)
    start = timezone.now()
    drop(visit, start)
    sweep_at(start, 16)
    with at(start, 120):
        presence.visit_socket_opened(visit_id=visit.id)
    visit.refresh_from_db()
    assert visit.status == Status.AVAILABLE


def test_reopening_after_staff_left_resumes_as_available(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    services.visit_leave_call(visit_id=visit.id, user=provider)
    start = timezone.now()
    drop(visit, start)
    sweep_at(start, 16)
    with at(start, 30):
        presence.visit_socket_opened(visit_id=visit.id)
    visit.refresh_from_db()
    assert visit.status == Status.AVAILABLE


def test_recents_expire_after_the_window_and_the_link_says_so(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    start = timezone.now()
    drop(visit, start)
    sweep_at(start, 16)
    assert sweep_at(start, 16 + 19 * 60)["expiry"] == 0
    sweep_at(start, 16 + 20 * 60 + 1)
    visit.refresh_from_db()
    assert visit.status == Status.EXPIRED


def test_idle_in_call_becomes_away_and_activity_brings_it_back(clinic_a, provider):
    start = timezone.now()
    with at(start, 0):
        visit = in_call(clinic_a, provider)
    with at(start, 50):
        presence.visit_activity(visit_id=visit.id, idle_seconds=60)  # pushes the deadline to 110 s
    assert sweep_at(start, 100)["idle"] == 0
    sweep_at(start, 111)
    visit.refresh_from_db()
    assert visit.status == Status.AWAY
    with at(start, 120):
        presence.visit_activity(visit_id=visit.id, idle_seconds=60)
    visit.refresh_from_db()
    assert visit.status == Status.IN_CALL


def test_sweeping_twice_applies_each_timer_once(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    start = timezone.now()
    drop(visit, start)
    sweep_at(start, 16)
    sweep_at(start, 16)
    assert VisitEvent.objects.filter(visit=visit, to_status=Status.DISCONNECTED).count() == 1


def test_per_clinic_windows_are_used(clinic_a):
    clinic_a.reconnect_grace_seconds = 3
    clinic_a.save(update_fields=["reconnect_grace_seconds"])
    visit = ready(clinic_a)
    start = timezone.now()
    drop(visit, start)
    sweep_at(start, 4)
    assert Visit.objects.get(pk=visit.pk).connection_lost
