"""Staff actions over HTTP: CSRF-protected POSTs, refusals that change nothing, tenancy."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import client_for
from tests.factories import staff
from tests.visits.conftest import arrive, in_call, ready
from visits.lifecycle import Status
from visits.models import IntakeField, Visit
from waitingroom.models import Role

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def action(client, visit, name, **extra):
    return client.post(f"/dashboard/{visit.clinic.slug}/visits/{visit.id}/{name}/", **extra)


def test_dashboard_shows_four_phases_and_cards_with_hooks(provider_client, clinic_a, provider):
    IntakeField.objects.create(clinic=clinic_a, label="State", key="state", kind="region", show_on_card=True)
    arrive(clinic_a, "Connie")
    ready(clinic_a, "Wanda")
    in_call(clinic_a, provider, "Carl")
    page = provider_client.get(f"/dashboard/{clinic_a.slug}/").content.decode()
    for phase in ["getting_ready", "ready", "in_progress", "recents"]:
        assert f'data-phase="{phase}"' in page
    assert 'data-phase="ready" open' in page and 'data-phase="in_progress" open' in page
    assert 'data-phase="getting_ready" open' not in page
    assert page.count('data-status="waiting"') == 1 and page.count('data-status="in_call"') == 1
    assert "In call: Paula Provider" in page


def test_card_shows_only_the_answers_marked_for_the_card(provider_client, clinic_a):
    IntakeField.objects.create(clinic=clinic_a, label="State", key="state", kind="region", show_on_card=True)
    IntakeField.objects.create(clinic=clinic_a, label="Reason", key="reason", kind="text", show_on_card=False)
    arrive(clinic_a, "Ann", answers={"state": "Ohio", "reason": "private detail"})
    page = provider_client.get(f"/dashboard/{clinic_a.slug}/").content.decode()
    assert "Ohio" in page and "private detail" not in page


def test_call_then_end_over_http(provider_client, clinic_a):
    visit = ready(clinic_a)
    response = action(provider_client, visit, "call", **JSON)
    assert response.json()["phase"] == "in_progress" and 'data-status="in_call"' in response.json()["html"]
    assert action(provider_client, visit, "end", **JSON).json() == {
        "ok": True,
        "visit_id": visit.id,
        "phase": "closed",
        "html": "",
    }
    assert Visit.objects.get(pk=visit.pk).status == Status.COMPLETED
    assert "Pat Patient" not in provider_client.get(f"/dashboard/{clinic_a.slug}/").content.decode()


def test_refused_action_explains_and_changes_nothing(provider_client, clinic_a):
    visit = arrive(clinic_a)
    response = action(provider_client, visit, "call", **JSON)
    assert response.status_code == 409
    assert response.json()["error"] == "Can't call a visit that is connecting."
    assert Visit.objects.get(pk=visit.pk).status == Status.CONNECTING
    # Without JavaScript: a redirect back with the message.
    response = action(provider_client, visit, "call", follow=True)
    assert b"Can&#x27;t call a visit that is connecting." in response.content


def test_unknown_action_is_404(provider_client, clinic_a):
    assert action(provider_client, ready(clinic_a), "teleport").status_code == 404


def test_actions_need_a_csrf_token(provider, clinic_a):
    visit = ready(clinic_a)
    client = Client(enforce_csrf_checks=True)
    client.force_login(provider)
    assert action(client, visit, "call").status_code == 403
    assert Visit.objects.get(pk=visit.pk).status == Status.WAITING


def test_actions_need_post(provider_client, clinic_a):
    assert (
        provider_client.get(f"/dashboard/{clinic_a.slug}/visits/{ready(clinic_a).id}/call/").status_code
        == 405
    )


def test_outsider_cannot_see_or_act_on_clinic_a_visits(outsider_client, clinic_a, clinic_b):
    visit = ready(clinic_a)
    assert outsider_client.get(f"/dashboard/{clinic_a.slug}/board/").status_code == 404
    # Through their own clinic's URL, clinic A's visit id is still not theirs.
    for name in ["call", "cancel", "end"]:
        assert (
            outsider_client.post(f"/dashboard/{clinic_b.slug}/visits/{visit.id}/{name}/").status_code == 404
        )
        assert (
            outsider_client.post(f"/dashboard/{clinic_a.slug}/visits/{visit.id}/{name}/").status_code == 404
        )
    assert outsider_client.get(f"/dashboard/{clinic_b.slug}/visits/{visit.id}/chat/").status_code == 404
    assert outsider_client.post(f"/dashboard/{clinic_a.slug}/broadcast/", {"message": "x"}).status_code == 404
    assert Visit.objects.get(pk=visit.pk).status == Status.WAITING
    assert "Pat Patient" not in outsider_client.get(f"/dashboard/{clinic_b.slug}/").content.decode()


def test_scheduler_does_not_get_the_waiting_room(clinic_a):
    scheduler = staff(username="sam", clinic=clinic_a, role=Role.SCHEDULER)
    ready(clinic_a, "Private Person")
    client = client_for(scheduler)
    page = client.get(f"/dashboard/{clinic_a.slug}/")
    assert page.status_code == 200 and b"Private Person" not in page.content
    assert client.get(f"/dashboard/{clinic_a.slug}/board/").status_code == 404


def test_staff_chat_panel_marks_read_and_sends(provider_client, clinic_a):
    from visits import chat

    visit = ready(clinic_a)
    chat.chat_post(visit_id=visit.id, body="Hello from the patient")
    panel = provider_client.get(f"/dashboard/{clinic_a.slug}/visits/{visit.id}/chat/")
    assert b"Hello from the patient" in panel.content
    assert Visit.objects.get(pk=visit.pk).unread_by_staff == 0
    sent = provider_client.post(f"/dashboard/{clinic_a.slug}/visits/{visit.id}/chat/", {"body": "Hi!"})
    assert sent.json() == {"ok": True}
    assert (
        provider_client.post(f"/dashboard/{clinic_a.slug}/visits/{visit.id}/chat/", {"body": ""}).status_code
        == 400
    )


def test_broadcast_over_http(provider_client, clinic_a):
    response = provider_client.post(
        f"/dashboard/{clinic_a.slug}/broadcast/", {"message": "Running late"}, **JSON
    )
    assert response.json() == {"ok": True, "message": "Running late"}
    assert (
        provider_client.post(
            f"/dashboard/{clinic_a.slug}/broadcast/", {"message": "x" * 281}, **JSON
        ).status_code
        == 400
    )


def make_visits(clinic, provider, n):
    """n open visits spread over every phase (bulk: this is about query counts)."""
    now = timezone.now()
    statuses = [Status.CONNECTING, Status.WAITING, Status.IN_CALL, Status.AVAILABLE, Status.DISCONNECTED]
    visits = Visit.objects.bulk_create(
        Visit(
            clinic=clinic,
            token_hash=f"{clinic.id}-{i}-{n}",
            patient_name=f"P{i}",
            status=statuses[i % 5],
            arrived_at=now,
            status_changed_at=now,
            answers={"state": "NY"},
        )
        for i in range(n)
    )
    from visits.models import CallParticipant

    CallParticipant.objects.bulk_create(
        CallParticipant(visit=v, user=provider, joined_at=now) for v in visits if v.status == Status.IN_CALL
    )


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_dashboard_queries_do_not_grow_with_the_number_of_visits(
    provider_client, clinic_a, clinic_b, provider
):
    IntakeField.objects.create(clinic=clinic_a, label="State", key="state", kind="region", show_on_card=True)
    IntakeField.objects.create(clinic=clinic_b, label="State", key="state", kind="region", show_on_card=True)
    make_visits(clinic_a, provider, 10)
    # The same person in a second clinic with 300 visits.
    from tests.factories import MembershipFactory

    MembershipFactory(user=provider, clinic=clinic_b)
    make_visits(clinic_b, provider, 300)
    small = count_queries(provider_client, f"/dashboard/{clinic_a.slug}/")
    large = count_queries(provider_client, f"/dashboard/{clinic_b.slug}/")
    assert small == large
    # Staying in a clinic (no session write for a clinic switch): session, user, memberships (one
    # read for the clinic, role, switcher and navigation), intake fields, visits, call participants,
    # 3 for the provider's appointment-request panel (scheduling/requests/dispatch.py) and 2 for
    # Upcoming Appointments (consultations/staff.py).
    assert count_queries(provider_client, f"/dashboard/{clinic_b.slug}/") <= 12
    assert count_queries(provider_client, f"/dashboard/{clinic_a.slug}/board/") == count_queries(
        provider_client, f"/dashboard/{clinic_b.slug}/board/"
    )


# Committing for real: the push is built when the service's transaction commits, inside the view
# (in a test's enclosing transaction it would only be built once the test block ends).
@pytest.mark.django_db(transaction=True)
def test_an_action_answers_with_the_card_it_pushed_in_few_queries(provider_client, clinic_a, published):
    IntakeField.objects.create(clinic=clinic_a, label="State", key="state", kind="region", show_on_card=True)
    visit = ready(clinic_a)
    provider_client.get(f"/dashboard/{clinic_a.slug}/")  # the session's clinic is settled
    url = f"/dashboard/{clinic_a.slug}/visits/{visit.id}/call/"
    published.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = provider_client.post(url, **JSON)
    (pushed,) = [p for p in published.to(f"clinic-{clinic_a.id}-staff") if p["type"] == "visit"]
    assert response.json()["html"] == pushed["html"] != ""
    # Session, user, membership, visit; then the transaction (its BEGIN and COMMIT): lock, others
    # in the call, join, update, event; after it, the card (visit, names, fields), whose names the
    # patient's screen reuses; last, the access entry (waitingroom/audit/). The answer's card is
    # not read again (18 before).
    assert len(ctx.captured_queries) == 15, "\n".join(q["sql"][:90] for q in ctx.captured_queries)
    sql = [q["sql"] for q in ctx.captured_queries]
    assert sql.index("COMMIT") == len(sql) - 5  # after it, only the card's three reads and the entry
    assert sql[-1].startswith('INSERT INTO "waitingroom_accessevent"')


@pytest.mark.django_db(transaction=True)
def test_fragments_are_read_and_rendered_after_commit_outside_the_row_lock(
    provider_client, clinic_a, published, monkeypatch
):
    from visits import cards, publishing

    visit = ready(clinic_a)
    calls = []

    def watched(function):
        def wrapper(*args, **kwargs):
            # No transaction open on this connection: the visit's row lock is released.
            calls.append((function.__name__, connection.in_atomic_block))
            return function(*args, **kwargs)

        return wrapper

    for module, name in ((cards, "read_card"), (cards, "card_state"), (publishing, "render_patient_status")):
        monkeypatch.setattr(module, name, watched(getattr(module, name)))
    published.clear()
    assert action(provider_client, visit, "call", **JSON).json()["ok"]
    assert calls == [("read_card", False), ("card_state", False), ("render_patient_status", False)]
    assert [p["type"] for p in published.to(f"visit-{visit.id}")] == ["visit"]


def test_joining_a_call_one_is_already_in_is_refused_and_changes_nothing(provider_client, clinic_a, provider):
    visit = in_call(clinic_a, provider)
    events = visit.events.count()
    response = action(provider_client, visit, "call", **JSON)
    assert response.status_code == 409
    assert response.json()["error"] == "You are already in this call."
    assert visit.events.count() == events and visit.call_participants.count() == 1
