"""Two people at once, for real: each action runs in a thread of its own (so in a database
connection and transaction of its own), and a barrier holds both at the same step, so the second
really meets the first's row lock or uncommitted row."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection


def meet_at(target: Any, name: str, monkeypatch) -> None:
    """Every call of target.<name> waits until two callers have reached it, then goes on."""
    barrier = threading.Barrier(2, timeout=10)
    real = getattr(target, name)

    def together(*args, **kwargs):
        barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, together)


def at_once(
    action: Callable[[Any], object], users: Iterable[Any], *, refused: type[Exception]
) -> dict[str, str]:
    """Run action(user) for each user at once; each user's outcome is "done" or the refusal's words."""
    outcomes: dict[str, str] = {}

    def run(user):
        try:
            action(user)
            outcomes[user.username] = "done"
        except refused as error:
            outcomes[user.username] = str(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes
