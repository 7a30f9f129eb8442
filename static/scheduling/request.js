/* The request form: changing the service or provider reloads the form with that choice (the
 * server lists the open times for it), at most three times can be ticked, and the times show only
 * for Scheduled. Without JavaScript the server enforces the same rules. */
(function () {
  "use strict";
  var form = document.querySelector("[data-request-form]");
  if (!form) return;
  ["service", "provider"].forEach(function (name) {
    var select = form.querySelector("[name=" + name + "]");
    if (!select) return;
    select.addEventListener("change", function () {
      var params = new URLSearchParams();
      ["service", "provider"].forEach(function (n) { var s = form.querySelector("[name=" + n + "]"); if (s && s.value) params.set(n, s.value); });
      var kind = form.querySelector("[name=kind]:checked");
      if (kind) params.set("kind", kind.value);
      location.search = params.toString();
    });
  });
  var slots = form.querySelector("[data-slots]");
  function limit() {
    if (!slots) return;
    var boxes = slots.querySelectorAll("input[type=checkbox]"), max = Number(slots.dataset.max);
    var ticked = slots.querySelectorAll("input[type=checkbox]:checked").length;
    boxes.forEach(function (b) { b.disabled = !b.checked && ticked >= max; });
  }
  function showTimes() {
    var kind = form.querySelector("[name=kind]:checked");
    var scheduled = !kind || kind.value === "scheduled";
    form.querySelectorAll("[data-slots], .proposed").forEach(function (el) { el.hidden = !scheduled; });
  }
  form.addEventListener("change", function () { limit(); showTimes(); });
  limit(); showTimes();
})();
