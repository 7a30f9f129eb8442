"""The dispatch page, the assign dialog, deciding over HTTP, and the provider's dashboard panel:
oldest first, scoped by clinic, the five-minute colour, and who may decide what."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling.models import Meeting, Service
from scheduling.requests import services
from scheduling.times import slot_value
from tests.conftest import client_for
from tests.factories import MembershipFactory, staff
from tests.scheduling.conftest import on_demand, scheduled_request, tomorrow, weekday_hours
from waitingroom.models import Role

COLUMNS = [
    "Request #", "Requestor", "Request Type", "Patient Group", "Host Group",
    "Request To", "Service", "Request Pending For", "Request Time(s)", "Request Note",
]  # fmt: skip


def row_ids(html: bytes) -> list[int]:
    return [int(i) for i in re.findall(rb'<tr data-request="(\d+)"', html)]


@pytest.fixture
def b_service(clinic_b):
    return Service.objects.create(clinic=clinic_b, name="B consult")


@pytest.fixture
def b_request(frozen, clinic_b, outsider, b_service):
    weekday_hours(clinic_b, outsider)
    return scheduled_request(
        clinic_b, b_service, times=[tomorrow(clinic_b, 10)], email="bea@example.com", name="Bea"
    )


def test_dispatch_lists_pending_requests_oldest_first_with_exactly_the_columns(
    frozen, scheduler_client, clinic_a, provider, service, hours
):
    newer_first = []
    for minutes, hour in [(0, 10), (2, 11), (4, 12)]:
        frozen.move_to(tomorrow(clinic_a, 0) - timedelta(hours=12) + timedelta(minutes=minutes))
        newer_first.insert(
            0,
            scheduled_request(
                clinic_a, service, times=[tomorrow(clinic_a, hour)], email=f"r{hour}@example.com"
            ),
        )
    decided = newer_first[1]
    services.request_decline(request_id=decided.pk, by=provider)
    page = scheduler_client.get("/dispatch/")
    assert page.status_code == 200
    assert row_ids(page.content) == [newer_first[2].pk, newer_first[0].pk]
    head = page.content.decode().split("<thead")[1].split("</thead>")[0]
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", head)
    assert headers == COLUMNS
    row = page.content.decode().split(f'<tr data-request="{newer_first[0].pk}"')[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert len(cells) == 10
    assert (
        "Scheduled" in cells[2]
        and "Patients" in cells[3]
        and "Providers" in cells[4]
        and "Providers" in cells[5]
    )
    assert "General consultation" in cells[6] and "Tue 24 Nov, 12:00 EST" in cells[8]


def test_pending_colour_turns_red_after_five_minutes_by_the_servers_clock(
    frozen, scheduler_client, clinic_a, provider, service, hours
):
    request = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)])

    def cell():
        """The cell's colour, the start it carries, how long it has waited by the page's server
        clock, and its text (empty: the page script fills the counter with format.js's clock())."""
        html = scheduler_client.get("/dispatch/").content.decode()
        css, created_ms, text = re.search(
            r'<td class="pending ([\w-]+)" data-pending data-created-ms="(\d+)"[^>]*>([^<]*)</td>', html
        ).groups()
        server_now = int(re.search(r'data-server-now="(\d+)"', html).group(1))
        return css, int(created_ms), timedelta(milliseconds=server_now - int(created_ms)), text

    frozen.shift(timedelta(minutes=4, seconds=59))
    css, created_ms, waited, text = cell()
    assert (css, waited, text) == ("pending-fresh", timedelta(minutes=4, seconds=59), "")
    assert created_ms == int(request.created_at.timestamp() * 1000)
    frozen.shift(timedelta(seconds=1))
    css, _created_ms, waited, _text = cell()
    assert (css, waited) == ("pending-late", timedelta(minutes=5))
    # The page carries the server's clock, so the browser's counter doesn't trust its own.
    page = scheduler_client.get("/dispatch/").content.decode()
    server_now = int(re.search(r'data-server-now="(\d+)"', page).group(1))
    assert server_now == int(request.created_at.timestamp() * 1000) + 5 * 60 * 1000


def test_scheduler_of_several_clinics_filters_by_clinic(
    frozen, clinic_a, clinic_b, scheduler, service, hours, provider, b_request
):
    MembershipFactory(user=scheduler, clinic=clinic_b, role=Role.SCHEDULER)
    mine = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)])
    client = client_for(scheduler)
    assert row_ids(client.get("/dispatch/").content) == [b_request.pk, mine.pk]
    assert row_ids(client.get("/dispatch/?clinic=clinic-a").content) == [mine.pk]
    assert row_ids(client.get("/dispatch/?clinic=clinic-b").content) == [b_request.pk]
    assert row_ids(client.get("/dispatch/rows/?clinic=clinic-a").content) == [mine.pk]


