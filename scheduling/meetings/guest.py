"""A meeting guest's pages: entering with a guest key (`/meet/`, or a clinic's own `/c/<slug>/meet/`)
and the meeting page behind their emailed link, where they pick a proposed time, join, cancel,
read the summary the staff left them and review the meeting. No account: the link's signature
or the key (rate-limited per client) is the guest's credential."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from scheduling.meetings import booking, charges, payments, services
from scheduling.meetings.forms import GuestKeyForm, ReviewForm
from scheduling.meetings.status import rules_of
from scheduling.models import Meeting
from scheduling.times import local_time, parse_slot, slot_label, slot_value
from visits.patient import bind_visit
from waitingroom import errors
from waitingroom.clients import client_address
from waitingroom.models import Clinic
from waitingroom.payments import selectors as payment_selectors
from waitingroom.payments.web import card_step, stripe_page


class LinkNotValid(Http404):
    """A join link that never was, or was revoked (the meeting was cancelled or moved)."""


def meeting_from_token(token: str) -> Meeting:
    meeting_id, _, signature = token.partition("-")
    if not (meeting_id.isascii() and meeting_id.isdigit()):
        raise LinkNotValid("No such meeting")
    meeting = (
        Meeting.objects.select_related("clinic", "service", "provider", "visit")
        .filter(pk=int(meeting_id))
        .first()
    )
    if meeting is None or not meeting.join_token_matches(signature):
        raise LinkNotValid("No such meeting")
    return meeting


def _enter(request: HttpRequest, meeting: Meeting) -> HttpResponse:
    """Into the waiting room (MeetingRefused if the room closed since the page was shown)."""
    visit, visit_token = services.meeting_enter(meeting_id=meeting.pk)
    bind_visit(request, visit)
    return redirect("patient_wait", token=visit_token)


@require_http_methods(["GET", "POST"])
def meet(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """The guest types their key. On a clinic's own page, another clinic's key is as unknown as a
    wrong one. Inside the join window they go straight to the waiting room; otherwise to their
    meeting page, which says when it opens."""
    clinic = get_object_or_404(Clinic, slug=slug) if slug else None
    form = GuestKeyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                meeting = services.meeting_by_guest_key(
                    key=form.cleaned_data["key"], client=client_address(request), clinic=clinic
                )
            except services.TooManyAttempts as refused:
                form.add_error(None, str(refused))
                status = 429
            except services.MeetingRefused as refused:
                form.add_error("key", str(refused))
            else:
                if services.can_join(meeting, timezone.now()):
                    try:
                        return _enter(request, meeting)
                    except services.MeetingRefused:
                        pass  # closed meanwhile: the meeting page says why
                return redirect("meeting_join", token=meeting.join_token)
    return render(request, "scheduling/meetings/meet.html", {"form": form, "clinic": clinic}, status=status)


@require_http_methods(["GET", "POST"])
@stripe_page
def meeting_join(request: HttpRequest, token: str) -> HttpResponse:
    """The guest's meeting page. POST `action`: join, pick (a proposed time), cancel, review, card
    (a paid session: the card the page's card step saved becomes the meeting's)."""
    try:
        meeting = meeting_from_token(token)
    except LinkNotValid:
        # No clinic named: meeting ids are sequential, and a revoked link's signature cannot be told
        # from a forged one, so naming the id's clinic would map ids to clinics (docs/security.md).
        return errors.link_not_valid(request)
    now = timezone.now()
    review = ReviewForm(request.POST if request.POST.get("action") == "review" else None)
    if request.method == "POST":
        action = request.POST.get("action", "join")
        try:
            if action == "join":
                return _enter(request, meeting)
            if action == "pick":
                try:
                    starts_at = parse_slot(request.POST.get("time", ""))
                except ValueError:
                    raise services.MeetingRefused("Pick one of the proposed times.") from None
                booking.meeting_pick_time(meeting_id=meeting.pk, starts_at=starts_at)
                messages.success(
                    request, "Thank you: your meeting is scheduled. An invitation is on its way."
                )
            elif action == "cancel":
                # Cancelling revokes the link: the guest goes on to the page's new address.
                token = booking.meeting_cancel(meeting_id=meeting.pk, by_guest=True).join_token
                messages.success(request, "Your meeting is cancelled; the clinic has been told.")
            elif action == "card":
                card = charges.meeting_card_save(
                    meeting_id=meeting.pk, token=request.POST.get("card_token", "")
                )
                messages.success(request, f"Thank you: your {card.label} is saved for this session.")
            elif action == "review" and review.is_valid():
                services.meeting_review(
                    meeting_id=meeting.pk,
                    rating=review.cleaned_data["rating"],
                    text=review.cleaned_data["text"],
                )
                messages.success(request, "Thank you for your review.")
            else:
                raise services.MeetingRefused(
                    "Give a rating from 1 to 5." if action == "review" else "Unknown action."
                )
        except services.MeetingRefused as refused:
            messages.error(request, str(refused))
        return redirect("meeting_join", token=token)
    status = meeting.current_status(now)
    rules = rules_of(status)
    paid = payments.card_state(meeting)
    return render(
        request,
        "scheduling/meetings/join.html",
        {
            "meeting": meeting,
            "status": status,
            "rules": rules,
            "can_join": services.can_join(meeting, now) and not paid.required,
            # A paid session: its price, the saved card (brand and last four digits), or the
            # card step while one may still be saved.
            "price_text": payment_selectors.money(paid.price, meeting.clinic.currency) if paid.price else "",
            "card": paid.card,
            "card_step": card_step(clinic=meeting.clinic, price=paid.price, after="your appointment")
            if paid.price and paid.card is None and rules.card_savable
            else None,
            "can_cancel": rules.changeable and (meeting.starts_at is None or meeting.starts_at > now),
            "can_review": rules.reviewable and meeting.reviewed_at is None,
            "review": review,
            "opens_at": meeting.starts_at - services.JOIN_OPENS_BEFORE if meeting.starts_at else None,
            "when": local_time(meeting.starts_at, meeting.clinic) if meeting.starts_at else None,
            "proposals": [
                (slot_value(p.starts_at), slot_label(p.starts_at, meeting.clinic))
                for p in meeting.proposals.all()
                if p.starts_at > now
            ],
        },
    )
