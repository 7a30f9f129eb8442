"""A real video visit: patient and provider in two Chromium contexts with fake camera and
microphone connect over WebRTC, each decodes the other's video, and the call drives the statuses."""

import pytest

from tests.support.live import LIVE_MS, check_in, open_dashboard
from visits.models import Visit, VisitEvent

pytestmark = pytest.mark.browser
CONNECT = 20_000  # ms: ICE over the machine's own address

ICE_CONNECTED = """(name) => { const call = window[name];
  return !!call && Object.values((call.mesh || call).peers).some(p => ['connected', 'completed'].includes(p.pc.iceConnectionState)); }"""
REMOTE_VIDEO_DECODES = """() => { const v = document.querySelector('[data-remote-videos] video');
  return !!v && v.videoWidth > 0 && v.videoHeight > 0; }"""


def test_patient_and_provider_hold_a_video_visit(new_page, sweeper, provider, clinic_a):
    clinic_a.reconnect_grace_seconds = 1
    clinic_a.save(update_fields=["reconnect_grace_seconds"])
    dashboard = new_page()
    open_dashboard(dashboard)

    patient = new_page()
    check_in(patient, clinic_a, "Ann Patient")
    patient.wait_for_selector("[data-patient-status='waiting']")
    # The device check: preview, a moving microphone meter, and the devices to choose from.
    patient.wait_for_function("() => document.querySelector('[data-preview]').videoWidth > 0")
    patient.wait_for_function(
        "() => Number(document.querySelector('[data-device-check]').dataset.micLevel) > 0"
    )
    assert patient.locator("[data-camera] option").count() >= 1
    visit = Visit.objects.get(patient_name="Ann Patient")
    assert visit.media_check == "passed"
    card = f"[data-visit='{visit.id}']"

    dashboard.click(f"{card} form[data-action='call'] button")
    dashboard.wait_for_selector("[data-staff-call] [data-call]:not([hidden])")
    patient.wait_for_selector("[data-call]:not([hidden])", timeout=LIVE_MS)

    patient.wait_for_function(ICE_CONNECTED, arg="patientCall", timeout=CONNECT)
    dashboard.wait_for_function(ICE_CONNECTED, arg="staffCall", timeout=CONNECT)
    patient.wait_for_function(REMOTE_VIDEO_DECODES, timeout=CONNECT)
    dashboard.wait_for_function(REMOTE_VIDEO_DECODES, timeout=CONNECT)
    patient.wait_for_function(
        "() => document.querySelector('[data-quality]').textContent !== '—'", timeout=5000
    )
    assert not VisitEvent.objects.filter(visit=visit, event="call_failed").exists()

    # The provider leaves the call: the visit is available, on the dashboard and for the patient.
    dashboard.click("[data-call-leave]")
    dashboard.wait_for_selector(
        f"[data-phase='in_progress'] {card}[data-status='available']", timeout=LIVE_MS
    )
    dashboard.wait_for_selector("[data-staff-call]", state="detached")
    patient.wait_for_selector("[data-patient-status='available']", timeout=LIVE_MS)
    patient.wait_for_function("() => !document.querySelector('[data-remote-videos] video')", timeout=5000)

    # The patient's page closes: Recents after the grace.
    patient.close()
    dashboard.wait_for_selector(
        f"[data-phase='recents'] {card}[data-status='disconnected']", state="attached", timeout=5000
    )
