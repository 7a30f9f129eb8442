/* The meetings overview: a plus sign opens a meeting's details and a minus sign closes them, and
 * the rows re-fetch themselves (one rendering path, the server's) whenever the overview's socket
 * (the clinic's meetings group) says a meeting changed, or that the waiting-room visit of a listed
 * guest did (their media-check indicator). Open details, focus and typed summaries survive the
 * re-fetch. */
import {getText} from "../waitingroom/lib/http.js";
import {connect} from "../waitingroom/lib/socket.js";
import {refetcher, swapInner} from "../waitingroom/lib/swap.js";

const body = document.body, rows = document.querySelector("[data-rows]");

function setOpen(id, open) {
  const details = rows.querySelector(`[data-details-for='${id}']`);
  const button = rows.querySelector(`[data-meeting='${id}'] [data-toggle-details]`);
  if (!details || !button) return;
  details.hidden = !open;
  button.textContent = open ? "−" : "+";
  button.setAttribute("aria-expanded", open ? "true" : "false");
}
rows.addEventListener("click", (e) => {
  const button = e.target.closest("[data-toggle-details]");
  if (!button) return;
  setOpen(button.closest("[data-meeting]").dataset.meeting, button.getAttribute("aria-expanded") !== "true");
});

// Pushes come in bursts: one fetch at a time, and one more if something arrived meanwhile.
const rowState = refetcher(() => getText(body.dataset.rowsUrl), (html) => {
  const open = [...rows.querySelectorAll("[data-details-for]")].filter((d) => !d.hidden).map((d) => d.dataset.detailsFor);
  swapInner(rows, html);
  open.forEach((id) => setOpen(id, true));
});

const listed = (visitId) => !!rows.querySelector(`[data-visit='${visitId}']`);
// Anything that changed between the page render and the socket opening is fetched too.
const live = window.meetingsSocket = connect(body.dataset.socketUrl, {onOpen: () => rowState.refresh()});
live.on("meetings", () => rowState.refresh());
live.on("visit", (msg) => {
  // While rows are being fetched, a visit not listed yet may be in them (a guest who just
  // entered): its change could postdate the fetch, so fetch once more.
  if (rowState.busy || listed(msg.visit_id)) rowState.refresh();
});
