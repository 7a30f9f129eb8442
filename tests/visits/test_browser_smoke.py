"""Real Chromium against daphne: a provider signs in and the dashboard's socket is live."""

import pytest

from tests.support.live import login

pytestmark = pytest.mark.browser


def test_provider_logs_in_and_dashboard_socket_is_open(new_page, provider, clinic_a):
    page = new_page()
    login(page, username="paula", password="pw-for-tests-1")
    page.wait_for_url(f"**/dashboard/{clinic_a.slug}/")
    page.wait_for_selector("body[data-socket='open']", timeout=5000)
    assert page.text_content("[data-socket-label]") == "Live"


def test_outsider_dashboard_socket_is_refused_in_the_browser(new_page, outsider, clinic_a, clinic_b):
    page = new_page()
    login(page, username="otto", password="pw-for-tests-1")
    page.wait_for_url(f"**/dashboard/{clinic_b.slug}/")
    page.wait_for_selector("body[data-socket='open']")
    # Clinic A's page is a 404, and a hand-made socket to it never opens.
    assert page.goto(f"/dashboard/{clinic_a.slug}/").status == 404
    state = page.evaluate(
        """(slug) => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws/staff/${slug}/`);
            ws.onopen = () => resolve('open');
            ws.onclose = () => resolve('closed');
        })""",
        clinic_a.slug,
    )
    assert state == "closed"
