from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from waitingroom import tenancy
from waitingroom.context_processors import DISPATCH_ROLES
from waitingroom.models import FRONTLINE_ROLES


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Where signing in (LOGIN_REDIRECT_URL) and the brand link lead: the live dashboard for
    frontline staff, the Requests page for someone who only schedules (the dashboard has nothing
    for them), the sign-in page for everyone else."""
    if not request.user.is_authenticated:
        return redirect("login")
    roles = {membership.role for membership in tenancy.request_memberships(request)}
    if roles and not roles & FRONTLINE_ROLES and roles & DISPATCH_ROLES:
        # By URL name: the Requests page belongs to an app above this one.
        return redirect("dispatch")
    return redirect("dashboard")


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for the load balancer and compose: the process answers and the database too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """django-axes calls this for a sign-in (staff page or admin) that is locked out: the staff
    sign-in page again, saying why and for how long, with 429. It does not say whether the
    password was right."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "registration/login.html",
        {"form": AuthenticationForm(request), "locked_out_minutes": minutes},
        status=429,
    )
