"""The hostile-input suite in real Chromium (issue 11): every payload of
tests/hostile_payloads.py in every field of a checkout link, a payout and the unsigned
widget, rendered as the customer sees it: the payment page, the widget's page inside a
merchant's frame and the payout page. Each round puts a different payload in each field of
one link (a Latin square: after ``len(PAYLOADS)`` rounds each payload met each field);
a field whose value the API refuses keeps its ordinary value. Each render checks that no
script of a payload ran (``window.__pwned``, no dialog), that no request left 127.0.0.1
(every other one is aborted and recorded), that the CSP reported no violation, and that no
element or style was injected (no ``on*`` attribute, no ``iframe[srcdoc]``, no script or
style element without the page's nonce)."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from conftest import DEMO_AUTH, LiveServer, seed_request, serve_site
from flask import Flask, request
from hostile_payloads import JSON_ODDITIES, PAYLOADS
from test_hostile import WIDGET, query_string, set_path
from test_payouts import payout_request

pytestmark = pytest.mark.browser
VALUES = [*PAYLOADS.values(), *JSON_ODDITIES.values()]
CHECKOUT_FIELDS = ["description", "invoiceId", "accountId", "data.firstName", "data.lastName", "data.email",
                   "page.merchantTitle", "page.footerText", "page.logo", "page.bodyFont", "page.payButtonColor",
                   "page.leftContainerBackgroundColor", "page.formControlBorderRadius", "cancelUrl", "locale"]
PAYOUT_FIELDS = ["customer.externalUserId", "customer.firstName", "customer.lastName", "customer.email",
                 "customer.phoneNumber", "customer.billing.address", "customer.billing.city",
                 "customer.billing.postalCode", "orderId", "locale"]
WIDGET_FIELDS = ["description", "invoiceId", "accountId", "locale", "amount", "currency"]
FIGURES = {"payloads tried": 0, "accepted": 0, "renders": 0, "checks": 0}

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
}, true);
"""
INJECTED = """() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.getAttributeNames()) {
      if (attr.startsWith("on")) found.push(el.tagName + "[" + attr + "]");
    }
  }
  for (const el of document.querySelectorAll("iframe[srcdoc], base, object, embed, meta[http-equiv]"))
    found.push(el.tagName + " " + el.outerHTML.slice(0, 60));
  for (const el of document.querySelectorAll("script, style"))
    if (!el.nonce && !el.hasAttribute("nonce")) found.push(el.tagName + " without nonce " + el.outerHTML.slice(0, 60));
  for (const el of document.querySelectorAll("link[rel~=stylesheet], link[rel~=import]"))
    if (new URL(el.href).hostname !== "127.0.0.1") found.push("LINK " + el.href);
  return found;
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    merchants = tmp / "merchants.json"
    merchants.write_text(json.dumps([
        {"publicId": "pbid_test", "secret": DEMO_AUTH[1], "name": "Demo Store", "allowUnsignedWidget": True,
         "allowedOrigins": ["http://127.0.0.1:*"]}]))
    yield from serve_site(tmp, "inprocess", MERCHANTS_FILE=str(merchants))


@pytest.fixture(scope="module")
def shop():
    """A merchant's page on 127.0.0.1 (another port: another origin) framing ``src``."""
    app = Flask("hostile-shop")

    @app.get("/")
    def page():
        src = request.args["src"].replace('"', "%22")
        return f'<!doctype html><title>Shop</title><iframe id=checkout src="{src}" style="width:420px;height:600px">' \
               "</iframe>"

    @app.get("/unescaped")
    def unescaped():
        """The payloads as a careless page would show them: what the checks must catch."""
        shown = "".join(f"<p>{v}</p>" for v in PAYLOADS.values() if v != "\ud800")  # not encodable
        return "<!doctype html><title>Careless</title>" + shown

    server = LiveServer(app)
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def watched(browser):
    """One page whose every request off 127.0.0.1 is aborted and recorded, dialogs too."""
    context = browser.new_context(locale="en-US")
    outside: list[str] = []
    dialogs: list[str] = []

    def route(r):
        url = r.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    context.route("**/*", route)
    context.add_init_script(WATCH)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield pg, outside, dialogs
    context.close()


