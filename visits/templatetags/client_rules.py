"""`{% client_rules %}`: the rules page scripts need, stated once here and read by
static/waitingroom/lib/rules.js (statuses, phases, the patient's screens, socket close codes).
In base.html, so every page's scripts read the same data whichever app rendered the page."""

from __future__ import annotations

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from visits.lifecycle import IN_CALL_STATUSES, PATIENT_SCREEN, PHASE_OF, WAITING_PHASES, Phase
from waitingroom.realtime.consumer import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_SESSION_ENDED,
    CLOSE_TAKEN_OVER,
)

register = template.Library()

RULES = {
    "phaseOf": {status.value: phase.value for status, phase in PHASE_OF.items()},
    "closedPhase": Phase.CLOSED.value,
    # Phase names by their Python name (GETTING_READY, IN_PROGRESS ...), for scripts that act on one.
    "phases": {phase.name: phase.value for phase in Phase},
    "screenOf": {status.value: screen for status, screen in PATIENT_SCREEN.items()},
    "inCall": sorted(IN_CALL_STATUSES),
    "waitingPhases": [phase.value for phase in WAITING_PHASES],
    # Closes after which reconnecting would not help (signed out; not found, or a link re-issued to
    # another browser; no longer allowed: membership or role changed, no longer in the call; the call
    # continued in another tab of the same staff member, `takenOver`).
    "closeCodes": {
        "refused": [CLOSE_SESSION_ENDED, CLOSE_NOT_FOUND, CLOSE_FORBIDDEN, CLOSE_TAKEN_OVER],
        "takenOver": CLOSE_TAKEN_OVER,
    },
}
_RENDERED = json_script(RULES, "wr-rules")


@register.simple_tag
def client_rules() -> SafeString:
    return _RENDERED
