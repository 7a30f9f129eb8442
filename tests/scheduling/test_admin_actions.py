"""Deciding appointment requests in the Django admin: the accept and decline actions (through an
intermediate form, via the same services as the dispatch page), scoped by clinic, and a request
admin that is otherwise read-only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import constants as levels
from django.core import mail

from scheduling.models import AppointmentRequest, Meeting, Service
from scheduling.requests import services
from scheduling.times import slot_label, slot_value
from tests.conftest import client_for
from tests.factories import staff
from tests.scheduling.conftest import scheduled_request, tomorrow, weekday_hours
from waitingroom.models import Role

# Emails are queued and sent after commit; real commits let them run as in production.
pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "/admin/scheduling/appointmentrequest/"


# --- Personas ----------------------------------------------------------------------------------


@pytest.fixture
def desk(clinic_a):
    """Clinic A's scheduler with admin access (the shared `scheduler` has no is_staff)."""
    return staff(
        username="sasha",
        clinic=clinic_a,
        role=Role.SCHEDULER,
        is_staff=True,
        first_name="Sasha",
        last_name="Desk",
    )


@pytest.fixture
def desk_client(frozen, desk):
    # Logged in under the frozen clock, so the session (8 h idle) is alive at the frozen moment.
    return client_for(desk)


@pytest.fixture
def request_a(frozen, clinic_a, provider, service, hours) -> AppointmentRequest:
    request = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 10), tomorrow(clinic_a, 14)])
    mail.outbox.clear()  # only the decisions' emails matter here
    return request


@pytest.fixture
def request_b(frozen, clinic_b, outsider) -> AppointmentRequest:
    """A pending request of clinic B, for Otto."""
    weekday_hours(clinic_b, outsider)
    service_b = Service.objects.create(clinic=clinic_b, name="Clinic B consultation", duration_minutes=30)
    request = scheduled_request(
        clinic_b, service_b, times=[tomorrow(clinic_b, 10)], name="Bea Beyond", email="bea@example.com"
    )
    mail.outbox.clear()
    return request


# --- Helpers -----------------------------------------------------------------------------------


def choose(client, action: str, ids, **fields):
    """The changelist's action bar: pick an action for the ticked rows (opens the form)."""
    return client.post(
        CHANGELIST,
        {"action": action, "index": "0", "select_across": "0", ACTION_CHECKBOX_NAME: [str(i) for i in ids]}
        | fields,
    )


def apply(client, action: str, ids, **fields):
    """The intermediate form's submit, as decide.html posts it."""
    return client.post(
        CHANGELIST,
        {"action": action, "apply": "1", ACTION_CHECKBOX_NAME: [str(i) for i in ids]} | fields,
        follow=True,
    )


def notices(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in response.context["messages"]]


def accept_fields(provider, moment, **extra) -> dict:
    return {"provider": str(provider.pk), "time": slot_value(moment), "response": "", **extra}


def status_of(request: AppointmentRequest) -> str:
    request.refresh_from_db()
    return request.status


# --- Scope -------------------------------------------------------------------------------------


def test_scheduler_lists_only_own_clinics_requests(desk_client, request_a, request_b):
    listing = desk_client.get(CHANGELIST)
    assert listing.status_code == 200
    assert b"Rita Requester" in listing.content
    assert b"Bea Beyond" not in listing.content
    assert [r.pk for r in listing.context["cl"].result_list] == [request_a.pk]
    # Another clinic's request is "not found": the admin sends the user back to its index.
    other = desk_client.get(f"{CHANGELIST}{request_b.pk}/change/")
    assert other.status_code == 302
    assert other["Location"] == "/admin/"
    assert desk_client.get(f"{CHANGELIST}{request_a.pk}/change/").status_code == 200


# Django's default foreign-key filter would list every clinic in the database; the scoped admin
# offers only the clinics of rows this user may see (ClinicScopedAdmin.get_list_filter).
def test_clinic_filter_names_only_the_schedulers_clinics(desk_client, request_a, request_b):
    listing = desk_client.get(CHANGELIST)
    assert b"Clinic A" in listing.content
    assert b"Clinic B" not in listing.content
    for path in (
        "/admin/scheduling/meeting/",
        "/admin/scheduling/weeklyhours/",
        "/admin/scheduling/dateexception/",
    ):
        assert b"Clinic B" not in desk_client.get(path).content