def test_outsiders_get_nothing_of_another_clinics_requests(
    frozen, scheduler_client, clinic_a, service, hours, provider, b_request, outsider_client, csr_client
):
    assert b_request.pk not in row_ids(scheduler_client.get("/dispatch/").content)
    assert scheduler_client.get("/dispatch/?clinic=clinic-b").status_code == 404
    assert scheduler_client.get(f"/dispatch/requests/{b_request.pk}/assign/").status_code == 404
    response = scheduler_client.post(f"/dispatch/requests/{b_request.pk}/decide/", {"decision": "decline"})
    assert response.status_code == 404
    b_request.refresh_from_db()
    assert b_request.status == "pending"
    # Front desk and providers have no dispatch page.
    assert csr_client.get("/dispatch/").status_code == 404
    assert outsider_client.get("/dispatch/").status_code == 404


def test_anonymous_users_are_sent_to_log_in(client):
    assert client.get("/dispatch/")["Location"].startswith("/accounts/login/")


def test_assign_dialog_shows_availability_and_conflicts_within_two_hours(
    frozen, scheduler_client, clinic_a, provider, service, hours
):
    busy = staff(username="bo", clinic=clinic_a, role=Role.PROVIDER, first_name="Bo", last_name="Busy")
    weekday_hours(clinic_a, busy, start=time(13))
    request = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10), tomorrow(clinic_a, 14)])
    Meeting.objects.create(
        clinic=clinic_a, provider=busy, service=service, starts_at=tomorrow(clinic_a, 15),
        ends_at=tomorrow(clinic_a, 15) + timedelta(minutes=30), guest_name="Earlier Guest", guest_email="e@example.com",
    )  # fmt: skip
    html = scheduler_client.get(
        f"/dispatch/requests/{request.pk}/assign/?provider={busy.pk}"
    ).content.decode()
    paula_row = html.split(f'data-provider="{provider.pk}"')[1].split("</tr>")[0]
    bo_row = html.split(f'data-provider="{busy.pk}"')[1].split("</tr>")[0]
    # Paula works 09-17: free at both times. Bo works from 13:00: not at 10:00; at 14:00 he is.
    assert paula_row.count(">Available<") == 2
    assert bo_row.count(">Not available<") == 1 and bo_row.count(">Available<") == 1
    conflicts = html.split("data-conflicts")[1].split("</div>")[0]
    assert (
        "Earlier Guest" in conflicts.split("14:00 EST")[1]
        and "Earlier Guest" not in conflicts.split("14:00 EST")[0]
    )
    assert f'value="accept@{slot_value(tomorrow(clinic_a, 10))}"' in html
    assert f'value="accept@{slot_value(tomorrow(clinic_a, 14))}"' in html


def test_assign_dialog_in_on_demand_mode_uses_the_toggle(
    frozen, scheduler_client, clinic_a, provider, service
):
    on_demand(clinic_a)
    services.availability_set(clinic=clinic_a, provider=provider, available=True)
    request = services.request_submit(
        clinic=clinic_a, service=service, provider_id=None, kind="now", name="N", email="n@example.com"
    )
    html = scheduler_client.get(f"/dispatch/requests/{request.pk}/assign/").content.decode()
    assert ">Available<" in html.split(f'data-provider="{provider.pk}"')[1].split("</tr>")[0]
    services.availability_set(clinic=clinic_a, provider=provider, available=False)
    html = scheduler_client.get(f"/dispatch/requests/{request.pk}/assign/").content.decode()
    assert ">Not available<" in html.split(f'data-provider="{provider.pk}"')[1].split("</tr>")[0]


