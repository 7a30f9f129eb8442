/* The meetings overview: a plus sign opens a meeting's details and a minus sign closes them, and
 * the rows re-fetch themselves (one rendering path, the server's) whenever the overview's socket
 * (the clinic's meetings group) says a meeting changed, or that the waiting-room visit of a listed
 * guest did (their media-check indicator). Open details and typed summaries survive the re-fetch. */
(function () {
  "use strict";
  var body = document.body, rows = document.querySelector("[data-rows]");

  function setOpen(id, open) {
    var details = rows.querySelector("[data-details-for='" + id + "']");
    var button = rows.querySelector("[data-meeting='" + id + "'] [data-toggle-details]");
    if (!details || !button) return;
    details.hidden = !open;
    button.textContent = open ? "−" : "+";
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  rows.addEventListener("click", function (e) {
    var button = e.target.closest("[data-toggle-details]");
    if (!button) return;
    var id = button.closest("[data-meeting]").dataset.meeting;
    setOpen(id, button.getAttribute("aria-expanded") !== "true");
  });

  var inFlight = null, again = false;
  function reload() {
    // Pushes can come in bursts: one fetch at a time, and one more if something arrived meanwhile.
    if (inFlight) { again = true; return inFlight; }
    var open = [], typed = {};
    rows.querySelectorAll("[data-details-for]").forEach(function (d) { if (!d.hidden) open.push(d.dataset.detailsFor); });
    rows.querySelectorAll("textarea[data-keep]").forEach(function (f) { if (f === document.activeElement || f.value !== f.defaultValue) typed[f.id] = f.value; });
    inFlight = fetch(body.dataset.rowsUrl, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      rows.innerHTML = html;
      open.forEach(function (id) { setOpen(id, true); });
      Object.keys(typed).forEach(function (id) { var f = document.getElementById(id); if (f) f.value = typed[id]; });
    }).catch(function () {}).then(function () {
      inFlight = null;
      if (again) { again = false; reload(); }
    });
    return inFlight;
  }

  function listed(visitId) { return !!rows.querySelector("[data-visit='" + visitId + "']"); }
  window.meetingsSocket = LiveSocket.connect(body.dataset.socketUrl, {
    // Anything that changed between the page render and the socket opening is fetched too.
    onOpen: function () { reload(); },
    onMessage: function (msg) {
      // While rows are being fetched, a visit not listed yet may be in them (a guest who just
      // entered): its change could postdate the fetch, so fetch once more.
      if (msg.type === "meetings" || (msg.type === "visit" && (inFlight || listed(msg.visit_id)))) reload();
    }
  });
})();
