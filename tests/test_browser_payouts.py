"""A customer receiving a payout in real Chromium, with the sandbox gateway in-process and as
its own server: a card payout and an APM payout (SEPA, pending then processed) on the full
page, and an APM Test Payout inside an iframe on a merchant's page on another site
(``localhost``), which hears ``payout:processed`` from the checkout's exact origin."""
from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import DEMO_AUTH, LiveServer, serve_site
from flask import Flask, request

pytestmark = pytest.mark.browser
CUSTOMER = {"externalUserId": "user-7", "firstName": "John", "lastName": "Doe", "email": "john@doe.com",
            "billing": {"countryCode": "DE"}}


@pytest.fixture(params=["inprocess", "standalone"])
def site(request, tmp_path):
    yield from serve_site(tmp_path, request.param, SANDBOX_PENDING_SECONDS=1)


@pytest.fixture(scope="module")
def shop():
    """The merchant's page on ``localhost`` (another site than the checkout on 127.0.0.1):
    frames ``src`` and records every message it receives."""
    app = Flask("payout-shop")

    @app.get("/")
    def page():
        return f"""<!doctype html><title>Shop</title><h1>Withdraw</h1>
<iframe id="payout" title="Payout form" src="{request.args['src']}" style="width:420px;height:640px;border:0"></iframe>
<script>
  window.messages = [];
  var frame = document.getElementById("payout");
  window.addEventListener("message", function (e) {{
    window.messages.push({{origin: e.origin, fromFrame: e.source === frame.contentWindow, data: e.data}});
  }});
</script>"""

    server = LiveServer(app)
    yield server.url.replace("127.0.0.1", "localhost")
    server.stop()


def create_payout(site, **overrides) -> dict:
    body = {"orderId": f"wd-{time.time_ns()}", "amount": 25, "currency": "EUR", "kycVerified": True,
            "customer": CUSTOMER, "locale": "en_US", **overrides}
    with site.app.test_client() as c:
        response = c.post("/payouts", json=body, auth=DEMO_AUTH, base_url=site.url)
    assert response.status_code == 200, response.json
    return response.json


def payout_status(site, payout_id: str) -> str:
    with site.app.test_client() as c:
        return c.get(f"/payouts/{payout_id}", auth=DEMO_AUTH, base_url=site.url).json["status"]


def test_card_payout(site, page):
    answer = create_payout(site)
    page.goto(answer["iframeUrls"]["card"])
    assert page.text_content("#amount").strip() == "€25.00"
    assert page.input_value("#name") == "John Doe"  # from the payout's customer
    page.fill("#name", "")
    page.type("#name", "Jane Roe")
    page.click("#number")
    page.keyboard.type("4242424242424241")  # a typo: refused, the name is kept
    assert page.input_value("#number") == "4242 4242 4242 4241"  # card-input.js groups the digits
    page.click("button.pay")  # refused before sending (forms.js), with the server's message
    page.wait_for_selector("#number-error")
    assert page.text_content("#number-error").strip() == "This card number is not valid."
    assert page.input_value("#name") == "Jane Roe"
    page.fill("#number", "")
    page.click("#number")
    page.keyboard.type("4242424242424242")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-payout-status=PROCESSED]")
    assert page.text_content("h1").strip() == "Your payout has been sent"
    assert "€25.00 has been sent to 424242******4242." in page.text_content("main")
    assert "Status: Sent" in page.text_content("main")
    assert payout_status(site, answer["payoutId"]) == "PROCESSED"


def test_apm_payout_sepa_pending_then_processed(site, page):
    answer = create_payout(site)
    page.goto(answer["iframeUrls"]["apm"])
    page.get_by_label("SEPA Credit Transfer").check()
    page.click("button.pay")  # Continue
    page.wait_for_selector("[name=bankAccountNumber]")
    assert page.input_value("[name=name]") == "John Doe"
    page.click("[name=bankAccountNumber]")
    page.keyboard.type("DE89 3704 0044 0532 0130 01")  # wrong check digits
    page.click("button.pay")
    page.wait_for_selector(".field.has-error")
    assert "Enter a valid IBAN." in page.text_content(".field.has-error")
    page.fill("[name=bankAccountNumber]", "")
    page.keyboard.type("DE89 3704 0044 0532 0130 00")
    page.click("button.pay")
    page.wait_for_selector("[data-payout-status=PENDING]")  # an APM payout is Created first
    assert page.text_content("h1").strip() == "Your payout is being processed"
    # pending.js polls the status page; the sandbox settles the payout a second later.
    page.wait_for_selector("[data-payout-status=PROCESSED]", timeout=15_000)
    assert "has been sent to DE****************3000" in page.text_content("main")
    assert payout_status(site, answer["payoutId"]) == "PROCESSED"


