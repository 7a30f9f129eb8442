"""Every (status, event, actor) of the consultation lifecycle, allowed or refused, against a table
written out independently of consultations/lifecycle.py. Booking starts from `new` (no status
yet); Lock and Unlock keep the status (`-`)."""

import pytest

from consultations import lifecycle
from consultations.lifecycle import NEW, Actor, Event, Status, TransitionRefused

# status      event           -> target      by
EXPECTED = """
new           book_any        available     client
new           book_expert     claimed       client
available     claim           claimed       expert
claimed       release         available     expert
claimed       start           in_progress   system
claimed       complete        completed     expert
in_progress   complete        completed     expert
available     client_cancel   cancelled     client
claimed       client_cancel   cancelled     client
available     cancel          cancelled     staff
claimed       cancel          cancelled     staff
in_progress   cancel          cancelled     staff
available     lock            -             staff
claimed       lock            -             staff
in_progress   lock            -             staff
completed     lock            -             staff
available     unlock          -             staff
claimed       unlock          -             staff
in_progress   unlock          -             staff
completed     unlock          -             staff
"""
ALLOWED = {
    (source, Event(event)): (None if target == "-" else Status(target), Actor(actor))
    for source, event, target, actor in (line.split() for line in EXPECTED.strip().splitlines())
}
SOURCES = [NEW, *Status]
TRIPLES = [(s, e, a) for s in SOURCES for e in Event for a in Actor]


def test_table_has_exactly_the_expected_rows():
    assert {key: (row.target, row.actor) for key, row in lifecycle.TRANSITIONS.items()} == ALLOWED


@pytest.mark.parametrize(("status", "event", "actor"), TRIPLES, ids=[f"{s}-{e}-{a}" for s, e, a in TRIPLES])
def test_every_status_event_and_actor(status, event, actor):
    expected = ALLOWED.get((status, event))
    if expected and expected[1] is actor:
        # Lock and Unlock keep the status.
        assert lifecycle.transition(status, event, actor) == (expected[0] or status)
        assert event in lifecycle.allowed_events(status, actor)
    else:
        with pytest.raises(TransitionRefused):
            lifecycle.transition(status, event, actor)
        assert event not in lifecycle.allowed_events(status, actor)


def test_ended_consultations_say_what_happened_whoever_asks():
    for actor in Actor:
        with pytest.raises(TransitionRefused, match=r"This consultation was cancelled\."):
            lifecycle.transition(Status.CANCELLED, Event.CLAIM, actor)
    with pytest.raises(TransitionRefused, match="already completed"):
        lifecycle.transition(Status.COMPLETED, Event.COMPLETE, Actor.EXPERT)
    with pytest.raises(TransitionRefused, match="A consultation that is claimed can't be claimed"):
        lifecycle.transition(Status.CLAIMED, Event.CLAIM, Actor.EXPERT)


def test_cancelled_allows_nothing_and_only_staff_lock_a_completed_one():
    assert all(not lifecycle.allowed_events(Status.CANCELLED, actor) for actor in Actor)
    assert lifecycle.allowed_events(Status.COMPLETED, Actor.STAFF) == {Event.LOCK, Event.UNLOCK}


@pytest.mark.parametrize("status", list(Status))
def test_who_may_post_messages(status):
    assert lifecycle.client_may_post(status, is_open=False) is False
    assert lifecycle.client_may_post(status, is_open=True) is (status != Status.CANCELLED)
    assert lifecycle.staff_may_post(status) is (status != Status.CANCELLED)
