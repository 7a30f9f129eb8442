"""Card payments' records: a card a client saved (through a Stripe SetupIntent) for a booking, a
Payment row per charge and per refund, and the Stripe events received.

The app stores Stripe's ids and what a receipt shows (brand, last four digits, expiry), never card
data: the card number goes from the client's browser to Stripe (Stripe.js) only.

A card and its payments belong to a subject of an app above the clinic core ("consultation:<id>",
"meeting:<id>", "request:<id>"): this package never imports those apps; it tells them of a change
through settings.PAYMENT_SUBJECTS (waitingroom/payments/services.py)."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from waitingroom.models import Clinic
from waitingroom.payments.lifecycle import FINAL, LIVE, PaymentKind, PaymentStatus


def new_token() -> str:
    return secrets.token_urlsafe(24)


_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,40}")


def is_token(value: str) -> bool:
    """Whether a token a page posted can be one of ours (new_token's alphabet and length): pages
    post card_token as typed, and PostgreSQL refuses a NUL byte in a query with an error."""
    return bool(_TOKEN.fullmatch(value))


class SavedCard(models.Model):
    """A card a client saved for one booking. Made when the booking page asks Stripe for a
    SetupIntent (status `pending`), `saved` once the server read the succeeded SetupIntent back
    from Stripe, and bound to its booking's subject once (a card is never reused for another)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being saved"
        SAVED = "saved", "Saved"
        FAILED = "failed", "Not saved"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="saved_cards")
    # The booking page's handle on it: unguessable, kept in the page until the booking is posted.
    token = models.CharField(max_length=40, unique=True, default=new_token)
    subject = models.CharField(max_length=40, blank=True, db_index=True)  # "" until booked
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    email = models.EmailField()
    name = models.CharField(max_length=120, blank=True)
    stripe_customer_id = models.CharField(max_length=64)
    stripe_setup_intent_id = models.CharField(max_length=64, unique=True)
    stripe_payment_method_id = models.CharField(max_length=64, blank=True)
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    saved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One card per booking.
            models.UniqueConstraint(fields=["subject"], condition=~Q(subject=""), name="one_card_per_subject")
        ]

    def __str__(self) -> str:
        return self.label or f"card {self.pk} ({self.status})"

    @property
    def label(self) -> str:
        """What the pages and receipts show: "Visa ending 4242"."""
        if not self.last4:
            return ""
        return f"{self.brand.replace('_', ' ').title() or 'Card'} ending {self.last4}"


class Payment(models.Model):
    """One charge or one refund. Written only by waitingroom/payments/services.py; its status moves
    forward only (lifecycle.py), by Stripe's answers and its signed events."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="payments")
    subject = models.CharField(max_length=40, db_index=True)
    kind = models.CharField(max_length=6, choices=PaymentKind.choices, default=PaymentKind.CHARGE)
    # A refund's charge.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    card = models.ForeignKey(
        SavedCard, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    # What the receipt calls it ("Phone consultation: Medication review, 7 Dec 2026").
    description = models.CharField(max_length=200)
    amount = models.PositiveIntegerField()  # in the currency's minor unit (cents)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    # The n-th charge of the subject (a failed charge may be tried again: a new attempt), or the
    # n-th refund of the charge; with the subject it makes the idempotency key sent to Stripe, so a
    # task that runs twice, or a request retried after a lost answer, charges once.
    attempt = models.PositiveSmallIntegerField(default=1)
    idempotency_key = models.CharField(max_length=80, unique=True)
    stripe_payment_intent_id = models.CharField(max_length=64, blank=True, db_index=True)
    stripe_charge_id = models.CharField(max_length=64, blank=True)
    stripe_refund_id = models.CharField(max_length=64, blank=True, db_index=True)
    # Connect: the clinic's account the money went to, and the platform's fee (minor unit).
    destination_account = models.CharField(max_length=64, blank=True)
    application_fee_amount = models.PositiveIntegerField(null=True, blank=True)
    # Stripe's reason in plain words ("Your card was declined."), or "Stripe could not be reached".
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    reason = models.CharField(max_length=300, blank=True)  # a refund's reason, as the admin typed it
    # The client confirms a charge that needs authentication through /pay/<token>/.
    client_token = models.CharField(max_length=40, unique=True, default=new_token)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    succeeded_at = models.DateTimeField(null=True, blank=True)
    # When a task began sending this charge or refund to Stripe (None: no send under way). A second
    # task (a redelivered or a concurrent one) finds it claimed and sends nothing; a send that
    # died with its worker is claimable again after services.SEND_CLAIM.
    sending_since = models.DateTimeField(null=True, blank=True)
    # When a staff member's Cancel charge began cancelling this charge at Stripe (None: no cancel
    # under way). A second press finds it claimed and is refused before it reaches Stripe (two
    # requests with one idempotency key at once: Stripe refuses one as "in use"); cleared when the
    # cancel is answered or Stripe can't be reached, and claimable again after
    # services.CANCEL_CLAIM if the process died mid-request.
    cancelling_since = models.DateTimeField(null=True, blank=True)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live charge per subject: two presses, two experts or a retried task can't both
            # start one (a failed or cancelled charge frees it for a new attempt).
            models.UniqueConstraint(
                fields=["subject"],
                condition=Q(kind=PaymentKind.CHARGE, status__in=sorted(LIVE)),
                name="one_live_charge_per_subject",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind=PaymentKind.CHARGE, parent__isnull=True)
                | Q(kind=PaymentKind.REFUND, parent__isnull=False),
                name="refund_has_a_charge",
            ),
        ]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="payment_clinic_created_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} of {self.subject} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL


class StripeEvent(models.Model):
    """A signed Stripe event, kept once by its id: a repeated delivery changes nothing."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField()
    applied = models.BooleanField(default=False)  # False: no payment of ours, or nothing moved

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