def test_action_on_another_clinics_request_changes_nothing(
    desk_client, clinic_b, outsider, request_a, request_b
):
    # Accept: the forged id is filtered out by the scoped queryset, so nothing is selected.
    response = apply(
        desk_client, "accept_request", [request_b.pk], **accept_fields(outsider, tomorrow(clinic_b, 10))
    )
    assert response.redirect_chain == [(CHANGELIST, 302)]
    assert (levels.WARNING, "No request of yours was selected.") in notices(response)
    # Decline, mixed with one of their own: only their own is declined.
    apply(desk_client, "decline_requests", [request_a.pk, request_b.pk], response="No")
    assert status_of(request_b) == "pending"
    assert status_of(request_a) == "declined"
    assert not Meeting.objects.exists()
    assert [m.to for m in mail.outbox] == [["rita@example.com"]]


def test_provider_without_admin_role_can_neither_list_nor_decide(frozen, provider, request_a):
    provider.is_staff = True
    provider.save(update_fields=["is_staff"])
    client = client_for(provider)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(f"{CHANGELIST}{request_a.pk}/change/").status_code in (302, 403)
    opened = choose(client, "accept_request", [request_a.pk])
    assert opened.status_code == 403
    accepted = client.post(
        CHANGELIST,
        {
            "action": "accept_request",
            "apply": "1",
            ACTION_CHECKBOX_NAME: [str(request_a.pk)],
            **accept_fields(provider, tomorrow(request_a.clinic, 10)),
        },
    )
    assert accepted.status_code == 403
    declined = client.post(
        CHANGELIST, {"action": "decline_requests", "apply": "1", ACTION_CHECKBOX_NAME: [str(request_a.pk)]}
    )
    assert declined.status_code == 403
    assert status_of(request_a) == "pending"
    assert not Meeting.objects.exists()
    assert mail.outbox == []


# --- Accepting ---------------------------------------------------------------------------------


def test_accept_action_shows_form_then_books_meeting_and_sends_invitation(
    desk_client, desk, clinic_a, provider, request_a
):
    pia = staff(username="pia", clinic=clinic_a, role=Role.PROVIDER, first_name="Pia", last_name="Second")
    ten, two = tomorrow(clinic_a, 10), tomorrow(clinic_a, 14)
    page = choose(desk_client, "accept_request", [request_a.pk])
    assert page.status_code == 200
    assert "admin/scheduling/decide.html" in [t.name for t in page.templates]
    html = page.content.decode()
    assert "Rita Requester" in html  # the request being decided
    for person in (provider, pia):
        assert f'<option value="{person.pk}"' in html and person.get_full_name() in html
    for moment in (ten, two):
        assert f'value="{slot_value(moment)}"' in html
        assert slot_label(moment, clinic_a) in html  # "Tue 24 Nov, 10:00 EST"
    # The form posts back to the same action, for the same request.
    assert f'name="{ACTION_CHECKBOX_NAME}" value="{request_a.pk}"' in html
    assert 'name="action" value="accept_request"' in html
    assert 'name="apply" value="1"' in html
    # Showing the form decides nothing, and it opens blank: no errors before the user chose.
    assert not page.context["form"].is_bound and "errorlist" not in html
    assert status_of(request_a) == "pending" and not Meeting.objects.exists()

    # Neither the first provider nor the first time: the choices made are the ones booked.
    done = apply(
        desk_client, "accept_request", [request_a.pk], **accept_fields(pia, two, response="See you then")
    )
    assert done.redirect_chain == [(CHANGELIST, 302)]
    request_a.refresh_from_db()
    assert (request_a.status, request_a.decided_by, request_a.response) == ("accepted", desk, "See you then")
    meeting = Meeting.objects.get()
    assert (meeting.request, meeting.provider, meeting.starts_at, meeting.ends_at) == (
        request_a,
        pia,
        two,
        two + timedelta(minutes=30),
    )
    assert meeting.created_by == desk
    assert (
        levels.INFO,
        f"Request #{request_a.pk} accepted: meeting #{meeting.pk} booked, invitation sent.",
    ) in notices(done)
    [invitation] = [m for m in mail.outbox if m.subject.startswith("Invitation:")]
    assert invitation.to == ["rita@example.com"]
    assert "Tuesday 24 November 2026, 14:00 EST" in invitation.body
    assert "With: Pia Second" in invitation.body
    assert "See you then" in invitation.body
    assert invitation.attachments[0][0] == "invite.ics"


