/* The rules the server owns, as it states them: visits/templatetags/client_rules.py puts them in
 * every page (json_script "wr-rules"), built from visits/lifecycle.py and the socket close codes.
 * Page scripts ask these instead of keeping their own copies of status lists. */

const data = JSON.parse(document.getElementById("wr-rules").textContent);

export const closeCodes = data.closeCodes;

/* Phase names, e.g. phases.IN_PROGRESS, as visits/lifecycle.py names them. */
export const phases = data.phases;

export function phaseOf(status) {
  return data.phaseOf[status];
}

/* The patient's screen for a status ("checking", "queue", "call", "closed", ...). */
export function screenOf(status) {
  return data.screenOf[status];
}

export function isClosed(status) {
  return phaseOf(status) === data.closedPhase;
}

/* In a call with staff (not stepped out): activity counts and staff keep their call panel. */
export function isInCall(status) {
  return data.inCall.includes(status);
}

/* Phases whose cards show how long the patient has waited, amber then red. */
export function isWaitingPhase(phase) {
  return data.waitingPhases.includes(phase);
}
