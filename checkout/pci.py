"""PCI DSS v4.0.1's payment-page duties, as commands an auditor can run.

* 6.4.3: every script a payment page can load is authorised (a reason for each, kept
  here), its integrity assured (the pages carry ``integrity`` on every script and
  stylesheet: Subresource Integrity, SHA-384), and an inventory kept: ``flask --app
  checkout pci inventory`` lists them from the templates themselves, so the list cannot
  drift from what the pages load; a script without a reason makes it fail.
* 11.6.1: changes to the security headers and scripts as the customer's browser receives
  them are detected: ``flask --app checkout pci watch URL --baseline FILE`` loads the page
  in Chromium and exits 1 with a report on any change (a weekly job)."""
from __future__ import annotations

import functools
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click

from .assets import describe, url_path
from .chromium import launch
from .paths import TEMPLATES
from .security import integrity_of

#: Why each script is on the payment pages (6.4.3's "written justification").
REASONS: dict[str, str] = {
    "js/address.js": "Loads the address fields of the chosen country (labels, required fields, postcodes).",
    "js/autopost.js": "Sends the 3-D Secure form to the bank at once (the page works without it: a button).",
    "js/bank.js": "Hands the customer over to the bank's 3-D Secure page, replacing the history entry.",
    "js/card-input.js": "Formats the card number, expiry and CVV as typed and shows the card brand.",
    "js/countdown.js": "Counts down the last minutes before the payment link expires.",
    "js/embed.js": "Inside the merchant's iframe: tells the parent page the height and the result (postMessage).",
    "js/focus-error.js": "Moves the focus to the first field with an error (accessibility).",
    "js/forms.js": "Checks the fields in the browser and shows the busy state while a form is sent.",
    "js/handover.js": "Follows the redirect to the payment method's or bank's page.",
    "js/method-search.js": "Filters a long list of payment methods as the customer types.",
    "js/payout-embed.js": "Inside the merchant's iframe: tells the parent page a payout's result (postMessage).",
    "js/pending.js": "Asks again for the status of a payment that is pending and shows it when it changes.",
    "js/widget.js": "On the merchant's own page: opens the checkout in a modal iframe (Checkout().charge).",
}
#: Templates that are no payment page (the demo store, the sandbox gateway's own pages).
NOT_PAYMENT_PAGES = ("demo_", "sandbox/")

_SCRIPT = re.compile(r"<script\b[^>]*>", re.ASCII)
_STATIC = re.compile(r"asset_url\('([^']+)'\)", re.ASCII)
_WIDGET = "url_for('widget.script')"
_INLINE_CSS = re.compile(r"inline_asset\('([^']+\.css)'\)", re.ASCII)
_USES = re.compile(r"{%-?\s*(?:extends|include|import|from)\s+\"([^\"]+)\"", re.ASCII)
_NONCE = re.compile(r"'nonce-[^']*'", re.ASCII)
#: The response headers ``pci watch`` records (11.6.1: "security-impacting HTTP headers").
WATCHED_HEADERS = ("content-security-policy", "x-frame-options", "referrer-policy", "cache-control",
                   "x-content-type-options", "strict-transport-security", "permissions-policy",
                   "cross-origin-opener-policy")


@dataclass(frozen=True)
class Script:
    path: str  # under static/
    url: str  # where the pages load it from (content-hashed)
    integrity: str
    size: int
    reason: str | None
    inline: bool = False


def _template_sources() -> dict[str, str]:
    return {str(p.relative_to(TEMPLATES)): p.read_text(encoding="utf-8") for p in sorted(TEMPLATES.rglob("*.html"))}


def _own_scripts(source: str) -> list[str]:
    """The static scripts a template's own tags load (``"inline"`` for an inline one)."""
    found = []
    for tag in _SCRIPT.findall(source):
        if (match := _STATIC.search(tag)) is not None:
            found.append(match[1])
        elif _WIDGET in tag:
            found.append("js/widget.js")
        elif "src=" not in tag:
            found.append("inline")
    return found


def page_scripts() -> dict[str, list[str]]:
    """Every template that is a page (not a ``_partial``) and the scripts it can load,
    its own and those of every template it extends or includes."""
    sources = _template_sources()

    @functools.cache
    def scripts_of(name: str) -> tuple[str, ...]:
        source = sources.get(name, "")
        found = list(_own_scripts(source))
        for used in _USES.findall(source):
            found += [s for s in scripts_of(used) if s not in found]
        return tuple(dict.fromkeys(found))

    return {name: list(scripts_of(name)) for name in sources if not Path(name).name.startswith("_")}


def inventory() -> dict:
    """The payment pages' scripts: per page, and each script with its hash, size and reason."""
    pages = {name: scripts for name, scripts in page_scripts().items()
             if not name.startswith(NOT_PAYMENT_PAGES)}
    merchant = ["js/widget.js"]  # the merchant's own page loads it, from /widget.js
    names = sorted({s for scripts in pages.values() for s in scripts if s != "inline"} | set(merchant))
    assets = {n: describe(n) for n in names}
    scripts = {n: asdict(Script(path=n, url="/widget.js" if n in merchant else url_path(a), integrity=a.integrity,
                                size=len(a.body), reason=REASONS.get(n)))
               for n, a in assets.items()}
    inline = sorted(name for name, found in pages.items() if "inline" in found)
    stylesheets = sorted({m for source in _template_sources().values() for m in _INLINE_CSS.findall(source)})
    return {"pages": pages, "merchantPage": merchant, "scripts": scripts, "inlineScripts": inline,
            "stylesheets": {n: describe(n).integrity for n in stylesheets},
            "unjustified": [n for n, s in scripts.items() if not s["reason"]]}