def _greedy(fields: list[str], round_: int, base, accepted) -> tuple[object, int]:
    """``base`` with the round's payload in each field the API accepts it in."""
    body, taken = base, 0
    for i, field in enumerate(fields):
        candidate = set_path(body, field, VALUES[(i + round_) % len(VALUES)]) if isinstance(body, dict) \
            else {**body, field: VALUES[(i + round_) % len(VALUES)]}
        FIGURES["payloads tried"] += 1
        if accepted(candidate):
            body, taken = candidate, taken + 1
    FIGURES["accepted"] += taken
    return body, taken


def _check(page, outside, dialogs, site_url: str, what: str) -> list[str]:
    """What went wrong in the page just loaded (its frames from ``site_url`` included)."""
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)  # let an injected onload/onerror handler run, were there one
    FIGURES["renders"] += 1
    problems = []
    for frame in page.frames:
        if frame.url.startswith("about:") or not frame.url:
            continue
        FIGURES["checks"] += 4
        if frame.evaluate("window.__pwned"):
            problems.append(f"{what}: a payload's script ran in {frame.url[:80]}")
        csp = frame.evaluate("window.__csp || []")
        if csp:
            problems.append(f"{what}: CSP violations {csp[:3]}")
        if frame.url.startswith(site_url):
            injected = frame.evaluate(INJECTED)
            if injected:
                problems.append(f"{what}: injected {injected[:3]}")
    if outside:
        problems.append(f"{what}: requests left 127.0.0.1: {outside[:3]}")
    if dialogs:
        problems.append(f"{what}: dialogs {dialogs[:3]}")
    outside.clear()
    dialogs.clear()
    return problems


def test_payloads_in_every_field_run_nothing_inject_nothing_and_stay_on_loopback(site, shop, watched):
    page, outside, dialogs = watched
    client = site.app.test_client()
    own = {f"{k}Url": f"{site.url}/demo/result/{k}" for k in ("success", "failure", "pending", "cancel")}
    problems: list[str] = []

    def checkout_ok(body) -> bool:
        return client.post("/checkout/link", json=body, auth=DEMO_AUTH, base_url=site.url).status_code == 200

    def payout_ok(body) -> bool:
        return client.post("/payouts", json=body, auth=DEMO_AUTH, base_url=site.url).status_code == 200

    def widget_ok(options) -> bool:
        response = client.get("/widget/checkout?" + query_string(options), base_url=site.url,
                              headers={"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "cross-site"})
        return response.status_code == 303

    for round_ in range(len(VALUES)):
        body, _taken = _greedy(CHECKOUT_FIELDS, round_, seed_request(**own, invoiceId=f"h-{round_}"), checkout_ok)
        body.setdefault("invoiceId", f"h-{round_}")
        link = client.post("/checkout/link", json=body, auth=DEMO_AUTH, base_url=site.url).json["link"]["action"]
        page.goto(link)
        assert page.locator("form[action$='/card']").count() == 1, page.url
        problems += _check(page, outside, dialogs, site.url, f"round {round_} payment page")

        body, _taken = _greedy(PAYOUT_FIELDS, round_, payout_request(orderId=f"hp-{round_}"), payout_ok)
        answer = client.post("/payouts", json=body, auth=DEMO_AUTH, base_url=site.url).json
        page.goto(answer["iframeUrls"]["card"])
        problems += _check(page, outside, dialogs, site.url, f"round {round_} payout page")

        options, _taken = _greedy(WIDGET_FIELDS, round_, {**WIDGET, "origin": shop}, widget_ok)
        src = f"{site.url}/widget/checkout?{query_string(options)}"
        page.goto(f"{shop}/?src={query_string({'': src})[1:]}")
        page.frame_locator("#checkout").locator("form").first.wait_for()
        assert any("/c/" in f.url and "embed=1" in f.url for f in page.frames), [f.url for f in page.frames]
        problems += _check(page, outside, dialogs, site.url, f"round {round_} widget frame")
    print(f"\nChromium hostile suite: {len(VALUES)} payloads; " + ", ".join(f"{k}: {v}" for k, v in FIGURES.items()))
    assert FIGURES["renders"] == 3 * len(VALUES)
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"


def test_the_checks_catch_a_careless_page(shop, watched):
    """The same checks on a page that shows the payloads unescaped report what ran."""
    page, outside, dialogs = watched
    page.goto(f"{shop}/unescaped")
    found = _check(page, outside, dialogs, shop, "careless page")
    FIGURES["renders"] -= 1
    assert any("script ran" in p for p in found), found
    assert any("injected" in p for p in found), found
    assert any("left 127.0.0.1" in p for p in found), found
