"""Fragments escape unless a template says otherwise, and none says otherwise: the engine turns
autoescape on whatever the settings say, every `_*.html` is a Jinja2 fragment, and no project code
marks strings safe by hand."""

import re
from pathlib import Path

import jinja2
import pytest
from django.conf import settings
from django.template import engines

from tests.support.hostile import ESCAPED, HOSTILE
from waitingroom.fragments import environment, render_fragment

ROOT = Path(settings.BASE_DIR)
PROJECT_CODE = ["waitingroom", "visits", "scheduling", "consultations", "bench"]


def test_escaping_is_on_even_when_the_options_turn_it_off():
    env = environment(loader=jinja2.DictLoader({"t": "{{ v }}"}), autoescape=False)
    assert env.get_template("t").render(v=HOSTILE) == ESCAPED


def test_a_name_missing_from_the_context_fails_instead_of_rendering_nothing():
    with pytest.raises(jinja2.UndefinedError):
        engines["fragments"].from_string("{{ missing }}").render({})


def test_a_rendered_fragment_goes_into_a_django_page_unescaped_once():
    html = render_fragment("visits/_chat_log.html", {"chat_messages": []})
    page = engines["django"].from_string("<ul>{{ log }}</ul>").render({"log": html + HOSTILE})
    assert page == f"<ul>{ESCAPED}</ul>"  # plain text added to markup is escaped, not trusted


def test_no_fragment_turns_escaping_off():
    fragments = sorted((ROOT / "fragments").rglob("*.html"))
    assert fragments
    for path in fragments:
        text = path.read_text()
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup", text), path


def test_every_partial_is_a_fragment():
    assert [p for p in (ROOT / "templates").rglob("_*.html")] == []


def test_no_project_code_marks_strings_safe_by_hand():
    for package in PROJECT_CODE:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            assert "mark_safe" not in text and "S308" not in text and "format_html" not in text, path
