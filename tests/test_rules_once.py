"""Rules live once, in Python: templates and fragments ask the lifecycle (a visit's screen, a
meeting's `rules`, a request's `is_pending`) and never compare a status with a string literal, so a
new status is decided in its lifecycle module alone (docs/architecture.md)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A name ending in "status" (status, row.status, m.status, visit.status ...) and a quoted literal,
# either way round, with ==, != or (not) in: `status == "x"`, `"x" != m.status`,
# `status in ("a", "b")`, `"a" in status`.
_NAME = r"[\w.]*status\b"
_LITERAL = r"""["']"""
STATUS_COMPARISON = re.compile(
    rf"{_NAME}\s*(?:==|!=)\s*{_LITERAL}"
    rf"|{_LITERAL}\s*(?:==|!=)\s*{_NAME}"
    rf"|{_NAME}\s+(?:not\s+)?in\s*[(\[]\s*{_LITERAL}"
    rf"|{_LITERAL}\s+(?:not\s+)?in\s+{_NAME}"
)


def status_comparisons(root: Path) -> list[str]:
    found = []
    for folder in ("fragments", "templates"):
        for path in sorted((root / folder).rglob("*.html")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if STATUS_COMPARISON.search(line):
                    found.append(f"{path.relative_to(root)}:{number}")
    return found


def test_no_template_or_fragment_compares_a_status_with_a_literal():
    assert status_comparisons(ROOT) == []


def test_the_check_catches_comparisons(tmp_path):
    lines = {
        "fragments/a.html": '{% if row.status == "failed" %}',
        "fragments/b.html": "{% if m.status != 'cancelled' %}",
        "templates/c.html": '{% if "planning" == status %}',
        "templates/d.html": '{% if visit.status in ("waiting", "ready") %}',
        "templates/e.html": '{% if "away" not in visit.status %}',
        # Not comparisons: showing a status, and asking a screen or a rule.
        "templates/ok.html": (
            '<p data-status="{{ status }}" class="badge-{{ r.status }}">'
            '{% if state.screen == "ended" %}{% if not rules.cancelled %}'
        ),
    }
    for name, text in lines.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text + "\n")
    assert status_comparisons(tmp_path) == [
        "fragments/a.html:1",
        "fragments/b.html:1",
        "templates/c.html:1",
        "templates/d.html:1",
        "templates/e.html:1",
    ]
