"""The dashboard's visit cards (visits/cards.py): what they show, that everything typed by a patient
or staff member is escaped, that their URLs are the URLconf's, and that the card pushed to every
dashboard is the one the page renders."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import ClinicFactory, staff
from tests.visits.conftest import in_call, ready
from visits import cards, services
from visits.lifecycle import OPEN_STATUSES, Actor, Event, Status
from visits.models import IntakeField, Visit
from waitingroom.models import Role
from waitingroom.outbox.models import SmsMessage
from waitingroom.realtime import groups

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)


def tags_of(html: str) -> set[str]:
    parser = Tags()
    parser.feed(html)
    return set(parser.tags)


def card_on_page(page: str, visit_id: int) -> str:
    match = re.search(rf'<article [^>]*id="visit-{visit_id}".*?</article>', page, re.S)
    assert match, f"no card for visit {visit_id}"
    return match.group(0)


def test_everything_typed_by_patients_and_staff_is_escaped(clinic_a):
    IntakeField.objects.create(clinic=clinic_a, label=f"Reason {HOSTILE}", key="reason", show_on_card=True)
    user = staff(username="eve", clinic=clinic_a, first_name=HOSTILE, last_name="Doe")
    visit = in_call(clinic_a, user, name=HOSTILE)
    Visit.objects.filter(pk=visit.pk).update(answers={"reason": HOSTILE, "appointment": HOSTILE})
    html = cards.card_html(visit=Visit.objects.select_related("clinic").get(pk=visit.pk))
    assert "<script" not in html and "<img" not in html
    assert tags_of(html) <= {
        "article",
        "header",
        "strong",
        "span",
        "time",
        "p",
        "dl",
        "dt",
        "dd",
        "footer",
        "form",
        "button",
        "a",  # Return to call (shown only to the staff in the call; test_browser_return_to_call.py)
    }
    assert f'href="?room={visit.id}"' in html
    # Jinja2 (markupsafe) writes a double quote as &#34;.
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    # The name, the appointment, the shown answer, its label and the staff member's name.
    assert html.count(escaped) == 5


def test_card_urls_are_the_urlconfs(provider):
    # A slug ending in digits, as the URL prefix is cut from a reversed chat URL of visit 1.
    clinic = ClinicFactory(name="Clinic 11", slug="clinic-11")
    user = staff(username="pia", clinic=clinic, role=Role.PROVIDER)
    visits = [ready(clinic, "Wes"), in_call(clinic, user, "Cal")]
    for visit in visits:
        html = cards.card_html(visit=Visit.objects.select_related("clinic").get(pk=visit.pk))
        forms = re.findall(r'<form method="post" action="([^"]+)" data-action="([^"]+)">', html)
        assert forms, html
        for url, event in forms:
            assert url == reverse("visit_action", args=[clinic.slug, visit.id, event])
        chat = re.findall(r'data-chat-open="([^"]+)"', html)
        assert chat == [reverse("visit_chat", args=[clinic.slug, visit.id])]


def test_card_shows_the_status_buttons_and_every_badge(clinic_a, provider):
    visit = in_call(clinic_a, provider, name="Bea")
    sms = SmsMessage.objects.create(
        clinic=clinic_a, reference="r1", to="+15550001111", body="b", status="failed"
    )
    Visit.objects.filter(pk=visit.pk).update(
        connection_lost=True,
        recall_no_response=True,
        verified_phone="+15550001111",
        call_failed_at=timezone.now(),
        unread_by_staff=3,
        last_recall_sms=sms,
    )
    html = cards.card_html(visit=Visit.objects.select_related("clinic").get(pk=visit.pk))
    for hook in (
        "data-connection-lost",
        "data-no-response",
        "data-sms-failed",
        "Mobile number verified",
        "data-call-failed",
    ):
        assert hook in html
    assert "3 unread" in html and ">In call<" in html and "In call: Paula Provider" in html
    assert [label for label in re.findall(r"<button class=\"[^\"]*\">([^<]+)</button>", html)] == [
        "Join call",
        "Leave call",
        "Send back to waiting room",
        "End visit",
    ]
    assert 'data-phase="in_progress"' in html


def test_a_card_without_flags_shows_no_badge(clinic_a):
    html = cards.card_html(visit=Visit.objects.select_related("clinic").get(pk=ready(clinic_a).pk))
    assert html.count('class="badge') == 1  # the status badge alone
    assert 'data-status="waiting"' in html and ">Waiting<" in html


def test_a_closed_visit_has_no_card(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    services.visit_end(visit_id=visit.id, user=provider)
    assert cards.card_html(visit=Visit.objects.select_related("clinic").get(pk=visit.pk)) == ""


def test_the_pushed_card_is_the_card_on_the_page(provider_client, clinic_a, provider, published):
    IntakeField.objects.create(clinic=clinic_a, label="State", key="state", show_on_card=True)
    visit = ready(clinic_a, "Quinn")
    Visit.objects.filter(pk=visit.pk).update(answers={"state": "Ohio"})
    published.clear()
    with published.commit():
        services.visit_call(visit_id=visit.id, user=provider)
    (pushed,) = [p for p in published.to(groups.clinic_staff_group(clinic_a.id)) if p["type"] == "visit"]
    page = provider_client.get(f"/dashboard/{clinic_a.slug}/").content.decode()
    assert pushed["html"] == card_on_page(page, visit.id)
    assert "Ohio" in pushed["html"] and "In call: Paula Provider" in pushed["html"]


def test_sections_hold_every_open_visit_once_in_arrival_order(clinic_a, provider):
    first, second = ready(clinic_a, "First"), ready(clinic_a, "Second")
    talking = in_call(clinic_a, provider, "Talking")
    sections = {s.phase.value: s for s in cards.dashboard_sections(clinic=clinic_a)}
    assert list(sections) == ["getting_ready", "ready", "in_progress", "recents"]
    ready_ids = [int(i) for i in re.findall(r'data-visit="(\d+)"', str(sections["ready"].html))]
    assert ready_ids == [first.id, second.id]
    assert re.findall(r'data-visit="(\d+)"', str(sections["in_progress"].html)) == [str(talking.id)]
    total = sum(len(s.cards) for s in sections.values())
    assert total == Visit.objects.filter(clinic=clinic_a, status__in=list(OPEN_STATUSES)).count()


def test_a_card_in_a_call_names_the_staff_in_it_by_user_id(clinic_a, provider, csr):
    visit = in_call(clinic_a, provider)
    services.visit_call(visit_id=visit.id, user=csr)
    html = cards.card_html(visit=Visit.objects.select_related("clinic").get(pk=visit.pk))
    # Every dashboard gets this same card: dashboard.js hides Join call from the ids listed.
    assert f'data-call-staff="{provider.pk} {csr.pk}"' in html
    assert 'data-action="call"' in html  # the rule is the page's, not the card's
    assert "data-call-staff" not in cards.card_html(
        visit=Visit.objects.select_related("clinic").get(pk=ready(clinic_a).pk)
    )


def test_a_recents_card_says_who_it_was_with_not_in_call(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    services.apply_event(
        services.locked_visit(visit.id), Event.CONNECTION_LOST, Actor.SYSTEM, now=timezone.now()
    )
    visit = Visit.objects.select_related("clinic").get(pk=visit.pk)
    assert visit.status == Status.DISCONNECTED
    html = cards.card_html(visit=visit)
    assert 'data-phase="recents"' in html
    assert "In call" not in html and "data-in-call" not in html and "data-call-staff" not in html
    assert "Was with Paula Provider" in html


def test_a_recall_sms_not_confirmed_as_sent_shows_on_the_card(clinic_a):
    visit = ready(clinic_a)
    sms = SmsMessage.objects.create(
        clinic=clinic_a, reference="r1", to="+15550001111", body="b", status=SmsMessage.STUCK
    )
    Visit.objects.filter(pk=visit.pk).update(last_recall_sms=sms)
    html = cards.card_html(visit=Visit.objects.select_related("clinic").get(pk=visit.pk))
    assert "data-sms-stuck" in html and "SMS not confirmed" in html and "data-sms-failed" not in html


# --- The call guest on the card ---------------------------------------------------------------------


def guest_asking(visit, user, *, name="Alex", relation="interpreter"):
    """A call guest invited by `user` who opened the link and pressed Ask to join."""
    from visits import call_guests

    guest, _token = call_guests.guest_invite(
        visit_id=visit.id, user=user, name=name, relation=relation, contact="alex@example.com"
    )
    call_guests.guest_ask(guest_id=guest.id)
    return guest


def test_the_card_lists_the_call_guest_asking_to_join_then_in_the_call(provider_client, clinic_a, provider):
    from visits import call_guests

    visit = in_call(clinic_a, provider)
    board = f"/dashboard/{clinic_a.slug}/board/"
    guest, _token = call_guests.guest_invite(
        visit_id=visit.id, user=provider, name="Alex", relation="interpreter", contact="alex@example.com"
    )
    # An invitation not yet used is the call panel's business, not the card's.
    assert "data-card-guest" not in card_on_page(provider_client.get(board).content.decode(), visit.id)
    call_guests.guest_ask(guest_id=guest.id)
    card = card_on_page(provider_client.get(board).content.decode(), visit.id)
    assert '<p class="call-guest-line" data-card-guest>Alex (interpreter) asking to join</p>' in card
    call_guests.guest_admit(visit_id=visit.id, guest_id=guest.id, user=provider)
    card = card_on_page(provider_client.get(board).content.decode(), visit.id)
    assert '<p class="call-guest-line" data-card-guest>Alex (interpreter) in the call</p>' in card
    call_guests.guest_remove(visit_id=visit.id, guest_id=guest.id, user=provider)
    assert "data-card-guest" not in card_on_page(provider_client.get(board).content.decode(), visit.id)


def test_a_recents_card_says_the_admitted_guest_is_still_in_the_call_waiting_for_the_patient(
    provider_client, clinic_a, provider, published
):
    """The patient dropped: the visit is in Recents, nobody on staff is in the call any more, but the
    admitted guest still is (their part ends only with the call: test_call_guest_socket.py shows
    their socket staying). The card must not say the guest is simply "in the call"."""
    from visits import call_guests, presence

    visit = in_call(clinic_a, provider)
    guest = guest_asking(visit, provider)
    call_guests.guest_admit(visit_id=visit.id, guest_id=guest.id, user=provider)
    board = f"/dashboard/{clinic_a.slug}/board/"
    published.clear()
    with published.commit():
        services.apply_event(
            services.locked_visit(visit.id), Event.CONNECTION_LOST, Actor.SYSTEM, now=timezone.now()
        )
    waiting = (
        '<p class="call-guest-line" data-card-guest>'
        "Alex (interpreter) still in the call, waiting for the patient</p>"
    )
    card = card_on_page(provider_client.get(board).content.decode(), visit.id)
    assert 'data-phase="recents"' in card and waiting in card
    # The card pushed to the dashboards with the drop says the same.
    [dropped] = [p for p in published.to(groups.clinic_staff_group(clinic_a.id)) if p["type"] == "visit"]
    assert dropped["phase"] == "recents" and waiting in dropped["html"]
    # The patient comes back (nobody pressed Call back): in the call with the guest again.
    presence.visit_socket_opened(visit_id=visit.id)
    card = card_on_page(provider_client.get(board).content.decode(), visit.id)
    assert '<p class="call-guest-line" data-card-guest>Alex (interpreter) in the call</p>' in card
    assert Visit.objects.get(pk=visit.pk).status == Status.AVAILABLE


def test_the_call_guests_name_on_the_card_is_escaped(clinic_a, provider):
    visit = in_call(clinic_a, provider)
    guest_asking(visit, provider, name=HOSTILE[:80], relation="family")
    html = cards.card_html(visit=Visit.objects.select_related("clinic").get(pk=visit.pk))
    assert "&lt;script&gt;" in html and "family member) asking to join" in html
    assert not {"script", "img"} & tags_of(html)


def test_the_card_with_its_call_guest_is_pushed_to_this_clinics_dashboards_only(
    clinic_a, clinic_b, provider, published
):
    from visits import call_guests

    visit = in_call(clinic_a, provider)
    guest, _token = call_guests.guest_invite(
        visit_id=visit.id, user=provider, name="Alex", relation="interpreter", contact="alex@example.com"
    )
    dashboards = groups.clinic_staff_group(clinic_a.id)
    published.clear()
    with published.commit():
        call_guests.guest_ask(guest_id=guest.id)
    [asked] = [p for p in published.to(dashboards) if p["type"] == "visit"]
    assert asked["visit_id"] == visit.id and "Alex (interpreter) asking to join" in asked["html"]
    # The patient's screen shows nothing of a request to join: it is sent nothing.
    assert published.to(groups.visit_group(visit.id)) == []
    with published.commit():
        call_guests.guest_admit(visit_id=visit.id, guest_id=guest.id, user=provider)
    [admitted] = [p for p in published.to(dashboards) if p["type"] == "visit"][1:]
    assert "Alex (interpreter) in the call" in admitted["html"]
    with published.commit():
        call_guests.guest_remove(visit_id=visit.id, guest_id=guest.id, user=provider)
    [gone] = [p for p in published.to(dashboards) if p["type"] == "visit"][2:]
    assert "data-card-guest" not in gone["html"]
    assert published.to(groups.clinic_staff_group(clinic_b.id)) == []


def test_staff_of_another_clinic_see_nothing_of_the_call_guest(clinic_a, clinic_b, provider, outsider_client):
    visit = in_call(clinic_a, provider)
    guest_asking(visit, provider)
    assert outsider_client.get(f"/dashboard/{clinic_a.slug}/board/").status_code == 404
    own = outsider_client.get(f"/dashboard/{clinic_b.slug}/board/")
    assert own.status_code == 200 and "Alex" not in own.content.decode()
