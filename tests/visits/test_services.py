"""Visit services against PostgreSQL: transitions, bookkeeping, events, refusals, publishing."""

import pytest

from tests.visits.conftest import arrive, in_call, ready
from visits import chat, selectors, services
from visits.lifecycle import Status, TransitionRefused
from visits.models import CallParticipant, Visit, VisitEvent
from waitingroom.realtime import groups

pytestmark = pytest.mark.django_db


def statuses(visit):
    return list(VisitEvent.objects.filter(visit=visit).values_list("from_status", "to_status"))


def test_arrival_starts_in_getting_ready_and_records_the_event(clinic_a, published):
    with published.commit():
        visit, token = services.visit_start(clinic=clinic_a, patient_name="Ann", answers={"state": "NY"})
    assert visit.status == Status.CONNECTING
    assert len(token) >= 43 and visit.token_hash != token  # 256 bits; only the hash is stored
    assert statuses(visit) == [("", "connecting")]
    [card] = published.to(groups.clinic_staff_group(clinic_a.id))
    assert card["phase"] == "getting_ready" and "Ann" in card["html"] and card["alert"] is False


def test_media_ok_makes_the_patient_ready_and_alerts_staff(clinic_a, published):
    visit = arrive(clinic_a, "Ann")
    with published.commit():
        services.visit_media_result(visit_id=visit.id, ok=True)
    visit.refresh_from_db()
    assert (visit.status, visit.media_check, visit.position_when_ready) == (Status.WAITING, "passed", 1)
    [card] = published.to(groups.clinic_staff_group(clinic_a.id))
    assert card["phase"] == "ready" and card["alert"] is True
    [queue] = published.to(groups.clinic_patients_group(clinic_a.id))
    assert (queue["visit_id"], queue["change"]) == (visit.id, 1)


def test_media_refused_shows_how_to_fix_and_retry_can_pass(clinic_a, published):
    visit = arrive(clinic_a)
    with published.commit():
        services.visit_media_result(visit_id=visit.id, ok=False)
    visit.refresh_from_db()
    assert visit.status == Status.MEDIA_BLOCKED
    [patient] = published.to(groups.visit_group(visit.id))
    assert "Try again" in patient["html"] and "You keep your place in line" in patient["html"]
    services.visit_media_result(visit_id=visit.id, ok=True)
    visit.refresh_from_db()
    assert visit.status == Status.WAITING


def test_call_join_and_leave_follow_who_is_in_the_call(clinic_a, provider, csr, published):
    visit = in_call(clinic_a, provider)
    services.visit_call(visit_id=visit.id, user=csr)  # a second staff member joins
    assert set(CallParticipant.objects.filter(visit=visit).values_list("user__username", flat=True)) == {
        "paula",
        "chris",
    }

    with published.commit():
        services.visit_leave_call(visit_id=visit.id, user=provider)
    visit.refresh_from_db()
    assert visit.status == Status.IN_CALL  # the CSR is still in the call
    [card] = published.to(groups.clinic_staff_group(clinic_a.id))
    assert "Chris Desk" in card["html"] and "Paula" not in card["html"]

    services.visit_leave_call(visit_id=visit.id, user=csr)
    visit.refresh_from_db()
    assert visit.status == Status.AVAILABLE
    assert statuses(visit)[-1] == ("in_call", "available")


def test_leaving_a_call_you_are_not_in_is_refused_and_changes_nothing(clinic_a, provider, csr):
    visit = in_call(clinic_a, provider)
    before = statuses(visit)
    with pytest.raises(services.NotInCall):
        services.visit_leave_call(visit_id=visit.id, user=csr)
    visit.refresh_from_db()
    assert visit.status == Status.IN_CALL and statuses(visit) == before


def test_end_visit_removes_the_card_and_tells_the_patient(clinic_a, provider, published):
    visit = in_call(clinic_a, provider)
    with published.commit():
        services.visit_end(visit_id=visit.id, user=provider)
    visit.refresh_from_db()
    assert visit.status == Status.COMPLETED and visit.ended_at is not None
    assert not CallParticipant.objects.filter(visit=visit).exists()
    [card] = published.to(groups.clinic_staff_group(clinic_a.id))
    assert card["html"] == "" and card["phase"] == "closed"
    [patient] = published.to(groups.visit_group(visit.id))
    assert "Your visit has ended" in patient["html"]
    assert VisitEvent.objects.filter(visit=visit, to_status="completed", user=provider).exists()


def test_send_back_keeps_the_original_arrival_order(clinic_a, provider):
    first = in_call(clinic_a, provider, "First")
    second = ready(clinic_a, "Second")
    assert selectors.queue_position(visit=second) == 1
    services.visit_send_back(visit_id=first.id, user=provider)
    first.refresh_from_db()
    assert first.status == Status.WAITING
    assert selectors.queue_position(visit=first) == 1
    assert selectors.queue_position(visit=second) == 2


def test_cancel_tells_the_patient(clinic_a, csr, published):
    visit = ready(clinic_a)
    with published.commit():
        services.visit_cancel(visit_id=visit.id, user=csr)
    [patient] = published.to(groups.visit_group(visit.id))
    assert "cancelled by the clinic" in patient["html"]


def test_refused_transition_changes_nothing_and_publishes_nothing(clinic_a, provider, published):
    visit = arrive(clinic_a)
    before = statuses(visit)
    with published.commit(), pytest.raises(TransitionRefused):
        services.visit_call(visit_id=visit.id, user=provider)  # still connecting: watch only
    visit.refresh_from_db()
    assert visit.status == Status.CONNECTING and statuses(visit) == before
    assert not CallParticipant.objects.filter(visit=visit).exists()
    assert published.sent == []


