"""The exhaustive lifecycle test that the visit and the request lifecycles share: a table written
out in the test, independently of the lifecycle module, then every (status, event) pair tried by
every actor. Both lifecycles have the same shape (an Actor enum, TRANSITIONS rows with target and
actor, and transition(status, event, actor)), so one helper checks both."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from enum import Enum
from types import ModuleType
from typing import Any

import pytest


def expected_table(text: str, status: type[Enum], event: type[Enum], actor: type[Enum]) -> dict:
    """`status event target actor` lines, as {(status, event): (target, actor)}."""
    return {
        (status(s), event(e)): (status(t), actor(a))
        for s, e, t, a in (line.split() for line in text.strip().splitlines())
    }


def table_of(lifecycle: ModuleType) -> dict:
    """The lifecycle's own table in the same form as expected_table()."""
    return {key: (row.target, row.actor) for key, row in lifecycle.TRANSITIONS.items()}


def every_pair(status: type[Enum], event: type[Enum]) -> pytest.MarkDecorator:
    """Parametrize a test over every (status, event) pair, allowed or not."""
    pairs = [(s, e) for s in status for e in event]
    return pytest.mark.parametrize(("status", "event"), pairs, ids=[f"{s}-{e}" for s, e in pairs])


def check_pair(
    lifecycle: ModuleType,
    allowed: dict,
    status: Any,
    event: Any,
    *,
    refused: Callable[[Any], AbstractContextManager[Any]],
) -> None:
    """Each actor: the expected target when the table allows it this pair, else `refused(status)`
    (a pytest.raises) holds."""
    expected = allowed.get((status, event))
    for actor in lifecycle.Actor:
        if expected and expected[1] is actor:
            assert lifecycle.transition(status, event, actor) is expected[0]
        else:
            with refused(status):
                lifecycle.transition(status, event, actor)
