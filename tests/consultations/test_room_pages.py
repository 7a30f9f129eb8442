"""The room's pages and the dashboard's Upcoming Appointments as people use them: the control bar
offers what the lifecycle and the viewer's role allow, actions from a stale page are refused with
a clear error, the client's room follows the consultation (expert, note, cancellation, Locked),
history holds only this client's consultations with this clinic, and bad text changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from consultations import selectors, services
from consultations.lifecycle import Status
from consultations.models import BookingQuestion, ConsultationMessage
from tests.conftest import client_for
from tests.consultations.conftest import make_consultation
from tests.factories import staff
from tests.scheduling.conftest import scheduler  # noqa: F401 - the fixture, shared
from waitingroom.models import Role

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def act(browser, consultation, action, **data):
    return browser.post(reverse("consultation_action", args=[consultation.pk, action]), data, **JSON)


def client_page(consultation) -> str:
    return (
        Client().get(reverse("consultation_client_room", args=[consultation.client_token])).content.decode()
    )


def test_the_control_bar_offers_an_expert_claim_and_a_csr_nothing(available, provider_client, csr_client):
    page = provider_client.get(f"/consultations/{available.pk}/").content.decode()
    assert (
        'data-action="claim"' in page
        and 'data-action="complete"' not in page
        and 'data-action="release"' not in page
    )
    assert "Available" in page and "Open" in page
    csr_page = csr_client.get(f"/consultations/{available.pk}/").content.decode()
    assert (
        'data-action="claim"' not in csr_page
        and 'data-action="cancel"' not in csr_page
        and 'data-action="lock"' not in csr_page
    )
    assert "data-message-form" in csr_page


def test_the_holder_sees_release_complete_cancel_and_lock(claimed, provider_client):
    page = provider_client.get(f"/consultations/{claimed.pk}/").content.decode()
    for control in (
        'data-action="release"',
        'data-action="complete"',
        'data-action="cancel"',
        'data-action="lock"',
        "Add Consultation Note",
    ):
        assert control in page, control
    assert 'data-action="claim"' not in page and "Claimed" in page and "Paula Provider" in page


def test_the_client_phone_number_is_masked_to_its_last_digits(claimed, provider_client):
    page = provider_client.get(f"/consultations/{claimed.pk}/").content.decode()
    assert "•••• 143" in page and "+12025550143" not in page and "casey@example.com" in page


def test_claim_then_a_stale_page_is_refused_with_a_clear_error(available, provider_client, clinic_a):
    colleague = staff(username="pete", clinic=clinic_a, role=Role.PROVIDER, first_name="Pete", last_name="P")
    assert act(provider_client, available, "claim", version=0).json()["ok"] is True
    # Pete's page still shows it Available.
    refused = act(client_for(colleague), available, "claim", version=0)
    assert (
        refused.status_code == 409
        and refused.json()["error"] == "Paula Provider claimed this consultation first."
    )
    # Paula's own page from before her claim: stale.
    stale = act(provider_client, available, "complete", version=0)
    assert stale.status_code == 409 and "changed meanwhile" in stale.json()["error"]
    missing = act(provider_client, available, "complete")
    assert missing.status_code == 409
    available.refresh_from_db()
    assert available.status == Status.CLAIMED


def test_cancel_from_the_room_needs_a_reason_and_the_client_room_says_so(claimed, provider_client):
    assert act(provider_client, claimed, "cancel", version=0, reason="").status_code == 409
    assert act(provider_client, claimed, "cancel", version=0, reason="Bad\x00reason").status_code == 409
    claimed.refresh_from_db()
    assert claimed.status == Status.CLAIMED
    assert act(provider_client, claimed, "cancel", version=0, reason="Paula is ill.").json()["ok"] is True
    page = client_page(claimed)
    assert "This consultation was cancelled." in page and "Paula is ill." in page
    assert "data-book-again" in page and "data-message-form" not in page


def test_the_locked_room_refuses_the_clients_post_and_says_it_is_closed(claimed, provider, provider_client):
    post_url = reverse("consultation_client_message", args=[claimed.client_token])
    assert Client().post(post_url, {"body": "Before lock"}, **JSON).json()["ok"] is True
    assert act(provider_client, claimed, "complete", version=0).json()["ok"] is True
    assert Client().post(post_url, {"body": "After completion, still open"}, **JSON).status_code == 200
    assert act(provider_client, claimed, "lock", version=1).json()["ok"] is True
    refused = Client().post(post_url, {"body": "After the lock"}, **JSON)
    assert (
        refused.status_code == 403 and refused.json()["error"] == "This consultation is closed for messages."
    )
    page = client_page(claimed)
    assert "This consultation is closed for messages." in page and "data-message-form" not in page
    assert "This consultation is completed." in page
    assert list(ConsultationMessage.objects.values_list("body", flat=True)) == [
        "Before lock",
        "After completion, still open",
    ]
    assert act(provider_client, claimed, "unlock", version=2).json()["ok"] is True
    assert "data-message-form" in client_page(claimed)


def test_a_clients_message_posted_without_the_script_returns_to_the_room_not_raw_json(
    claimed, provider_client
):
    browser = Client()
    post_url = reverse("consultation_client_message", args=[claimed.client_token])
    room = reverse("consultation_client_room", args=[claimed.client_token])

    sent = browser.post(post_url, {"body": "Sent from a plain form"}, follow=True)
    assert sent.redirect_chain == [(room, 302)] and sent["Content-Type"].startswith("text/html")
    assert "Message sent." in sent.content.decode() and "Sent from a plain form" in sent.content.decode()

    refused = browser.post(post_url, {"body": "NUL\x00"}, follow=True)
    assert (
        refused.redirect_chain == [(room, 302)]
        and "Control characters are not allowed" in refused.content.decode()
    )
    assert act(provider_client, claimed, "lock", version=0).json()["ok"] is True
    closed = browser.post(post_url, {"body": "After the lock"}, follow=True)
    assert "This consultation is closed for messages." in closed.content.decode()
    assert list(claimed.messages.values_list("body", flat=True)) == ["Sent from a plain form"]

    gone = browser.post(reverse("consultation_client_message", args=["1-nonsense"]), {"body": "hi"})
    assert gone.status_code == 404 and b"This link is no longer valid" in gone.content


def test_control_characters_in_messages_and_notes_are_refused(claimed, provider_client):
    post_url = reverse("consultation_client_message", args=[claimed.client_token])
    assert Client().post(post_url, {"body": "NUL\x00here"}, **JSON).status_code == 400
    assert Client().post(post_url, {"body": "bell\x07"}, **JSON).status_code == 400
    staff_post = reverse("consultation_message", args=[claimed.pk])
    assert provider_client.post(staff_post, {"body": "esc\x1b[31m"}, **JSON).status_code == 400
    note = reverse("consultation_note", args=[claimed.pk])
    assert provider_client.post(note, {"body": "a\x00b", "note_version": 0}, **JSON).status_code == 409
    assert not claimed.messages.exists() and not claimed.notes.exists()
    # Line breaks and tabs are text, not controls.
    assert Client().post(post_url, {"body": "Line one\r\n\tLine two"}, **JSON).json()["ok"] is True


def test_the_client_room_shows_the_expert_once_claimed_and_the_note_once_saved(
    available, provider, provider_client
):
    page = client_page(available)
    assert "data-no-expert" in page and "Paula" not in page and "hasn't written a note" in page
    assert act(provider_client, available, "claim", version=0).json()["ok"] is True
    note_url = reverse("consultation_note", args=[available.pk])
    saved = provider_client.post(note_url, {"body": "Rest for a week.", "note_version": 0}, **JSON)
    assert saved.json()["ok"] is True
    provider_client.post(note_url, {"body": "Rest for ten days.", "note_version": 1}, **JSON)
    page = client_page(available)
    assert "Paula Provider" in page and "Rest for ten days." in page and "Rest for a week." not in page
    # Staff see every version.
    staff_page = provider_client.get(f"/consultations/{available.pk}/").content.decode()
    assert "Rest for a week." in staff_page and "Earlier versions (1)" in staff_page


def test_a_note_saved_without_the_version_its_page_showed_is_refused(claimed, provider, provider_client):
    services.note_save(consultation_id=claimed.pk, by=provider, body="First version", expected_note_version=0)
    note_url = reverse("consultation_note", args=[claimed.pk])

    for data in ({"body": "Blind overwrite"}, {"body": "Blind overwrite", "note_version": ""}):
        refused = provider_client.post(note_url, data, **JSON)
        assert refused.status_code == 409 and "changed meanwhile" in refused.json()["error"]
    assert list(claimed.notes.values_list("body", flat=True)) == ["First version"]


def test_history_holds_only_this_clients_earlier_consultations_with_this_clinic(
    clinic_a, clinic_b, phone_service, provider, provider_client
):
    current = make_consultation(clinic_a, phone_service, expert=provider)
    earlier = make_consultation(
        clinic_a,
        phone_service,
        expert=provider,
        status=Status.COMPLETED,
        starts_at=current.starts_at - timedelta(days=30),
    )
    services.note_save(
        consultation_id=earlier.pk, by=provider, body="Old limp, healed", expected_note_version=0
    )
    oldest = make_consultation(
        clinic_a, phone_service, status=Status.CANCELLED, starts_at=current.starts_at - timedelta(days=60)
    )
    make_consultation(
        clinic_a,
        phone_service,
        email="dana@example.com",
        name="Dana Other",
        starts_at=current.starts_at - timedelta(days=3),
    )
    other_service = phone_service.__class__.objects.create(
        clinic=clinic_b, name="Clinic B call", kind="phone", duration_minutes=20
    )
    make_consultation(clinic_b, other_service, starts_at=current.starts_at - timedelta(days=5))

    page = provider_client.get(f"/consultations/{current.pk}/").content.decode()
    rows = [f'data-history-row="{c.pk}"' for c in (earlier, oldest)]
    assert all(row in page for row in rows) and page.index(rows[0]) < page.index(rows[1])  # newest first
    assert page.count("data-history-row=") == 2 and "Dana Other" not in page and "Clinic B call" not in page
    assert "Old limp, healed" in page
    client = client_page(current)
    assert client.count("data-history-row=") == 2 and "Old limp, healed" in client


def test_the_dashboard_lists_upcoming_appointments_with_claim_view_and_unread_counts(
    clinic_a, phone_service, provider, provider_client, csr_client, django_assert_num_queries
):
    mine = make_consultation(clinic_a, phone_service, expert=provider, name="Mine Soon")
    later = make_consultation(
        clinic_a,
        phone_service,
        expert=provider,
        name="Mine Later",
        starts_at=mine.starts_at + timedelta(hours=2),
    )
    free = make_consultation(clinic_a, phone_service, name="Free One", email="free@example.com")
    colleague = staff(username="pete", clinic=clinic_a, role=Role.PROVIDER)
    make_consultation(clinic_a, phone_service, expert=colleague, name="Petes Client", email="p@example.com")
    services.message_post(consultation_id=mine.pk, body="Hello")
    services.message_post(consultation_id=mine.pk, body="Are you there?")

    page = provider_client.get(f"/dashboard/{clinic_a.slug}/").content.decode()
    assert 'data-panel="consultations"' in page and "Upcoming Appointments" in page
    panel = provider_client.get(f"/dashboard/{clinic_a.slug}/consultations/").content.decode()
    assert panel.index("Mine Soon") < panel.index("Mine Later") < panel.index("Free One")
    assert "Petes Client" not in panel and 'data-unread="2"' in panel and ">2 new<" in panel
    assert f"/consultations/{free.pk}/do/claim/" in panel and f"/consultations/{later.pk}/" in panel
    # A CSR sees every claimed one (with its expert) and claims nothing.
    desk = csr_client.get(f"/dashboard/{clinic_a.slug}/consultations/").content.decode()
    assert "Petes Client" in desk and 'data-action="claim"' not in desk

    # Claim from the panel; the claimed one moves to the expert's list.
    assert act(provider_client, free, "claim", version=0).json()["ok"] is True
    panel = provider_client.get(f"/dashboard/{clinic_a.slug}/consultations/").content.decode()
    assert "data-no-available" in panel and "Free One" in panel

    # Opening the room reads the messages: the count is gone.
    provider_client.get(f"/consultations/{mine.pk}/")
    assert (
        "data-unread"
        not in provider_client.get(f"/dashboard/{clinic_a.slug}/consultations/").content.decode()
    )

    # The panel's reads do not grow with its rows: two queries for 3 rows or 13.
    for n in range(10):
        make_consultation(clinic_a, phone_service, email=f"c{n}@example.com")
    with django_assert_num_queries(2):
        data = selectors.upcoming(clinic=clinic_a, user=provider, role=Role.PROVIDER)
        assert len(data.claimed) == 3 and len(data.available) == 10
        assert {c.service.name for c in data.available} == {"Phone consultation"}
        assert {c.expert.username for c in data.claimed} == {"paula"}


def test_schedulers_get_no_upcoming_panel(clinic_a, scheduler, available):  # noqa: F811
    browser = client_for(scheduler)
    assert browser.get(f"/dashboard/{clinic_a.slug}/consultations/").status_code == 404
    assert 'data-panel="consultations"' not in browser.get(f"/dashboard/{clinic_a.slug}/").content.decode()


def test_booking_answers_read_in_the_order_the_form_asked_them(claimed, clinic_a, provider_client):
    # Stored in a jsonb column, which keeps keys sorted by length: "problem" and "species" came
    # before "pet_name" whatever order they were given in.
    for position, (key, label) in enumerate(
        [("pet_name", "Pet's name"), ("species", "Species"), ("problem", "What is the problem?")]
    ):
        BookingQuestion.objects.create(clinic=clinic_a, key=key, label=label, position=position)
    BookingQuestion.objects.filter(key="species").delete()  # asked at booking, removed since
    claimed.refresh_from_db()

    assert selectors.answers(claimed) == [
        ("Pet's name", "Rex"),
        ("What is the problem?", "Limping since Sunday"),
        ("Species", "Dog"),
    ]
    html = provider_client.get(f"/consultations/{claimed.pk}/").content.decode()
    assert (
        html.index("<dd>Rex</dd>") < html.index("<dd>Limping since Sunday</dd>") < html.index("<dd>Dog</dd>")
    )


def test_the_client_sees_which_number_will_call_them_and_from_where(claimed, clinic_a):
    from consultations.models import ConsultationProfile

    ConsultationProfile.objects.create(clinic=clinic_a, voice_number="+15555550100")

    client_page = (
        Client().get(reverse("consultation_client_room", args=[claimed.client_token])).content.decode()
    )
    assert "ending 143" in client_page and "+15555550100" in client_page


def test_a_client_posting_in_a_loop_is_stopped_and_nothing_more_is_stored(claimed, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "consultation-client-post": (3, 600)}
    browser = Client()
    url = reverse("consultation_client_message", args=[claimed.client_token])
    answers = [
        browser.post(url, {"body": f"message {n}"}, HTTP_ACCEPT="application/json").status_code
        for n in range(4)
    ]
    assert answers == [200, 200, 200, 429]
    assert ConsultationMessage.objects.filter(consultation=claimed).count() == 3
    # Files count against the same limit: the next upload is refused before its body is read.
    upload = browser.post(reverse("consult_room_files", args=[claimed.client_token]), {})
    assert upload.status_code == 429 and "Too many" in upload.json()["error"]