def format_inventory(data: dict) -> str:
    lines = ["PCI DSS 6.4.3: scripts the payment pages can load", ""]
    for name, script in data["scripts"].items():
        lines += [f"{script['url']}  {script['size']} bytes", f"  integrity  {script['integrity']}",
                  f"  why        {script['reason'] or 'NO REASON GIVEN'}",
                  "  loaded by  " + ", ".join([p for p, s in data["pages"].items() if name in s]
                                              + (["the merchant's page, from /widget.js (add integrity=\"...\" "
                                                  "crossorigin=\"anonymous\" to its script tag)"]
                                                 if name in data["merchantPage"] else [])), ""]
    lines.append("Inline scripts on payment pages: " + (", ".join(data["inlineScripts"]) or "none"))
    lines.append("Stylesheets: " + ", ".join(f"{n} inlined in a nonce'd style element, {h}"
                                             for n, h in data["stylesheets"].items()))
    lines.append("Every script tag carries integrity=...; the CSP allows only nonce'd scripts; scripts are served "
                 "at content-hashed /assets/ URLs, so a URL names one file for ever.")
    return "\n".join(lines)


# -- 11.6.1: what the browser receives ---------------------------------------------------------
def record_page(url: str) -> dict:
    """Load ``url`` in Chromium: its status, security headers (nonces blanked: they change
    on every response), and every script the browser received, by path, with its hash."""
    with launch() as browser:
        page = browser.new_page()
        responses = []
        page.on("response", lambda r: responses.append(r) if r.request.resource_type == "script" else None)
        answer = page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        headers = {k: _NONCE.sub("'nonce-*'", v) for k, v in (answer.headers if answer else {}).items()
                   if k in WATCHED_HEADERS}
        scripts = {urlsplit(r.url).path: integrity_of(r.body()) for r in responses}
        inline = page.eval_on_selector_all("script:not([src])", "els => els.map(e => e.textContent)")
        integrity = dict(page.eval_on_selector_all(
            "script[src]", "els => els.map(e => [new URL(e.src).pathname, e.getAttribute('integrity') || ''])"))
        page.close()
    return {"status": answer.status if answer else None, "headers": dict(sorted(headers.items())),
            "scripts": dict(sorted(scripts.items())), "inlineScripts": sorted(integrity_of(t.encode()) for t in inline),
            "integrity": dict(sorted(integrity.items()))}


def changes(before: dict, now: dict) -> list[str]:
    """What differs between two records of :func:`record_page`, one line each."""
    found = []
    if before.get("status") != now.get("status"):
        found.append(f"status: {before.get('status')} -> {now.get('status')}")
    for key in ("headers", "scripts", "integrity"):
        old, new = before.get(key, {}), now.get(key, {})
        for name in sorted(set(old) | set(new)):
            if name not in new:
                found.append(f"{key}: {name} removed (was {old[name]})")
            elif name not in old:
                found.append(f"{key}: {name} added ({new[name]})")
            elif old[name] != new[name]:
                found.append(f"{key}: {name} changed: {old[name]} -> {new[name]}")
    if before.get("inlineScripts", []) != now.get("inlineScripts", []):
        found.append(f"inline scripts changed: {before.get('inlineScripts')} -> {now.get('inlineScripts')}")
    return found


# -- commands ---------------------------------------------------------------------------------
@click.group("pci", help="PCI DSS v4.0.1 payment-page duties (6.4.3 script inventory, 11.6.1 change detection).")
def pci_cli() -> None:
    pass


@pci_cli.command("inventory")
@click.option("--format", "form", type=click.Choice(["text", "json"]), default="text", show_default=True)
def inventory_command(form: str) -> None:
    """Every script each payment page can load, with its SRI hash and why it is there."""
    data = inventory()
    click.echo(json.dumps(data, indent=2) if form == "json" else format_inventory(data))
    if data["unjustified"]:
        click.echo("scripts without a reason in checkout/pci.py REASONS: " + ", ".join(data["unjustified"]),
                   err=True)
        sys.exit(1)


@pci_cli.command("watch")
@click.argument("url")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="The record to compare with (JSON); written when it does not exist yet.")
@click.option("--write", is_flag=True, help="Write this record as the new baseline.")
def watch_command(url: str, baseline: Path | None, write: bool) -> None:
    """Load URL in Chromium; record its security headers and the scripts it received; exit 1
    on any change from --baseline."""
    record = record_page(url)
    text = json.dumps(record, indent=2)
    if baseline is None:
        click.echo(text)
        return
    if write or not baseline.exists():
        baseline.write_text(text + "\n", encoding="utf-8")
        click.echo(f"baseline written to {baseline}: {len(record['scripts'])} scripts, "
                   f"{len(record['headers'])} headers")
        return
    found = changes(json.loads(baseline.read_text(encoding="utf-8")), record)
    if found:
        click.echo(f"{len(found)} change(s) since {baseline}:")
        for line in found:
            click.echo("  " + line)
        sys.exit(1)
    click.echo(f"no change: {len(record['scripts'])} scripts, {len(record['headers'])} headers as in {baseline}")
