"""Lists keep list semantics (issue 19): Safari with VoiceOver stops announcing a <ul>/<ol> as a
list ("list, 3 items") once CSS removes its bullets, so every list whose class app.css gives
`list-style: none` says role="list" in its markup (chat logs, consultation messages, flash
messages, recordings, files, histories)."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def unbulleted_classes() -> set[str]:
    css = (ROOT / "static" / "waitingroom" / "app.css").read_text()
    classes = set()
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", css):
        if re.search(r"list-style\s*:\s*none", body):
            classes.update(re.findall(r"\.([\w-]+)", selectors.split(",")[-1]))
    return classes


def lists_without_role() -> list[str]:
    classes = unbulleted_classes()
    missing = []
    for path in sorted([*ROOT.glob("templates/**/*.html"), *ROOT.glob("fragments/**/*.html")]):
        for tag in re.findall(r"<[uo]l\b[^>]*>", path.read_text()):
            names = set(re.findall(r'class="([^"]*)"', tag)[0].split()) if "class=" in tag else set()
            if names & classes and 'role="list"' not in tag:
                missing.append(f"{path.relative_to(ROOT)}: {tag}")
    return missing


def test_the_css_removes_bullets_from_the_lists_that_matter():
    assert {
        "messages",
        "chat-log",
        "plain",
        "recordings",
        "attachments",
        "history-list",
    } <= unbulleted_classes()


def test_every_unbulleted_list_says_it_is_a_list():
    assert lists_without_role() == []
