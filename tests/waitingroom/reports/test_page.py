"""/reports/: who gets it (clinic admins of the clinic only), the period form's bad input, the
charts' SVG and the CSV downloads."""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import replace
from datetime import date

import pytest
import time_machine
from django.utils import timezone

from tests.conftest import client_for
from tests.factories import staff
from visits.models import Visit
from waitingroom.models import Role
from waitingroom.reports import svg
from waitingroom.reports.charts import Chart, Series

pytestmark = pytest.mark.django_db

PERIOD = "start=2026-03-01&end=2026-03-08"


def visit(clinic, when, name="Pat"):
    return Visit.objects.create(
        clinic=clinic, token_hash=name + str(when), patient_name=name, status="completed",
        arrived_at=when, status_changed_at=when,
    )  # fmt: skip


def test_a_clinic_admin_sees_the_reports_and_the_nav_links_them(admin_client, clinic_a):
    response = admin_client.get("/reports/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-nav-reports" in html
    for title in ("Visits per day", "Wait from ready to first call", "How visits ended", "Card payments"):
        assert title in html
    assert html.count('role="img"') == html.count('<svg class="report-svg"') >= 10


def test_the_default_period_is_this_month_in_the_clinics_time_zone(admin_client, clinic_a):
    # 03:00 UTC on 1 April is still 31 March in New York: "this month" is March.
    with time_machine.travel("2026-04-01 03:00Z", tick=False):
        response = admin_client.get("/reports/")
    assert response.context["period"].start == date(2026, 3, 1)
    assert response.context["period"].end == date(2026, 3, 31)


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("this_month", date(2026, 3, 1), date(2026, 3, 15)),
        ("last_month", date(2026, 2, 1), date(2026, 2, 28)),
        ("last_7", date(2026, 3, 9), date(2026, 3, 15)),
        ("last_30", date(2026, 2, 14), date(2026, 3, 15)),
    ],
)
def test_presets(admin_client, clinic_a, preset, start, end):
    with time_machine.travel("2026-03-15 12:00Z", tick=False):
        response = admin_client.get(f"/reports/?preset={preset}")
    period = response.context["period"]
    assert (period.start, period.end, period.preset) == (start, end, preset)
    assert 'aria-current="true"' in response.content.decode()


