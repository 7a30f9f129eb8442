"""A third participant in a visit's call (issue 20, visits/call_guests.py): the invitation by SMS
or email, the single-use link bound to the first browser, its expiry, approval by staff in the
call, removal, the call's end, tenancy, bad input, and the guest lifecycle table."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.conftest import client_for
from tests.visits.conftest import in_call
from visits import call_guests, guest_lifecycle, services
from visits.guest_lifecycle import GuestActor, GuestEvent, GuestStatus, GuestTransitionRefused
from visits.models import CallGuest, VisitEvent
from waitingroom.outbox.models import EmailMessage, SmsMessage

pytestmark = pytest.mark.django_db

MOBILE = "+14155550123"


def invite(visit, user, *, contact=MOBILE, name="Alex", relation="interpreter"):
    return call_guests.guest_invite(
        visit_id=visit.id, user=user, name=name, relation=relation, contact=contact
    )


def guest_page(token, client=None):
    client = client or Client()
    return client, client.get(f"/g/{token}/")


def asking(visit, user, django_capture_on_commit_callbacks):
    guest, token = invite(visit, user)
    client, response = guest_page(token)
    assert response.status_code == 200
    assert client.post(f"/g/{token}/ask/", HTTP_ACCEPT="application/json").json()["status"] == "asking"
    guest.refresh_from_db()
    return guest, token, client


# --- Invitation ---------------------------------------------------------------------------------------


def test_invite_by_sms_queues_the_exact_text_with_a_single_use_link(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    guest, token = invite(visit, provider, contact="(415) 555-0123")
    sms = SmsMessage.objects.get(reference=f"guest-invite:{guest.id}")
    link = f"{settings.PUBLIC_BASE_URL}/g/{token}/"
    assert sms.to == MOBILE
    assert sms.body == (
        "Paula Provider at Clinic A invites you to join a video call as interpreter. "
        f"The link works once, for 30 minutes: {link}"
    )
    # Only the token's hash is stored; the row says who, as what, and until when.
    assert token not in str(CallGuest.objects.filter(pk=guest.pk).values().get())
    assert guest.status == GuestStatus.INVITED and guest.label == "Alex (interpreter)"
    assert guest.expires_at == guest.created_at + timedelta(minutes=30)
    [event] = VisitEvent.objects.filter(guest=guest)
    assert (event.event, event.from_status, event.to_status, event.user) == (
        "guest_invited",
        visit.status,
        visit.status,
        provider,
    )


def test_invite_by_email(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    guest, token = invite(visit, provider, contact="alex@example.com", relation="family")
    message = EmailMessage.objects.get(reference=f"guest-invite:{guest.id}")
    assert message.to == ["alex@example.com"]
    assert message.subject == "Paula Provider invites you to a video call with Clinic A"
    assert f"{settings.PUBLIC_BASE_URL}/g/{token}/" in message.body
    assert "as family member" in message.body and f"/g/{token}/" in message.html_body
    assert not SmsMessage.objects.exists()


def test_invite_over_the_clinics_daily_sms_limit_is_refused_and_sends_nothing(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    clinic_a.daily_sms_limit = 0
    clinic_a.save(update_fields=["daily_sms_limit"])
    with pytest.raises(call_guests.GuestRefused, match="daily SMS limit"):
        invite(visit, provider)
    assert not CallGuest.objects.exists() and not SmsMessage.objects.exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"contact": "12"}, "Enter a valid mobile number or email address."),
        ({"contact": "alex@@example"}, "Enter a valid email address."),
        ({"contact": ""}, "Enter the guest's mobile number or email address."),
        ({"relation": "lawyer"}, "Choose who the guest is"),
        ({"name": "A" * 81}, "at most 80 characters"),
        ({"name": "   "}, "Enter the guest's name."),
        ({"name": "Alex\nEvil"}, "line breaks"),
        ({"name": "Alex\x00"}, "line breaks"),
        ({"contact": "+1415\x005550123"}, "Enter a valid mobile number or email address."),
        ({"contact": '"a\x0bb"@example.com'}, "Enter a valid email address."),
    ],
)
def test_bad_invitation_input_gets_a_clear_error_and_changes_nothing(clinic_a, provider, fields, error):
    visit = in_call(clinic_a, provider)
    data = {"name": "Alex", "relation": "interpreter", "contact": MOBILE, **fields}
    response = client_for(provider).post(
        f"/dashboard/{clinic_a.slug}/visits/{visit.id}/guests/invite/", data, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert error in response.json()["error"]
    assert not CallGuest.objects.exists() and not SmsMessage.objects.exists()
    assert not VisitEvent.objects.filter(event__startswith="guest").exists()


def test_staff_not_in_the_call_cannot_invite(clinic_a, provider, csr):
    visit = in_call(clinic_a, provider)
    response = client_for(csr).post(
        f"/dashboard/{clinic_a.slug}/visits/{visit.id}/guests/invite/",
        {"name": "Alex", "relation": "interpreter", "contact": MOBILE},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 403 and "Join the call first" in response.json()["error"]
    assert not CallGuest.objects.exists()


def test_staff_of_another_clinic_cannot_invite_or_admit(
    clinic_a, provider, outsider, django_capture_on_commit_callbacks
):
    visit = in_call(clinic_a, provider)
    invite_url = f"/dashboard/{clinic_a.slug}/visits/{visit.id}/guests/invite/"
    data = {"name": "Alex", "relation": "interpreter", "contact": MOBILE}
    assert client_for(outsider).post(invite_url, data).status_code == 404
    guest, _token, _client = asking(visit, provider, django_capture_on_commit_callbacks)
    admit = f"/dashboard/{clinic_a.slug}/visits/{visit.id}/guests/{guest.id}/admit/"
    assert client_for(outsider).post(admit).status_code == 404
    # Through their own clinic's slug the visit is not found either.
    assert client_for(outsider).post(admit.replace(clinic_a.slug, "clinic-b")).status_code == 404
    guest.refresh_from_db()
    assert guest.status == GuestStatus.ASKING


def test_one_live_guest_at_a_time(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    invite(visit, provider)
    with pytest.raises(call_guests.GuestRefused, match="already invited"):
        invite(visit, provider, name="Sam")
    assert CallGuest.objects.count() == 1


def test_a_guest_can_only_be_invited_into_a_call_in_progress(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    services.visit_send_back(visit_id=visit.id, user=provider)
    with pytest.raises(call_guests.GuestRefused, match="call in progress"):
        invite(visit, provider)


# --- The link: single use, expiry, another visit ---------------------------------------------------


def test_the_first_browser_binds_the_link_and_may_reload_any_other_gets_the_dead_end(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    _guest, token = invite(visit, provider)
    first, response = guest_page(token)
    assert response.status_code == 200 and b"Ask to join" in response.content
    assert first.get(f"/g/{token}/").status_code == 200  # a reload
    _other, refused = guest_page(token)
    assert refused.status_code == 404
    assert b"Ask to join" not in refused.content
    assert refused.templates[0].name == "waitingroom/link_not_valid.html"
    # Nor can the other browser ask, or read the state.
    other = Client()
    assert other.post(f"/g/{token}/ask/").status_code == 404
    assert other.get(f"/g/{token}/state/").status_code == 404


@pytest.mark.parametrize("path", ["/g/%00/", "/g/%00/state/", "/g/" + "x" * 2000 + "/"])
def test_odd_guest_links_get_a_404(clinic_a, path):
    assert Client().get(path).status_code == 404
    assert Client().post(path.replace("/state/", "/ask/")).status_code in (403, 404, 405)


def test_a_made_up_link_gets_the_dead_end_and_no_session(clinic_a):
    client, response = guest_page("x" * 43)
    assert response.status_code == 404 and response.templates[0].name == "waitingroom/link_not_valid.html"
    assert settings.SESSION_COOKIE_NAME not in client.cookies


def test_the_link_expires_after_30_minutes_unused(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        guest, token = invite(visit, provider)
    with time_machine.travel(start + timedelta(minutes=29, seconds=59), tick=False):
        client, response = guest_page(token)
        assert response.status_code == 200
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        # Even the browser that opened it: an invitation not asked on in time is over.
        assert client.get(f"/g/{token}/").status_code == 404
    guest.refresh_from_db()
    assert guest.status == GuestStatus.EXPIRED
    assert VisitEvent.objects.filter(guest=guest, event="guest_expired").exists()
    # The place is free again: another guest may be invited.
    invite(visit, provider, name="Sam")


def test_the_expiry_is_a_setting(clinic_a, provider, settings):
    settings.CALL_GUEST_INVITE_MINUTES = 5
    visit = in_call(clinic_a, provider)
    guest, _token = invite(visit, provider)
    assert guest.expires_at - guest.created_at == timedelta(minutes=5)


def test_another_visits_guest_is_refused_on_this_visit(
    clinic_a, provider, csr, django_capture_on_commit_callbacks
):
    visit = in_call(clinic_a, provider)
    other = in_call(clinic_a, csr, name="Bo Other")
    guest, _token, _client = asking(other, csr, django_capture_on_commit_callbacks)
    # Paula, in her own call, cannot admit the other visit's guest through her visit.
    response = client_for(provider).post(
        f"/dashboard/{clinic_a.slug}/visits/{visit.id}/guests/{guest.id}/admit/"
    )
    assert response.status_code == 404
    with pytest.raises(call_guests.GuestRefused):
        call_guests.guest_admit(visit_id=visit.id, guest_id=guest.id, user=provider)
    guest.refresh_from_db()
    assert guest.status == GuestStatus.ASKING


def test_a_revoked_invitation_is_dead(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    guest, token = invite(visit, provider)
    client, _ = guest_page(token)
    response = client_for(provider).post(
        f"/dashboard/{clinic_a.slug}/visits/{visit.id}/guests/{guest.id}/revoke/",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200 and "Invite a guest" in response.json()["html"]
    guest.refresh_from_db()
    assert guest.status == GuestStatus.REVOKED
    assert client.post(f"/g/{token}/ask/").status_code == 409
    _other, refused = guest_page(token)
    assert refused.status_code == 404
    assert VisitEvent.objects.filter(guest=guest, event="guest_revoked", user=provider).exists()


# --- Approval, removal, the call's end -----------------------------------------------------------------


def test_staff_admit_a_guest_who_asks_and_the_events_name_them(
    clinic_a, provider, django_capture_on_commit_callbacks
):
    visit = in_call(clinic_a, provider)
    guest, token, client = asking(visit, provider, django_capture_on_commit_callbacks)
    response = client_for(provider).post(
        f"/dashboard/{clinic_a.slug}/visits/{visit.id}/guests/{guest.id}/admit/",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200 and "Alex (interpreter) is in the call" in response.json()["html"]
    state = client.get(f"/g/{token}/state/").json()
    assert (
        state["status"] == "admitted" and "Pat Patient" in state["html"] and "Paula Provider" in state["html"]
    )
    call_guests.guest_remove(visit_id=visit.id, guest_id=guest.id, user=provider)
    events = list(VisitEvent.objects.filter(guest=guest).values_list("event", "from_status", "to_status"))
    assert [e[0] for e in events] == ["guest_invited", "guest_asked", "guest_joined", "guest_removed"]
    assert all(f == t == visit.status for _e, f, t in events)  # wait-time figures untouched
    # The removed guest's browser sees how it ended; the link opens nothing any more.
    ended = client.get(f"/g/{token}/")
    assert ended.status_code == 410 and b"You were removed from the call" in ended.content
    assert client.post(f"/g/{token}/ask/").status_code == 409


def test_decline(clinic_a, provider, django_capture_on_commit_callbacks):
    visit = in_call(clinic_a, provider)
    guest, token, client = asking(visit, provider, django_capture_on_commit_callbacks)
    call_guests.guest_decline(visit_id=visit.id, guest_id=guest.id, user=provider)
    guest.refresh_from_db()
    assert guest.status == GuestStatus.DECLINED
    assert client.get(f"/g/{token}/state/").json()["status"] == "declined"
    assert VisitEvent.objects.filter(guest=guest, event="guest_declined").exists()


def test_admit_before_the_guest_asks_is_refused(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    guest, _token = invite(visit, provider)
    response = client_for(provider).post(
        f"/dashboard/{clinic_a.slug}/visits/{visit.id}/guests/{guest.id}/admit/",
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 409 and "hasn't asked" in response.json()["error"]


def test_the_visits_end_ends_the_guests_part(clinic_a, provider, django_capture_on_commit_callbacks):
    visit = in_call(clinic_a, provider)
    guest, _token, _client = asking(visit, provider, django_capture_on_commit_callbacks)
    call_guests.guest_admit(visit_id=visit.id, guest_id=guest.id, user=provider)
    services.visit_end(visit_id=visit.id, user=provider)
    guest.refresh_from_db()
    assert guest.status == GuestStatus.LEFT
    assert VisitEvent.objects.filter(guest=guest, event="guest_left", actor="system").exists()


def test_the_patients_screen_names_the_admitted_guest(
    clinic_a, provider, published, django_capture_on_commit_callbacks
):
    visit = in_call(clinic_a, provider)
    guest, _token, _client = asking(visit, provider, django_capture_on_commit_callbacks)
    published.clear()
    with published.commit():
        call_guests.guest_admit(visit_id=visit.id, guest_id=guest.id, user=provider)
    [push] = [p for p in published.to(f"visit-{visit.id}") if p["type"] == "visit"]
    assert f'data-peer-name="guest-{guest.id}">Alex (interpreter)<' in push["html"]
    [panel] = published.to(f"visit-{visit.id}-call-staff")
    assert panel["type"] == "call_guest" and "Alex (interpreter) is in the call" in panel["html"]
    [screen] = published.to(f"call-guest-{guest.id}")
    assert screen["status"] == "admitted"


def test_asking_is_announced_to_the_staff_in_the_call(
    clinic_a, provider, published, django_capture_on_commit_callbacks
):
    visit = in_call(clinic_a, provider)
    _guest, token = invite(visit, provider)
    client, _ = guest_page(token)
    published.clear()
    with published.commit():
        client.post(f"/g/{token}/ask/")
    [panel] = published.to(f"visit-{visit.id}-call-staff")
    assert panel["announce"] == "Alex (interpreter) is asking to join"
    assert ">Admit<" in panel["html"] and ">Decline<" in panel["html"]


# --- The lifecycle table ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "event", "actor"), list(itertools.product(GuestStatus, GuestEvent, GuestActor))
)
def test_every_status_event_pair_is_allowed_or_refused(status, event, actor):
    row = guest_lifecycle.TRANSITIONS.get((status, event))
    if row is not None and row.actor == actor:
        target = guest_lifecycle.transition(status, event, actor)
        assert target == row.target
        # Forward only: nothing leads back to invited, and a final status has no way out.
        assert target != GuestStatus.INVITED and status not in guest_lifecycle.FINAL_STATUSES
    else:
        with pytest.raises(GuestTransitionRefused):
            guest_lifecycle.transition(status, event, actor)


def test_the_visits_history_in_the_admin_names_the_guest(
    clinic_a, provider, django_capture_on_commit_callbacks
):
    from tests.factories import staff
    from waitingroom.models import Role

    visit = in_call(clinic_a, provider)
    guest, _token, _client = asking(visit, provider, django_capture_on_commit_callbacks)
    call_guests.guest_admit(visit_id=visit.id, guest_id=guest.id, user=provider)
    call_guests.guest_remove(visit_id=visit.id, guest_id=guest.id, user=provider)
    ada = staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, is_staff=True)
    page = client_for(ada).get(f"/admin/visits/visit/{visit.id}/change/").content.decode()
    for event in ("guest_invited", "guest_asked", "guest_joined", "guest_removed"):
        assert event in page
    assert page.count("Alex (interpreter)") >= 4


def test_the_panel_re_fetch_is_for_staff_in_the_call_only(clinic_a, provider, csr, outsider):
    visit = in_call(clinic_a, provider)
    invite(visit, provider)
    url = f"/dashboard/{clinic_a.slug}/visits/{visit.id}/guests/panel/"
    response = client_for(provider).get(url)
    assert (
        response.status_code == 200 and "Invitation sent to Alex (interpreter)" in response.content.decode()
    )
    assert client_for(csr).get(url).status_code == 404  # not in the call
    assert client_for(outsider).get(url).status_code == 404  # another clinic


def test_the_guest_leaves_and_their_link_is_dead(clinic_a, provider, django_capture_on_commit_callbacks):
    visit = in_call(clinic_a, provider)
    guest, token, client = asking(visit, provider, django_capture_on_commit_callbacks)
    call_guests.guest_admit(visit_id=visit.id, guest_id=guest.id, user=provider)
    answer = client.post(f"/g/{token}/leave/", HTTP_ACCEPT="application/json").json()
    assert answer["status"] == "left" and "You left the call" in answer["html"]
    visit.refresh_from_db()
    assert visit.call_guest_id is None  # the patient's screen no longer names them
    assert VisitEvent.objects.filter(guest=guest, event="guest_left", actor="guest").exists()
    assert client.post(f"/g/{token}/ask/").status_code == 409
    assert Client().get(f"/g/{token}/").status_code == 404


# --- Expiry on time (the beat sweep) ------------------------------------------------------------------


def test_the_sweep_expires_an_unused_invitation_on_time_and_the_staff_panel_hears_it(
    clinic_a, provider, published
):
    visit = in_call(clinic_a, provider)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        guest, _token = invite(visit, provider)
    published.clear()
    with time_machine.travel(start + timedelta(minutes=29, seconds=59), tick=False), published.commit():
        assert call_guests.guests_expire_due() == 0
    assert published.sent == []
    with time_machine.travel(start + timedelta(minutes=30), tick=False), published.commit():
        # Nobody opened the link: the sweep alone expires it.
        assert call_guests.guests_expire_due() == 1
    guest.refresh_from_db()
    assert guest.status == GuestStatus.EXPIRED and guest.ended_at == start + timedelta(minutes=30)
    [panel] = published.to(f"visit-{visit.id}-call-staff")
    assert panel["type"] == "call_guest" and panel["announce"] == "The invitation to Alex has expired"
    assert "Invite a guest" in panel["html"]  # the place is free again
    [screen] = published.to(f"call-guest-{guest.id}")
    assert screen["status"] == "expired"
    assert VisitEvent.objects.filter(guest=guest, event="guest_expired", actor="system").count() == 1


def test_an_invitation_expires_once_whoever_gets_there_first(clinic_a, provider, published):
    visit = in_call(clinic_a, provider)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        guest, token = invite(visit, provider)
    later = start + timedelta(minutes=31)
    with time_machine.travel(later, tick=False):
        assert call_guests.guest_expire(guest_id=guest.id) is True
        # A second sweep, and the guest opening the link after it, find it expired already.
        assert call_guests.guest_expire(guest_id=guest.id) is False
        assert call_guests.guests_expire_due() == 0
        assert guest_page(token)[1].status_code == 404
    assert VisitEvent.objects.filter(guest=guest, event="guest_expired").count() == 1


def test_the_sweep_leaves_used_and_unexpired_invitations_alone(
    clinic_a, provider, csr, django_capture_on_commit_callbacks
):
    asked = in_call(clinic_a, provider)
    fresh = in_call(clinic_a, csr, name="Bo Fresh")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        asking_guest, _token, _client = asking(asked, provider, django_capture_on_commit_callbacks)
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        fresh_guest, _token = invite(fresh, csr, name="Sam")
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        # The asking guest used the link in time: staff admit or decline them, the clock does not.
        assert call_guests.guests_expire_due() == 0
    asking_guest.refresh_from_db()
    fresh_guest.refresh_from_db()
    assert asking_guest.status == GuestStatus.ASKING and fresh_guest.status == GuestStatus.INVITED
    assert call_guests.guest_expire(guest_id=10**9) is False  # gone: nothing to do, no error


def test_the_beat_task_runs_the_expiry_sweep(clinic_a, provider, settings):
    from visits import tasks

    assert settings.CELERY_BEAT_SCHEDULE["call-guests-expiry"]["task"] == tasks.expire_call_guests.name
    assert tasks.expire_call_guests.name == "visits.tasks.expire_call_guests"
    visit = in_call(clinic_a, provider)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        guest, _token = invite(visit, provider)
    with time_machine.travel(start + timedelta(minutes=30, seconds=5), tick=False):
        assert tasks.expire_call_guests() == 1
        assert tasks.expire_call_guests() == 0
    guest.refresh_from_db()
    assert guest.status == GuestStatus.EXPIRED
