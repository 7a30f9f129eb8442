"""Report figures from known events, lived through the real services on a frozen clock.

Clinic A is in New York time. The period is 1-8 March 2026: DST begins on 8 March at 02:00 (the
clocks go to 03:00), so the last day is 23 hours long. Visits:

| visit | arrives (local)  | ready | first call | calls                   | ends          | outcome   |
|-------|------------------|-------|------------|-------------------------|---------------|-----------|
| v1    | Mar 2 09:00 EST  | 09:01 | 09:05      | 09:05-09:15             | 09:15         | completed |
| v2    | Mar 2 09:30 EST  | 09:30 | 09:40      | in 09:40-44, out 44-46, in 46-52 | 09:52 | completed |
| v3    | Mar 3 14:00 EST  | 14:00 | -          | -                       | 14:20 leaves  | left      |
| v4    | Mar 4 10:00 EST  | 10:02 | -          | -                       | 10:03         | cancelled |
| v5    | Mar 8 01:30 EST  | 01:31 | 03:10 EDT  | 03:10-03:20             | 03:20 EDT     | completed |
| v6    | Mar 8 23:30 EDT  | 23:31 | 23:37      | 23:37-00:05 (Mar 9)     | 00:05         | completed |
| out   | Feb 28 23:50 EST (Mar 1 in UTC), Mar 9 00:10 EDT, and clinic B's: not counted |

Waits (ready -> first call): 4, 10, 39 (01:31 EST to 03:10 EDT is 39 minutes, not 99), 6.
Time in call (the in-progress statuses, stepping out included): 10, 12, 10, 28.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime

import pytest
import time_machine

from scheduling.meetings.status import MeetingStatus
from visits import services
from waitingroom.outbox.models import SmsMessage
from waitingroom.reports.charts import Chart
from waitingroom.reports.periods import Period
from waitingroom.reports.views import charts_for

pytestmark = pytest.mark.django_db

NY = zoneinfo.ZoneInfo("America/New_York")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY)


def step(when: str, action, **kwargs) -> None:
    with time_machine.travel(local(when), tick=False):
        action(**kwargs)


def arrive(clinic, when: str, name: str) -> int:
    with time_machine.travel(local(when), tick=False):
        visit, _token = services.visit_start(clinic=clinic, patient_name=name, answers={})
    return visit.pk


def ready(visit_id: int, when: str) -> None:
    step(when, services.visit_media_result, visit_id=visit_id, ok=True)


@pytest.fixture
def lived(clinic_a, clinic_b, provider):
    """The visits of the table above, through the services."""
    v1 = arrive(clinic_a, "2026-03-02 09:00", "One")
    ready(v1, "2026-03-02 09:01")
    step("2026-03-02 09:05", services.visit_call, visit_id=v1, user=provider)
    step("2026-03-02 09:15", services.visit_end, visit_id=v1, user=provider)

    v2 = arrive(clinic_a, "2026-03-02 09:30", "Two")
    ready(v2, "2026-03-02 09:30")
    step("2026-03-02 09:40", services.visit_call, visit_id=v2, user=provider)
    step("2026-03-02 09:44", services.visit_leave_call, visit_id=v2, user=provider)
    step("2026-03-02 09:46", services.visit_call, visit_id=v2, user=provider)
    step("2026-03-02 09:52", services.visit_end, visit_id=v2, user=provider)

    v3 = arrive(clinic_a, "2026-03-03 14:00", "Three")
    ready(v3, "2026-03-03 14:00")
    step("2026-03-03 14:20", services.visit_patient_leave, visit_id=v3)

    v4 = arrive(clinic_a, "2026-03-04 10:00", "Four")
    ready(v4, "2026-03-04 10:02")
    step("2026-03-04 10:03", services.visit_cancel, visit_id=v4, user=provider)

    v5 = arrive(clinic_a, "2026-03-08 01:30", "Five")
    ready(v5, "2026-03-08 01:31")
    step("2026-03-08 03:10", services.visit_call, visit_id=v5, user=provider)
    step("2026-03-08 03:20", services.visit_end, visit_id=v5, user=provider)

    v6 = arrive(clinic_a, "2026-03-08 23:30", "Six")
    ready(v6, "2026-03-08 23:31")
    step("2026-03-08 23:37", services.visit_call, visit_id=v6, user=provider)
    step("2026-03-09 00:05", services.visit_end, visit_id=v6, user=provider)

    # Outside the period or the clinic: never counted.
    before = arrive(clinic_a, "2026-02-28 23:50", "Before")
    ready(before, "2026-02-28 23:51")
    step("2026-02-28 23:52", services.visit_call, visit_id=before, user=provider)
    after = arrive(clinic_a, "2026-03-09 00:10", "After")
    ready(after, "2026-03-09 00:11")
    other = arrive(clinic_b, "2026-03-02 09:00", "Elsewhere")
    ready(other, "2026-03-02 09:01")

    # Recall SMS: two delivered, one failed; a verification code is not a recall.
    for n, (visit_id, status) in enumerate([(v3, "delivered"), (v4, "delivered"), (v3, "failed")]):
        sms = SmsMessage.objects.create(
            clinic=clinic_a,
            reference=f"recall:{visit_id}:{n + 1}",
            to="+12025550100",
            body="Your turn",
            status=status,
        )
        SmsMessage.objects.filter(pk=sms.pk).update(created_at=local(f"2026-03-0{3 + n} 12:00"))
    code = SmsMessage.objects.create(clinic=clinic_a, reference="code:1", to="+12025550100", body="123456")
    SmsMessage.objects.filter(pk=code.pk).update(created_at=local("2026-03-03 12:00"))
    return {"v1": v1, "v2": v2, "v5": v5, "v6": v6}


def report(clinic) -> dict[str, Chart]:
    from datetime import date

    period = Period(clinic=clinic, start=date(2026, 3, 1), end=date(2026, 3, 8), preset="")
    return {chart.key: chart for chart in charts_for(period)}


def values(chart: Chart, series: int = 0) -> list:
    return list(chart.series[series].values)


def test_the_services_set_ready_and_first_call_as_their_names_say(lived):
    from visits.models import Visit

    v5 = Visit.objects.get(pk=lived["v5"])
    assert v5.ready_at == local("2026-03-08 01:31")
    assert v5.first_called_at == local("2026-03-08 03:10")
    assert (v5.first_called_at - v5.ready_at).total_seconds() == 39 * 60


def test_visits_per_day_in_the_clinics_time_zone(lived, clinic_a):
    chart = report(clinic_a)["visits-per-day"]
    assert chart.kind == "bar"
    assert chart.x_labels == ["Mar 1", "Mar 2", "Mar 3", "Mar 4", "Mar 5", "Mar 6", "Mar 7", "Mar 8"]
    # Feb 28 23:50 (Mar 1 in UTC) is not Mar 1's; Mar 8 23:30 (Mar 9 in UTC) is Mar 8's.
    assert values(chart) == [0, 2, 1, 1, 0, 0, 0, 2]
    assert chart.summary == "6 visits, 0.8 a day on average; busiest day Mar 2 (2)."
    assert chart.table()[1][1] == ["2026-03-02", 2]


def test_visits_per_hour_of_the_local_day(lived, clinic_a):
    chart = report(clinic_a)["visits-per-hour"]
    hours = values(chart)
    assert len(hours) == 24
    assert {h: n for h, n in enumerate(hours) if n} == {1: 1, 9: 2, 10: 1, 14: 1, 23: 1}
    assert chart.summary == "Busiest hour 09:00 to 10:00: 2 of 6 arrivals."


def test_median_and_90th_percentile_wait_per_day_and_for_the_period(lived, clinic_a):
    chart = report(clinic_a)["wait"]
    assert chart.kind == "line" and chart.unit == "minutes"
    # Waits 4, 6, 10, 39: percentile_cont interpolates (median 8, p90 10 + 0.7 x 29 = 30.3).
    assert chart.summary == "Median wait 8 min, 90th percentile 30.3 min (4 visits called)."
    assert values(chart, 0) == [None, 7.0, None, None, None, None, None, 22.5]
    assert values(chart, 1) == [None, 9.4, None, None, None, None, None, 35.7]


def test_time_in_call_sums_the_in_progress_intervals(lived, clinic_a):
    chart = report(clinic_a)["time-in-call"]
    # 10, 12 (4 in the call, 2 stepped out, 6 back in), 10, 28: median 11, p90 12 + 0.7 x 16.
    assert (
        chart.summary == "Median time in call 11 min, 90th percentile 23.2 min (4 ended visits with a call)."
    )
    assert values(chart, 0) == [None, 11.0, None, None, None, None, None, 19.0]


def test_how_visits_ended(lived, clinic_a):
    chart = report(clinic_a)["outcomes"]
    assert chart.x_labels == ["Completed", "Left", "Cancelled", "Expired"]
    assert values(chart) == [4, 1, 1, 0]
    assert chart.summary == "4 of 6 ended visits completed (67%); 1 left, 1 cancelled, 0 expired."


def test_recall_sms_sent_and_delivered(lived, clinic_a):
    chart = report(clinic_a)["recall-sms"]
    assert values(chart, 0) == [0, 0, 1, 1, 1, 0, 0, 0]
    assert values(chart, 1) == [0, 0, 1, 1, 0, 0, 0, 0]
    assert chart.summary == "3 recall SMS sent, 2 delivered (67%), 1 failed."


def test_another_clinics_visits_are_not_counted(lived, clinic_b):
    charts = report(clinic_b)
    assert values(charts["visits-per-day"]) == [0, 1, 0, 0, 0, 0, 0, 0]
    assert charts["wait"].summary == "No visit was called in this period."
    assert charts["recall-sms"].summary == "No recall SMS in this period."


def test_meetings_completed_and_missed_by_scheduled_day(clinic_a, provider):
    from datetime import timedelta

    from scheduling.models import Meeting, Service

    service = Service.objects.create(clinic=clinic_a, name="Video", duration_minutes=30)

    def meeting(when: str, status: str) -> None:
        starts = local(when)
        Meeting.objects.create(
            clinic=clinic_a, provider=provider, service=service, starts_at=starts,
            ends_at=starts + timedelta(minutes=30), status=status, guest_name="G", guest_email="g@example.com",
        )  # fmt: skip

    meeting("2026-03-02 10:00", MeetingStatus.COMPLETED)
    meeting("2026-03-02 11:00", MeetingStatus.MISSED)
    meeting("2026-03-08 23:30", MeetingStatus.COMPLETED)  # Mar 9 in UTC
    meeting("2026-03-05 10:00", MeetingStatus.CANCELLED)  # neither
    meeting("2026-03-09 10:00", MeetingStatus.MISSED)  # after the period
    chart = report(clinic_a)["meetings"]
    assert values(chart, 0) == [0, 1, 0, 0, 0, 0, 0, 1]
    assert values(chart, 1) == [0, 1, 0, 0, 0, 0, 0, 0]
    assert chart.summary == "1 of 3 meetings missed (33%); 2 completed."


def test_consultations_by_day_and_status(clinic_a, provider):
    from datetime import timedelta

    from consultations.lifecycle import Status
    from consultations.models import Consultation
    from scheduling.models import Requester, Service

    service = Service.objects.create(
        clinic=clinic_a, name="Phone", kind=Service.Kind.PHONE, duration_minutes=20
    )
    requester = Requester.objects.create(email="c@example.com", name="C")

    def consultation(when: str, status: str) -> None:
        starts = local(when)
        Consultation.objects.create(
            clinic=clinic_a, service=service, expert=None if status == Status.AVAILABLE else provider,
            status=status, requester=requester, starts_at=starts, ends_at=starts + timedelta(minutes=20),
            client_name="C", client_email="c@example.com", client_phone="+12025550143", created_at=starts,
        )  # fmt: skip

    consultation("2026-03-02 10:00", Status.COMPLETED)
    consultation("2026-03-02 11:00", Status.CANCELLED)
    consultation("2026-03-08 23:00", Status.COMPLETED)
    consultation("2026-03-07 09:00", Status.AVAILABLE)
    charts = report(clinic_a)
    assert values(charts["consultations-per-day"]) == [0, 2, 0, 0, 0, 0, 1, 1]
    by_status = dict(
        zip(
            charts["consultations-by-status"].x_labels, values(charts["consultations-by-status"]), strict=True
        )
    )
    assert by_status == {"Available": 1, "Claimed": 0, "In progress": 0, "Completed": 2, "Cancelled": 1}
    assert (
        charts["consultations-by-status"].summary == "4 consultations: 1 available, 2 completed, 1 cancelled."
    )
    assert (
        charts["consultations-per-day"].summary
        == "4 consultations, 0.5 a day on average; busiest day Mar 2 (2)."
    )


def test_payments_in_the_clinics_currency(clinic_a):
    from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
    from waitingroom.payments.models import Payment

    clinic_a.currency = "eur"
    clinic_a.save(update_fields=["currency"])

    def payment(n: int, when: str, amount: int, status: str, parent=None) -> Payment:
        at = local(when)
        return Payment.objects.create(
            clinic=clinic_a, subject=f"consultation:{n}", kind=PaymentKind.REFUND if parent else PaymentKind.CHARGE,
            parent=parent, description="Phone", amount=amount, currency="eur", status=status,
            idempotency_key=f"k{n}", created_at=at, updated_at=at,
        )  # fmt: skip

    first = payment(1, "2026-03-02 10:00", 4500, PaymentStatus.SUCCEEDED)
    payment(2, "2026-03-08 23:30", 4000, PaymentStatus.SUCCEEDED)
    payment(3, "2026-03-03 10:00", 4500, PaymentStatus.FAILED)
    payment(4, "2026-03-04 10:00", 1500, PaymentStatus.SUCCEEDED, parent=first)
    payment(5, "2026-03-09 10:00", 9900, PaymentStatus.SUCCEEDED)  # after the period
    chart = report(clinic_a)["payments"]
    assert chart.unit == "EUR"
    assert chart.summary == "2 charges paid, €85.00; 1 refund, €15.00; 1 charge failed."
    assert values(chart, 0) == [0, 45.0, 0, 0, 0, 0, 0, 40.0]
    columns, rows = chart.table()
    assert columns == ["Day", "Charges paid", "Paid (EUR)", "Refunds", "Refunded (EUR)", "Charges failed"]
    # Money in the table and the CSV has its cents, as a manager reads it: 15.00, 0.00 (not 15.0).
    assert [str(cell) for cell in rows[3]] == ["2026-03-04", "0", "0.00", "1", "15.00", "0"]
    assert str(rows[7][2]) == "40.00"


def test_payments_in_another_currency_are_not_added_to_the_clinics(clinic_a):
    """A clinic that changed its currency keeps its older payments in theirs: 45 dollars are not
    45 euros. They are left out of the sums and said in the summary."""
    from waitingroom.payments.lifecycle import PaymentKind, PaymentStatus
    from waitingroom.payments.models import Payment

    for n, currency in ((1, "usd"), (2, "eur")):
        at = local("2026-03-02 10:00")
        Payment.objects.create(
            clinic=clinic_a, subject=f"consultation:{n}", kind=PaymentKind.CHARGE, description="Phone",
            amount=4500, currency=currency, status=PaymentStatus.SUCCEEDED, idempotency_key=f"k{n}",
            created_at=at, updated_at=at,
        )  # fmt: skip
    clinic_a.currency = "eur"
    clinic_a.save(update_fields=["currency"])
    chart = report(clinic_a)["payments"]
    assert values(chart, 0)[1] == 45.0
    assert chart.summary == (
        "1 charge paid, €45.00; 0 refunds, €0.00; 0 charges failed. "
        "Not counted: 1 payment in USD, from before the clinic's currency was EUR."
    )
