"""What appointment-request emails say, and to whom (a meeting's own emails: meetings/emails.py).
The words are templates (templates/scheduling/requests/emails/, a text and an HTML part each);
this module picks the recipients and the context. Each is queued through
waitingroom.outbox.queueing (stored, sent after commit by a task, idempotent by its reference)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from scheduling.links import absolute, requester_link
from scheduling.models import AppointmentRequest, Requester
from scheduling.times import local_time
from waitingroom.models import Clinic, Membership, Role
from waitingroom.outbox.queueing import email_queue
from waitingroom.outbox.rendering import render_email

TEMPLATES = "scheduling/requests/emails/"


def _context(request: AppointmentRequest) -> dict[str, Any]:
    """What every request email may show: the request (`appointment`: `request` means the HTTP
    request in templates), its clinic, and its times in the clinic's zone."""
    asap = request.kind == AppointmentRequest.Kind.NOW
    return {
        "appointment": request,
        "clinic": request.clinic,
        "asap": asap,
        "times": [] if asap else [local_time(t.starts_at, request.clinic) for t in request.times.all()],
        "request_form_url": absolute(reverse("request_form", args=[request.clinic.slug])),
    }


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
    context = {
        **_context(request),
        # A list of pairs, not the dict: a question named "items" would shadow dict.items in a template.
        "answers": list(request.answers.items()),
        "dispatch_url": absolute(reverse("dispatch")),
        "dashboard_url": absolute(reverse("clinic_dashboard", args=[clinic.slug])),
        "requester_url": requester_link(request.requester),
    }
    email_queue(
        clinic=clinic,
        reference=f"request-{request.pk}-submitted",
        to=_staff_emails({*addressed_to, *schedulers}),
        content=render_email(TEMPLATES + "submitted", context),
    )
    email_queue(
        clinic=clinic,
        reference=f"request-{request.pk}-received",
        to=[request.email],
        content=render_email(TEMPLATES + "received", context),
    )


def request_declined(request: AppointmentRequest) -> None:
    email_queue(
        clinic=request.clinic,
        reference=f"request-{request.pk}-declined",
        to=[request.email],
        content=render_email(
            TEMPLATES + "declined", {**_context(request), "requester_url": requester_link(request.requester)}
        ),
    )


def request_expired(request: AppointmentRequest) -> None:
    email_queue(
        clinic=request.clinic,
        reference=f"request-{request.pk}-expired",
        to=[request.email],
        content=render_email(TEMPLATES + "expired", _context(request)),
    )


def requester_new_link(requester: Requester, clinic: Clinic) -> None:
    """A fresh magic link on request; at most one per requester per hour (the reference)."""
    hour = timezone.now().strftime("%Y%m%d%H")
    email_queue(
        clinic=clinic,
        reference=f"requester-{requester.pk}-link-{hour}",
        to=[requester.email],
        content=render_email(
            TEMPLATES + "new_link", {"requester": requester, "requester_url": requester_link(requester)}
        ),
    )
