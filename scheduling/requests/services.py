"""Every request write: the on-demand toggle, submitting, accepting, declining, withdrawing and
expiring requests. Each runs in one transaction, locks what it decides on, records an event and
sends its emails and realtime hints only after commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from scheduling import availability
from scheduling.meetings import booking
from scheduling.meetings import emails as meeting_emails
from scheduling.meetings import payments as meeting_payments
from scheduling.meetings.services import MeetingRefused
from scheduling.models import (
    MAX_REQUESTED_TIMES,
    AppointmentRequest,
    Meeting,
    ProviderStatus,
    RequestedTime,
    Requester,
    RequestEvent,
    SchedulingProfile,
    Service,
)
from scheduling.requests import emails, lifecycle, publishing
from scheduling.requests.lifecycle import Actor, Event, RequestStatus
from waitingroom.models import Clinic
from waitingroom.payments import services as payments


class RequestRefused(ValueError):
    """The request or decision is not possible as asked (the message says why)."""


# --- Availability --------------------------------------------------------------------------------


def availability_set(*, clinic: Clinic, provider: User, available: bool) -> ProviderStatus:
    """The provider's on-demand toggle."""
    if provider.pk not in set(availability.clinic_providers(clinic).values_list("id", flat=True)):
        raise RequestRefused("Only the clinic's providers have an availability toggle.")
    with transaction.atomic():
        status, _ = ProviderStatus.objects.update_or_create(
            clinic=clinic, provider=provider, defaults={"available": available, "changed_at": timezone.now()}
        )
        publishing.availability_changed(clinic)
    return status


# --- Submitting ----------------------------------------------------------------------------------


def request_submit(
    *,
    clinic: Clinic,
    service: Service,
    provider_id: int | None,
    kind: str,
    name: str,
    email: str,
    phone: str = "",
    answers: dict[str, str] | None = None,
    note: str = "",
    times: Sequence[datetime] = (),
    card_token: str = "",
) -> AppointmentRequest:
    """A requester asks for a session. The form has validated the fields; the rules that depend on
    the moment (someone available now, the slots still open) are checked again here. A paid
    service needs the card the requester saved on the page (`card_token`, saved for this email):
    it becomes the request's in the same transaction, and without it nothing is stored."""
    profile = availability.profile_for(clinic)
    now = timezone.now()
    if service.clinic_id != clinic.pk or not service.active or service.kind != Service.Kind.VIDEO:
        raise RequestRefused("That service is not offered.")
    if provider_id is not None and provider_id not in set(
        availability.clinic_providers(clinic).values_list("id", flat=True)
    ):
        raise RequestRefused("That provider does not take requests here.")
    if not profile.may_request(email):
        raise RequestRefused(f"Requests to {clinic.name} are open to {profile.patient_group_name} only.")
    if service.payment_required and not card_token:
        raise RequestRefused("Save a card to book this paid service.")
    times = sorted(set(times))
    if kind == AppointmentRequest.Kind.NOW:
        if not availability.available_now(clinic=clinic, provider_id=provider_id, now=now):
            raise RequestRefused("Nobody is available right now; please choose Scheduled.")
        times, expires_at = [], now + timedelta(minutes=profile.now_request_expiry_minutes)
    elif kind == AppointmentRequest.Kind.SCHEDULED:
        if not 1 <= len(times) <= MAX_REQUESTED_TIMES:
            raise RequestRefused(f"Choose one to {MAX_REQUESTED_TIMES} times.")
        if any(t <= now for t in times):
            raise RequestRefused("Requested times must be in the future.")
        if profile.availability_mode == SchedulingProfile.Mode.CALENDAR:
            open_starts = {
                slot.starts_at
                for slot in availability.open_slots(
                    clinic=clinic, service=service, provider_id=provider_id, now=now
                )
            }
            if not set(times) <= open_starts:
                raise RequestRefused("One of the chosen times is no longer open; please choose again.")
        expires_at = times[0]
    else:
        raise RequestRefused("Choose Now or Scheduled.")

    with transaction.atomic():
        # A requester is known by email. Someone typing another person's address doesn't rename
        # them: what was typed is kept on this request only.
        requester = Requester.objects.remember(email=email, name=name, phone=phone, clinic=clinic)
        request = AppointmentRequest.objects.create(
            clinic=clinic,
            service=service,
            provider_id=provider_id,
            kind=kind,
            requester=requester,
            name=name,
            email=email.lower(),
            phone=phone,
            answers=answers or {},
            note=note,
            created_at=now,
            expires_at=expires_at,
        )
        RequestedTime.objects.bulk_create([RequestedTime(request=request, starts_at=t) for t in times])
        if service.payment_required:
            try:
                payments.card_bind(
                    clinic=clinic, token=card_token, subject=subject_of(request.pk), email=request.email
                )
            except payments.PaymentRefused as refused:
                raise RequestRefused(str(refused)) from None  # rolls the request back
        RequestEvent.objects.create(request=request, event="submit", to_status=RequestStatus.PENDING, at=now)
        addressed = {provider_id} if provider_id else availability.host_ids(clinic, profile)
        transaction.on_commit(lambda: emails.request_submitted(request, addressed_to=addressed))
        publishing.requests_changed(clinic)
    return request


