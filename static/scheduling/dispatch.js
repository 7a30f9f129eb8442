/* The dispatch page: a live "Request Pending For" counter (green, red after five minutes), rows
 * re-fetched whenever a push says requests changed, and the Assign dialog, whose HTML the server
 * renders (picking a provider re-fetches it with their availability and conflicts). */
import {toast} from "../waitingroom/lib/announce.js";
import {clock} from "../waitingroom/lib/format.js";
import {getText, postForm} from "../waitingroom/lib/http.js";
import {connect} from "../waitingroom/lib/socket.js";
import {refetcher, swapInner} from "../waitingroom/lib/swap.js";

const body = document.body, rows = document.querySelector("[data-rows]");
const dialog = document.querySelector("[data-assign-dialog]"), dialogBody = document.querySelector("[data-assign-body]");
const lateAfter = Number(rows.dataset.lateAfter) * 1000;
const TOAST_MS = 8000;
// The server's clock, not the browser's, decides how long a request has waited.
let skew = 0;
function syncClock(serverNowMs) { skew = Number(serverNowMs) - Date.now(); }
syncClock(rows.dataset.serverNow);

function tick() {
  const now = Date.now() + skew;
  rows.querySelectorAll("[data-pending]").forEach((cell) => {
    const waited = now - Number(cell.dataset.createdMs);
    cell.textContent = clock(waited / 1000);
    const late = waited >= lateAfter;
    cell.classList.toggle("pending-late", late);
    cell.classList.toggle("pending-fresh", !late);
  });
}

const rowState = refetcher(() => getText(body.dataset.rowsUrl), (html) => {
  swapInner(rows, html);
  const first = rows.querySelector("[data-server-now]");
  if (first) syncClock(first.dataset.serverNow);
  tick();
  // A request decided elsewhere closes its open dialog.
  const open = dialogBody.querySelector("[data-assign-for]");
  if (dialog.open && open && !rows.querySelector(`[data-request='${open.dataset.assignFor}']`)) {
    dialog.close();
    toast(`Request #${open.dataset.assignFor} was decided by someone else.`, {ms: TOAST_MS});
  }
});

function openDialog(url) {
  return getText(url).then((html) => {
    swapInner(dialogBody, html);  // keeps a typed note when a provider is picked
    if (!dialog.open) dialog.showModal();
  }, (error) => {
    toast(error.status === 404 ? "That request is gone." : "Could not open the request.", {ms: TOAST_MS});
  });
}

rows.addEventListener("click", (e) => {
  const button = e.target.closest("[data-assign]");
  if (button) { dialogBody.innerHTML = ""; openDialog(button.dataset.assign); }
});
dialog.addEventListener("change", (e) => {
  if (!e.target.matches("[data-pick]")) return;
  const base = dialogBody.querySelector("[data-assign-url]").dataset.assignUrl;
  openDialog(base + "?provider=" + encodeURIComponent(e.target.value));
});
dialog.addEventListener("click", (e) => { if (e.target.closest("[data-assign-close]")) dialog.close(); });
dialog.addEventListener("submit", (e) => {
  e.preventDefault();
  postForm(e.target, e.submitter).then((data) => {
    toast(data.message || data.error, {ok: data.ok, ms: TOAST_MS});
    if (data.ok || !data.conflict) dialog.close();
    rowState.refresh();
  });
});

tick();
setInterval(tick, 1000);
const live = connect(body.dataset.socketUrl, {onOpen: () => rowState.refresh()});
live.on("requests", () => rowState.refresh());
live.on("availability", () => {
  if (!dialog.open) return;
  const current = dialogBody.querySelector("[data-assign-url]"), picked = dialogBody.querySelector("[data-pick]:checked");
  if (current) openDialog(current.dataset.assignUrl + (picked ? "?provider=" + picked.value : ""));
});
