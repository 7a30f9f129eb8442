"""iCalendar (RFC 5545) invitations: one VEVENT in UTC, built with the `icalendar` package, which
escapes, folds and writes the lines (they were written by hand before)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parseaddr
from urllib.parse import urlparse

import icalendar
from django.conf import settings

PRODID = "-//Waiting Room//Scheduling//EN"

# icalendar escapes CRLF and LF but writes a lone CR, \x0b, \x0c, U+0085, U+2028 and U+2029 raw,
# and some readers start a new line (an injected property) at each. The forms refuse them
# (waitingroom/validators.py); rows stored before that, and text built here, are cleaned too.
LINE_SEPARATORS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")


def text(value: str) -> str:
    """A TEXT value: every line separator becomes a newline (escaped as \\n), other controls a space."""
    return CONTROL.sub(" ", LINE_SEPARATORS.sub("\n", value))


def param(value: str) -> str:
    """A parameter value (CN=...) is one line, and cannot hold a double quote."""
    return text(value).replace("\n", " ").replace("\t", " ").replace('"', "'")


def event_calendar(
    *,
    uid: str,
    starts_at: datetime,
    ends_at: datetime,
    summary: str,
    description: str,
    url: str,
    organizer_name: str,
    attendee_name: str,
    attendee_email: str,
    sequence: int = 0,
    cancelled: bool = False,
    now: datetime | None = None,
) -> str:
    organizer_email = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "no-reply@localhost"
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")

    event = icalendar.Event()
    event.add("uid", f"{uid}@{urlparse(settings.PUBLIC_BASE_URL).hostname or 'localhost'}")
    event.add("dtstamp", (now or datetime.now(UTC)).astimezone(UTC))
    event.add("sequence", sequence)
    event.add("dtstart", starts_at.astimezone(UTC))
    event.add("dtend", ends_at.astimezone(UTC))
    event.add("summary", text(summary))
    event.add("description", text(description))
    event.add("location", text(url))
    event.add("url", icalendar.vUri(param(url)))
    organizer = icalendar.vCalAddress(f"mailto:{organizer_email}")
    organizer.params["cn"] = icalendar.vText(param(organizer_name))
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{param(attendee_email)}")
    attendee.params["cn"] = icalendar.vText(param(attendee_name))
    attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
    attendee.params["rsvp"] = icalendar.vText("FALSE")
    event.add("attendee", attendee)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical().decode()
