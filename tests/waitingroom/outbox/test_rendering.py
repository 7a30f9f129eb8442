"""render_email: one template pair gives the subject (one line), the text part (not escaped) and
the HTML part (escaped)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from waitingroom.outbox.rendering import render_email

HOSTILE = "<b>x</b> & 'co'"

# A template pair of our own, so these tests don't depend on any app's wording.
PAIR = {
    "t/hello.txt": (
        "{% block subject %}\nHi {{ name }}\r\nthere {% endblock %}\n"
        "{% block text %}Dear {{ name }},\n{% include 't/_sign.txt' %}{% endblock %}\n"
        "Outside any block: never sent.\n"
    ),
    "t/_sign.txt": "-- {{ name }}\n",
    "t/hello.html": "<title>{{ subject }}</title><p>Dear {{ name }}</p>",
    "t/no_subject.txt": "{% block text %}x{% endblock %}",
}
LOCMEM = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {"loaders": [("django.template.loaders.locmem.Loader", PAIR)]},
    }
]


@pytest.fixture(autouse=True)
def _templates():
    with override_settings(TEMPLATES=LOCMEM):
        yield


def test_the_text_part_and_the_subject_are_not_html_escaped():
    email = render_email("t/hello", {"name": HOSTILE})
    assert email.text == f"Dear {HOSTILE},\n-- {HOSTILE}\n"  # includes too
    assert "&lt;" not in email.text + email.subject


def test_the_html_part_escapes_everything():
    email = render_email("t/hello", {"name": HOSTILE})
    assert HOSTILE not in email.html
    assert "<p>Dear &lt;b&gt;x&lt;/b&gt; &amp; &#x27;co&#x27;</p>" in email.html


def test_the_subject_is_one_line_and_shown_as_the_html_title():
    email = render_email("t/hello", {"name": "Eve\nBcc: mallory@example.com"})
    assert email.subject == "Hi Eve Bcc: mallory@example.com there"
    assert f"<title>{email.subject}</title>" in email.html


def test_a_text_template_without_a_subject_is_an_error():
    with pytest.raises(LookupError, match="subject"):
        render_email("t/no_subject", {})
