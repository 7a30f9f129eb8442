"""Changing camera or microphone during the patient's call: Devices on the call bar opens the
pickers (by keyboard too), over the call without covering its buttons on a 360 x 740 phone; a
choice asks the browser for that device and the call sends the new track on the same connection
(no new offer: the local description stays the same and the call stays connected); Done, Escape
or Devices close it."""

import pytest

from tests.support.live import LIVE_MS, check_in, open_dashboard
from visits.models import Visit

pytestmark = pytest.mark.browser
CONNECT = 20_000

# Every getUserMedia call's constraints, for the test to read.
RECORD_GUM = """(() => {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.gumCalls = [];
  navigator.mediaDevices.getUserMedia = (c) => { window.gumCalls.push(JSON.parse(JSON.stringify(c))); return real(c); };
})()"""
CONNECTED = """() => { const c = window.patientCall;
  return !!c && Object.values(c.peers).some(p => ['connected', 'completed'].includes(p.pc.iceConnectionState)); }"""
SENDING = """(kind) => { const p = Object.values(window.patientCall.peers)[0];
  const s = p.pc.getSenders().find(s => s.track && s.track.kind === kind);
  return {track: s.track.id, sdp: p.pc.localDescription.sdp, ice: p.pc.iceConnectionState,
          signaling: p.pc.signalingState,
          stream: window.patientCall.o.stream().getTracks().find(t => t.kind === kind).id}; }"""
BOX = "(sel) => { const r = document.querySelector(sel).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"


def test_devices_during_the_call_replace_the_sent_track_without_a_new_offer(new_page, provider, clinic_a):
    dashboard = new_page()
    open_dashboard(dashboard)
    patient = new_page(viewport={"width": 360, "height": 740})
    patient.add_init_script(RECORD_GUM)
    check_in(patient, clinic_a, "Ann Patient")
    patient.wait_for_selector("[data-patient-status='waiting']", timeout=LIVE_MS)
    visit = Visit.objects.get(patient_name="Ann Patient")
    dashboard.click(f"[data-visit='{visit.id}'] form[data-action='call'] button")
    patient.wait_for_function(CONNECTED, timeout=CONNECT)

    # Reached by keyboard: Tab from Camera off lands on Devices; Enter opens the pickers.
    devices = patient.locator("[data-call-devices]")
    assert devices.get_attribute("aria-expanded") == "false"
    patient.focus("[data-toggle-camera]")
    patient.keyboard.press("Tab")
    assert patient.evaluate("document.activeElement.matches('[data-call-devices]')")
    patient.keyboard.press("Enter")
    assert devices.get_attribute("aria-expanded") == "true"
    assert patient.is_visible("[data-camera]") and patient.is_visible("[data-mic]")
    assert patient.evaluate("document.activeElement.matches('[data-camera]')")
    assert patient.locator("[data-camera] option").count() >= 1
    # On the phone: the sheet is on screen and ends above the call's buttons, all of them in view.
    sheet = patient.evaluate(BOX, "[data-device-check]")
    assert sheet[0] >= 0 and sheet[2] <= 360 and sheet[1] >= 0
    for button in ("[data-toggle-mic]", "[data-toggle-camera]", "[data-call-devices]", "[data-hangup]"):
        box = patient.evaluate(BOX, button)
        assert box[0] >= 0 and box[2] <= 360 and box[3] <= 740, button
        assert box[1] >= sheet[3], f"{button} is covered by the pickers"

    # Another microphone where the browser offers one (Chromium's fake devices list several), else
    # the one in use: either way the call gets a new track from the chosen device.
    before = patient.evaluate(SENDING, "audio")
    mics = patient.eval_on_selector_all("[data-mic] option", "os => os.map(o => o.value)")
    current = patient.eval_on_selector("[data-mic]", "s => s.value")
    chosen = next((m for m in mics if m != current), current)
    calls = patient.evaluate("window.gumCalls.length")
    patient.select_option("[data-mic]", chosen)
    patient.wait_for_function(f"() => window.gumCalls.length > {calls}")
    assert patient.evaluate("window.gumCalls.at(-1).audio.deviceId.exact") == chosen
    patient.wait_for_function(f"() => ({SENDING})('audio').track !== {before['track']!r}", timeout=5000)
    after = patient.evaluate(SENDING, "audio")
    assert after["track"] == after["stream"]  # the sender sends the new stream's track
    assert after["sdp"] == before["sdp"] and after["signaling"] == "stable"  # no renegotiation
    assert after["ice"] in ("connected", "completed")
    # The camera's picker works the same way (one fake camera: it lists it and re-opens it).
    before_video = patient.evaluate(SENDING, "video")
    patient.select_option("[data-camera]", patient.eval_on_selector("[data-camera]", "s => s.value"))
    patient.wait_for_function(f"() => ({SENDING})('video').track !== {before_video['track']!r}", timeout=5000)
    assert "deviceId" in patient.evaluate("window.gumCalls.at(-1).video")
    assert patient.evaluate(SENDING, "video")["sdp"] == before["sdp"]
    patient.wait_for_function(CONNECTED, timeout=5000)

    # Closable: Escape closes and gives focus back to Devices; Done closes too.
    patient.keyboard.press("Escape")
    assert devices.get_attribute("aria-expanded") == "false"
    assert not patient.is_visible("[data-mic]")
    assert patient.evaluate("document.activeElement.matches('[data-call-devices]')")
    devices.click()
    patient.click("[data-devices-close]")
    assert not patient.is_visible("[data-camera]")
    assert devices.get_attribute("aria-expanded") == "false"
