/* Server-rendered panels that refresh themselves. A panel is an element with data-panel="<name>"
 * and data-panel-url; on a "wr:panel" event naming it (or "*") it re-fetches its HTML, keeping
 * focus and whatever was typed (lib/swap.js). Forms marked data-panel-form (or, in the requests
 * panel, data-decide-form and data-availability) are posted with fetch and the panel re-fetched,
 * so a push and a click take the same rendering path. Used by the dashboard's appointment-request
 * panel and Upcoming Appointments (consultations). */
import {toast} from "./lib/announce.js";
import {getText, postForm} from "./lib/http.js";
import {refetcher, swapOuter} from "./lib/swap.js";

const panels = new Map();  // name -> its refetcher (one re-fetch at a time, the latest wins)
function refresh(name) {
  if (!panels.has(name)) {
    panels.set(name, refetcher(() => {
      const panel = document.querySelector(`[data-panel='${name}']`);
      return panel ? getText(panel.dataset.panelUrl) : null;
    }, (html) => {
      const panel = document.querySelector(`[data-panel='${name}']`);
      if (panel && html !== null) swapOuter(panel, html);
    }));
  }
  return panels.get(name).refresh();
}

document.addEventListener("wr:panel", (e) => {
  document.querySelectorAll("[data-panel]").forEach((panel) => {
    if (e.detail.panel === "*" || e.detail.panel === panel.dataset.panel) refresh(panel.dataset.panel);
  });
});
document.addEventListener("submit", (e) => {
  const form = e.target, panel = form.closest("[data-panel]");
  if (!panel || !form.matches("[data-panel-form], [data-decide-form], [data-availability]")) return;
  e.preventDefault();
  postForm(form, e.submitter).then((data) => {
    toast(data.message || data.error, {ok: data.ok});
    if (data.ok) {
      const field = form.querySelector("[data-keep]");
      if (field) { field.value = ""; field.defaultValue = ""; }
    }
    refresh(panel.dataset.panel);
  });
});
