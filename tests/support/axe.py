"""axe-core (the npm package, pinned in package-lock.json) run inside a Playwright page.

Injected with page.evaluate of the file's text, not page.add_script_tag: the product's CSP allows
scripts from 'self' only, so an added <script> (inline or from a file) is refused, and turning the
CSP off for the whole context (bypass_csp) would also stop the sweep from seeing what the CSP
blocks. evaluate() runs through the DevTools protocol, which CSP does not govern.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 A and AA, as axe tags them (2.2 added only AA rules: there is no "wcag22a" tag in use).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

RUN = """async (tags) => {
  const result = await window.axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(' '), summary: n.failureSummary})),
  }));
}"""


@cache
def _source() -> str:
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS} is missing: run `npm ci` (make test does)")
    return AXE_JS.read_text()


def violations(page) -> list[dict]:
    """The page's WCAG 2.2 A/AA violations as axe reports them (axe is injected once per document)."""
    if not page.evaluate("() => !!window.axe"):
        page.evaluate(_source())
    return page.evaluate(RUN, TAGS)


def describe(found: list[dict]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:8]:
            summary = " ".join((node["summary"] or "").split())[:300]
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


def assert_no_violations(page, label: str = "") -> None:
    found = violations(page)
    assert not found, f"axe: WCAG 2.2 A/AA violations on {label or page.url}:\n{describe(found)}"


def assert_no_horizontal_scroll(page, label: str = "") -> None:
    width, scroll = page.evaluate("() => [window.innerWidth, document.documentElement.scrollWidth]")
    assert scroll <= width, f"{label or page.url} scrolls sideways: {scroll}px of content in {width}px"
