"""Every (status, event) pair of the request lifecycle, allowed or refused for each actor, against a
table written out independently of scheduling/requests/lifecycle.py."""

import pytest

from scheduling.requests import lifecycle
from scheduling.requests.lifecycle import Actor, AlreadyDecided, Event, RequestStatus, TransitionRefused
from tests.support.lifecycle import check_pair, every_pair, expected_table, table_of

# status     event      -> target      by
EXPECTED = """
pending      accept        accepted    staff
pending      decline       declined    staff
pending      expire        expired     system
pending      withdraw      withdrawn   requester
"""
ALLOWED = expected_table(EXPECTED, RequestStatus, Event, Actor)


def test_table_has_exactly_the_expected_rows():
    assert table_of(lifecycle) == ALLOWED


def refused(status: RequestStatus):
    if status != RequestStatus.PENDING:
        # A decided request says how it was decided, whoever asks.
        return pytest.raises(AlreadyDecided, match=f"already {status.label.lower()}")
    return pytest.raises(TransitionRefused)


@every_pair(RequestStatus, Event)
def test_every_status_event_pair(status, event):
    check_pair(lifecycle, ALLOWED, status, event, refused=refused)


def test_decided_statuses_allow_nothing():
    assert set(RequestStatus) - {RequestStatus.PENDING} == lifecycle.DECIDED_STATUSES
    for status in lifecycle.DECIDED_STATUSES:
        assert all(not lifecycle.allowed_events(status, actor) for actor in Actor)


def test_each_actor_may_do_only_its_own_events_on_a_pending_request():
    assert lifecycle.allowed_events(RequestStatus.PENDING, Actor.STAFF) == {Event.ACCEPT, Event.DECLINE}
    assert lifecycle.allowed_events(RequestStatus.PENDING, Actor.REQUESTER) == {Event.WITHDRAW}
    assert lifecycle.allowed_events(RequestStatus.PENDING, Actor.SYSTEM) == {Event.EXPIRE}


def test_refusal_explains_itself():
    with pytest.raises(AlreadyDecided, match="This request was already declined"):
        lifecycle.transition(RequestStatus.DECLINED, Event.ACCEPT, Actor.STAFF)
    with pytest.raises(TransitionRefused, match="A requester can't accept a request"):
        lifecycle.transition(RequestStatus.PENDING, Event.ACCEPT, Actor.REQUESTER)