def decide(client, request, **data):
    return client.post(
        f"/dispatch/requests/{request.pk}/decide/", data, headers={"Accept": "application/json"}
    )


@pytest.mark.django_db(transaction=True)
def test_scheduler_accepts_a_requested_time_for_a_provider(
    frozen, scheduler_client, clinic_a, provider, service, hours
):
    from django.core import mail

    request = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10), tomorrow(clinic_a, 14)])
    mail.outbox.clear()
    response = decide(
        scheduler_client,
        request,
        decision=f"accept@{slot_value(tomorrow(clinic_a, 14))}",
        provider=provider.pk,
        response="OK",
    )
    assert response.status_code == 200 and response.json()["ok"]
    meeting = Meeting.objects.get()
    assert (meeting.provider, meeting.starts_at) == (provider, tomorrow(clinic_a, 14))
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Invitation"]
    again = decide(scheduler_client, request, decision="decline")
    assert again.status_code == 409 and "already accepted" in again.json()["error"]


@pytest.mark.parametrize(
    "data, error",
    [
        ({"decision": "accept@2026-11-24T16:00Z"}, "Choose the provider"),
        ({"decision": "accept@2026-11-30T16:00Z", "provider": "PROVIDER"}, "one of the requested times"),
        ({"decision": "accept", "provider": "PROVIDER"}, "one of the requested times"),
        ({"decision": "maybe", "provider": "PROVIDER"}, "Choose Accept or Decline"),
        ({"decision": "accept@2026-11-24T15:00Z", "provider": "999999"}, "Select a valid choice"),
        ({"decision": "decline", "response": "x" * 2001}, "at most 2000"),
    ],
)
def test_bad_decisions_are_explained_and_change_nothing(
    frozen, scheduler_client, clinic_a, provider, service, hours, data, error
):
    request = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)])
    data = {k: (str(provider.pk) if v == "PROVIDER" else v) for k, v in data.items()}
    response = decide(scheduler_client, request, **data)
    assert response.status_code == 400 and error in response.json()["error"]
    request.refresh_from_db()
    assert request.status == "pending" and not Meeting.objects.exists()


def test_overlap_is_refused_over_http_until_overridden(
    frozen, scheduler_client, clinic_a, provider, service, hours
):
    first = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)])
    second = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)], email="o@example.com")
    value = f"accept@{slot_value(tomorrow(clinic_a, 10))}"
    assert decide(scheduler_client, first, decision=value, provider=provider.pk).status_code == 200
    refused = decide(scheduler_client, second, decision=value, provider=provider.pk)
    assert refused.status_code == 409 and refused.json()["conflict"] is True
    assert Meeting.objects.count() == 1
    assert (
        decide(scheduler_client, second, decision=value, provider=provider.pk, override="1").status_code
        == 200
    )
    assert Meeting.objects.count() == 2


def test_a_provider_decides_only_requests_addressed_to_them_and_books_only_themselves(
    frozen, clinic_a, provider, service, hours, csr_client
):
    other = staff(username="pia", clinic=clinic_a, role=Role.PROVIDER)
    weekday_hours(clinic_a, other)
    to_other = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)], provider=other)
    to_group = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 11)], email="g@example.com")
    paula = client_for(provider)
    assert paula.get(f"/dispatch/requests/{to_other.pk}/assign/").status_code == 404
    assert decide(paula, to_other, decision="decline").status_code == 404
    assert decide(csr_client, to_group, decision="decline").status_code == 404
    # Addressed to the host group, which Paula is in: she may accept, but only for herself.
    value = f"accept@{slot_value(tomorrow(clinic_a, 11))}"
    assert decide(paula, to_group, decision=value, provider=other.pk).status_code == 400
    assert decide(paula, to_group, decision=value, provider=provider.pk).status_code == 200
    assert Meeting.objects.get().provider == provider


