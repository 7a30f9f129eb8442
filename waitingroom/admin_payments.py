"""Card payments in the admin: the charges and refunds of a clinic (filterable, exported as CSV),
the cards its clients saved, and the Refund page of a paid charge.

The records are kept by waitingroom/payments/ and change only through its services: every row here
is read-only, and Refund calls `services.refund_request`. This module lives in the clinic core
beside admin.py, not in the payments package, because that package may import only the clinic's
models (docs/architecture.md, Layers), as the outbox's admin lives in admin.py.

Who: what a client paid for, and when, is patient data, so payments and cards are for the clinic
admins of their clinic (and superusers); other roles and other clinics get 403/404 on every URL.

The access trail: opening one payment's page is a read of one client's data and writes an entry
naming the booking it paid for; the list and its CSV write none, as every other list and the
trail's own export (docs/security.md: "pushes and working lists write none"). A refund writes a
`changed` entry."""

from __future__ import annotations

import csv
import logging
import zoneinfo
from datetime import UTC, datetime, tzinfo
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from waitingroom.admin_scoping import PATIENT_DATA_ROLES, ClinicScopedAdmin, ReadOnly, ReadOnlyInline
from waitingroom.audit.admin import RecordsReads, csv_cell
from waitingroom.audit.models import AccessEvent
from waitingroom.models import time_zone_label
from waitingroom.payments import selectors, services
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment, SavedCard
from waitingroom.tenancy import StaffRequest
from waitingroom.validators import SingleLineField

logger = logging.getLogger(__name__)

# Who may send money back: the clinic's admins (superusers too, as everywhere in the admin).
REFUND_ROLES = PATIENT_DATA_ROLES

CSV_COLUMNS = [
    "created_at",
    "clinic",
    "id",
    "kind",
    "charge_id",
    "description",
    "amount",
    "currency",
    "status",
    "card",
    "client_email",
    "pressed_by",
    "reason",
    "failure",
    "stripe_payment_intent",
    "stripe_charge",
    "stripe_refund",
]


def client_card(payment: Payment) -> SavedCard | None:
    """The card of a charge, or of a refund's charge."""
    if payment.card_id is None and payment.parent_id is not None:
        return payment.parent.card  # type: ignore[union-attr]  # a refund always has its charge
    return payment.card


def clinic_time(payment: Payment, value: datetime | None) -> str:
    """A payment's time as its clinic's staff read it: "7 Dec 2026, 09:05 New York time" (the
    clinic's time zone, named; Django's admin would show the server's UTC). "" when unset."""
    if value is None:
        return ""
    clinic = payment.clinic
    local = value.astimezone(clinic.tzinfo)
    return f"{local.day} {local:%b %Y, %H:%M} {clinic.time_zone_label}"


def decimal_amount(amount: int) -> Decimal:
    """4500 -> Decimal("45.00"): what the CSV and the refund form's input show (every currency a
    clinic may choose has cents, selectors.minor_units)."""
    return (Decimal(amount) / 100).quantize(Decimal("0.01"))


def refund_refused(charge: Payment, left: int) -> str:
    """Why this payment can't be refunded ("" when it can), in the words the admin shows."""
    if charge.kind != PaymentKind.CHARGE:
        return "A refund can't be refunded: open its charge."
    if charge.status != PaymentStatus.SUCCEEDED:
        return "Only a paid charge can be refunded; this one is not paid."
    if left <= 0:
        return "This charge is already refunded in full."
    return ""