def test_apm_test_payout_in_an_iframe_tells_the_parent(site, page, shop):
    answer = create_payout(site, currency="USD", customer={**CUSTOMER, "billing": {"countryCode": "US"}})
    src = f"{answer['iframeUrls']['apm']}?embed=1&origin={quote(shop, safe='')}"
    page.goto(f"{shop}/?src={quote(src, safe='')}")
    frame = page.frame_locator("#payout")
    frame.locator("[name=personId]").click()  # the only method for USD: its form comes at once
    page.keyboard.type("success@bank")
    frame.locator("button.pay").click()
    page.wait_for_function("window.messages.some(m => m.data && m.data.type === 'payout:processed')")
    messages = page.evaluate("window.messages")
    processed = next(m for m in messages if m["data"]["type"] == "payout:processed")
    assert processed["data"] == {"type": "payout:processed", "payoutId": answer["payoutId"], "status": "PROCESSED"}
    assert {(m["origin"], m["fromFrame"]) for m in messages} == {(site.url, True)}
    assert {m["data"]["type"] for m in messages} >= {"checkout:ready", "checkout:resize", "payout:processed"}
    assert frame.locator("h1").text_content().strip() == "Your payout has been sent"
    assert payout_status(site, answer["payoutId"]) == "PROCESSED"
    json.dumps(messages)  # plain data only


AXE = Path(__file__).parent.parent / "build" / "node" / "node_modules" / "axe-core" / "axe.min.js"


def test_payout_pages_have_no_axe_violations(browser, tmp_path):
    """axe-core (``make axe``) on every payout page state, in both languages."""
    if not AXE.is_file():
        pytest.skip("axe-core is not installed: make axe")
    site = next(gen := serve_site(tmp_path, "inprocess", SANDBOX_PENDING_SECONDS=60))
    context = browser.new_context(locale="en-US", bypass_csp=True)
    page = context.new_page()
    found = []

    def check(state):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        found.extend(f"{state}: {v['id']} at {node['target']}" for v in result["violations"] for node in v["nodes"])

    try:
        for locale in ("en_US", "ru_RU"):
            answer = create_payout(site, locale=locale)
            page.goto(answer["iframeUrls"]["card"])
            check(f"{locale} card form")
            page.fill("#number", "1234")
            page.click("button.pay")
            page.wait_for_selector("#number-error")
            check(f"{locale} card form with an error")
            page.goto(answer["iframeUrls"]["apm"])
            check(f"{locale} payout methods")
            page.locator("input[value='6000']").check()
            page.click("button.pay")
            page.wait_for_selector("[name=bankAccountNumber]")
            page.fill("[name=bankAccountNumber]", "DE00")
            page.click("button.pay")
            page.wait_for_selector(".has-error")
            check(f"{locale} SEPA fields with an error")
            page.fill("[name=bankAccountNumber]", "DE89 3704 0044 0532 0130 00")
            page.click("button.pay")
            page.wait_for_selector("[data-payout-status=PENDING]")
            check(f"{locale} pending")
            done = create_payout(site, locale=locale)
            page.goto(done["iframeUrls"]["card"])
            page.fill("#number", "4111111111111111")
            page.click("button.pay")
            page.wait_for_selector("[data-payout-status=REJECTED]")
            check(f"{locale} rejected")
            page.goto(done["iframeUrls"]["card"].rsplit("/", 1)[0])
            check(f"{locale} status page")
    finally:
        context.close()
        gen.close()
    assert not found, "\n".join(found)
