"""What a meeting's guest and host are emailed: the invitation (with its .ics, join link and guest
key) whenever the time or host is fixed or changes, the proposed times to pick from, and the
cancellation. The words are templates (templates/scheduling/meetings/emails/, a text and an HTML
part each); this module picks the recipients, the context and the .ics. Queued through
waitingroom.outbox.queueing: stored, sent after commit, one per reference."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from scheduling.availability import person
from scheduling.links import absolute, join_link, requester_link
from scheduling.meetings import ics
from scheduling.models import Meeting
from scheduling.times import local_time
from waitingroom.outbox.queueing import Attachment, email_queue
from waitingroom.outbox.rendering import EmailContent, render_email


def _render(name: str, meeting: Meeting, **extra: Any) -> EmailContent:
    """Render templates/scheduling/meetings/emails/<name> with what every meeting email may show."""
    clinic = meeting.clinic
    context = {
        "meeting": meeting,
        "clinic": clinic,
        "host": person(meeting.provider),
        "when": local_time(meeting.starts_at, clinic) if meeting.starts_at else "(time not yet picked)",
        **extra,
    }
    return render_email(f"scheduling/meetings/emails/{name}", context)


def _calendar(meeting: Meeting, *, cancelled: bool = False, note: str = "") -> Attachment:
    clinic, link = meeting.clinic, join_link(meeting)
    assert meeting.starts_at is not None and meeting.ends_at is not None  # only booked meetings have one
    description = (
        f"Video session at {clinic.name}.\nJoin: {link}\nGuest key: {meeting.guest_key_display}"
        + (f"\n\n{meeting.description}" if meeting.description else "")
        + (f"\n\nFrom the clinic: {note}" if note else "")
    )
    calendar = ics.event_calendar(
        uid=f"meeting-{meeting.pk}",
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        summary=f"{meeting.service.name} with {person(meeting.provider)} ({clinic.name})",
        description=description,
        url=link,
        organizer_name=clinic.name,
        attendee_name=meeting.guest_name,
        attendee_email=meeting.guest_email,
        sequence=meeting.sequence,
        cancelled=cancelled,
        now=timezone.now(),
    )
    method = "CANCEL" if cancelled else "REQUEST"
    return Attachment("invite.ics", calendar, f"text/calendar; method={method}; charset=utf-8")


def agenda_file(meeting: Meeting) -> str:
    """The .ics that "Add to agenda" downloads: the same event the guest was sent."""
    return _calendar(meeting).content


def invitation(meeting: Meeting, *, intro: str, note: str = "") -> None:
    """The guest's invitation for the meeting as it now stands. Each version (sequence) is one
    email; the .ics carries the same UID, so calendars update the event instead of adding one."""
    assert meeting.starts_at is not None  # an invitation is for a booked time
    requester = meeting.requester
    email_queue(
        clinic=meeting.clinic,
        reference=f"meeting-{meeting.pk}-invitation-{meeting.sequence}",
        to=[meeting.guest_email],
        content=_render(
            "invitation",
            meeting,
            intro=intro,
            note=note,
            join_url=join_link(meeting),
            meet_url=absolute(reverse("meet")),
            requester_url=requester_link(requester) if requester else "",
        ),
        attachments=(_calendar(meeting, note=note),),
    )


def proposals(meeting: Meeting, times: list) -> None:
    """Planning: the guest picks one of the proposed times through their link."""
    email_queue(
        clinic=meeting.clinic,
        reference=f"meeting-{meeting.pk}-proposals",
        to=[meeting.guest_email],
        content=_render(
            "proposals",
            meeting,
            times=[local_time(t, meeting.clinic) for t in times],
            join_url=join_link(meeting),
        ),
    )


def cancelled(meeting: Meeting) -> None:
    """Whoever did not cancel is told: the guest (with a CANCEL .ics) or the host."""
    clinic = meeting.clinic
    if meeting.cancelled_by_guest:
        email_queue(
            clinic=clinic,
            reference=f"meeting-{meeting.pk}-cancelled",
            to=[meeting.provider.email],
            content=_render("cancelled_by_guest", meeting),
        )
        return
    email_queue(
        clinic=clinic,
        reference=f"meeting-{meeting.pk}-cancelled",
        to=[meeting.guest_email],
        content=_render(
            "cancelled", meeting, request_form_url=absolute(reverse("request_form", args=[clinic.slug]))
        ),
        attachments=(_calendar(meeting, cancelled=True),) if meeting.starts_at else (),
    )


def host_assigned(meeting: Meeting) -> None:
    """The new host hears that a colleague passed the meeting to them."""
    email_queue(
        clinic=meeting.clinic,
        reference=f"meeting-{meeting.pk}-host-{meeting.provider_id}-{meeting.sequence}",
        to=[meeting.provider.email],
        content=_render("host_assigned", meeting, meetings_url=absolute(reverse("meetings"))),
    )