def test_provider_dashboard_lists_pending_requests_addressed_to_them(
    frozen, clinic_a, provider, service, hours, csr_client
):
    other = staff(username="pia", clinic=clinic_a, role=Role.PROVIDER)
    weekday_hours(clinic_a, other)
    mine = scheduled_request(
        clinic_a,
        service,
        times=[tomorrow(clinic_a, 10), tomorrow(clinic_a, 14)],
        provider=provider,
        note="Bring results",
    )
    theirs = scheduled_request(
        clinic_a, service, times=[tomorrow(clinic_a, 11)], provider=other, email="t@example.com"
    )
    group = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 12)], email="g@example.com")
    page = client_for(provider).get(f"/dashboard/{clinic_a.slug}/").content.decode()
    panel = page.split('data-panel="requests"')[1].split("</section>")[0]
    assert f'data-request="{mine.pk}"' in panel and f'data-request="{group.pk}"' in panel
    assert f'data-request="{theirs.pk}"' not in panel
    mine_html = panel.split(f'data-request="{mine.pk}"')[1].split("</article>")[0]
    # One Accept per requested time, Decline, and the response typed first.
    assert (
        mine_html.count("data-accept=") == 2
        and 'value="decline"' in mine_html
        and 'name="response"' in mine_html
    )
    assert "Bring results" in mine_html
    assert 'data-panel="requests"' not in csr_client.get(f"/dashboard/{clinic_a.slug}/").content.decode()
    # The fragment the page re-fetches on a push is the same panel.
    fragment = client_for(provider).get(f"/dashboard/{clinic_a.slug}/requests/").content.decode()
    assert f'data-request="{mine.pk}"' in fragment


def test_host_group_can_be_narrowed_to_chosen_hosts(frozen, clinic_a, provider, service, hours):
    from scheduling import availability

    other = staff(username="pia", clinic=clinic_a, role=Role.PROVIDER)
    weekday_hours(clinic_a, other)
    profile = availability.profile_for(clinic_a)
    profile.hosts.set([other])
    group = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 12)])
    assert (
        f'data-request="{group.pk}"'.encode()
        not in client_for(provider).get(f"/dashboard/{clinic_a.slug}/requests/").content
    )
    assert (
        f'data-request="{group.pk}"'.encode()
        in client_for(other).get(f"/dashboard/{clinic_a.slug}/requests/").content
    )


def test_panel_queries_do_not_grow_with_the_number_of_requests(frozen, clinic_a, provider, service, hours):
    client = client_for(provider)
    scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            client.get(f"/dashboard/{clinic_a.slug}/requests/")
        return len(ctx.captured_queries)

    few = count()
    for hour in range(11, 16):
        scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, hour)], email=f"x{hour}@example.com")
    assert count() == few


def test_dispatch_queries_do_not_grow_with_the_number_of_requests(
    frozen, scheduler_client, clinic_a, provider, service, hours
):
    scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10)])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            scheduler_client.get("/dispatch/")
        return len(ctx.captured_queries)

    few = count()
    for hour in range(11, 16):
        scheduled_request(
            clinic_a,
            service,
            times=[tomorrow(clinic_a, hour)],
            provider=provider,
            email=f"x{hour}@example.com",
        )
    assert count() == few


def test_on_demand_toggle_on_the_dashboard(frozen, clinic_a, provider, service, csr_client):
    on_demand(clinic_a)
    paula = client_for(provider)
    assert b"Set Available" in paula.get(f"/dashboard/{clinic_a.slug}/").content
    response = paula.post(f"/dashboard/{clinic_a.slug}/availability/", {"available": "1"})
    assert response.status_code == 302
    assert b"Set Not available" in paula.get(f"/dashboard/{clinic_a.slug}/").content
    assert b'value="now"' in client_for(provider).get(f"/c/{clinic_a.slug}/request/").content
    # Only providers of this clinic have a toggle.
    assert csr_client.post(f"/dashboard/{clinic_a.slug}/availability/", {"available": "1"}).status_code == 404
    assert paula.get(f"/dashboard/{clinic_a.slug}/availability/").status_code == 405