def write_csv(queryset: QuerySet[Payment], filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    rows = queryset.select_related("clinic", "card", "parent__card", "created_by").order_by(
        "created_at", "id"
    )
    for payment in rows.iterator(chunk_size=500):
        card = client_card(payment)
        writer.writerow(
            csv_cell(value)
            for value in (
                payment.created_at.isoformat(),
                payment.clinic.slug,
                payment.pk,
                payment.kind,
                payment.parent_id or "",
                payment.description,
                decimal_amount(payment.amount),
                payment.currency.upper(),
                payment.status,
                card.label if card else "",
                card.email if card else "",
                payment.created_by.get_username() if payment.created_by else "",
                payment.reason,
                payment.failure_message,
                payment.stripe_payment_intent_id,
                payment.stripe_charge_id,
                payment.stripe_refund_id,
            )
        )
    return response


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        error_messages={
            "invalid": "Enter an amount like 12.50.",
            "max_digits": "That amount is far more than the charge.",
            "max_whole_digits": "That amount is far more than the charge.",
            "max_decimal_places": "Enter at most two decimal places (cents).",
        },
    )
    reason = SingleLineField(
        max_length=300, help_text="Kept with the refund. The client's refund receipt shows it."
    )

    def __init__(self, *args, charge: Payment, left: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.charge, self.left = charge, left
        field = self.fields["amount"]
        field.label = f"Amount ({charge.currency.upper()})"
        field.initial = decimal_amount(left)
        field.help_text = (
            f"{selectors.money(left, charge.currency)} left to refund of "
            f"{selectors.money(charge.amount, charge.currency)}."
        )

    def clean_amount(self) -> int:
        """The amount in minor units, above 0 and at most what is left."""
        amount = selectors.minor_units(self.cleaned_data["amount"])
        if amount <= 0:
            raise forms.ValidationError("Enter an amount above 0.")
        if amount > self.left:
            raise forms.ValidationError(
                f"At most {selectors.money(self.left, self.charge.currency)} is left to refund."
            )
        return amount


class RefundInline(ReadOnlyInline):
    """A charge's refunds, under it."""

    model = Payment
    fk_name = "parent"
    view_roles = PATIENT_DATA_ROLES
    verbose_name, verbose_name_plural = "refund", "refunds"
    fields = readonly_fields = (
        "created_shown",
        "amount_shown",
        "status",
        "reason",
        "pressed_by",
        "stripe_refund_id",
        "failure_message",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return super().get_queryset(request).select_related("clinic")  # each row's time zone

    @admin.display(description="created at")
    def created_shown(self, obj: Payment) -> str:
        return clinic_time(obj, obj.created_at)

    @admin.display(description="amount")
    def amount_shown(self, obj: Payment) -> str:
        return selectors.money(obj.amount, obj.currency)

    @admin.display(description="by")
    def pressed_by(self, obj: Payment) -> str:
        # The name, not a link to the user's admin page (superusers' only).
        return obj.created_by.get_username() if obj.created_by else ""


@admin.register(Payment)
class PaymentAdmin(ReadOnly, RecordsReads, ClinicScopedAdmin):
    view_roles = PATIENT_DATA_ROLES
    change_roles = frozenset()
    audit_kind = AccessEvent.Kind.CONSULTATION  # unused: audit_target names the payment's booking
    audit_detail = "payment"
    list_display = [
        "created_shown",
        "kind",
        "description",
        "client",
        "amount_shown",
        "status",
        "card_label",
        "pressed_by",
        "stripe_ids",
    ]
    list_filter = ["status", "kind"]
    date_hierarchy = "created_at"
    search_fields = [
        "description",
        "card__email",
        "parent__card__email",
        "stripe_payment_intent_id",
        "stripe_charge_id",
        "stripe_refund_id",
    ]
    list_select_related = ["clinic", "card", "parent__card", "created_by"]
    actions = ["export_selected_csv"]
    # The client's confirmation link (client_token) and the idempotency key are of no use here.
    fields = readonly_fields = (
        "clinic",
        "kind",
        "parent",
        "subject",
        "client",
        "card_label",
        "description",
        "amount_shown",
        "status",
        "failure_message",
        "reason",
        "pressed_by",
        "created_shown",
        "succeeded_shown",
        "receipt_shown",
        "stripe_payment_intent_id",
        "stripe_charge_id",
        "stripe_refund_id",
        "destination_account",
        "fee_shown",
    )
    inlines = [RefundInline]

    # --- Columns -------------------------------------------------------------------------------

    # Times in the clinic's own time zone, named (clinic_time): the admin's staff are the clinic's,
    # and a refund asked about on the phone is "the charge at 14:05", not 19:05 UTC.
    @admin.display(description="created at", ordering="created_at")
    def created_shown(self, obj: Payment) -> str:
        return clinic_time(obj, obj.created_at)

    @admin.display(description="succeeded at")
    def succeeded_shown(self, obj: Payment) -> str:
        return clinic_time(obj, obj.succeeded_at)

    @admin.display(description="receipt sent at")
    def receipt_shown(self, obj: Payment) -> str:
        return clinic_time(obj, obj.receipt_sent_at)

    @admin.display(description="amount", ordering="amount")
    def amount_shown(self, obj: Payment) -> str:
        return selectors.money(obj.amount, obj.currency)

    @admin.display(description="platform fee")
    def fee_shown(self, obj: Payment) -> str:
        fee = obj.application_fee_amount
        return "" if fee is None else selectors.money(fee, obj.currency)

    @admin.display(description="card")
    def card_label(self, obj: Payment) -> str:
        card = client_card(obj)
        return card.label if card else ""

    @admin.display(description="client")
    def client(self, obj: Payment) -> str:
        card = client_card(obj)
        if card is None:
            return ""
        return f"{card.name} <{card.email}>" if card.name else card.email

    @admin.display(description="by", ordering="created_by__username")
    def pressed_by(self, obj: Payment) -> str:
        return obj.created_by.get_username() if obj.created_by else ""

    @admin.display(description="Stripe ids")
    def stripe_ids(self, obj: Payment) -> str:
        ids = (obj.stripe_payment_intent_id, obj.stripe_charge_id, obj.stripe_refund_id)
        return " ".join(i for i in ids if i)

    def sees_several_clinics(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or self.clinics(request, self.view_roles).count() > 1

    def get_list_display(self, request: HttpRequest):
        shown = list(super().get_list_display(request))
        return [shown[0], "clinic", *shown[1:]] if self.sees_several_clinics(request) else shown

    def get_list_filter(self, request: HttpRequest):
        filters = ["status", "kind", *(["clinic"] if self.sees_several_clinics(request) else [])]
        return [(name, admin.RelatedOnlyFieldListFilter) if name == "clinic" else name for name in filters]

    # --- The access trail ----------------------------------------------------------------------

    def audit_target(self, obj: Payment) -> tuple[AccessEvent.Kind, int] | None:
        # "consultation:12" -> the consultation's entries: the trail's kinds for the bookings a
        # payment can belong to carry the subject's own names.
        kind, _, number = obj.subject.partition(":")
        if kind not in AccessEvent.Kind.values or not number.isdigit():
            logger.warning("payment %s: no access-trail kind for subject %r", obj.pk, obj.subject)
            return None
        return AccessEvent.Kind(kind), int(number)

    def audit_label(self, obj: Payment) -> str:
        card = client_card(obj)
        return (card.name or card.email) if card else obj.subject

    # --- CSV -----------------------------------------------------------------------------------

    @admin.action(description="Export the selected payments as CSV", permissions=["view"])
    def export_selected_csv(self, request: HttpRequest, queryset: QuerySet[Payment]) -> HttpResponse:
        return write_csv(queryset, "payments.csv")

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The whole list as filtered and searched on the page (the same query string, whose days
        are read in the page's zone: days_zone), scoped as the page is."""
        self._refuse(request)
        zone, _ = self.days_zone(request)
        try:
            with timezone.override(zone):
                changelist = self.get_changelist_instance(request)
                return write_csv(changelist.queryset, "payments.csv")
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:waitingroom_payment_changelist") + "?e=1")

    def days_zone(self, request: HttpRequest) -> tuple[tzinfo, str]:
        """The time zone the list's days are in (the date drill-down and its `created_at__day`
        filters), and its name as people read it. The times shown are the clinic's (clinic_time),
        so for staff whose admin is scoped to one clinic a day is that clinic's day: a charge at
        21:00 in New York on 6 Dec is under 6 Dec, not under 7 Dec (UTC). Clinics that share one
        zone share its days (as every other admin page: waitingroom/admin_time.py). Across zones
        (a superuser) there is no one clinic's day: UTC, and the page says so."""
        if not request.user.is_superuser:
            clinics = self.clinics(request, self.view_roles)
            # order_by(): Clinic's ordering (name) would make DISTINCT rows of (zone, name).
            shared = set(clinics.order_by().values_list("time_zone", flat=True).distinct()[:2])
            if len(shared) == 1:
                name = shared.pop()
                return zoneinfo.ZoneInfo(name), time_zone_label(name)
        return UTC, "UTC"

    def changelist_view(self, request, extra_context=None):
        zone, label = self.days_zone(request)
        extra = {"export_query": request.GET.urlencode(), "days_zone": label, **(extra_context or {})}
        # Django's drill-down (queryset.datetimes) and its day filters (make_aware) use the current
        # time zone, when the queryset is filtered and when the template renders: both happen here.
        with timezone.override(zone):
            response = super().changelist_view(request, extra)
            render = getattr(response, "render", None)
            if callable(render) and not getattr(response, "is_rendered", True):
                render()
        return response

    # --- Refund --------------------------------------------------------------------------------

    def get_urls(self):
        # Before the admin's own: its `<path:object_id>/` would take these paths otherwise.
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name="waitingroom_payment_export"),
            path("<path:object_id>/refund/", wrap(self.refund_view), name="waitingroom_payment_refund"),
            path("<path:object_id>/retry/", wrap(self.retry_view), name="waitingroom_payment_retry"),
            *super().get_urls(),
        ]

    def may_refund(self, request: HttpRequest, charge: Payment) -> bool:
        return self._allowed(request, charge, REFUND_ROLES)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.may_refund(request, obj):
            context["refund_url"] = (
                ""
                if refund_refused(obj, selectors.refundable_amount(charge=obj))
                else reverse("admin:waitingroom_payment_refund", args=[obj.pk])
            )
            # A refund Stripe could not be reached for (or whose send never finished) holds its
            # amount until it is sent: its page sends it again, with its idempotency key.
            if obj.kind == PaymentKind.REFUND and services.may_send_again(payment=obj, now=timezone.now()):
                context["retry_url"] = reverse("admin:waitingroom_payment_retry", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def refund_view(self, request: StaffRequest, object_id: str) -> HttpResponse:
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        self._refuse(request)
        # The scoped queryset: another clinic's charge is not found (404), as a missing one.
        charge = self.get_object(request, unquote(object_id))
        if charge is None:
            raise Http404("No such payment")
        if not self.may_refund(request, charge):
            raise PermissionDenied
        change_url = reverse("admin:waitingroom_payment_change", args=[charge.pk])
        # Shown and checked here for a clear form; the service checks it again under the charge's
        # row lock (two admins refunding at once).
        left = selectors.refundable_amount(charge=charge)
        refused = refund_refused(charge, left)
        if refused:
            self.message_user(request, refused, messages.ERROR)
            return HttpResponseRedirect(change_url)
        form = RefundForm(request.POST if request.method == "POST" else None, charge=charge, left=left)
        if form.is_valid():
            try:
                refund = services.refund_request(
                    charge=charge,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            except services.PaymentRefused as error:
                self.message_user(request, f"Not refunded: {error}", messages.ERROR)
            else:
                self.record_refund(request, charge)
                self.message_user(
                    request, f"Refund of {selectors.money(refund.amount, refund.currency)} sent."
                )
                return HttpResponseRedirect(change_url)
        return TemplateResponse(
            request,
            "admin/waitingroom/payment/refund.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Refund: {charge.description}",
                "opts": self.opts,
                "charge": charge,
                "amount": selectors.money(charge.amount, charge.currency),
                "card": self.card_label(charge),
                "form": form,
                "change_url": change_url,
            },
        )

    def retry_view(self, request: StaffRequest, object_id: str) -> HttpResponse:
        """Send again a refund Stripe could not be reached for (POST from the refund's page)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._refuse(request)
        refund = self.get_object(request, unquote(object_id))
        if refund is None or refund.kind != PaymentKind.REFUND:
            raise Http404("No such refund")
        if not self.may_refund(request, refund):
            raise PermissionDenied
        try:
            services.charge_retry(payment=refund, by=request.user)
        except services.PaymentRefused as error:
            self.message_user(request, f"Not sent: {error}", messages.ERROR)
        else:
            self.record_refund(request, refund, detail="refund sent again")
            self.message_user(
                request, f"Refund of {selectors.money(refund.amount, refund.currency)} sent again."
            )
        return HttpResponseRedirect(reverse("admin:waitingroom_payment_change", args=[refund.pk]))

    def record_refund(self, request: HttpRequest, charge: Payment, *, detail: str = "refund") -> None:
        self.record_access(request, charge, action=AccessEvent.Action.CHANGED, detail=detail)


@admin.register(SavedCard)
class SavedCardAdmin(ReadOnly, ClinicScopedAdmin):
    """What a receipt shows of a card and the booking it is for; never the client's name or
    email, nor Stripe's ids or the booking page's token. Its page shows no more than the list, so
    opening it writes no access entry."""

    view_roles = PATIENT_DATA_ROLES
    change_roles = frozenset()
    list_display = ["subject", "brand", "last4", "expiry", "status"]
    list_filter = ["status"]
    search_fields = ["subject", "last4"]
    fields = readonly_fields = ("subject", "brand", "last4", "expiry", "status")

    @admin.display(description="expires")
    def expiry(self, obj: SavedCard) -> str:
        if obj.exp_month is None or obj.exp_year is None:
            return ""
        return f"{obj.exp_month:02d}/{obj.exp_year}"
