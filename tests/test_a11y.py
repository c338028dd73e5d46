"""Accessibility: axe-core (from npm: `make axe`) on every page state the preview walks,
for every preset theme, in both languages, with axe's default rules (WCAG 2.0 and 2.1
A and AA, and its best practices)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from checkout import preview, themes

pytestmark = pytest.mark.browser
AXE = Path(__file__).parent.parent / "build" / "node" / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORT = (375, 812)  # the desktop layout gave the same results when checked

#: Violations found and reported, waiting for a fix in the templates or CSS:
#: rule id -> (the themes it happens in, or None for all; where and why). The cases they
#: touch are expected to fail (xfail) and fail for real when another violation turns up,
#: or when a known one is gone (strict): then delete its entry here.
KNOWN: dict[str, tuple[tuple[str, ...] | None, str]] = {}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed, so axe-core cannot be: apt-get install npm, then make axe")
        pytest.fail(f"{AXE} is missing: run `make axe` (make test does)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def preview_site():
    with preview.serve() as site:
        yield site


def violations(page, axe_source: str) -> list[tuple[str, str]]:
    """(rule id, "rule (impact) at target: help [what to fix]") for each failing element."""
    page.add_script_tag(content=axe_source)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], f"{v['id']} ({v['impact']}) at {' '.join(map(str, node['target']))}: {v['help']}"
             + (f" [{node['failureSummary'].splitlines()[-1].strip()}]" if node.get("failureSummary") else ""))
            for v in result["violations"] for node in v["nodes"]]


def known_for(theme: str) -> dict[str, str]:
    return {rule: why for rule, (where, why) in KNOWN.items() if where is None or theme in where}


@pytest.mark.parametrize("theme", themes.presets())
@pytest.mark.parametrize("locale", preview.DEFAULT_LOCALES)
def test_no_axe_violations(theme, locale, browser, preview_site, axe_source):
    check_walk(theme, locale, browser, preview_site, axe_source)


#: Right to left (Arabic, Hebrew), Devanagari, Japanese and a long-worded one (German):
#: every state of the default theme, the payment page, its errors and 3-D Secure among them.
OTHER_LANGUAGES = ("ar", "he_IL", "hi_IN", "ja_JP", "de_DE")


@pytest.mark.parametrize("locale", OTHER_LANGUAGES)
def test_no_axe_violations_in_other_languages(locale, browser, preview_site, axe_source):
    check_walk(themes.DEFAULT_THEME, locale, browser, preview_site, axe_source)


def check_walk(theme, locale, browser, preview_site, axe_source):
    found: list[tuple[str, str]] = []
    visited: list[str] = []

    def check(state, page):
        visited.append(state)
        found.extend((rule, f"{state}: {text}") for rule, text in violations(page, axe_source))

    # The pages' CSP (nonces) would refuse the injected script: this context bypasses it.
    problems = preview.walk(browser, preview_site, theme, locale, VIEWPORT, check, bypass_csp=True)
    assert visited == list(preview.STATES), "the walk stopped:\n" + "\n".join(problems)
    known = known_for(theme)
    new = [text for rule, text in found if rule not in known]
    assert not new, f"axe-core violations, theme {theme!r}, {locale}:\n" + "\n".join(new)
    gone = sorted(set(known) - {rule for rule, _ in found})
    assert not gone, f"fixed: {', '.join(gone)}; remove them from KNOWN in tests/test_a11y.py"
    if known:
        pytest.xfail("known violations, reported: " + "; ".join(text for _, text in found))