def test_accept_form_offers_only_the_clinics_providers(
    desk_client, clinic_a, provider, csr, outsider, request_a
):
    pia = staff(username="pia", clinic=clinic_a, role=Role.PROVIDER, first_name="Pia", last_name="Second")
    page = choose(desk_client, "accept_request", [request_a.pk])
    choices = page.context["form"].fields["provider"].choices
    assert choices == [(provider.pk, "Paula Provider"), (pia.pk, "Pia Second")]
    assert b"Otto" not in page.content and b"Chris Desk" not in page.content
    # A forged choice of another clinic's provider is a form error, and books nothing.
    forged = apply(
        desk_client, "accept_request", [request_a.pk], **accept_fields(outsider, tomorrow(clinic_a, 10))
    )
    assert forged.redirect_chain == []
    assert forged.context["form"].errors["provider"]
    assert status_of(request_a) == "pending" and not Meeting.objects.exists()


def test_accept_of_a_time_not_requested_is_a_form_error(desk_client, clinic_a, provider, request_a):
    response = apply(
        desk_client, "accept_request", [request_a.pk], **accept_fields(provider, tomorrow(clinic_a, 11))
    )
    assert response.redirect_chain == [] and response.context["form"].errors["time"]
    assert status_of(request_a) == "pending" and not Meeting.objects.exists()


def test_accepting_an_already_decided_request_is_an_error_and_books_no_second_meeting(
    desk_client, clinic_a, provider, request_a
):
    fields = accept_fields(provider, tomorrow(clinic_a, 10))
    apply(desk_client, "accept_request", [request_a.pk], **fields)
    assert status_of(request_a) == "accepted"
    mail.outbox.clear()

    again = apply(desk_client, "accept_request", [request_a.pk], **fields)
    assert again.redirect_chain == [(CHANGELIST, 302)]
    assert (levels.ERROR, f"Request #{request_a.pk}: This request was already accepted.") in notices(again)
    assert Meeting.objects.count() == 1
    assert mail.outbox == []


def test_accepting_a_declined_request_is_an_error(desk_client, desk, clinic_a, provider, request_a):
    services.request_decline(request_id=request_a.pk, by=desk, response="Full")
    mail.outbox.clear()
    response = apply(
        desk_client, "accept_request", [request_a.pk], **accept_fields(provider, tomorrow(clinic_a, 10))
    )
    assert (levels.ERROR, f"Request #{request_a.pk}: This request was already declined.") in notices(response)
    assert status_of(request_a) == "declined"
    assert not Meeting.objects.exists() and mail.outbox == []


def test_overlapping_accept_needs_override(desk_client, desk, clinic_a, provider, service, hours, frozen):
    ten = tomorrow(clinic_a, 10)
    first = scheduled_request(clinic_a, service, times=[ten], email="first@example.com", name="First")
    second = scheduled_request(clinic_a, service, times=[ten], email="second@example.com", name="Second")
    services.request_accept(request_id=first.pk, by=desk, provider_id=provider.pk, starts_at=ten)
    mail.outbox.clear()

    refused = apply(desk_client, "accept_request", [second.pk], **accept_fields(provider, ten))
    assert refused.redirect_chain == []  # the form again, not a redirect
    assert "admin/scheduling/decide.html" in [t.name for t in refused.templates]
    [error] = refused.context["form"].errors["override"]
    assert error == (
        "The provider already has a session at that time. (General consultation Tuesday 24 November 2026, "
        "10:00 EST). Tick “Book even though it overlaps” to book anyway."
    )
    assert error.encode() in refused.content
    assert status_of(second) == "pending"
    assert Meeting.objects.count() == 1 and mail.outbox == []

    booked = apply(desk_client, "accept_request", [second.pk], **accept_fields(provider, ten, override="on"))
    assert booked.redirect_chain == [(CHANGELIST, 302)]
    assert status_of(second) == "accepted"
    meeting = Meeting.objects.get(request=second)
    assert (meeting.provider, meeting.starts_at) == (provider, ten)
    assert "booked over 1 overlapping session(s)" in second.events.get(event="accept").detail
    assert [m.to for m in mail.outbox if m.subject.startswith("Invitation:")] == [["second@example.com"]]


