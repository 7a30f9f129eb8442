"""A staff member's own phone number (`/account/phone/`): entered here and verified with an SMS
code (visits/phone_codes.py, subject "staff:<user id>"). The phone bridge (waitingroom/voice/)
calls only a verified number; a changed number is unverified until its own code is entered.

The page shows only the signed-in user's own number, masked; nobody else's number is reachable
from here. The code is sent through the first clinic the user belongs to (its country for the
number's format and its daily SMS ceiling)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from visits import phone_codes
from visits.forms import first_error
from waitingroom import ratelimit, tenancy
from waitingroom.models import Clinic, StaffPhone
from waitingroom.tenancy import StaffRequest
from waitingroom.validators import SingleLineField


class PhoneForm(forms.Form):
    phone = SingleLineField(max_length=32, label="Your mobile number")


class CodeForm(forms.Form):
    code = SingleLineField(max_length=12, label="The 6-digit code we texted you")


def subject_of(user_id: int) -> str:
    return f"staff:{user_id}"


# --- Services: outside any transaction, as phone_codes asks (a refusal's records must commit) ----


def staff_phone_code_send(*, user_id: int, clinic: Clinic, raw_phone: str) -> StaffPhone:
    """Text a code to the number; a number other than the stored one replaces it, unverified."""
    verification = phone_codes.code_send(subject=subject_of(user_id), clinic=clinic, raw_phone=raw_phone)
    with transaction.atomic():
        phone, created = StaffPhone.objects.select_for_update().get_or_create(
            user_id=user_id, defaults={"number": verification.phone}
        )
        if not created and phone.number != verification.phone:
            phone.number, phone.verified_at = verification.phone, None
            phone.save(update_fields=["number", "verified_at"])
    return phone


def staff_phone_verify(*, user_id: int, code: str) -> StaffPhone:
    """Check the code: the number it was sent to becomes the user's verified number."""
    verification = phone_codes.code_check(subject=subject_of(user_id), code=code)
    with transaction.atomic():
        phone, _ = StaffPhone.objects.select_for_update().get_or_create(
            user_id=user_id, defaults={"number": verification.phone}
        )
        phone.number, phone.verified_at = verification.phone, timezone.now()
        phone.save(update_fields=["number", "verified_at"])
    return phone


# --- The page ------------------------------------------------------------------------------------


def _clinic(request: StaffRequest) -> Clinic:
    """Staff only: someone who belongs to no clinic gets 404."""
    clinic = tenancy.staff_clinics(user=request.user).order_by("name", "pk").first()
    if clinic is None:
        raise Http404("Staff only")
    return clinic


@require_http_methods(["GET", "POST"])
@login_required
def phone(request: StaffRequest) -> HttpResponse:
    clinic = _clinic(request)
    if request.method == "POST":
        return _post(request, clinic)
    return _page(request)


def _post(request: StaffRequest, clinic: Clinic) -> HttpResponse:
    step = request.POST.get("step", "")
    try:
        if step == "send":
            form: forms.Form = PhoneForm(request.POST)
            if not form.is_valid():
                raise phone_codes.VerificationError(first_error(form))
            ratelimit.attempt("phone-verification", request)
            staff_phone_code_send(
                user_id=request.user.pk, clinic=clinic, raw_phone=form.cleaned_data["phone"]
            )
            messages.success(request, "We texted you a code: enter it below.")
        elif step == "verify":
            form = CodeForm(request.POST)
            if not form.is_valid():
                raise phone_codes.VerificationError(first_error(form))
            staff_phone_verify(user_id=request.user.pk, code=form.cleaned_data["code"])
            messages.success(request, "Your phone number is verified: calls will ring it.")
        else:
            raise phone_codes.VerificationError("Send a code first.")
    except ratelimit.RateLimited as limited:
        messages.error(request, str(limited))
        return _page(request, status=429)
    except phone_codes.VerificationError as error:
        messages.error(request, str(error))
        return _page(request, status=400)
    return redirect("account_phone")


def _page(request: StaffRequest, status: int = 200) -> HttpResponse:
    user_id = request.user.pk
    phone = StaffPhone.objects.filter(user_id=user_id).first()
    pending = phone_codes.pending_phone(subject=subject_of(user_id))
    return render(
        request,
        "visits/account_phone.html",
        {
            "number": phone_codes.masked(phone.number) if phone else "",
            "verified_at": phone.verified_at if phone else None,
            "code_sent_to": phone_codes.masked(pending) if pending else "",
        },
        status=status,
    )
