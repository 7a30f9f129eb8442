"""Text colours reach WCAG 2.2 AA (4.5:1) against what is behind them (issue 19): every badge in
static/waitingroom/app.css, muted text on each surface it sits on, status texts, toasts, flash
messages and the meetings overview's check indicators. Measured from Chromium's computed styles,
so the cascade (later rules, custom properties) is the one people see."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.browser

CSS = Path(settings.BASE_DIR) / "static" / "waitingroom" / "app.css"

# Each sample: the HTML put in the page; its [data-sample] element's text is measured against the
# first opaque background behind it.
SURFACES = [
    "",  # the page background
    '<div class="card">',
    '<div class="visit-card">',
    '<div class="visit-card status-offline">',
    '<div class="visit-card wait-amber">',
    '<div class="visit-card wait-red">',
    '<ul class="chat-log"><li class="chat-msg mine">',
]
FIXED = [
    '<table class="dispatch"><tr><td class="pending pending-fresh" data-sample>1:00</td></tr></table>',
    '<table class="dispatch"><tr><td class="pending pending-late" data-sample>9:00</td></tr></table>',
    '<table class="providers"><tr><td class="is-available" data-sample>Available</td></tr></table>',
    '<table class="providers"><tr><td class="is-unavailable" data-sample>Not available</td></tr></table>',
    '<p class="conflict" data-sample>Busy</p>',
    '<p class="error" data-sample>Bad</p>',
    '<p class="toast ok" data-sample>Saved</p>',
    '<p class="toast error" data-sample>Failed</p>',
    '<ul class="messages"><li class="success" data-sample>Saved</li></ul>',
    '<ul class="messages"><li class="info" data-sample>Note</li></ul>',
    '<ul class="messages"><li class="error" data-sample>Failed</li></ul>',
    '<span class="socket-indicator" data-sample>Live</span>',
    '<details class="phase" open><summary><span class="count" data-sample>3</span></summary></details>',
    '<section class="requests-panel"><span class="count" data-sample>3</span></section>',
    '<section class="upcoming-panel"><span class="count" data-sample>3</span></section>',
    '<div class="chat-msg"><time data-sample>12:00</time></div>',
    '<div class="visit-card wait-amber"><span class="elapsed" data-sample>9:00</span></div>',
    '<div class="visit-card wait-red"><dl class="answers"><dt data-sample>State</dt></dl></div>',
    '<div class="visit-card status-offline"><dl class="answers"><dt data-sample>State</dt></dl></div>',
]

MEASURE = """(html) => {
  const host = document.createElement('div');
  host.innerHTML = html;
  document.querySelector('main').append(host);
  const el = host.querySelector('[data-sample]');
  let bg = null;
  for (let node = el; node && !bg; node = node.parentElement) {
    const value = getComputedStyle(node).backgroundColor;
    if (value !== 'rgba(0, 0, 0, 0)' && value !== 'transparent') bg = value;
  }
  const result = [getComputedStyle(el).color, bg || 'rgb(255, 255, 255)'];
  host.remove();
  return result;
}"""


def samples() -> list[str]:
    css = CSS.read_text()
    badges = sorted(set(re.findall(r"\.(badge-[a-z_]+)", css)))
    indicators = sorted(set(re.findall(r"\.(indicator-[a-z_]+)", css)))
    assert "badge-offline" in badges and "indicator-absent" in indicators
    made = [f'<span class="badge {name}" data-sample>Badge</span>' for name in ["", *badges]]
    made += [f'<span class="indicator {name}" data-sample>?</span>' for name in indicators]
    for surface in SURFACES:
        closing = "".join(f"</{tag}>" for tag in reversed(re.findall(r"<(\w+)", surface)))
        made.append(f'{surface}<span class="muted" data-sample>Muted</span>{closing}')
    return made + FIXED


def luminance(css: str) -> float:
    channels = [int(part) / 255 for part in re.findall(r"[\d.]+", css)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_matches_wcags_known_values():
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21)
    assert contrast("rgb(134, 142, 150)", "rgb(233, 236, 239)") == pytest.approx(2.8, abs=0.05)


def test_every_badge_and_muted_or_status_text_reaches_4_5_to_1(new_page):
    page = new_page()
    page.goto("/accounts/login/")
    low = []
    for html in samples():
        colour, background = page.evaluate(MEASURE, html)
        ratio = contrast(colour, background)
        if ratio < 4.5:
            low.append(f"{html} {colour} on {background}: {ratio:.2f}")
    assert not low, "\n".join(low)
