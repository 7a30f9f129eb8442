"""A chart's table as CSV. Numbers are written as numbers; every text cell goes through the audit
trail's csv_cell, so a label a spreadsheet would run as a formula (=, +, -, @ ...) stays text."""

from __future__ import annotations

import csv
from decimal import Decimal
from typing import Any

from django.http import HttpResponse

from waitingroom.audit.admin import csv_cell
from waitingroom.reports.charts import Chart
from waitingroom.reports.periods import Period


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return csv_cell(value)


def csv_response(chart: Chart, period: Period) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{period.clinic.slug}-{chart.key}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    columns, rows = chart.table()
    writer.writerow([cell(c) for c in columns])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return response
