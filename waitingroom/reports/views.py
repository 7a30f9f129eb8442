"""/reports/: a clinic admin's figures for a period (thin: who asks, the form, the sections)."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET

from waitingroom import tenancy
from waitingroom.fragments import render_fragment
from waitingroom.models import Clinic, Role
from waitingroom.reports import svg
from waitingroom.reports.charts import Chart
from waitingroom.reports.downloads import csv_response
from waitingroom.reports.periods import PRESETS, Period, PeriodForm
from waitingroom.tenancy import StaffRequest

# Reports are the clinic admin's: figures of the whole clinic (docs/security.md, "Reports").
REPORT_ROLES = frozenset({Role.CLINIC_ADMIN})


@cache
def _sections() -> list:
    return [import_string(path) for path in settings.REPORT_SECTIONS]


def charts_for(period: Period) -> list[Chart]:
    """Every app's charts for the period, in settings.REPORT_SECTIONS order."""
    return [
        chart
        for section in _sections()
        for chart in section(clinic=period.clinic, start=period.start, end=period.end)
    ]


def _form(request: StaffRequest) -> tuple[PeriodForm, list[Clinic]]:
    """The period form for the clinic asked for, among the user's admin clinics; Http404 for a
    clinic they do not administer (or none at all), as for any other clinic they may not see."""
    clinics = [m.clinic for m in tenancy.request_memberships(request) if m.role in REPORT_ROLES]
    if not clinics:
        raise Http404("No such page")
    slug = request.GET.get("clinic") or clinics[0].slug
    if slug not in {c.slug for c in clinics}:
        raise Http404("No such clinic")
    data = {key: request.GET.get(key, "") for key in ("preset", "start", "end")}
    return PeriodForm({**data, "clinic": slug}, clinics=clinics), clinics


@require_GET
@login_required
def page(request: StaffRequest) -> HttpResponse:
    form, clinics = _form(request)
    clinic = form.clinics[form.data["clinic"]]
    context: dict = {"form": form, "clinic": clinic, "clinics": clinics, "charts": []}
    context["presets"] = [
        (key, label, "?" + urlencode({"clinic": clinic.slug, "preset": key})) for key, label in PRESETS
    ]
    if not form.is_valid():
        return render(request, "waitingroom/reports/page.html", context, status=400)
    period: Period = form.cleaned_data["period"]
    # The form shows the days a preset stands for.
    context["form"] = PeriodForm({**period.query, "preset": ""}, clinics=clinics)
    context["period"] = period
    query = urlencode(period.query)
    context["charts"] = [
        render_fragment(
            "waitingroom/reports/_chart.html",
            {
                "chart": chart,
                "d": svg.draw(chart),
                "columns": chart.table()[0],
                "rows": chart.table()[1],
                "csv_url": f"{reverse('report_csv', args=[chart.key])}?{query}",
            },
        )
        for chart in charts_for(period)
    ]
    return render(request, "waitingroom/reports/page.html", context)


@require_GET
@login_required
def download(request: StaffRequest, key: str) -> HttpResponse:
    form, _clinics = _form(request)
    if not form.is_valid():
        errors = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    period: Period = form.cleaned_data["period"]
    for chart in charts_for(period):
        if chart.key == key:
            return csv_response(chart, period)
    raise Http404("No such chart")
