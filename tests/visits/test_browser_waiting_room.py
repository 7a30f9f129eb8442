"""The waiting room in real Chromium with fake camera and microphone: a patient arrives through the
clinic link and a provider watches, calls, loses and regains them, and ends the visit."""

import pytest

from tests.support.live import LIVE_MS, check_in, login, open_dashboard
from visits.models import Visit

pytestmark = pytest.mark.browser

# Records every phase each card was seen in, so a phase that lasts only an instant is still seen.
RECORD_PHASES = """() => {
  window.seen = {};
  const note = (el) => { if (el.dataset && el.dataset.visit) (window.seen[el.dataset.visit] ||= []).push(el.dataset.phase + ':' + el.dataset.status); };
  new MutationObserver((muts) => muts.forEach((m) => m.addedNodes.forEach((n) => {
    if (n.nodeType !== 1) return; note(n); n.querySelectorAll && n.querySelectorAll('[data-visit]').forEach(note);
  }))).observe(document.body, {childList: true, subtree: true});
}"""


def test_patient_journey_seen_live_by_the_provider(new_page, sweeper, provider, clinic_a):
    clinic_a.reconnect_grace_seconds = 1
    clinic_a.save(update_fields=["reconnect_grace_seconds"])

    dashboard = new_page()
    open_dashboard(dashboard)
    dashboard.evaluate(RECORD_PHASES)
    dashboard.on("dialog", lambda dialog: dialog.accept())

    patient = new_page()
    check_in(patient, clinic_a, "Ann Patient")
    patient.wait_for_url("**/v/*/")
    link = patient.url
    visit = Visit.objects.get(patient_name="Ann Patient")
    card = f"[data-visit='{visit.id}']"

    # Getting Ready (connecting) and then Ready (waiting), without a reload.
    dashboard.wait_for_selector(f"[data-phase='ready'] {card}[data-status='waiting']", timeout=LIVE_MS)
    assert dashboard.evaluate(f"window.seen['{visit.id}']")[0] == "getting_ready:connecting"
    patient.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    assert patient.text_content("[data-position]") == "1"
    assert dashboard.title().startswith("(1 waiting)")

    # Call: In Progress / in_call on both screens (the patient's call screen covers the status).
    dashboard.click(f"{card} form[data-action='call'] button")
    dashboard.wait_for_selector(f"[data-phase='in_progress'] {card}[data-status='in_call']", timeout=LIVE_MS)
    patient.wait_for_selector("[data-patient-status='in_call']", state="attached", timeout=LIVE_MS)
    assert "Paula Provider" in patient.text_content("[data-status-panel]")

    # Closing the patient's page: Recents after the grace.
    patient_browser = patient.context  # the same browser (cookies, session) reopens the link later
    patient.close()
    # Recents is collapsed by default: the card is there, not visible.
    dashboard.wait_for_selector(
        f"[data-phase='recents'] {card}[data-status='disconnected']", state="attached", timeout=5000
    )

    # The provider's call panel closed at the drop: reopening the link now waits for them (In
    # Progress, available) instead of an empty call screen.
    dashboard.wait_for_selector("[data-staff-call]", state="detached")
    patient = patient_browser.new_page()
    patient.goto(link)
    dashboard.wait_for_selector(f"[data-phase='in_progress'] {card}[data-status='available']", timeout=3000)
    patient.wait_for_selector("[data-patient-status='available']", timeout=LIVE_MS)

    # Dropped again; Call back (Recents) waits in the call: reopening the link goes straight into it.
    patient.close()
    dashboard.wait_for_selector(
        f"[data-phase='recents'] {card}[data-status='disconnected']", state="attached", timeout=5000
    )
    dashboard.evaluate("document.querySelector(\"details[data-phase='recents']\").open = true")
    dashboard.click(f"{card} form[data-action='call_back'] button")
    dashboard.wait_for_selector("[data-staff-call] [data-call]:not([hidden])", timeout=LIVE_MS)
    patient = patient_browser.new_page()
    patient.goto(link)
    dashboard.wait_for_selector(f"[data-phase='in_progress'] {card}[data-status='in_call']", timeout=3000)
    patient.wait_for_selector("[data-patient-status='in_call']", state="attached", timeout=LIVE_MS)
    assert dashboard.is_visible("[data-staff-call]")

    # End visit: the card disappears at once and the patient sees that the visit ended.
    dashboard.click(f"{card} form[data-action='end'] button")
    dashboard.wait_for_selector(card, state="detached", timeout=LIVE_MS)
    patient.wait_for_selector("[data-patient-status='completed']", timeout=LIVE_MS)
    assert "Your visit has ended" in patient.text_content("[data-status-panel]")


