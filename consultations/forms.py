"""The room's forms. Length and emptiness are the services' rules (consultations/services.py);
the forms refuse what no text may hold (NUL bytes, control characters) and read the version the
page showed."""

from __future__ import annotations

from django import forms

from waitingroom.validators import MultiLineField


class MessageForm(forms.Form):
    body = MultiLineField(required=False)


class CancelForm(forms.Form):
    reason = MultiLineField(required=False)


class NoteForm(forms.Form):
    body = MultiLineField(required=False)
    # The note version the form showed (0: no note yet).
    note_version = forms.IntegerField(min_value=0, required=False)


def version_of(data) -> int | None:
    """The consultation version a page sent (`version`), or None when missing or not a number
    (then the service cannot tell a stale page: the view refuses instead)."""
    seen = str(data.get("version", ""))
    return int(seen) if seen.isascii() and seen.isdigit() and len(seen) < 10 else None
