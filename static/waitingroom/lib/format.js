/* Shared formatting. */

/* Elapsed seconds as the pages show them: "4:05", or "1:02:05" from an hour on. The only m:ss
 * formula: the server renders a counter's start time (data-since, data-created-ms) and the page
 * script fills and ticks the text with this. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return (h ? `${h}:${pad(m)}` : String(m)) + ":" + pad(sec);
}

/* A size in megabytes as the server words its limits ("20 MB", "0.5 MB"). */
export function megabytes(size) {
  return `${Math.round((size / (1024 * 1024)) * 10) / 10} MB`;
}