def test_the_wait_screen_sends_activity_only_in_a_call(new_page, provider, clinic_a) -> None:
    from visits import services

    patient = new_page()
    sent: list[str] = []
    patient.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(str(frame))))
    check_in(patient, clinic_a, "Wes Waiting")
    patient.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)

    # Waiting: moving about the page sends nothing (the server has no use for it).
    for x in range(5):
        patient.mouse.move(50 + 40 * x, 200)
        patient.keyboard.press("Shift")
    patient.wait_for_timeout(300)
    assert not [frame for frame in sent if '"activity"' in frame]

    # In a call: the same movement is reported (it keeps the patient from showing as away).
    services.visit_call(visit_id=Visit.objects.get(patient_name="Wes Waiting").id, user=provider)
    patient.wait_for_selector("[data-patient-status='in_call']", state="attached", timeout=LIVE_MS)
    patient.mouse.move(300, 300)
    patient.mouse.move(320, 310)
    patient.wait_for_timeout(300)
    assert [frame for frame in sent if '"activity"' in frame]


def test_a_push_beats_an_older_refetch_answer(new_page, provider, clinic_a):
    """The page re-fetches its state when it (re)connects or shows again; a push that arrives
    while that answer is on its way is newer, and the older answer must not put back the old
    status (it did: a patient back from a recall link stayed "recalled")."""
    from visits import services

    patient = new_page()
    check_in(patient, clinic_a, "Rita Race")
    patient.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    visit = Visit.objects.get(patient_name="Rita Race")

    def answer_late(route):
        stale = route.fetch()  # read while the visit is still waiting
        services.visit_call(visit_id=visit.id, user=provider)  # the push: in a call
        patient.wait_for_timeout(500)  # the push reaches the page first
        route.fulfill(response=stale)

    patient.route("**/state/", answer_late)
    patient.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # shown again: re-fetch
    patient.wait_for_selector("[data-patient-status='in_call']", state="attached", timeout=LIVE_MS)
    patient.wait_for_timeout(800)  # the late answer has come and gone
    assert patient.get_attribute("body", "data-status") == "in_call"


def test_a_push_beats_an_older_board_after_the_dashboard_reconnects(new_page, provider, clinic_a):
    from tests.visits.conftest import ready
    from visits import services

    visit = ready(clinic_a, "Bo Board")
    card = f"[data-visit='{visit.id}']"
    dashboard = new_page()
    login(dashboard, username="paula", password="pw-for-tests-1")
    dashboard.wait_for_selector(f"[data-phase='ready'] {card}", timeout=LIVE_MS)

    def answer_late(route):
        stale = route.fetch()  # the board while the patient still waits
        services.visit_call(visit_id=visit.id, user=provider)
        dashboard.wait_for_timeout(500)
        route.fulfill(response=stale)

    # The page's module script runs after the board is parsed: wait until its socket is live (and
    # its first re-fetch answered) before the next re-fetch is made late.
    dashboard.wait_for_selector("body[data-socket='open']", timeout=LIVE_MS)
    dashboard.wait_for_load_state("networkidle")
    dashboard.route("**/board/", answer_late)
    dashboard.evaluate("window.dashboardSocket.drop()")  # reconnects, then re-fetches the board
    dashboard.wait_for_selector(f"[data-phase='in_progress'] {card}[data-status='in_call']", timeout=LIVE_MS)
    dashboard.wait_for_timeout(800)
    assert dashboard.query_selector(f"[data-phase='in_progress'] {card}[data-status='in_call']")
    assert dashboard.query_selector(f"[data-phase='ready'] {card}") is None
