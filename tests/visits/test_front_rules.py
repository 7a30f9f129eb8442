"""The rules page scripts read from the server (lib/rules.js): one source, checked here."""

import json
import re

from django.template import Context, Template

from visits.lifecycle import PATIENT_SCREEN, PHASE_OF, Status
from visits.selectors import ESTIMATE_TABLE_PLACES, PatientState, estimate_minutes


def test_every_status_has_a_patient_screen_and_the_page_gets_them_all():
    assert set(PATIENT_SCREEN) == set(Status)
    html = Template("{% load client_rules %}{% client_rules %}").render(Context())
    rules = json.loads(re.search(r">(.*)</script>", html, re.S).group(1))
    assert rules["phaseOf"] == {s.value: p.value for s, p in PHASE_OF.items()}
    assert rules["screenOf"]["left"] == "left" and rules["inCall"] == ["away", "in_call"]
    assert set(rules["closeCodes"]["refused"]) == {4401, 4403, 4404, 4409}
    # The call continued in another tab (visits/consumers.py): the dashboard says so, never reconnects.
    assert rules["closeCodes"]["takenOver"] == 4409


def test_the_estimate_table_is_the_one_formula_for_each_place():
    state = PatientState(visit=None, position=7, seconds_per_place=75, status_label="", staff_names=[])
    # Rounded as Python rounds (2.5 -> 2): the page reads these numbers, it computes none.
    table = [estimate_minutes(position=p, seconds_per_place=75) for p in range(1, ESTIMATE_TABLE_PLACES + 1)]
    # Every place, not only up to the patient's own: someone recalled may come back ahead of them,
    # and the page moves their place live (back as well as forward).
    assert state.estimate_table == table
    assert state.estimate_table[3] == 5 and state.estimate_table[1] == 2
    far = PatientState(visit=None, position=500, seconds_per_place=60, status_label="", staff_names=[])
    assert len(far.estimate_table) == ESTIMATE_TABLE_PLACES
