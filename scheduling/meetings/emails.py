"""What a meeting's guest and host are emailed: the invitation (with its .ics, join link and guest
key) whenever the time or host is fixed or changes, the proposed times to pick from, and the
cancellation. Queued through waitingroom.outbox.queueing: stored, sent after commit, one per reference."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from scheduling.availability import person
from scheduling.links import absolute, join_link, requester_link
from scheduling.meetings import ics
from scheduling.models import Meeting
from scheduling.times import local_time
from waitingroom.outbox.queueing import Attachment, email_queue


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
    when = local_time(meeting.starts_at, meeting.clinic)
    requester = meeting.requester
    email_queue(
        clinic=meeting.clinic,
        reference=f"meeting-{meeting.pk}-invitation-{meeting.sequence}",
        to=[meeting.guest_email],
        subject=f"Invitation: {meeting.service.name} on {when}",
        body=(
            f"Hello {meeting.guest_name},\n\n{intro}\n\n"
            f"Service: {meeting.service.name} ({meeting.service.duration_minutes} min)\n"
            f"With: {person(meeting.provider)}\nWhen: {when}\n"
            + (f"\n{meeting.description}\n" if meeting.description else "")
            + (f"\nFrom the clinic: {note}\n" if note else "")
            + f"\nJoin the session with this link (it opens 15 minutes before the start):\n"
            f"{join_link(meeting)}\n"
            f"or enter your guest key {meeting.guest_key_display} at {absolute(reverse('meet'))}\n\n"
            "The attached invite.ics adds it to your calendar."
            + (f" Your requests and meetings:\n{requester_link(requester)}\n" if requester else "\n")
        ),
        attachments=(_calendar(meeting, note=note),),
    )


def proposals(meeting: Meeting, times: list) -> None:
    """Planning: the guest picks one of the proposed times through their link."""
    listed = "\n".join(f"  - {local_time(t, meeting.clinic)}" for t in times)
    email_queue(
        clinic=meeting.clinic,
        reference=f"meeting-{meeting.pk}-proposals",
        to=[meeting.guest_email],
        subject=f"Pick a time: {meeting.service.name} with {person(meeting.provider)}",
        body=(
            f"Hello {meeting.guest_name},\n\n{meeting.clinic.name} proposes these times for "
            f"{meeting.service.name} ({meeting.service.duration_minutes} min) with "
            f"{person(meeting.provider)}:\n{listed}\n"
            + (f"\n{meeting.description}\n" if meeting.description else "")
            + f"\nPick the one that suits you here:\n{join_link(meeting)}\n"
        ),
    )


def cancelled(meeting: Meeting) -> None:
    """Whoever did not cancel is told: the guest (with a CANCEL .ics) or the host."""
    clinic = meeting.clinic
    when = local_time(meeting.starts_at, clinic) if meeting.starts_at else "(time not yet picked)"
    if meeting.cancelled_by_guest:
        email_queue(
            clinic=clinic,
            reference=f"meeting-{meeting.pk}-cancelled",
            to=[meeting.provider.email],
            subject=f"Cancelled by the guest: {meeting.service.name} on {when}",
            body=f"{meeting.guest_name} <{meeting.guest_email}> cancelled {meeting.service.name} on {when}.\n",
        )
        return
    email_queue(
        clinic=clinic,
        reference=f"meeting-{meeting.pk}-cancelled",
        to=[meeting.guest_email],
        subject=f"Cancelled: {meeting.service.name} on {when}",
        body=(
            f"Hello {meeting.guest_name},\n\n{clinic.name} cancelled your {meeting.service.name} "
            f"with {person(meeting.provider)} on {when}. We're sorry for the trouble.\n\n"
            f"You're welcome to request another time: {absolute(reverse('request_form', args=[clinic.slug]))}\n"
        ),
        attachments=(_calendar(meeting, cancelled=True),) if meeting.starts_at else (),
    )


def host_assigned(meeting: Meeting) -> None:
    """The new host hears that a colleague passed the meeting to them."""
    when = local_time(meeting.starts_at, meeting.clinic) if meeting.starts_at else "(time not yet picked)"
    email_queue(
        clinic=meeting.clinic,
        reference=f"meeting-{meeting.pk}-host-{meeting.provider_id}-{meeting.sequence}",
        to=[meeting.provider.email],
        subject=f"Assigned to you: {meeting.service.name} with {meeting.guest_name} on {when}",
        body=(
            f"{meeting.service.name} with {meeting.guest_name} <{meeting.guest_email}> on {when} is now "
            f"yours.\n\nYour meetings: {absolute(reverse('meetings'))}\n"
        ),
    )
