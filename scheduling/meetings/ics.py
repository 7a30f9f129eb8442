"""iCalendar (RFC 5545) invitations, written by hand: one VEVENT in UTC, escaped and folded."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parseaddr
from urllib.parse import urlparse

from django.conf import settings

PRODID = "-//Waiting Room//Scheduling//EN"


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape(text: str) -> str:
    # A lone CR (or any other control character) would start a new line in some readers: an
    # injected property. Newlines become the escaped \n; the rest become spaces.
    text = CONTROL.sub(" ", text.replace("\r\n", "\n"))
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def param(value: str) -> str:
    """A parameter value (CN=...): quoted when it holds , ; or : (quotes themselves can't appear)."""
    value = CONTROL.sub(" ", value.replace('"', "'").replace("\n", " "))
    return f'"{value}"' if any(c in value for c in ",;:") else value


def fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after CRLF and one space."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


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
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancelled else 'REQUEST'}",
        "BEGIN:VEVENT",
        f"UID:{uid}@{urlparse(settings.PUBLIC_BASE_URL).hostname or 'localhost'}",
        f"DTSTAMP:{stamp(now or datetime.now(UTC))}",
        f"SEQUENCE:{sequence}",
        f"DTSTART:{stamp(starts_at)}",
        f"DTEND:{stamp(ends_at)}",
        f"SUMMARY:{escape(summary)}",
        f"DESCRIPTION:{escape(description)}",
        f"LOCATION:{escape(url)}",
        f"URL:{url}",
        f"ORGANIZER;CN={param(organizer_name)}:mailto:{organizer_email}",
        f"ATTENDEE;CN={param(attendee_name)};ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{attendee_email}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
