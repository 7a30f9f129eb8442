"""Reads for the request pages: the dispatch list, a provider's pending requests, the assign
dialog, and a requester's own requests and meetings. Every list is scoped before it is read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from scheduling import availability
from scheduling.models import AppointmentRequest, Meeting, Requester, SchedulingProfile
from scheduling.requests.lifecycle import RequestStatus
from waitingroom import tenancy
from waitingroom.models import Clinic, Role
from waitingroom.payments import selectors as pay
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment

DISPATCH_ROLES = frozenset({Role.SCHEDULER, Role.CLINIC_ADMIN})
# A request still pending after this long shows red on the dispatch page.
PENDING_LATE_SECONDS = 5 * 60


def _with_details(queryset: QuerySet[AppointmentRequest]) -> QuerySet[AppointmentRequest]:
    return queryset.select_related("clinic__scheduling", "service", "provider").prefetch_related("times")


def dispatch_clinics(*, user: tenancy.AnyUser) -> QuerySet[Clinic]:
    return tenancy.staff_clinics(user=user, roles=DISPATCH_ROLES).order_by("name")


def dispatch_requests(*, user: User, clinic_slug: str | None = None) -> list[AppointmentRequest]:
    """Pending requests of the scheduler's clinics (or one of them), oldest first."""
    clinics = dispatch_clinics(user=user)
    if clinic_slug:
        clinics = clinics.filter(slug=clinic_slug)
        if not clinics.exists():
            raise Http404("No such clinic")
    pending = AppointmentRequest.objects.filter(clinic__in=clinics, status=RequestStatus.PENDING)
    return list(_with_details(pending).order_by("created_at", "id"))


def pending_for(request: AppointmentRequest, now: datetime | None = None) -> int:
    return int(((now or timezone.now()) - request.created_at).total_seconds())


def is_late(request: AppointmentRequest, now: datetime | None = None) -> bool:
    """The dispatch page's colour rule: green for five minutes, then red."""
    return pending_for(request, now) >= PENDING_LATE_SECONDS


def profile_of(request: AppointmentRequest) -> SchedulingProfile:
    return availability.profile_for(request.clinic)


def addressed_to_label(request: AppointmentRequest) -> str:
    if request.provider is not None:  # no query when provider_id is None
        return request.provider.get_full_name() or request.provider.username
    return profile_of(request).host_group_name


# --- Who may decide ------------------------------------------------------------------------------


def is_dispatcher(*, user: User, clinic: Clinic) -> bool:
    return user.is_superuser or tenancy.has_role(user=user, clinic=clinic, roles=DISPATCH_ROLES)


def addressed_to_user(*, request: AppointmentRequest, user: User) -> bool:
    if request.provider_id:
        return request.provider_id == user.pk
    return user.pk in availability.host_ids(request.clinic, profile_of(request))


def decidable_request(*, user: User, request_id: int) -> AppointmentRequest:
    """The request if `user` may decide it (a scheduler or clinic admin of its clinic, or the
    provider it is addressed to); else 404."""
    request = _with_details(AppointmentRequest.objects.filter(pk=request_id)).first()
    if request is None or not (
        is_dispatcher(user=user, clinic=request.clinic)
        or (
            tenancy.has_role(user=user, clinic=request.clinic, roles={Role.PROVIDER})
            and addressed_to_user(request=request, user=user)
        )
    ):
        raise Http404("No such request")
    return request


def provider_requests(*, clinic: Clinic, user: User, profile: SchedulingProfile) -> list[AppointmentRequest]:
    """Pending requests addressed to this provider, or to a host group they are in; oldest first.
    The caller has checked that `user` is a provider of `clinic`."""
    mine = Q(provider=user)
    if availability.in_host_group(clinic, profile, user.pk):
        mine |= Q(provider__isnull=True)
    pending = AppointmentRequest.objects.filter(mine, clinic=clinic, status=RequestStatus.PENDING)
    return list(_with_details(pending).order_by("created_at", "id"))


# --- The assign dialog ---------------------------------------------------------------------------


@dataclass
class ProviderChoice:
    id: int
    name: str
    # Per requested time (or for Now, this moment): free by the toggle or calendar, and unbooked.
    available: list[bool]

    @property
    def available_any(self) -> bool:
        return any(self.available)


