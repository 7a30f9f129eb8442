/* HTTP for page scripts: the CSRF token, GETs that fail loudly, and POSTs that always answer with
 * {ok, error?, ...}. Fragments pushed over a socket are rendered without a request, so they carry
 * no CSRF input: the page's token (in <meta name="csrf-token">) goes in a header instead. */

export function csrfToken() {
  const meta = document.querySelector("meta[name=csrf-token]");
  return meta ? meta.content : "";
}

/* GET a fragment (or any text); rejects with an Error naming the status when the answer failed. */
export async function getText(url) {
  const response = await fetch(url, {credentials: "same-origin"});
  if (!response.ok) throw Object.assign(new Error(`GET ${url}: ${response.status}`), {status: response.status});
  return response.text();
}

export async function getJSON(url) {
  return JSON.parse(await getText(url));
}

/* POST and read the JSON answer. Views answer {ok: true, ...} or {ok: false, error} (with a 4xx);
 * an answer that is not JSON (a proxy's error page, a 500) or no answer at all becomes
 * {ok: false, error} too, so callers have one shape to handle and never a silent failure. */
export async function post(url, body = null, {json = false} = {}) {
  const headers = {"Accept": "application/json", "X-CSRFToken": csrfToken()};
  let payload = body;
  if (json) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  } else if (body instanceof HTMLFormElement) {
    payload = new URLSearchParams(new FormData(body));
  } else if (body instanceof FormData) {
    payload = new URLSearchParams(body);
  }
  let response;
  try {
    response = await fetch(url, {method: "POST", credentials: "same-origin", headers, body: payload});
  } catch {
    return {ok: false, error: "Could not reach the server. Check your connection and try again."};
  }
  try {
    return await response.json();
  } catch {
    return {ok: false, error: `The server could not do that (${response.status}).`};
  }
}

/* A form posted as fetch, URL-encoded, with the button that submitted it. */
export function postForm(form, submitter = null) {
  return post(form.action, new FormData(form, submitter));
}
