"""Every scheduling email is a template pair: each one sent has a text and an HTML part, the HTML
part escapes what people typed, the text part shows it as typed, and the subject stays one line.
(What each email says is checked by the tests of the flows that send it.)"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from scheduling.meetings import emails as meeting_emails
from scheduling.models import AppointmentRequest, Meeting, RequestedTime, Requester
from scheduling.requests import emails as request_emails
from tests.scheduling.conftest import MONDAY_NOON

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE = "<b>Eve</b> & 'co'"
ESCAPED = "&lt;b&gt;Eve&lt;/b&gt; &amp; &#x27;co&#x27;"


def test_every_email_template_has_a_text_and_an_html_part():
    names = {path.with_suffix("") for path in Path(settings.BASE_DIR, "templates").glob("**/emails/*.*")}
    names -= {Path(settings.BASE_DIR, "templates/waitingroom/emails/base")}  # the HTML layout
    assert names
    for name in names:
        assert name.with_suffix(".txt").exists() and name.with_suffix(".html").exists(), name


def every_email(clinic, provider, scheduler, service) -> None:
    """Send each of scheduling's emails once, with a hostile name and notes."""
    requester = Requester.objects.create(email="eve@example.com", name=HOSTILE)
    request = AppointmentRequest.objects.create(
        clinic=clinic, service=service, kind=AppointmentRequest.Kind.SCHEDULED, requester=requester,
        name=HOSTILE, email=requester.email, answers={"Why": HOSTILE}, note=HOSTILE,
        response=HOSTILE, created_at=MONDAY_NOON, expires_at=MONDAY_NOON + timedelta(days=1),
    )  # fmt: skip
    RequestedTime.objects.create(request=request, starts_at=MONDAY_NOON + timedelta(days=1))
    request_emails.request_submitted(request, addressed_to={provider.pk})
    request_emails.request_declined(request)
    request_emails.request_expired(request)
    request_emails.requester_new_link(requester, clinic)
    starts = MONDAY_NOON + timedelta(days=1)
    for by_guest in (False, True):
        meeting = Meeting.objects.create(
            clinic=clinic, provider=provider, service=service, starts_at=starts,
            ends_at=starts + timedelta(minutes=30), guest_name=HOSTILE, guest_email="eve@example.com",
            description=HOSTILE, requester=requester, cancelled_by_guest=by_guest,
        )  # fmt: skip
        meeting_emails.cancelled(meeting)
    meeting_emails.invitation(meeting, intro=HOSTILE, note=HOSTILE)
    meeting_emails.proposals(meeting, [starts, starts + timedelta(hours=1)])
    meeting_emails.host_assigned(meeting)


def test_each_email_has_an_escaped_html_part_and_an_unescaped_text_part(
    frozen, clinic_a, provider, scheduler, service
):
    every_email(clinic_a, provider, scheduler, service)
    subjects = [m.subject.split(":")[0].split(" (")[0] for m in mail.outbox]
    assert subjects == [
        "Video Session Request", "We received your video session request",
        "Your video session request was declined", "Your video session request expired",
        "Your link to your video session requests", "Cancelled", "Cancelled by the guest",
        "Invitation", "Pick a time", "Assigned to you",
    ]  # fmt: skip
    for message in mail.outbox:
        [(html, mimetype)] = message.alternatives
        assert mimetype == "text/html" and html.lstrip().startswith("<!doctype html>"), message.subject
        assert HOSTILE in message.body and "&lt;" not in message.body and "&amp;" not in message.body
        assert ESCAPED in html and HOSTILE not in html, message.subject


def test_a_line_break_in_a_name_does_not_reach_the_subject(frozen, clinic_a, provider, service):
    meeting = Meeting.objects.create(
        clinic=clinic_a, provider=provider, service=service, guest_name="Eve\nBcc: mallory@example.com",
        guest_email="eve@example.com",
    )  # fmt: skip
    meeting_emails.host_assigned(meeting)
    [assigned] = mail.outbox
    assert assigned.subject == (
        "Assigned to you: General consultation with Eve Bcc: mallory@example.com on (time not yet picked)"
    )
