"""Card payments' report section (settings.REPORT_SECTIONS): charges paid, refunds and failed
charges, by the day the payment was made (created_at, in the clinic's time zone), in the clinic's
currency. Here in the clinic core rather than in waitingroom/payments/, which imports only the
clinic's models (tests/test_project.py). One query."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from waitingroom.models import Clinic
from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
from waitingroom.payments.models import Payment
from waitingroom.payments.selectors import money
from waitingroom.reports.charts import Chart, Series, bounds, count, days


def sections(*, clinic: Clinic, start: date, end: date) -> list[Chart]:
    since, until = bounds(clinic.tzinfo, start, end)
    rows = (
        Payment.objects.filter(clinic=clinic, created_at__gte=since, created_at__lt=until)
        .annotate(day=TruncDate("created_at", tzinfo=clinic.tzinfo))
        .values_list("day", "kind", "status", "currency")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by()
    )
    currency = clinic.currency
    paid_n: Counter = Counter()
    paid: Counter = Counter()
    refund_n: Counter = Counter()
    refunded: Counter = Counter()
    failed: Counter = Counter()
    # Payments taken before the clinic changed its currency keep theirs (Payment.currency): never
    # added to this currency's sums, only counted in the summary.
    other: Counter = Counter()
    for day, kind, status, paid_in, n, amount in rows:
        if paid_in.lower() != currency.lower():
            other[paid_in.upper()] += n
        elif kind == PaymentKind.CHARGE and status == PaymentStatus.SUCCEEDED:
            paid_n[day] += n
            paid[day] += amount
        elif kind == PaymentKind.REFUND and status == PaymentStatus.SUCCEEDED:
            refund_n[day] += n
            refunded[day] += amount
        elif kind == PaymentKind.CHARGE and status == PaymentStatus.FAILED:
            failed[day] += n
    period = days(start, end)

    def major(cents: int) -> float:
        return round(cents / 100, 2)

    def money_cell(cents: int) -> Decimal:
        """The table's and the CSV's money: 4500 -> 45.00, written with its cents (not 45.0)."""
        return Decimal(cents).scaleb(-2)

    summary = (
        f"{count(sum(paid_n.values()), 'charge')} paid, {money(sum(paid.values()), currency)}; "
        f"{count(sum(refund_n.values()), 'refund')}, {money(sum(refunded.values()), currency)}; "
        f"{count(sum(failed.values()), 'charge')} failed."
    )
    if other:
        summary += (
            f" Not counted: {count(sum(other.values()), 'payment')} in "
            f"{', '.join(sorted(other))}, from before the clinic's currency was {currency.upper()}."
        )
    unit = currency.upper()
    return [
        Chart(
            key="payments",
            title="Card payments",
            kind="bar",
            x_title="Day",
            x_labels=[f"{d:%b} {d.day}" for d in period],
            series=[
                Series("Paid", [major(paid[d]) for d in period]),
                Series("Refunded", [major(refunded[d]) for d in period]),
            ],
            unit=unit,
            summary=summary,
            columns=[
                "Day",
                "Charges paid",
                f"Paid ({unit})",
                "Refunds",
                f"Refunded ({unit})",
                "Charges failed",
            ],
            rows=[
                [
                    d.isoformat(),
                    paid_n[d],
                    money_cell(paid[d]),
                    refund_n[d],
                    money_cell(refunded[d]),
                    failed[d],
                ]
                for d in period
            ],
        )
    ]
