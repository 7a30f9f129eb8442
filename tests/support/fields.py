"""The form fields of a rendered page, parsed (not string-matched): each named <input>, <select>
and <textarea> with its attributes, so a test can say what a phone's keyboard and autofill get."""

from __future__ import annotations

from html.parser import HTMLParser

FIELD_TAGS = {"input", "select", "textarea"}

# What a personal field must say to a phone (WCAG 2.2 SC 1.3.5): type, keyboard, saved value.
NAME = {"type": "text", "autocomplete": "name"}
EMAIL = {"type": "email", "autocomplete": "email", "inputmode": "email"}
TEL = {"type": "tel", "autocomplete": "tel", "inputmode": "tel"}


class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, dict[str, str]] = {}
        self.by_id: dict[str, dict[str, str]] = {}

    def handle_starttag(self, tag, attrs) -> None:
        if tag not in FIELD_TAGS:
            return
        found = {key: value or "" for key, value in attrs}
        found["tag"] = tag
        if tag == "input":
            found.setdefault("type", "text")
        if "name" in found:
            self.fields.setdefault(found["name"], found)
        if "id" in found:
            self.by_id[found["id"]] = found


def fields(html: str) -> dict[str, dict[str, str]]:
    """Named fields by name (the first of a name: radio groups share one)."""
    parser = _Fields()
    parser.feed(html)
    return parser.fields


def fields_by_id(html: str) -> dict[str, dict[str, str]]:
    parser = _Fields()
    parser.feed(html)
    return parser.by_id


def assert_field(field: dict[str, str] | None, expected: dict[str, str]) -> None:
    assert field is not None, "no such field"
    for key, value in expected.items():
        assert field.get(key) == value, f"{key}={field.get(key)!r}, want {value!r} in {field}"
