"""Offline queueing in Chromium: verify a number, leave, get recalled by SMS, come back, be called."""

import re

import pytest
from django.test import Client

from tests.support.live import LIVE_MS, check_in, open_dashboard
from visits.models import Visit
from waitingroom.outbox import sms_backends

pytestmark = pytest.mark.browser
HIDE_PAGE = """() => {
  Object.defineProperty(document, 'hidden', {value: true, configurable: true});
  Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def test_verified_patient_goes_offline_and_is_recalled_by_sms(new_page, provider, clinic_a):
    clinic_a.offline_queueing = True
    clinic_a.save(update_fields=["offline_queueing"])
    dashboard = new_page()
    open_dashboard(dashboard)
    dashboard.on("dialog", lambda dialog: dialog.accept())

    patient = new_page()
    check_in(patient, clinic_a, "Ann Patient")
    patient.wait_for_selector("[data-patient-status='waiting']")
    visit = Visit.objects.get(patient_name="Ann Patient")
    card = f"[data-visit='{visit.id}']"

    patient.fill("input[name=phone]", "(415) 555-0123")
    patient.click("form[data-json-form='phone'] button")
    patient.wait_for_selector("input[name=code]")
    code = re.search(r"\b(\d{6})\b", sms_backends.outbox[-1].body).group(1)
    patient.fill("input[name=code]", code)
    patient.click("form[data-json-form='verify'] button")
    patient.wait_for_selector("[data-verified]")
    assert "use your device freely" in patient.text_content("[data-verified]")

    patient.evaluate(HIDE_PAGE)
    dashboard.wait_for_selector(f"[data-phase='ready'] {card}[data-status='offline']", timeout=LIVE_MS)
    assert dashboard.text_content(f"{card} [data-badge]") == "Offline"
    assert dashboard.query_selector(f"{card} form[data-action='call']") is None  # Call became Recall

    sms_backends.outbox.clear()
    dashboard.click(f"{card} form[data-action='recall'] button")
    dashboard.wait_for_selector(f"{card}[data-status='recalled']", timeout=LIVE_MS)
    [message] = sms_backends.outbox
    assert message.to == "+14155550123"
    link = re.search(r"https://clinic\.example\.test(/r/[\w-]+/)", message.body).group(1)

    phone = new_page()  # the phone that received the SMS
    phone.goto(link)
    phone.wait_for_selector("[data-patient-status='waiting']")
    dashboard.wait_for_selector(f"{card}[data-status='waiting']", timeout=LIVE_MS)

    dashboard.click(f"{card} form[data-action='call'] button")
    dashboard.wait_for_selector(f"[data-phase='in_progress'] {card}[data-status='in_call']", timeout=LIVE_MS)
    phone.wait_for_selector("[data-patient-status='in_call']", state="attached", timeout=LIVE_MS)
    assert Client().get(link).status_code == 410  # the link opens once (the phone has the visit)
