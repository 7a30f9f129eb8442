"""The clinic's daily SMS ceiling (Clinic.daily_sms_limit), as actions that text a patient ask it:
past it nothing is sent, and the clinic admins get one email a day saying so."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from waitingroom.models import Clinic, Membership, Role
from waitingroom.outbox.queueing import email_queue, sms_ceiling_reached
from waitingroom.outbox.rendering import render_email

CANNOT_TEXT = "We can't send text messages right now. Please keep this page open instead."


def sms_allowed(clinic: Clinic) -> bool:
    """False past today's ceiling. The first refusal of the clinic's day emails its admins: the
    alert date is claimed with a compare-and-set, so parallel refusals send one email. Call it in
    a transaction that commits (a refused action must not roll the alert back)."""
    if not sms_ceiling_reached(clinic):
        return True
    today = timezone.localtime(timezone.now(), clinic.tzinfo).date()
    claimed = (
        Clinic.objects.filter(pk=clinic.pk)
        .filter(~Q(sms_limit_alerted_on=today))
        .update(sms_limit_alerted_on=today)
    )
    if claimed:
        admins = Membership.objects.filter(clinic=clinic, role=Role.CLINIC_ADMIN).values_list(
            "user__email", flat=True
        )
        email_queue(
            clinic=clinic,
            reference=f"sms-limit-{clinic.pk}-{today:%Y-%m-%d}",
            to=list(admins),
            content=render_email("waitingroom/emails/sms_limit_reached", {"clinic": clinic}),
        )
    return False
