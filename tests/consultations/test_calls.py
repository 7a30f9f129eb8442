"""Start Phone Call in the consultation room (consultations/calls.py): who may start, what the
bridge is asked, what a call's changes do to the consultation and the room, return calls, and
the room's call part on both sides (never a phone number)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from consultations import calls, services
from consultations.lifecycle import Status
from consultations.models import Consultation, ConsultationProfile
from tests.conftest import client_for
from tests.consultations.conftest import CLIENT_PHONE, make_consultation
from tests.factories import staff
from waitingroom.models import Role, StaffPhone
from waitingroom.realtime import groups
from waitingroom.voice.lifecycle import CallStatus, Outcome
from waitingroom.voice.models import PhoneCall
from waitingroom.voice.services import Change

pytestmark = pytest.mark.django_db

VOICE = "+15555550100"
LINE = "+15555550199"
EXPERT_PHONE = "+12025550188"


@pytest.fixture
def profile(clinic_a):
    return ConsultationProfile.objects.create(clinic=clinic_a, voice_number=VOICE, clinic_phone_line=LINE)


@pytest.fixture
def expert_phone(provider):
    return StaffPhone.objects.create(user=provider, number=EXPERT_PHONE, verified_at=timezone.now())


@pytest.fixture
def ready(claimed, profile, expert_phone):
    """A consultation claimed by Paula, who has a verified phone, at a clinic with a voice number."""
    return claimed


def start(consultation, user):
    return calls.call_start_for(
        consultation_id=consultation.pk, by=user, expected_version=consultation.version
    )


def post_start(client, consultation):
    return client.post(
        f"/consultations/{consultation.pk}/call/",
        {"version": consultation.version},
        HTTP_ACCEPT="application/json",
    )


# --- Starting --------------------------------------------------------------------------------------


def test_the_expert_holding_the_claim_starts_a_masked_call_with_the_clinics_settings(ready, provider):
    call = start(ready, provider)
    call = PhoneCall.objects.get(pk=call.pk)
    assert call.subject == f"consultation:{ready.pk}"
    assert (call.clinic_id, call.staff_id, call.direction) == (ready.clinic_id, provider.pk, "outbound")
    assert (call.staff_number, call.client_number, call.from_number) == (EXPERT_PHONE, CLIENT_PHONE, VOICE)
    assert (call.client_first_name, call.service_label) == ("Casey", "Phone consultation")
    assert call.record is True
    assert call.consent_text == ConsultationProfile.objects.get().consent_text
    assert call.status == CallStatus.QUEUED


def test_without_recording_no_consent_is_said(ready, provider, profile):
    profile.record_calls = False
    profile.save()
    call = start(ready, provider)
    assert (call.record, call.consent_text) == (False, "")


def test_another_expert_of_the_clinic_may_not_start_the_holders_call(ready, clinic_a):
    pete = staff(username="pete", clinic=clinic_a, role=Role.PROVIDER)
    StaffPhone.objects.create(user=pete, number="+12025550166", verified_at=timezone.now())
    with pytest.raises(services.ConsultationRefused, match="Only the expert who claimed"):
        start(ready, pete)
    assert not PhoneCall.objects.exists()


def test_an_expert_without_a_verified_phone_is_refused(ready, provider, expert_phone):
    expert_phone.verified_at = None
    expert_phone.save()
    with pytest.raises(services.ConsultationRefused, match="verify your own phone number"):
        start(ready, provider)
    expert_phone.delete()
    with pytest.raises(services.ConsultationRefused, match="verify your own phone number"):
        start(ready, provider)
    assert not PhoneCall.objects.exists()


def test_a_clinic_without_a_voice_number_is_refused(ready, provider, profile):
    profile.voice_number = ""
    profile.save()
    with pytest.raises(services.ConsultationRefused, match="no phone number for calls"):
        start(ready, provider)
    assert not PhoneCall.objects.exists()


def test_an_ended_consultation_takes_no_call(ready, provider):
    services.consultation_complete(consultation_id=ready.pk, by=provider, expected_version=ready.version)
    ready.refresh_from_db()
    with pytest.raises(services.ConsultationRefused, match="has ended"):
        start(ready, provider)


def test_a_second_start_while_one_is_active_is_refused(ready, provider):
    start(ready, provider)
    with pytest.raises(services.ConsultationRefused, match="already ringing or connected"):
        start(ready, provider)
    assert PhoneCall.objects.count() == 1


def test_after_a_failed_call_the_expert_may_retry(ready, provider):
    first = start(ready, provider)
    PhoneCall.objects.filter(pk=first.pk).update(status=CallStatus.FAILED, outcome=Outcome.STAFF_NO_ANSWER)
    assert start(ready, provider).pk != first.pk


def test_a_stale_page_starts_nothing(ready, provider):
    with pytest.raises(services.StalePage):
        calls.call_start_for(consultation_id=ready.pk, by=provider, expected_version=ready.version - 1)
    assert not PhoneCall.objects.exists()


def test_the_start_post_for_the_expert_csr_and_another_clinic(ready, provider, csr, outsider):
    StaffPhone.objects.create(user=csr, number="+12025550155", verified_at=timezone.now())
    refused = post_start(client_for(csr), ready)
    assert refused.status_code == 409 and "Only the expert who claimed" in refused.json()["error"]
    assert post_start(client_for(outsider), ready).status_code == 404
    assert post_start(client_for(provider), ready).status_code == 200
    assert PhoneCall.objects.filter(staff=provider).count() == 1
    again = post_start(client_for(provider), ready)
    assert again.status_code == 409 and "already ringing" in again.json()["error"]


# --- What the bridge's changes do --------------------------------------------------------------------


def test_the_first_connected_call_starts_the_consultation_and_every_change_refetches_the_call(
    ready, provider, published
):
    call = start(ready, provider)
    published.clear()
    with published.commit():
        calls.call_changed(call, what=Change.PROGRESS)
    ready.refresh_from_db()
    assert ready.status == Status.CLAIMED
    hint = {"type": "consultation", "version": ready.version, "parts": ["call", "recordings"]}
    assert published.to(groups.consultation_staff_group(ready.pk)) == [hint]
    assert published.to(groups.consultation_client_group(ready.pk)) == [hint]

    published.clear()
    with published.commit():
        calls.call_changed(call, what=Change.CONNECTED)
    ready.refresh_from_db()
    assert ready.status == Status.IN_PROGRESS and ready.started_at is not None
    staff_side = published.to(groups.consultation_staff_group(ready.pk))
    assert {"type": "consultation", "version": ready.version, "parts": ["call", "recordings"]} in staff_side

    version, started = ready.version, ready.started_at
    published.clear()
    with published.commit():
        calls.call_changed(call, what=Change.CONNECTED)  # a return call later connects again
    ready.refresh_from_db()
    assert (ready.version, ready.started_at) == (version, started)
    assert published.to(groups.consultation_staff_group(ready.pk)) == [
        {"type": "consultation", "version": version, "parts": ["call", "recordings"]}
    ]
    assert ready.events.filter(event="start").count() == 1


# --- Return calls ------------------------------------------------------------------------------------


def route(**kwargs):
    fields = {"to_number": VOICE, "from_number": CLIENT_PHONE, **kwargs}
    return calls.return_route(**fields)


def test_a_client_calling_back_within_the_window_is_connected_to_the_expert(ready, provider):
    at = ready.starts_at
    for now in (at - timedelta(minutes=15), at, at + timedelta(minutes=120)):
        found = route(now=now)
        assert found is not None and found.call_kwargs is not None
        assert found.call_kwargs["subject"] == f"consultation:{ready.pk}"
        assert found.call_kwargs["staff"] == provider
        assert found.call_kwargs["staff_number"] == EXPERT_PHONE
        assert found.call_kwargs["client_number"] == CLIENT_PHONE
        assert found.call_kwargs["from_number"] == VOICE
        assert found.call_kwargs["direction"] == PhoneCall.Direction.RETURN


def test_outside_the_window_the_caller_hears_the_clinics_message(ready):
    at = ready.starts_at
    for now in (at - timedelta(minutes=16), at + timedelta(minutes=121)):
        found = route(now=now)
        assert found is not None and found.call_kwargs is None
        assert found.message == "This number is for Clinic A's phone consultations."
        assert found.clinic_line == LINE


def test_the_window_is_the_clinics_setting(ready, profile):
    profile.return_window_after_minutes = 30
    profile.save()
    assert route(now=ready.starts_at + timedelta(minutes=31)).call_kwargs is None
    assert route(now=ready.starts_at + timedelta(minutes=29)).call_kwargs is not None


def test_an_unknown_caller_hears_the_message_without_a_line_when_the_clinic_has_none(ready, profile):
    found = route(from_number="+12025550111", now=ready.starts_at)
    assert found is not None and found.call_kwargs is None
    profile.clinic_phone_line = ""
    profile.save()
    found = route(from_number="+12025550111", now=ready.starts_at)
    assert found.message == (
        "This number is for Clinic A's phone consultations. Please use the link in your booking email."
    )
    assert found.clinic_line == ""


def test_a_call_to_another_clinics_number_never_reaches_this_consultation(ready, clinic_b, phone_service):
    ConsultationProfile.objects.create(clinic=clinic_b, voice_number="+15555550200")
    found = route(to_number="+15555550200", now=ready.starts_at)
    assert found is not None and found.call_kwargs is None
    assert "Clinic B" in found.message
    assert route(to_number="+15555550999", now=ready.starts_at) is None  # no clinic's number


def test_a_return_call_needs_a_claimed_consultation_and_an_expert_with_a_verified_phone(
    ready, expert_phone, clinic_a, phone_service
):
    expert_phone.verified_at = None
    expert_phone.save()
    assert route(now=ready.starts_at).call_kwargs is None
    expert_phone.verified_at = timezone.now()
    expert_phone.save()
    ready.status = Status.COMPLETED
    ready.save()
    assert route(now=ready.starts_at).call_kwargs is None
    unclaimed = make_consultation(clinic_a, phone_service, starts_at=ready.starts_at)
    assert unclaimed.expert_id is None
    assert route(now=ready.starts_at).call_kwargs is None


# --- The room's call part -------------------------------------------------------------------------


def staff_part(user, consultation) -> str:
    return client_for(user).get(f"/consultations/{consultation.pk}/part/call/").content.decode()


def client_part(consultation) -> str:
    from django.test import Client

    return Client().get(f"/consult/room/{consultation.client_token}/part/call/").content.decode()


def pages(user, consultation) -> tuple[str, str]:
    from django.test import Client

    staff_page = client_for(user).get(f"/consultations/{consultation.pk}/").content.decode()
    client_page = Client().get(f"/consult/room/{consultation.client_token}/").content.decode()
    return staff_page, client_page


def no_numbers(*htmls: str) -> None:
    """Neither person's number (the clinic's own voice number is public: clients are told it)."""
    for html in htmls:
        for number in (EXPERT_PHONE, CLIENT_PHONE):
            assert number not in html and number[-7:] not in html


def test_the_expert_is_offered_start_phone_call_and_nobody_sees_a_number(ready, provider):
    staff_page, client_page = pages(provider, ready)
    assert "Start Phone Call" in staff_page and "data-call-start" in staff_page
    assert "Start Phone Call" not in client_page
    no_numbers(staff_page, client_page)


def test_without_a_verified_phone_the_room_says_why_and_links_to_the_phone_page(
    ready, provider, expert_phone
):
    expert_phone.delete()
    html = staff_part(provider, ready)
    assert "data-call-start" not in html
    assert "Add and verify your own phone number" in html and 'href="/account/phone/"' in html


def test_a_csr_sees_no_start_button(ready, csr):
    html = staff_part(csr, ready)
    assert "data-call-start" not in html and "Only the expert who claimed" in html


def test_the_call_progress_in_words_on_both_sides(ready, provider):
    call = start(ready, provider)
    assert "Calling your phone…" in staff_part(provider, ready)
    assert "Clinic A will call you in a moment…" in client_part(ready)
    assert "data-call-start" not in staff_part(provider, ready)  # one call at a time

    PhoneCall.objects.filter(pk=call.pk).update(status=CallStatus.CONNECTING_CLIENT)
    assert "Connecting Casey Client…" in staff_part(provider, ready)
    assert "Clinic A is calling you…" in client_part(ready)

    connected = timezone.now()
    PhoneCall.objects.filter(pk=call.pk).update(status=CallStatus.IN_CALL, connected_at=connected)
    for html in (staff_part(provider, ready), client_part(ready)):
        assert "In call" in html and f'data-call-since="{int(connected.timestamp())}"' in html

    PhoneCall.objects.filter(pk=call.pk).update(
        status=CallStatus.ENDED, outcome=Outcome.COMPLETED, ended_at=connected, duration_seconds=65
    )
    html = staff_part(provider, ready)
    assert "Ended" in html and 'data-call-duration="65"' in html
    assert "Mark the consultation completed" in html
    assert "Call ended" in client_part(ready)
    no_numbers(*pages(provider, ready))


def test_a_failed_call_says_why_with_retry_for_the_expert_only(ready, provider):
    call = start(ready, provider)
    PhoneCall.objects.filter(pk=call.pk).update(status=CallStatus.FAILED, outcome=Outcome.CLIENT_BUSY)
    html = staff_part(provider, ready)
    assert "The client&#39;s line was busy" in html or "The client's line was busy" in html
    assert "Retry" in html and "Mark the consultation completed" not in html
    client_html = client_part(ready)
    assert "Call ended" in client_html and "busy" not in client_html and "Retry" not in client_html


def test_another_clinics_expert_gets_no_call_part(ready, outsider):
    answer = client_for(outsider).get(f"/consultations/{ready.pk}/part/call/")
    assert answer.status_code == 404


@time_machine.travel("2030-01-01 09:00:00+00:00", tick=False)
def test_a_consultation_with_no_call_yet_tells_the_client_they_will_be_called(
    clinic_a, phone_service, provider
):
    consultation = make_consultation(clinic_a, phone_service, expert=provider)
    assert "Your expert will call you from Clinic A" in client_part(consultation)


@time_machine.travel("2030-01-01 09:00:00+00:00", tick=False)
@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CANCELLED])
def test_a_consultation_over_without_a_call_promises_the_client_no_call(
    clinic_a, phone_service, provider, status
):
    consultation = make_consultation(clinic_a, phone_service, expert=provider)
    Consultation.objects.filter(pk=consultation.pk).update(status=status)
    consultation.refresh_from_db()
    html = client_part(consultation)
    assert "will call you" not in html and "No phone call was made for this consultation." in html


def test_the_bridge_hears_of_consultations_through_its_settings(settings, ready):
    from django.utils.module_loading import import_string

    assert import_string(settings.VOICE_SUBJECTS["consultation"]) is calls.call_changed
    routes = [import_string(path) for path in settings.VOICE_INBOUND]
    assert calls.return_route in routes
