"""What a page said through its live regions (static/waitingroom/lib/announce.js), in order: an
init script records every text written to a [data-announce] region, so a message quickly followed
by another is still seen."""

RECORD_SAID = """
window.said = [];
new MutationObserver((mutations) => mutations.forEach((m) => {
  const region = m.target.nodeType === 1 ? m.target.closest('[data-announce]') : m.target.parentElement?.closest('[data-announce]');
  if (region && region.textContent) window.said.push(region.dataset.announce + ': ' + region.textContent);
})).observe(document, {childList: true, subtree: true, characterData: true});
"""


def wait_until_said(page, words: str, *, politeness: str = "polite", timeout: int = 10_000) -> None:
    page.wait_for_function(
        "(w) => window.said.some((s) => s.startsWith(w[0] + ': ') && s.includes(w[1]))",
        arg=[politeness, words],
        timeout=timeout,
    )


# Every title the tab showed, in order (a later change may replace a title before a test reads it).
RECORD_TITLES = """
window.titles = [];
new MutationObserver(() => {
  if (document.title && window.titles[window.titles.length - 1] !== document.title) window.titles.push(document.title);
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


def wait_until_titled(page, start: str, *, timeout: int = 10_000) -> None:
    page.wait_for_function("(w) => window.titles.some((t) => t.startsWith(w))", arg=start, timeout=timeout)
