"""Every (status, event) pair of the visit lifecycle, allowed or refused, against a table written
out independently of visits/lifecycle.py."""

import pytest

from tests.support.lifecycle import check_pair, every_pair, expected_table, table_of
from visits import lifecycle
from visits.lifecycle import Actor, Event, Phase, Status, TransitionRefused

# status            event             -> target          by
EXPECTED = """
connecting          media_ok          waiting           patient
media_blocked       media_ok          waiting           patient
connecting          media_blocked     media_blocked     patient
waiting             call              in_call           staff
available           call              in_call           staff
in_call             call              in_call           staff
away                call              away              staff
in_call             leave_call        available         staff
away                leave_call        available         staff
in_call             end               completed         staff
available           end               completed         staff
away                end               completed         staff
disconnected        end               completed         staff
in_call             send_back         waiting           staff
available           send_back         waiting           staff
away                send_back         waiting           staff
waiting             cancel            cancelled         staff
offline             cancel            cancelled         staff
recalled            cancel            cancelled         staff
disconnected        call_back         disconnected      staff
connecting          patient_leave     left              patient
media_blocked       patient_leave     left              patient
waiting             patient_leave     left              patient
offline             patient_leave     left              patient
recalled            patient_leave     left              patient
in_call             patient_leave     left              patient
available           patient_leave     left              patient
away                patient_leave     left              patient
in_call             connection_lost   disconnected      system
available           connection_lost   disconnected      system
away                connection_lost   disconnected      system
connecting          hold_expired      left              system
media_blocked       hold_expired      left              system
waiting             hold_expired      left              system
disconnected        resume            available         patient
disconnected        rejoin            in_call           patient
in_call             idle              away              system
away                active            in_call           patient
disconnected        recents_expired   expired           system
waiting             go_offline        offline           system
offline             recall            recalled          staff
recalled            recall            recalled          staff
offline             return            waiting           patient
recalled            return            waiting           patient
connecting          withdraw          cancelled         system
media_blocked       withdraw          cancelled         system
waiting             withdraw          cancelled         system
offline             withdraw          cancelled         system
recalled            withdraw          cancelled         system
in_call             phone_connected   in_call           system
available           phone_connected   in_call           system
away                phone_connected   in_call           system
disconnected        phone_connected   in_call           system
waiting             phone_connected   in_call           system
offline             phone_connected   in_call           system
recalled            phone_connected   in_call           system
media_blocked       ask_for_phone     waiting           patient
waiting             ask_for_phone     waiting           patient
waiting             use_video         waiting           patient
"""
ALLOWED = expected_table(EXPECTED, Status, Event, Actor)


def test_table_has_exactly_the_expected_rows():
    assert table_of(lifecycle) == ALLOWED


@every_pair(Status, Event)
def test_every_status_event_pair(status, event):
    check_pair(lifecycle, ALLOWED, status, event, refused=lambda _status: pytest.raises(TransitionRefused))


def test_closed_statuses_allow_nothing():
    for status in lifecycle.CLOSED_STATUSES:
        assert all(not lifecycle.allowed_events(status, actor) for actor in Actor)


def test_phases_group_statuses_as_the_dashboard_shows_them():
    assert {s for s in Status if lifecycle.phase_of(s) is Phase.GETTING_READY} == {
        Status.CONNECTING,
        Status.MEDIA_BLOCKED,
    }
    assert {s for s in Status if lifecycle.phase_of(s) is Phase.READY} == {
        Status.WAITING,
        Status.OFFLINE,
        Status.RECALLED,
    }
    assert {s for s in Status if lifecycle.phase_of(s) is Phase.IN_PROGRESS} == {
        Status.IN_CALL,
        Status.AVAILABLE,
        Status.AWAY,
    }
    assert {s for s in Status if lifecycle.phase_of(s) is Phase.RECENTS} == {Status.DISCONNECTED}


def test_chat_is_closed_while_connecting_and_after_the_end():
    assert not lifecycle.chat_allowed(Status.CONNECTING)
    assert lifecycle.chat_allowed(Status.MEDIA_BLOCKED)
    assert lifecycle.chat_allowed(Status.WAITING)
    assert not lifecycle.chat_allowed(Status.COMPLETED)


def test_refusal_explains_itself():
    with pytest.raises(TransitionRefused, match="Can't call a visit that is connecting"):
        lifecycle.transition(Status.CONNECTING, Event.CALL, Actor.STAFF)