def test_accepting_several_requests_at_once_is_refused(desk_client, clinic_a, provider, service, request_a):
    other = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 11)], email="rob@example.com")
    mail.outbox.clear()
    opened = choose(desk_client, "accept_request", [request_a.pk, other.pk])
    assert opened.status_code == 302  # no form: back to the list with a warning
    forced = apply(
        desk_client,
        "accept_request",
        [request_a.pk, other.pk],
        **accept_fields(provider, tomorrow(clinic_a, 10)),
    )
    assert (levels.WARNING, "Accept one request at a time.") in notices(forced)
    assert (status_of(request_a), status_of(other)) == ("pending", "pending")
    assert not Meeting.objects.exists() and mail.outbox == []


# --- Declining ---------------------------------------------------------------------------------


def test_decline_action_declines_each_and_tells_each_requester(
    desk_client, desk, clinic_a, service, request_a
):
    other = scheduled_request(
        clinic_a, service, times=[tomorrow(clinic_a, 11)], email="rob@example.com", name="Rob Second"
    )
    mail.outbox.clear()
    page = choose(desk_client, "decline_requests", [request_a.pk, other.pk])
    assert page.status_code == 200
    assert b"Rita Requester" in page.content and b"Rob Second" in page.content
    assert (status_of(request_a), status_of(other)) == ("pending", "pending")

    done = apply(
        desk_client, "decline_requests", [request_a.pk, other.pk], response="We are fully booked this week."
    )
    assert done.redirect_chain == [(CHANGELIST, 302)]
    assert (levels.INFO, "Declined 2 request(s).") in notices(done)
    for request in (request_a, other):
        request.refresh_from_db()
        assert (request.status, request.decided_by, request.response) == (
            "declined",
            desk,
            "We are fully booked this week.",
        )
    declined = {m.to[0]: m for m in mail.outbox if "declined" in m.subject}
    assert sorted(declined) == ["rita@example.com", "rob@example.com"]
    for message in declined.values():
        assert "We are fully booked this week." in message.body
    assert not Meeting.objects.exists()


def test_declining_an_already_decided_request_is_reported(desk_client, desk, clinic_a, service, request_a):
    other = scheduled_request(clinic_a, service, times=[tomorrow(clinic_a, 11)], email="rob@example.com")
    services.request_decline(request_id=other.pk, by=desk)
    mail.outbox.clear()
    done = apply(desk_client, "decline_requests", [request_a.pk, other.pk], response="")
    messages = notices(done)
    assert (levels.INFO, "Declined 1 request(s).") in messages
    assert (levels.WARNING, f"#{other.pk}: This request was already declined.") in messages
    assert [m.to for m in mail.outbox] == [["rita@example.com"]]


# --- Read-only ---------------------------------------------------------------------------------


def test_request_admin_is_read_only(desk_client, request_a):
    listing = desk_client.get(CHANGELIST)
    actions = [value for value, _ in listing.context["action_form"].fields["action"].choices if value]
    assert actions == ["accept_request", "decline_requests"]  # no delete_selected
    assert desk_client.get(f"{CHANGELIST}add/").status_code == 403

    page = desk_client.get(f"{CHANGELIST}{request_a.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    edited = desk_client.post(
        f"{CHANGELIST}{request_a.pk}/change/",
        {"name": "Changed", "email": "evil@example.com", "status": "accepted", "_save": "Save"},
    )
    assert edited.status_code == 403
    request_a.refresh_from_db()
    assert (request_a.name, request_a.email, request_a.status) == (
        "Rita Requester",
        "rita@example.com",
        "pending",
    )

    assert desk_client.get(f"{CHANGELIST}{request_a.pk}/delete/").status_code == 403
    assert desk_client.post(f"{CHANGELIST}{request_a.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = choose(desk_client, "delete_selected", [request_a.pk], post="yes")
    assert bulk.status_code == 302
    assert AppointmentRequest.objects.filter(pk=request_a.pk).exists()