def test_nothing_is_published_when_the_transaction_rolls_back(clinic_a, provider, published):
    visit = ready(clinic_a)
    services.visit_call(visit_id=visit.id, user=provider)  # outside published.commit(): never committed
    assert published.sent == []


def test_call_back_from_recents_puts_the_patient_straight_into_the_call(clinic_a, provider):
    from visits import presence

    visit = in_call(clinic_a, provider)
    services.visit_leave_call(visit_id=visit.id, user=provider)
    Visit.objects.filter(pk=visit.pk).update(status=Status.DISCONNECTED)
    services.visit_call_back(visit_id=visit.id, user=provider)
    presence.visit_socket_opened(visit_id=visit.id)
    visit.refresh_from_db()
    assert visit.status == Status.IN_CALL


def drop(visit):
    """The patient's connection is lost in the call for longer than the grace (the sweep's event)."""
    from django.utils import timezone

    from visits.lifecycle import Actor, Event

    services.apply_event(
        services.locked_visit(visit.id), Event.CONNECTION_LOST, Actor.SYSTEM, now=timezone.now()
    )


def test_a_patient_back_from_a_dropped_call_nobody_called_back_is_not_let_into_an_empty_call(
    clinic_a, provider
):
    """The provider's call panel closed when the patient dropped; the patient who reopens their
    link waits for them (as after Leave call) instead of an empty call screen, and the card no
    longer says the provider is in the call."""
    from visits import presence

    visit = in_call(clinic_a, provider)
    drop(visit)
    presence.visit_socket_opened(visit_id=visit.id)
    visit.refresh_from_db()
    assert visit.status == Status.AVAILABLE
    assert not CallParticipant.objects.filter(visit=visit).exists()


def test_call_back_after_a_drop_lets_the_patient_back_into_the_call_with_who_called_back(
    clinic_a, provider, csr
):
    from visits import presence

    visit = in_call(clinic_a, provider)
    services.visit_call(visit_id=visit.id, user=csr)
    drop(visit)
    services.visit_call_back(visit_id=visit.id, user=provider)  # the provider waits in the call
    presence.visit_socket_opened(visit_id=visit.id)
    visit.refresh_from_db()
    assert visit.status == Status.IN_CALL
    assert list(CallParticipant.objects.filter(visit=visit).values_list("user", flat=True)) == [provider.pk]


def test_patient_leave(clinic_a):
    visit = ready(clinic_a)
    services.visit_patient_leave(visit_id=visit.id)
    visit.refresh_from_db()
    assert visit.status == Status.LEFT


def test_chat_is_refused_to_staff_while_connecting(clinic_a, provider):
    visit = arrive(clinic_a)
    with pytest.raises(chat.ChatRefused):
        chat.chat_post(visit_id=visit.id, user=provider, body="hello")
    assert not visit.messages.exists()


def test_patient_chat_counts_unread_for_staff_until_read(clinic_a, provider, published):
    visit = ready(clinic_a)
    with published.commit():
        chat.chat_post(visit_id=visit.id, body="Is it long?")
    visit.refresh_from_db()
    assert visit.unread_by_staff == 1
    staff = published.to(groups.clinic_staff_group(clinic_a.id))
    assert [p["type"] for p in staff] == ["chat", "visit"]
    assert "Is it long?" in staff[0]["html"] and "1 unread" in staff[1]["html"]
    assert published.to(groups.visit_group(visit.id))[0]["type"] == "chat"

    chat.chat_post(visit_id=visit.id, user=provider, body="About 5 minutes")
    chat.chat_mark_read(visit_id=visit.id)
    visit.refresh_from_db()
    assert visit.unread_by_staff == 0
    assert [m.sender for m in visit.messages.all()] == ["patient", "staff"]


@pytest.mark.parametrize("body", ["", "   ", "x" * 2001])
def test_bad_chat_messages_are_refused(clinic_a, body):
    visit = ready(clinic_a)
    with pytest.raises(chat.ChatRefused):
        chat.chat_post(visit_id=visit.id, body=body)
    assert not visit.messages.exists()


def test_broadcast_reaches_every_waiting_patient_of_the_clinic(clinic_a, published):
    with published.commit():
        chat.clinic_broadcast_set(clinic=clinic_a, message="Running 15 minutes late")
    clinic_a.refresh_from_db()
    assert clinic_a.broadcast_message == "Running 15 minutes late"
    assert published.to(groups.clinic_patients_group(clinic_a.id)) == [
        {"type": "broadcast", "message": "Running 15 minutes late"}
    ]


def test_estimate_is_honest_about_too_little_data(clinic_a, provider):
    from datetime import timedelta

    assert selectors.seconds_per_place(clinic=clinic_a) is None
    for i in range(3):
        visit = in_call(clinic_a, provider, f"P{i}")
        # waited 2, 4 and 6 minutes from first place
        Visit.objects.filter(pk=visit.pk).update(
            position_when_ready=1, first_called_at=visit.ready_at + timedelta(minutes=2 * (i + 1))
        )
    assert selectors.seconds_per_place(clinic=clinic_a) == 240


def test_a_call_holds_at_most_three_people(clinic_a, provider, csr):
    from tests.factories import staff

    third = staff(username="third", clinic=clinic_a)
    visit = in_call(clinic_a, provider)
    services.visit_call(visit_id=visit.id, user=csr)
    with pytest.raises(services.CallFull):
        services.visit_call(visit_id=visit.id, user=third)
    assert CallParticipant.objects.filter(visit=visit).count() == 2