def test_anonymous_users_are_sent_to_sign_in(client):
    for url in ("/reports/", "/reports/csv/visits-per-day/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.CSR, Role.SCHEDULER])
def test_other_roles_get_nothing(clinic_a, role):
    user = staff(username=f"u-{role}", clinic=clinic_a, role=role)
    client = client_for(user)
    assert client.get("/reports/").status_code == 404
    assert client.get(f"/reports/?clinic={clinic_a.slug}").status_code == 404
    assert client.get(f"/reports/csv/visits-per-day/?clinic={clinic_a.slug}").status_code == 404
    assert (
        "data-nav-reports"
        not in client.get("/").content.decode() + client.get("/dashboard/").content.decode()
    )


def test_another_clinics_admin_sees_none_of_this_clinics_figures(clinic_a, clinic_b):
    visit(clinic_a, timezone.now())
    outsider = staff(username="bo", clinic=clinic_b, role=Role.CLINIC_ADMIN)
    client = client_for(outsider)
    assert client.get(f"/reports/?clinic={clinic_a.slug}").status_code == 404
    assert client.get(f"/reports/csv/visits-per-day/?clinic={clinic_a.slug}").status_code == 404
    # Their own reports count only their own clinic's visits, and offer no other clinic.
    response = client.get("/reports/")
    assert response.status_code == 200
    assert "Clinic A" not in response.content.decode()
    assert response.context["charts"] and "No visits in this period." in response.content.decode()


def test_an_admin_of_two_clinics_chooses_between_them(clinic_a, clinic_b, clinic_admin):
    from waitingroom.models import Membership

    Membership.objects.create(user=clinic_admin, clinic=clinic_b, role=Role.CLINIC_ADMIN)
    client = client_for(clinic_admin)
    html = client.get(f"/reports/?clinic={clinic_b.slug}").content.decode()
    assert re.search(r'<option value="clinic-b" selected>Clinic B</option>', html)
    assert '<option value="clinic-a">Clinic A</option>' in html


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("start=2026-13-45&end=2026-03-08", "Enter a valid date."),
        ("start=2026-03-08&end=2026-03-01", "To must be the same day as From or later."),
        ("start=2025-01-01&end=2026-03-08", "A report covers at most 366 days"),
        ("start=2026-03-01", "Give both days of the period"),
        ("start=0001-01-01&end=0001-01-02", "From must be a day between 2000 and 2100."),
        ("start=9999-12-31&end=9999-12-31", "between 2000 and 2100"),
        ("start=2026-03-01%00&end=2026-03-08", "Enter a valid date."),
        ("preset=forever", "Select a valid choice."),
    ],
)
def test_a_bad_period_is_a_clear_error_not_a_500(admin_client, query, error):
    response = admin_client.get(f"/reports/?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert error in html.replace("&#x27;", "'")
    assert "report-svg" not in html
    csv_response = admin_client.get(f"/reports/csv/visits-per-day/?{query}")
    assert csv_response.status_code == 400 and error in csv_response.content.decode()


def test_a_year_and_a_day_is_allowed(admin_client):
    assert admin_client.get("/reports/?start=2024-01-01&end=2024-12-31").status_code == 200


def test_an_unknown_chart_is_404(admin_client):
    assert admin_client.get(f"/reports/csv/nothing/?{PERIOD}").status_code == 404


def test_the_csv_has_a_header_the_rows_and_formula_cells_defused(admin_client, clinic_a, monkeypatch):
    visit(clinic_a, timezone.make_aware(timezone.datetime(2026, 3, 2, 9, 0), clinic_a.tzinfo))
    response = admin_client.get(f"/reports/csv/visits-per-day/?clinic={clinic_a.slug}&{PERIOD}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="clinic-a-visits-per-day-2026-03-01-2026-03-08.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Day", "Visits (visits)"]
    assert rows[1:3] == [["2026-03-01", "0"], ["2026-03-02", "1"]]
    assert len(rows) == 9

    # A label that a spreadsheet would run is written as text; numbers stay numbers.
    hostile = Chart(
        key="hostile", title="T", kind="bar", x_title="=cmd|' /C calc'!A0", x_labels=["+1", "@SUM(A1)", "-2"],
        series=[Series("=HYPERLINK(\"x\")", [1, -3, 2.5])], unit="u", summary="s",
    )  # fmt: skip
    monkeypatch.setattr("waitingroom.reports.views._sections", lambda: [lambda **kw: [hostile]])
    rows = list(csv.reader(io.StringIO(admin_client.get(f"/reports/csv/hostile/?{PERIOD}").content.decode())))
    assert rows == [
        ["'=cmd|' /C calc'!A0", '\'=HYPERLINK("x") (u)'],
        ["'+1", "1"],
        ["'@SUM(A1)", "-3"],
        ["'-2", "2.5"],
    ]


def test_the_svg_escapes_its_text_and_has_a_text_alternative(admin_client, monkeypatch):
    evil = "<script>alert(1)</script>"
    chart = Chart(
        key="evil", title=f"Title {evil}", kind="line", x_title=f"X {evil}", x_labels=[evil, "b", "c"],
        series=[Series(f"S {evil}", [1, None, 3]), Series("Second", [2, 2, 2])], unit=f"u {evil}",
        summary=f"Summary {evil}",
    )  # fmt: skip
    monkeypatch.setattr("waitingroom.reports.views._sections", lambda: [lambda **kw: [chart]])
    html = admin_client.get(f"/reports/?{PERIOD}").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    svg_markup = re.search(r'<svg class="report-svg".*?</svg>', html, re.S).group(0)
    assert 'role="img"' in svg_markup
    assert 'aria-labelledby="chart-evil-title chart-evil-desc"' in svg_markup
    assert '<title id="chart-evil-title">Title &lt;script&gt;' in svg_markup
    assert re.search(r'<desc id="chart-evil-desc">Line chart of .*Summary &lt;script&gt;', svg_markup)
    # 420 wide; a row taller here, its first x label being too wide for one row.
    assert re.search(r'viewBox="0 0 420 2(50|67)"', svg_markup) and 'width="100%"' in svg_markup
    # Axis labels: the unit, the x axis' title, the ticks; a gap (None) breaks the line in two.
    assert ">U &lt;script&gt;" in svg_markup and ">X &lt;script&gt;" in svg_markup
    assert svg_markup.count("<path") == 2 and svg_markup.count(" M") + svg_markup.count('d="M') >= 3
    # The table behind it, and a legend for the two series.
    assert '<th scope="col">S &lt;script&gt;alert(1)&lt;/script&gt; (u &lt;script&gt;' in html
    assert "report-legend" in html


def test_the_drawing_scales_bars_to_round_ticks():
    chart = Chart(
        key="k", title="t", kind="bar", x_title="Day", x_labels=["a", "b"], series=[Series("n", [0, 37])],
        unit="visits", summary="s",
    )  # fmt: skip
    drawing = svg.draw(chart)
    assert [g.label for g in drawing.grid] == ["0", "10", "20", "30", "40"]
    assert drawing.y_title == "Visits" and svg.draw(replace(chart, unit="USD")).y_title == "USD"
    (bar,) = drawing.bars  # a zero draws nothing
    assert bar.h == pytest.approx(svg.PLOT_H * 37 / 40, abs=0.1)
    empty = svg.draw(
        Chart(key="e", title="t", kind="bar", x_title="Day", x_labels=[], series=[], unit="u", summary="")
    )
    assert empty.bars == [] and empty.grid


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("start=2026-01-01&start=2026-03-01&end=2026-03-08", 200),  # a repeated key: the last one
        ("preset=last_7&start=2026-01-01&end=2026-01-02", 200),  # a preset wins over typed days
        ("clinic=%00", 404),
        ("clinic=no-such-clinic", 404),
        ("start=99999-01-01&end=99999-01-02", 400),
        ("start=" + "9" * 5000, 400),
        ("preset=%00", 400),
    ],
)
def test_odd_query_strings_get_a_page_an_error_or_404_never_a_500(admin_client, query, status):
    for url in ("/reports/", "/reports/csv/visits-per-day/"):
        assert admin_client.get(f"{url}?{query}").status_code == status


