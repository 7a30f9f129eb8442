/* A short two-note chime made with the Web Audio API (no sound file to fetch), and its mute
 * toggle, remembered in this browser. Browsers let a page make sound only after the user has
 * touched it, so the audio context is created (or resumed) on the first tap or key press; a
 * chime before that is attempted and may stay silent. */

const MUTED_KEY = "waitingroom.chime-muted";
let ctx = null;

function context() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!ctx && Ctx) ctx = new Ctx();
  if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
  return ctx;
}

/* Pages that may chime call this once: their first tap or key press readies the sound (other
 * pages make no audio context at all). */
let primed = false;
export function primeChime() {
  if (primed) return;
  primed = true;
  ["pointerdown", "keydown"].forEach((ev) => document.addEventListener(ev, () => { try { context(); } catch { /* no audio */ } }, {once: true}));
}

export function isMuted() {
  try { return localStorage.getItem(MUTED_KEY) === "1"; } catch { return false; }
}

export function chime() {
  if (isMuted()) return;
  try {
    const ac = context();
    if (!ac) return;
    const gain = ac.createGain();
    gain.connect(ac.destination);
    [[880, 0], [660, 0.18]].forEach(([freq, at]) => {
      const osc = ac.createOscillator(), start = ac.currentTime + at;
      osc.frequency.value = freq;
      osc.connect(gain);
      gain.gain.setValueAtTime(0.2, start);
      gain.gain.exponentialRampToValueAtTime(0.001, start + 0.35);
      osc.start(start); osc.stop(start + 0.35);
    });
  } catch { /* no audio on this device: the words and the title still say it */ }
}

/* A real toggle button (aria-pressed true = sounds muted); its label stays the same. */
export function wireMuteButton(button) {
  primeChime();
  if (!button) return;
  const show = () => button.setAttribute("aria-pressed", String(isMuted()));
  button.hidden = false;
  show();
  button.addEventListener("click", () => {
    try { localStorage.setItem(MUTED_KEY, isMuted() ? "0" : "1"); } catch { /* private mode: not remembered */ }
    show();
  });
}