@dataclass
class AssignContext:
    request: AppointmentRequest
    times: list[datetime]
    providers: list[ProviderChoice]
    chosen: ProviderChoice | None
    conflicts: dict[datetime, list[availability.Busy]] = field(default_factory=dict)
    mode: str = SchedulingProfile.Mode.CALENDAR


def assign_context(
    *, request: AppointmentRequest, provider_id: int | None, now: datetime | None = None
) -> AssignContext:
    clinic = request.clinic
    now = now or timezone.now()
    times = [t.starts_at for t in request.times.all()] or [now]
    providers = list(availability.clinic_providers(clinic))
    free = {
        t: availability.available_at(
            clinic=clinic,
            provider_ids=[p.pk for p in providers],
            starts_at=t,
            duration=request.service.duration,
        )
        for t in times
    }
    choices = [
        ProviderChoice(p.pk, p.get_full_name() or p.username, [free[t][p.pk] for t in times])
        for p in providers
    ]
    if provider_id is None:
        provider_id = request.provider_id
    chosen = next((c for c in choices if c.id == provider_id), None)
    conflicts = availability.conflicts_near(provider_id=chosen.id, times=times) if chosen else {}
    return AssignContext(
        request=request,
        times=times,
        providers=choices,
        chosen=chosen,
        conflicts=conflicts,
        mode=profile_of(request).availability_mode,
    )


# --- The requester's page ------------------------------------------------------------------------


def requester_overview(*, requester: Requester) -> tuple[list[AppointmentRequest], list[Meeting]]:
    requests = list(
        AppointmentRequest.objects.filter(requester=requester)
        .select_related("clinic", "service", "provider", "meeting")
        .prefetch_related("times")
        .order_by("-created_at")
    )
    meetings = list(
        Meeting.objects.filter(requester=requester)
        .select_related("clinic", "service", "provider")
        .order_by("starts_at")
    )
    return requests, meetings


@dataclass
class ClientPayment:
    """One line of the requester's payments: a charge (or a refund, under its charge), in words."""

    payment: Payment
    amount: str
    status: str
    refunds: list[ClientPayment] = field(default_factory=list)


def _client_status(payment: Payment) -> str:
    """A payment's state in the client's words."""
    if payment.kind == PaymentKind.REFUND:
        return {
            PaymentStatus.SUCCEEDED: "Refunded",
            PaymentStatus.FAILED: "Refund failed",
            PaymentStatus.CANCELED: "Refund cancelled",
        }.get(PaymentStatus(payment.status), "Refund on its way")
    if payment.status == PaymentStatus.FAILED:
        reason = payment.failure_message
        return f"Not paid: {reason}" if reason else "Not paid"
    return {
        PaymentStatus.SUCCEEDED: "Paid",
        PaymentStatus.NEEDS_AUTHENTICATION: "Waiting for you to confirm it (see the email we sent you)",
        PaymentStatus.CANCELED: "Cancelled",
    }.get(PaymentStatus(payment.status), "Being processed")


def requester_payments(*, requester: Requester) -> list[ClientPayment]:
    """The requester's charges, newest first, each with its refunds: every payment of a card saved
    with their email, whatever they booked (a meeting, a phone consultation) and at any clinic."""
    lines: dict[int, ClientPayment] = {}
    refunds: list[Payment] = []
    for payment in pay.payments_for_client(email=requester.email):
        if payment.kind == PaymentKind.REFUND:
            refunds.append(payment)
        else:
            lines[payment.pk] = ClientPayment(
                payment, pay.money(payment.amount, payment.currency), _client_status(payment)
            )
    for refund in refunds:
        charge = lines.get(refund.parent_id or 0)
        if charge is not None:  # a refund's charge was made on the same card, so it is listed
            charge.refunds.append(
                ClientPayment(refund, pay.money(refund.amount, refund.currency), _client_status(refund))
            )
    return list(lines.values())


def submitted_requests(*, ids: list[int]) -> list[AppointmentRequest]:
    """Requests this browser just submitted (before the requester has opened their link)."""
    return list(
        AppointmentRequest.objects.filter(pk__in=ids)
        .select_related("clinic", "service", "provider")
        .prefetch_related("times")
        .order_by("-created_at")
    )
