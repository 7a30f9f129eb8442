/* Server-rendered panels that refresh themselves. A panel is an element with data-panel="<name>"
 * and data-panel-url; on a "wr:panel" event naming it (or "*") it re-fetches its HTML, keeping
 * whatever was typed into its [data-keep] fields. Forms marked data-decide-form or
 * data-availability are posted with fetch and the panel re-fetched, so a push and a click take
 * the same rendering path. Used by the dashboard's appointment-request panel. */
(function () {
  "use strict";
  function csrf() { return document.querySelector("meta[name=csrf-token]").content; }
  function toast(text, ok) {
    var el = document.querySelector("[data-toast]");
    if (!el) { if (!ok) alert(text); return; }
    el.textContent = text; el.hidden = false; el.classList.toggle("error", !ok);
    clearTimeout(toast.t); toast.t = setTimeout(function () { el.hidden = true; }, 6000);
  }
  function refresh(panel) {
    return fetch(panel.dataset.panelUrl, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      var kept = {};
      panel.querySelectorAll("[data-keep]").forEach(function (f) { if (f.value) kept[f.id] = f.value; });
      var t = document.createElement("template"); t.innerHTML = html.trim();
      var fresh = t.content.firstElementChild;
      if (!fresh) { panel.remove(); return; }
      Object.keys(kept).forEach(function (id) { var f = fresh.querySelector("#" + CSS.escape(id)); if (f) f.value = kept[id]; });
      panel.replaceWith(fresh);
    }).catch(function () {});
  }
  document.addEventListener("wr:panel", function (e) {
    document.querySelectorAll("[data-panel]").forEach(function (panel) {
      if (e.detail.panel === "*" || e.detail.panel === panel.dataset.panel) refresh(panel);
    });
  });
  document.addEventListener("submit", function (e) {
    var form = e.target, panel = form.closest("[data-panel]");
    if (!panel || !(form.matches("[data-decide-form]") || form.matches("[data-availability]"))) return;
    e.preventDefault();
    fetch(form.action, {method: "POST", credentials: "same-origin", body: new URLSearchParams(new FormData(form, e.submitter)),
                        headers: {"Accept": "application/json", "X-CSRFToken": csrf()}})
      .then(function (r) { return r.json().catch(function () { return {ok: false, error: "The server could not do that (" + r.status + ")."}; }); })
      .then(function (data) {
        if (data.message || data.error) toast(data.message || data.error, data.ok);
        if (data.ok) { var field = form.querySelector("[data-keep]"); if (field) field.value = ""; }
        refresh(panel);
      });
  });
})();
