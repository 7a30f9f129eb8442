"""What appointment-request emails say, and to whom (a meeting's own emails: meetings/emails.py).
Each is queued through waitingroom.outbox.queueing (stored, sent after commit by a task, idempotent
by its reference)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from scheduling.links import absolute, requester_link
from scheduling.models import AppointmentRequest, Requester
from scheduling.times import local_time
from waitingroom.models import Clinic, Membership, Role
from waitingroom.outbox.queueing import email_queue


def _times(request: AppointmentRequest) -> str:
    if request.kind == AppointmentRequest.Kind.NOW:
        return "As soon as possible (Now)"
    return "\n".join(f"  - {local_time(t.starts_at, request.clinic)}" for t in request.times.all())


def _staff_emails(user_ids) -> list[str]:
    return list(
        get_user_model().objects.filter(id__in=list(user_ids), is_active=True).values_list("email", flat=True)
    )


def request_submitted(request: AppointmentRequest, *, addressed_to: set[int]) -> None:
    """Tell the addressed provider (or the host group) and the clinic's schedulers; send the
    requester their link."""
    clinic = request.clinic
    schedulers = Membership.objects.filter(clinic=clinic, role=Role.SCHEDULER).values_list(
        "user_id", flat=True
    )
    answers = "\n".join(f"  {key}: {value}" for key, value in request.answers.items())
    body = (
        f"{request.name} <{request.email}>{' · ' + request.phone if request.phone else ''} asks "
        f"{clinic.name} for a video session.\n\n"
        f"Service: {request.service.name} ({request.service.duration_minutes} min)\n"
        f"Request type: {request.get_kind_display()}\n"
        f"Requested time(s):\n{_times(request)}\n"
        + (f"Note: {request.note}\n" if request.note else "")
        + (f"Answers:\n{answers}\n" if answers else "")
        + f"\nDecide on the dispatch page: {absolute(reverse('dispatch'))}\n"
        f"or on your dashboard: {absolute(reverse('clinic_dashboard', args=[clinic.slug]))}\n"
    )
    email_queue(
        clinic=clinic,
        reference=f"request-{request.pk}-submitted",
        to=_staff_emails({*addressed_to, *schedulers}),
        subject=f"Video Session Request: {request.service.name} (request #{request.pk})",
        body=body,
    )
    email_queue(
        clinic=clinic,
        reference=f"request-{request.pk}-received",
        to=[request.email],
        subject=f"We received your video session request ({clinic.name})",
        body=(
            f"Hello {request.name},\n\n{clinic.name} received your request for {request.service.name}.\n"
            f"Requested time(s):\n{_times(request)}\n\n"
            f"You'll get an email when it is accepted or declined. Your requests and meetings:\n"
            f"{requester_link(request.requester)}\n"
        ),
    )


def request_declined(request: AppointmentRequest) -> None:
    email_queue(
        clinic=request.clinic,
        reference=f"request-{request.pk}-declined",
        to=[request.email],
        subject=f"Your video session request was declined ({request.clinic.name})",
        body=(
            f"Hello {request.name},\n\n{request.clinic.name} declined your request for {request.service.name}.\n"
            + (f"\nFrom the clinic: {request.response}\n" if request.response else "")
            + f"\nYou're welcome to request another time: "
            f"{absolute(reverse('request_form', args=[request.clinic.slug]))}\n"
            f"Your requests: {requester_link(request.requester)}\n"
        ),
    )


def request_expired(request: AppointmentRequest) -> None:
    email_queue(
        clinic=request.clinic,
        reference=f"request-{request.pk}-expired",
        to=[request.email],
        subject=f"Your video session request expired ({request.clinic.name})",
        body=(
            f"Hello {request.name},\n\nNobody at {request.clinic.name} could answer your request for "
            f"{request.service.name} in time, so it has expired. We're sorry.\n\n"
            f"You're welcome to request another time: "
            f"{absolute(reverse('request_form', args=[request.clinic.slug]))}\n"
        ),
    )


def requester_new_link(requester: Requester, clinic: Clinic) -> None:
    """A fresh magic link on request; at most one per requester per hour (the reference)."""
    hour = timezone.now().strftime("%Y%m%d%H")
    email_queue(
        clinic=clinic,
        reference=f"requester-{requester.pk}-link-{hour}",
        to=[requester.email],
        subject="Your link to your video session requests",
        body=f"Hello {requester.name},\n\nYour requests and meetings: {requester_link(requester)}\n",
    )
