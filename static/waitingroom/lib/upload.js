/* Sending a file with progress. fetch() reports no upload progress, so this is XMLHttpRequest, with
 * the same CSRF header and the same answer shape as http.js's post(): the promise resolves to
 * {ok: true, ...} or {ok: false, error}, never rejects, and a cancelled upload resolves to
 * {ok: false, aborted: true, error}.
 *
 *   const sending = upload(url, formData, {onProgress: (percent) => ...});
 *   sending.abort();               // cancel: the request stops and nothing is stored
 *   const answer = await sending.done;                                                      */

import {csrfToken} from "./http.js";

export const CANCELLED = "Upload cancelled.";
const UNREACHABLE = "The upload stopped: the server could not be reached. Check your connection and try again.";

function answerOf(xhr) {
  try {
    const answer = JSON.parse(xhr.responseText);
    if (answer && typeof answer === "object") return answer;
  } catch {
    // not JSON: a proxy's error page, a 500
  }
  if (xhr.status === 413) return {ok: false, error: "This file is too large to send."};
  return {ok: false, error: `The server could not take the file (${xhr.status}).`};
}

export function upload(url, body, {onProgress = () => {}} = {}) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve) => {
    xhr.open("POST", url);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(Math.min(100, Math.floor((e.loaded / e.total) * 100)));
    });
    xhr.addEventListener("load", () => resolve(answerOf(xhr)));
    xhr.addEventListener("error", () => resolve({ok: false, error: UNREACHABLE}));
    xhr.addEventListener("timeout", () => resolve({ok: false, error: UNREACHABLE}));
    xhr.addEventListener("abort", () => resolve({ok: false, aborted: true, error: CANCELLED}));
    xhr.send(body);
  });
  return {done, abort: () => xhr.abort()};
}