def _no_x_labels_touch(drawing) -> None:
    rows: dict[float, list] = {}
    for tick in drawing.x_ticks:
        rows.setdefault(tick.dy, []).append(tick)
    for ticks in rows.values():
        for left, right in itertools.pairwise(ticks):
            room = right.x - left.x
            needed = (svg.label_width(left.label) + svg.label_width(right.label)) / 2 + svg.LABEL_GAP
            assert room >= needed, (left.label, right.label, room, needed)


def test_x_labels_too_wide_for_their_bars_alternate_rows_and_never_overlap(admin_client, monkeypatch):
    """Walked under make run: "Consultations by status" printed "In progressCompleted" as one word
    at 1366 px, and worse on a phone. Category labels too wide for their slot now alternate between
    two rows (the drawing a row taller), every one still shown; narrow ones keep one row."""
    statuses = ["Available", "Claimed", "In progress", "Completed", "Cancelled"]
    chart = Chart(
        key="by-status", title="t", kind="bar", x_title="Status", x_labels=statuses,
        series=[Series("n", [0, 0, 1, 12, 0])], unit="consultations", summary="s",
    )  # fmt: skip
    drawing = svg.draw(chart)
    assert [t.label for t in drawing.x_ticks] == statuses
    assert {t.dy for t in drawing.x_ticks} == {0, svg.ROW}
    assert drawing.height == svg.HEIGHT + svg.ROW
    _no_x_labels_touch(drawing)
    # Days and hours fit on one row, as before.
    for labels in ([f"Nov {d}" for d in range(1, 31)], [f"{h:02}:00" for h in range(24)], ["a", "b"]):
        short = svg.draw(replace(chart, x_labels=labels, series=[Series("n", [1] * len(labels))]))
        assert {t.dy for t in short.x_ticks} == {0} and short.height == svg.HEIGHT
        _no_x_labels_touch(short)
    # Many long labels: fewer shown, still none touching.
    many = [f"Category number {i}" for i in range(12)]
    crowded = svg.draw(replace(chart, x_labels=many, series=[Series("n", [1] * 12)]))
    assert 1 < len(crowded.x_ticks) < 12
    _no_x_labels_touch(crowded)
    # The page writes the second row lower, inside the taller viewBox.
    monkeypatch.setattr("waitingroom.reports.views._sections", lambda: [lambda **kw: [chart]])
    html = admin_client.get(f"/reports/?{PERIOD}").content.decode()
    svg_markup = re.search(r'<svg class="report-svg".*?</svg>', html, re.S).group(0)
    assert f'viewBox="0 0 420 {svg.HEIGHT + svg.ROW}"' in svg_markup
    base = 28 + svg.PLOT_H + 19
    assert f'y="{base}" text-anchor="middle" fill="#333">Claimed<' not in svg_markup
    assert f'y="{base + svg.ROW}" text-anchor="middle" fill="#333">Claimed<' in svg_markup