def subject_of(request_id: int) -> str:
    """A request's subject in waitingroom/payments/: its card, until it is accepted and the card
    follows it to the meeting. A request is never charged: declined, expired or withdrawn, its
    card is simply never used."""
    return f"request:{request_id}"


# --- Deciding ------------------------------------------------------------------------------------


def _locked_pending(
    request_id: int, event: Event, actor: Actor, **scope
) -> tuple[AppointmentRequest, RequestStatus]:
    """The request under a row lock, with the status `event` leads to. Of two people deciding at
    once the second waits here, then finds it decided (AlreadyDecided). `scope` narrows the lookup
    (a requester's own requests) before anything about the request is revealed."""
    request = (
        AppointmentRequest.objects.select_for_update()
        .select_related("clinic", "service")
        .get(pk=request_id, **scope)
    )
    return request, lifecycle.transition(request.status, event, actor)


def _record(
    request: AppointmentRequest,
    *,
    event: Event,
    to: RequestStatus,
    by,
    response: str,
    now: datetime,
    detail: str = "",
) -> None:
    before = request.status
    request.status, request.decided_at, request.decided_by, request.response = to, now, by, response
    request.save(update_fields=["status", "decided_at", "decided_by", "response"])
    RequestEvent.objects.create(
        request=request,
        event=event,
        from_status=before,
        to_status=to,
        user=by,
        at=now,
        detail=detail or response,
    )


def request_accept(
    *,
    request_id: int,
    by: User,
    provider_id: int,
    starts_at: datetime | None,
    response: str = "",
    override: bool = False,
) -> Meeting:
    """Accept one requested time (Now: this moment) with a provider; the request becomes a meeting
    and the requester gets an invitation. Overlapping the provider's sessions needs `override`."""
    now = timezone.now()
    with transaction.atomic():
        request, to = _locked_pending(request_id, Event.ACCEPT, Actor.STAFF)
        if request.expires_at <= now:
            # Overdue: the sweep will mark it expired in a moment; it can't be booked any more.
            raise RequestRefused("This request has expired; the requester will be told.")
        clinic = request.clinic
        if request.kind == AppointmentRequest.Kind.NOW:
            starts_at = now
        elif starts_at not in set(request.times.values_list("starts_at", flat=True)):
            raise RequestRefused("Accept one of the requested times.")
        ends_at = starts_at + request.service.duration
        try:
            provider = booking.lock_provider(clinic=clinic, provider_id=provider_id)
        except MeetingRefused as refused:
            raise RequestRefused(str(refused)) from None
        overlapping = booking.check_free(
            provider_id=provider.pk, starts_at=starts_at, ends_at=ends_at, override=override
        )
        meeting = booking.create_meeting(
            now=now,
            event="accept",
            by=by,
            detail=f"request #{request.pk}",
            clinic=clinic,
            provider=provider,
            service=request.service,
            starts_at=starts_at,
            ends_at=ends_at,
            guest_name=request.name,
            guest_email=request.email,
            guest_phone=request.phone,
            requester=request.requester,
            request=request,
            created_by=by,
        )
        if request.service.payment_required:
            # The card saved with the request follows it: the meeting is what gets charged.
            payments.card_move(
                from_subject=subject_of(request.pk), to_subject=meeting_payments.subject_of(meeting.pk)
            )
        # An override is part of the audit trail.
        detail = f"{response}\n(booked over {len(overlapping)} overlapping session(s))" if overlapping else ""
        _record(request, event=Event.ACCEPT, to=to, by=by, response=response, now=now, detail=detail)
        transaction.on_commit(
            lambda: meeting_emails.invitation(
                meeting, intro="Your video session request was accepted.", note=request.response
            )
        )
        publishing.requests_changed(clinic)
    return meeting


def request_decline(*, request_id: int, by: User, response: str = "") -> AppointmentRequest:
    now = timezone.now()
    with transaction.atomic():
        request, to = _locked_pending(request_id, Event.DECLINE, Actor.STAFF)
        _record(request, event=Event.DECLINE, to=to, by=by, response=response, now=now)
        transaction.on_commit(lambda: emails.request_declined(request))
        publishing.requests_changed(request.clinic)
    return request


def request_withdraw(*, request_id: int, requester: Requester) -> AppointmentRequest:
    """The requester takes back a request nobody has decided yet."""
    now = timezone.now()
    with transaction.atomic():
        request, to = _locked_pending(request_id, Event.WITHDRAW, Actor.REQUESTER, requester=requester)
        _record(request, event=Event.WITHDRAW, to=to, by=None, response="", now=now)
        publishing.requests_changed(request.clinic)
    return request


def requests_expire_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """The beat sweep: undecided requests past their expiry become expired and the requester is
    told. Rows being decided right now are skipped (SKIP LOCKED) and looked at next time."""
    now = now or timezone.now()
    expired = 0
    with transaction.atomic():
        due = list(
            AppointmentRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("clinic", "service")
            .filter(status=RequestStatus.PENDING, expires_at__lte=now)
            .order_by("expires_at")[:limit]
        )
        for request in due:
            _record(
                request,
                event=Event.EXPIRE,
                to=lifecycle.transition(request.status, Event.EXPIRE, Actor.SYSTEM),
                by=None,
                response="",
                now=now,
            )
            transaction.on_commit(partial(emails.request_expired, request))
            expired += 1
        for clinic in {request.clinic for request in due}:
            publishing.requests_changed(clinic)
    return expired
