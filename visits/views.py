from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from waitingroom import tenancy

SESSION_CLINIC_KEY = "clinic_slug"


@require_GET
@login_required
def dashboard_landing(request: HttpRequest) -> HttpResponse:
    """Staff land here after login and go on to the clinic they last used (or their first)."""
    clinic = tenancy.default_clinic(user=request.user, preferred_slug=request.session.get(SESSION_CLINIC_KEY))
    if clinic is None:
        return render(request, "visits/no_clinic.html", status=403)
    return redirect("clinic_dashboard", slug=clinic.slug)


@require_GET
@login_required
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = tenancy.clinic_for_staff(user=request.user, slug=slug)
    request.session[SESSION_CLINIC_KEY] = clinic.slug
    return render(
        request,
        "visits/dashboard.html",
        {"clinic": clinic, "clinics": tenancy.staff_clinics(user=request.user).order_by("name")},
    )
