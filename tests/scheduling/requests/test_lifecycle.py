"""Every (status, event) pair of the request lifecycle, allowed or refused for each actor, against a
table written out independently of scheduling/requests/lifecycle.py."""

import pytest

from scheduling.requests import lifecycle
from scheduling.requests.lifecycle import Actor, AlreadyDecided, Event, RequestStatus, TransitionRefused

# status     event      -> target      by
EXPECTED = """
pending      accept        accepted    staff
pending      decline       declined    staff
pending      expire        expired     system
pending      withdraw      withdrawn   requester
"""
ALLOWED = {
    (RequestStatus(s), Event(e)): (RequestStatus(t), Actor(a))
    for s, e, t, a in (line.split() for line in EXPECTED.strip().splitlines())
}
ALL_PAIRS = [(status, event) for status in RequestStatus for event in Event]


def test_table_has_exactly_the_expected_rows():
    assert {key: (row.target, row.actor) for key, row in lifecycle.TRANSITIONS.items()} == ALLOWED


@pytest.mark.parametrize(("status", "event"), ALL_PAIRS, ids=[f"{s}-{e}" for s, e in ALL_PAIRS])
def test_every_status_event_pair(status, event):
    expected = ALLOWED.get((status, event))
    for actor in Actor:
        if expected and expected[1] is actor:
            assert lifecycle.transition(status, event, actor) is expected[0]
        elif status != RequestStatus.PENDING:
            # A decided request says how it was decided, whoever asks.
            with pytest.raises(AlreadyDecided, match=f"already {status.label.lower()}"):
                lifecycle.transition(status, event, actor)
        else:
            with pytest.raises(TransitionRefused):
                lifecycle.transition(status, event, actor)


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
