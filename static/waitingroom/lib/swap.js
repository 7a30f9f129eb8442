/* Server-rendered fragments put in the page, and the one race rule for re-fetching them.
 *
 * Swapping keeps what the user is doing: the focused control keeps focus (found again by id, by
 * name, or by its place under the nearest element with an id) and typed values the fresh HTML
 * does not replace (a half-typed chat message, a code, an option chosen in a list) are put back.
 *
 * The race rule (refetcher): one re-fetch at a time, one more if asked meanwhile; and a push that
 * arrives while a re-fetch is on its way is newer than its answer (the server may have read the
 * answer before it sent the push), so the page applies the answer and then the pushes again, or
 * skips the parts of the answer the pushes replaced. */

const FIELDS = "input:not([type=hidden]):not([type=submit]):not([type=button]), textarea, select";
const FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";

function anchorOf(el, root) {
  const anchor = el.parentElement && el.parentElement.closest("[id]");
  return anchor && root.contains(anchor) ? anchor : null;
}

// A name for `el` that finds its counterpart in the fresh HTML.
function keyOf(el, root) {
  if (el.id) return {id: el.id};
  const anchor = anchorOf(el, root);
  const scope = anchor || root;
  if (el.name) return {anchor: anchor && anchor.id, name: el.name};
  return {anchor: anchor && anchor.id, index: [...scope.querySelectorAll(FOCUSABLE)].indexOf(el)};
}

function find(key, root) {
  if (key.id) return root.querySelector("#" + CSS.escape(key.id)) || (root.id === key.id ? root : null);
  const scope = !key.anchor || root.id === key.anchor ? root : root.querySelector("#" + CSS.escape(key.anchor));
  if (!scope) return null;
  if (key.name) return scope.querySelector(`[name="${CSS.escape(key.name)}"]`);
  // The fresh HTML may have fewer controls (a card whose buttons changed): the one nearest the old
  // place, not none, or focus would fall to <body> and a keyboard user would start again at the top.
  const controls = scope.querySelectorAll(FOCUSABLE);
  return key.index >= 0 ? controls[Math.min(key.index, controls.length - 1)] || null : null;
}

/* What a field shows until the user changes it: a text field's value in the HTML, a list's option
 * marked selected (or its first). A list chosen in (the call guest's "Who they are") was put back
 * to its first option by a swap while the name typed beside it was kept. */
function defaultOf(field) {
  if (field.tagName !== "SELECT") return field.defaultValue;
  const options = [...field.options];
  const chosen = options.find((o) => o.defaultSelected) || options[0];
  return chosen ? chosen.value : "";
}

/* What the user is doing inside `root`: call the returned function with the fresh root(s). */
export function remember(root) {
  const active = document.activeElement;
  const focused = active && active !== root && root.contains(active) ? keyOf(active, root) : null;
  const selection = focused && typeof active.selectionStart === "number" ? [active.selectionStart, active.selectionEnd] : null;
  const typed = [];
  root.querySelectorAll(FIELDS).forEach((field) => {
    // A chosen file can't be put back (a browser refuses any value but "" for a file input).
    if (field.type === "checkbox" || field.type === "radio" || field.type === "file" || field.multiple) return;
    if (field.value && field.value !== defaultOf(field)) typed.push([keyOf(field, root), field.value]);
  });
  return (fresh) => {
    if (!fresh) return;
    typed.forEach(([key, value]) => {
      const field = find(key, fresh);
      if (!field || field.value !== defaultOf(field)) return;
      // A list puts back a choice it still offers (the fresh HTML may offer other ones).
      if (field.tagName === "SELECT" && ![...field.options].some((o) => o.value === value)) return;
      field.value = value;
    });
    const target = focused && find(focused, fresh);
    if (target && document.activeElement !== target) {
      target.focus({preventScroll: true});
      if (selection && typeof target.setSelectionRange === "function") {
        try { target.setSelectionRange(...selection); } catch { /* not a text field */ }
      }
    }
  };
}

/* One element from server HTML (its first element), or null. */
export function fragment(html) {
  const t = document.createElement("template");
  t.innerHTML = html.trim();
  return t.content.firstElementChild;
}

/* Replace what is inside `container`. */
export function swapInner(container, html) {
  const restore = remember(container);
  container.innerHTML = html;
  restore(container);
}

/* Replace `el` itself (a panel, a card); returns the new element, or null (then `el` is removed). */
export function swapOuter(el, html) {
  const restore = remember(el);
  const fresh = html ? fragment(html) : null;
  if (fresh) el.replaceWith(fresh); else el.remove();
  restore(fresh);
  return fresh;
}

/* The race rule. `load()` fetches the page's current state; `apply(answer, newer)` shows it, where
 * `newer` maps each key pushed since the fetch was sent to its latest push (the page skips those
 * parts of the answer, or applies the pushes again on top). The page calls `pushed(key, msg)`
 * for each push it applies. */
export function refetcher(load, apply) {
  let inFlight = null, again = false, newer = null;
  function refresh() {
    if (inFlight) { again = true; return inFlight; }
    newer = new Map();
    inFlight = Promise.resolve().then(load).then((answer) => {
      const since = newer;
      newer = null;
      apply(answer, since);
    }).catch(() => {
      // Nothing to show from a failed re-fetch: the next push or reconnection asks again.
    }).finally(() => {
      newer = null;
      inFlight = null;
      if (again) { again = false; refresh(); }
    });
    return inFlight;
  }
  return {
    refresh,
    pushed(key, msg = true) { if (newer) newer.set(key, msg); },
    get busy() { return inFlight !== null; },
  };
}
