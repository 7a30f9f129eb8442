/* The dispatch page: a live "Request Pending For" counter (green, red after five minutes), rows
 * re-fetched whenever a push says requests changed, and the Assign dialog, whose HTML the server
 * renders (picking a provider re-fetches it with their availability and conflicts). */
(function () {
  "use strict";
  var body = document.body, rows = document.querySelector("[data-rows]");
  var dialog = document.querySelector("[data-assign-dialog]"), dialogBody = document.querySelector("[data-assign-body]");
  var toastEl = document.querySelector("[data-toast]");
  var lateAfter = Number(rows.dataset.lateAfter) * 1000;
  // The server's clock, not the browser's, decides how long a request has waited.
  var skew = 0;
  function syncClock(serverNowMs) { skew = Number(serverNowMs) - Date.now(); }
  syncClock(rows.dataset.serverNow);

  function csrf() { return document.querySelector("meta[name=csrf-token]").content; }
  function toast(text, ok) {
    toastEl.textContent = text; toastEl.hidden = false; toastEl.classList.toggle("error", !ok);
    clearTimeout(toast.t); toast.t = setTimeout(function () { toastEl.hidden = true; }, 8000);
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function format(ms) {
    var s = Math.max(0, Math.floor(ms / 1000)), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h ? h + ":" + pad(m) : m) + ":" + pad(s % 60);
  }
  function tick() {
    var now = Date.now() + skew;
    rows.querySelectorAll("[data-pending]").forEach(function (cell) {
      var waited = now - Number(cell.dataset.createdMs);
      cell.textContent = format(waited);
      var late = waited >= lateAfter;
      cell.classList.toggle("pending-late", late);
      cell.classList.toggle("pending-fresh", !late);
    });
  }

  function reloadRows() {
    return fetch(body.dataset.rowsUrl, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      rows.innerHTML = html;
      var first = rows.querySelector("[data-server-now]");
      if (first) syncClock(first.dataset.serverNow);
      tick();
      // A request decided elsewhere closes its open dialog.
      var open = dialogBody.querySelector("[data-assign-for]");
      if (dialog.open && open && !rows.querySelector("[data-request='" + open.dataset.assignFor + "']")) {
        dialog.close(); toast("Request #" + open.dataset.assignFor + " was decided by someone else.", false);
      }
    });
  }

  function openDialog(url) {
    return fetch(url, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { toast(r.status === 404 ? "That request is gone." : "Could not open the request.", false); throw new Error(r.status); }
      return r.text();
    }).then(function (html) {
      var typed = dialogBody.querySelector("textarea");
      var keep = typed ? typed.value : "";
      dialogBody.innerHTML = html;
      var area = dialogBody.querySelector("textarea");
      if (area && keep) area.value = keep;
      if (!dialog.open) dialog.showModal();
    });
  }

  rows.addEventListener("click", function (e) {
    var button = e.target.closest("[data-assign]");
    if (button) { dialogBody.innerHTML = ""; openDialog(button.dataset.assign); }
  });
  dialog.addEventListener("change", function (e) {
    if (!e.target.matches("[data-pick]")) return;
    var base = dialogBody.querySelector("[data-assign-url]").dataset.assignUrl;
    openDialog(base + "?provider=" + encodeURIComponent(e.target.value));
  });
  dialog.addEventListener("click", function (e) { if (e.target.closest("[data-assign-close]")) dialog.close(); });
  dialog.addEventListener("submit", function (e) {
    var form = e.target;
    e.preventDefault();
    fetch(form.action, {method: "POST", credentials: "same-origin", body: new URLSearchParams(new FormData(form, e.submitter)),
                        headers: {"Accept": "application/json", "X-CSRFToken": csrf()}})
      .then(function (r) { return r.json().catch(function () { return {ok: false, error: "The server could not do that (" + r.status + ")."}; }); })
      .then(function (data) {
        toast(data.message || data.error, data.ok);
        if (data.ok || !data.conflict) dialog.close();
        reloadRows();
      });
  });

  tick();
  setInterval(tick, 1000);
  LiveSocket.connect(body.dataset.socketUrl, {
    onOpen: function () { reloadRows(); },
    onMessage: function (msg) {
      if (msg.type === "requests") reloadRows();
      else if (msg.type === "availability" && dialog.open) {
        var current = dialogBody.querySelector("[data-assign-url]"), picked = dialogBody.querySelector("[data-pick]:checked");
        if (current) openDialog(current.dataset.assignUrl + (picked ? "?provider=" + picked.value : ""));
      }
    }
  });
})();
