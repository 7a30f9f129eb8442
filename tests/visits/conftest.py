"""Helpers for waiting-room tests: visits made through the services, and the events they publish."""

from __future__ import annotations

import pytest

from visits import services
from visits.models import Visit
from waitingroom.realtime import publisher


class Published:
    """What services sent through the one publisher, in order, as delivered after commit."""

    def __init__(self, capture) -> None:
        self.sent: list[tuple[str, dict]] = []
        self._capture = capture

    def record(self, batch: list[tuple[str, dict]]) -> None:
        self.sent.extend(batch)

    def commit(self):
        """Run on-commit callbacks of the block as if it committed (tests run inside a transaction)."""
        return self._capture(execute=True)

    def to(self, group: str) -> list[dict]:
        return [payload for g, payload in self.sent if g == group]

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def published(monkeypatch, django_capture_on_commit_callbacks) -> Published:
    recorder = Published(django_capture_on_commit_callbacks)
    monkeypatch.setattr(publisher, "_deliver", recorder.record)
    return recorder


def arrive(clinic, name: str = "Pat Patient", answers: dict | None = None) -> Visit:
    visit, _token = services.visit_start(clinic=clinic, patient_name=name, answers=answers or {})
    return visit


def ready(clinic, name: str = "Pat Patient") -> Visit:
    visit = arrive(clinic, name)
    services.visit_media_result(visit_id=visit.id, ok=True)
    visit.refresh_from_db()
    return visit


def in_call(clinic, user, name: str = "Pat Patient") -> Visit:
    visit = ready(clinic, name)
    services.visit_call(visit_id=visit.id, user=user)
    visit.refresh_from_db()
    return visit
