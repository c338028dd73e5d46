"""Direct links in real Chromium, with the sandbox gateway in-process and as its own
server on another origin: a direct link goes straight to the method's page (no page of
ours on the way), and a crypto direct link shows its quote with a QR code and a live
countdown, then settles by itself and lands on the merchant's URL."""
from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import DEMO_AUTH, Site, seed_request, serve_site

from checkout import results

pytestmark = pytest.mark.browser
SECRET = "test_secret"
UPI = {"personId": "jane@okaxis", "firstName": "Jane", "lastName": "Doe", "phone": "9555777666"}
#: The sandbox settles a crypto quote this long after it was made (long enough to watch
#: the countdown first).
SETTLE_SECONDS = 4


@pytest.fixture(params=["inprocess", "standalone"])
def site(request, tmp_path) -> Iterator[Site]:
    yield from serve_site(tmp_path, request.param, SANDBOX_PENDING_SECONDS=SETTLE_SECONDS)


def direct_link(site: Site, type_id: int, data: dict, **overrides) -> str:
    body = seed_request(**{"successUrl": f"{site.url}/demo/result/success",
                           "failureUrl": f"{site.url}/demo/result/failure",
                           "pendingUrl": f"{site.url}/demo/result/pending",
                           "cancelUrl": f"{site.url}/demo/result/cancel", **overrides})
    body.pop("page", None)
    body["data"] = {**data, "paymentTypeId": type_id}
    with site.app.test_client() as c:
        response = c.post("/payments/link", json=body, auth=DEMO_AUTH, base_url=site.url)
    assert response.status_code == 200, response.json
    link = response.json["link"]["action"]
    assert link.startswith(f"{site.url}/d/")
    return link


def gateway_base(site: Site) -> str:
    return site.app.config["GATEWAY_URL"] if site.mode == "standalone" else f"{site.url}/sandbox"


def landed(page, kind: str) -> dict:
    page.wait_for_url(re.compile(rf"/demo/result/{kind}\?"), timeout=20_000)
    query = urlsplit(page.url).query
    assert results.verify(query, SECRET), page.url
    assert page.text_content("#verified").strip() == "The signature verifies."
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


def test_direct_link_goes_straight_to_the_method(site, page):
    documents = []
    page.on("response", lambda r: documents.append(r.url) if r.request.resource_type == "document" else None)
    link = direct_link(site, 2000, UPI, currency="INR", amount=500, invoiceId="direct-browser")
    response = page.goto(link)
    # The first page the browser shows is the gateway's: ours only answered with a redirect.
    assert page.url.startswith(gateway_base(site) + "/apm/"), page.url
    assert response.request.redirected_from is not None and response.request.redirected_from.url == link
    assert documents[0] == link and documents[1] == page.url
    assert page.text_content("h1").strip() == "UPI"
    page.click("button[value=approve]")
    result = landed(page, "success")
    assert (result["status"], result["invoiceId"], result["currency"]) == ("Completed", "direct-browser", "INR")
    assert site.ledger.count("pbid_test", "direct-browser") == 1


def test_crypto_direct_link_shows_the_quote_and_settles(site, page):
    page.goto(direct_link(site, 10100, {}, invoiceId="btc-browser"))
    assert page.text_content("h1").strip() == "Pay with BTC, Bitcoin"
    row = site.ledger.for_invoice("pbid_test", "btc-browser")[0]
    assert page.text_content("#crypto-address").strip() == row["address"]
    assert page.text_content("#crypto-amount").strip() == row["crypto_amount"] == "0.00016400"
    assert page.text_content("#crypto-asset").strip() == "BTC"
    qr = page.locator("img.qr")
    assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
    assert qr.get_attribute("alt").startswith("QR code of the payment")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the CSP let it render
    before = page.text_content("[role=timer]")
    assert re.fullmatch(r"1[45]:\d\d", before), before
    page.wait_for_function("t => document.querySelector('[role=timer]').textContent !== t", arg=before,
                           timeout=3_000)
    assert page.text_content("#crypto-status").startswith("Waiting for your payment.")
    # The page polls the status; the sandbox settles the quote SETTLE_SECONDS after it was made.
    result = landed(page, "success")
    assert (result["status"], result["invoiceId"], result["amount"]) == ("Completed", "btc-browser", "10.66")


def test_crypto_direct_link_without_scripts(site, browser):
    """Scripts off: the "Check payment status" link asks the gateway, until it settles."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(direct_link(site, 7009, {}, invoiceId="usdt-noscript"))
        assert page.text_content("#crypto-asset").strip() == "USDT"
        assert page.locator("img.qr").get_attribute("src").startswith("data:image/svg+xml;base64,")
        for _ in range(SETTLE_SECONDS * 4):
            page.click("text=Check payment status")
            if "/demo/result/" in page.url:
                break
            assert page.locator("#crypto-address").count() == 1  # still the quote page
            page.wait_for_timeout(500)
        assert landed(page, "success")["status"] == "Completed"
    finally:
        context.close()
