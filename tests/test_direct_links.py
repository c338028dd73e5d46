"""Direct links (``/d/<token>``) over HTTP with the Flask client and the real sandbox
gateway in-process: the API answers with one; opening it goes straight to the method's
page (no page of ours), or asks only for the fields the request lacked, or shows a
crypto quote; the way back asks the gateway and ends on the merchant's URL with a
signature that ``results.verify`` accepts; gateway trouble is a calm pending page."""
from __future__ import annotations

import base64
import re
import time
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import DEMO_AUTH, base_config, follow, hand_over_target, seed_request

from checkout import create_app, results, tokens
from checkout import store as st
from checkout.gateway.base import CryptoQuote
from checkout.views import direct

SECRET = "test_secret"
UPI = {"personId": "jane@okaxis", "firstName": "Jane", "lastName": "Doe", "phone": "9555777666"}
PENDING_SECONDS = 1


class Page(HTMLParser):
    """The inputs (name -> attributes), error texts and images of a page."""

    def __init__(self, html: str):
        super().__init__()
        self.inputs: dict[str, dict] = {}
        self.images: list[dict] = []
        self.errors: dict[str, str] = {}
        self._error: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "input":
            self.inputs[a.get("name", "")] = a
        elif tag == "img":
            self.images.append(a)
        elif tag == "p" and "error" in a.get("class", "").split():
            self._error = a.get("id", "").removesuffix("-error")

    def handle_data(self, data):
        if self._error:
            self.errors[self._error] = data.strip()
            self._error = None


@pytest.fixture
def app(tmp_path, database):
    return create_app(base_config(tmp_path, DATABASE=database, SANDBOX_PENDING_SECONDS=PENDING_SECONDS))


@pytest.fixture
def client(app):
    return app.test_client()


def link_body(type_id: int, data: dict | None = None, **overrides) -> dict:
    body = seed_request(**overrides)
    body.pop("page", None)
    body["data"] = {**(data or {}), "paymentTypeId": type_id}
    return body


def direct_link(client, type_id: int, data: dict | None = None, **overrides) -> str:
    """POST /payments/link as the demo merchant; the direct link's path."""
    response = client.post("/payments/link", json=link_body(type_id, data, **overrides), auth=DEMO_AUTH)
    assert response.status_code == 200, response.json
    action = response.json["link"]["action"]
    assert urlsplit(action).path.startswith("/d/"), action
    return urlsplit(action).path


def token_of(path: str) -> str:
    return path.split("/")[2]


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def merchant_result(response, kind: str) -> dict[str, str]:
    """The merchant's ``kind`` URL with a verified signature; its fields."""
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert location.startswith(f"https://example.com/{kind}?"), location
    query = urlsplit(location).query
    assert results.verify(query, SECRET)
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


def checkout_row(app, path: str):
    with app.app_context():
        cid = tokens.load_checkout(token_of(path))["cid"]
    return app.extensions["checkout.store"].get(cid)


def ledger(app):
    return app.extensions["sandbox.ledger"]


def text(response) -> str:
    return response.get_data(as_text=True)


# -- the merchant API ----------------------------------------------------------------------
def test_payments_link_answers_a_direct_link_with_an_apm_token(app, client):
    response = client.post("/payments/link", json=link_body(1, {"personId": "success@bank"}), auth=DEMO_AUTH)
    answer = response.json
    assert (answer["success"], answer["message"]) == (True, None)
    assert set(answer["model"]) == {"checkoutId", "expiresAt"}
    assert answer["link"]["method"] == "get"
    assert answer["link"]["action"].startswith("http://localhost/d/")
    with app.app_context():
        payload = tokens.load_checkout(answer["link"]["action"].rsplit("/d/", 1)[1])
    assert payload["mode"] == "apm" and payload["paymentTypeId"] == 1
    assert payload["data"] == {"personId": "success@bank"}
    # The card payment page does not serve a direct link's token (and vice versa).
    assert client.get("/c/" + payload_token(answer)).status_code == 501


def payload_token(answer: dict) -> str:
    return answer["link"]["action"].rsplit("/d/", 1)[1]


def test_a_checkout_token_is_not_a_direct_link(client):
    body = seed_request()
    action = client.post("/checkout/link", json=body, auth=DEMO_AUTH).json["link"]["action"]
    assert client.get("/d/" + action.rsplit("/c/", 1)[1]).status_code == 501
    assert client.get("/d/nonsense").status_code == 404


# -- no page of ours -------------------------------------------------------------------------
def test_straight_to_the_methods_page_then_approved(app, client):
    path = direct_link(client, 2000, UPI, currency="INR", amount=500, invoiceId="direct-upi")
    opened = client.get(path)
    assert opened.status_code == 303
    apm_page = opened.headers["Location"]
    assert apm_page.startswith("http://localhost/sandbox/apm/"), apm_page
    assert opened.headers["Cache-Control"] == "no-store"
    row = checkout_row(app, path)
    assert row.state == st.PENDING and row.transaction_id
    sent = ledger(app).find(id=int(row.transaction_id))
    assert (sent["payment_type_id"], sent["person_id"], Decimal(sent["amount"]), sent["currency"]) == (
        2000, "jane@okaxis", 500, "INR")
    assert sent["success_url"] == f"http://localhost{path}/return"  # the way back is ours
    # The customer approves at the method's page, which sends them to our way back.
    back = client.post(local(apm_page), data={"decision": "approve"})
    assert back.status_code == 303 and local(back.headers["Location"]) == f"{path}/return"
    result = merchant_result(client.get(f"{path}/return?status=forged"), "success")
    assert (result["status"], result["statusCode"], result["invoiceId"]) == ("Completed", "4", "direct-upi")
    assert (result["amount"], result["currency"], result["transactionId"]) == ("500.00", "INR", row.transaction_id)
    # Single use: opening the link again says it is paid and charges nothing.
    again = client.get(path)
    assert again.status_code == 200 and "This payment is complete" in text(again)
    assert ledger(app).count("pbid_test", "direct-upi") == 1


def test_declined_at_the_methods_page_goes_to_the_failure_url(app, client):
    path = direct_link(client, 2000, UPI, currency="INR", amount=500)
    apm_page = client.get(path).headers["Location"]
    client.post(local(apm_page), data={"decision": "decline"})
    result = merchant_result(client.get(f"{path}/return"), "failure")
    assert (result["status"], result["statusCode"], result["reasonCode"]) == ("Declined", "99", "5001")
    assert checkout_row(app, path).state == st.DECLINED
    page = client.get(path)
    assert page.status_code == 200 and "This payment was declined" in text(page)


def test_the_way_back_while_pending_answers_202(app, client):
    path = direct_link(client, 2000, UPI, currency="INR", amount=500)
    client.get(path)
    waiting = client.get(f"{path}/return")
    assert waiting.status_code == 202 and "We are confirming your payment" in text(waiting)
    assert f'data-poll="{path}/return"' in text(waiting)


def test_the_test_method_settles_at_once(app, client):
    """The seed's APM Test Payment with ``success@bank``: straight to the merchant."""
    path = direct_link(client, 1, {"personId": "success@bank"})
    result = merchant_result(client.get(path), "success")
    assert result["status"] == "Completed"
    path = direct_link(client, 1, {"personId": "failure@bank"}, invoiceId="test-failure")
    result = merchant_result(client.get(path), "failure")
    assert result["status"] == "Declined" and result["invoiceId"] == "test-failure"


def test_a_paid_direct_link_returns_to_the_merchant(app, client):
    """Opened again once paid: its "Return to the merchant" signs the result and goes."""
    path = direct_link(client, 1, {"personId": "success@bank"}, invoiceId="again")
    merchant_result(client.get(path), "success")
    again = client.get(path)
    leave = re.search(r'href="([^"]*/finish/success[^"]*)"', text(again))
    assert leave, text(again)
    result = merchant_result(client.get(leave[1].replace("&amp;", "&")), "success")
    assert result["status"] == "Completed" and result["invoiceId"] == "again"


def test_head_and_prefetch_start_nothing(app, client):
    path = direct_link(client, 2000, UPI, currency="INR", amount=500, invoiceId="prefetched")
    assert client.head(path).status_code == 200
    assert client.get(path, headers={"Sec-Purpose": "prefetch"}).status_code == 503
    assert checkout_row(app, path).state == st.OPEN
    assert ledger(app).count("pbid_test", "prefetched") == 0


# -- a page of ours only for what is missing -------------------------------------------------
def test_missing_fields_page_asks_only_for_them(app, client):
    path = direct_link(client, 2000, {"firstName": "Jane", "lastName": "Doe"}, currency="INR", amount=500,
                       invoiceId="fields")
    page = client.get(path)
    assert page.status_code == 200
    html = text(page)
    assert "Pay with UPI" in html and "₹500.00" in html
    inputs = Page(html).inputs
    assert set(inputs) == {"csrf_token", "personId", "phone"}
    assert inputs["phone"]["type"] == "tel" and inputs["phone"]["autocomplete"] == "tel"
    assert '<label for="personId">UPI ID</label>' in html and '<label for="phone">Mobile number</label>' in html
    assert not Page(html).errors  # merely missing: asked, not scolded
    assert ledger(app).count("pbid_test", "fields") == 0 and checkout_row(app, path).state == st.OPEN


def test_bad_field_values_are_refused_with_messages(app, client):
    path = direct_link(client, 2000, {"firstName": "Jane", "lastName": "Doe"}, currency="INR", amount=500,
                       invoiceId="fields")
    csrf = Page(text(client.get(path))).inputs["csrf_token"]["value"]
    sent = client.post(path, data={"csrf_token": csrf, "personId": "not a upi id", "phone": "12345"})
    # post/redirect/get: the link's page shows the fields as sent, with what is wrong
    assert sent.status_code == 303 and urlsplit(sent.headers["Location"]).path == path
    refused = follow(client, sent)
    assert refused.status_code == 422
    page = Page(text(refused))
    assert page.errors == {"personId": "Enter a valid UPI ID, like name@bank.",
                           "phone": "Enter a valid Indian mobile number."}
    assert page.inputs["personId"]["value"] == "not a upi id"
    assert page.inputs["personId"]["aria-invalid"] == "true"
    assert "Please check the highlighted fields." in text(refused)
    # Without the form's token: refused, nothing started.
    forged = client.post(path, data={"personId": "jane@okaxis", "phone": "9555777666"})
    assert forged.status_code == 303 and urlsplit(forged.headers["Location"]).path == path
    forged = follow(client, forged)
    assert forged.status_code == 422 and "This form has expired" in text(forged)
    assert ledger(app).count("pbid_test", "fields") == 0
    # Fixed: on to the method's page, with what the customer typed and the request's data.
    sent = client.post(path, data={"csrf_token": csrf, "personId": "jane@okaxis", "phone": "95557 77666"})
    assert sent.status_code == 303 and urlsplit(sent.headers["Location"]).path == f"{path}/bank"
    assert "/sandbox/apm/" in hand_over_target(follow(client, sent))
    row = ledger(app).find(id=int(checkout_row(app, path).transaction_id))
    assert (row["person_id"], row["name"]) == ("jane@okaxis", "")


def test_a_value_the_method_refuses_is_shown_with_its_error(client):
    path = direct_link(client, 2000, {**UPI, "phone": "12"}, currency="INR", amount=500)
    page = Page(text(client.get(path)))
    assert set(page.inputs) == {"csrf_token", "phone"}
    assert page.inputs["phone"]["value"] == "12"
    assert page.errors == {"phone": "Enter a valid Indian mobile number."}


def test_cross_site_post_is_refused(client):
    path = direct_link(client, 2000, {}, currency="INR", amount=500)
    response = client.post(path, data={}, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403


def test_fields_page_cancel(app, client):
    path = direct_link(client, 2000, {}, currency="INR", amount=500)
    assert f'href="{path}/cancel"' in text(client.get(path))
    result = merchant_result(client.get(f"{path}/cancel"), "cancel")
    assert result["status"] == "Cancelled"


@pytest.mark.parametrize("type_id, currency, field, says", [
    (999999, "USD", "data.paymentTypeId", "999999 is not a payment method of the APM catalogue"),
    (2, "USD", "data.paymentTypeId", "APM Test Payout (2) is a payout method: it takes no payments"),
    (2000, "USD", "currency", "UPI (2000) takes INR, not USD"),
    (4012, "USD", "currency", "Direct PIX (4012) takes BRL, not USD"),
    (10100, "BTC", "currency", "must be an ISO 4217 currency code, e.g. USD: BTC, Bitcoin (10100) takes the "
                               "price in such a currency and the gateway quotes it in BTC"),
])
def test_the_api_refuses_a_link_its_method_cannot_pay(app, client, type_id, currency, field, says):
    """Checked against the catalogue when the link is made, not when the customer opens it."""
    response = client.post("/payments/link", json=link_body(type_id, {}, currency=currency), auth=DEMO_AUTH)
    assert response.status_code == 400
    assert response.json["errors"][field] == says and response.json["message"] == f"{field}: {says}"


@pytest.mark.parametrize("type_id, currency, says", [
    (999999, "USD", "This payment method is not available"),
    (2, "USD", "This payment method is not available"),  # payout only
    (2000, "USD", "UPI does not take payments in USD."),
])
def test_a_link_made_before_the_check_says_so_when_opened(app, client, type_id, currency, says):
    with app.test_request_context():
        token = tokens.sign_checkout({"m": "pbid_test", "amount": "10.66", "currency": currency, "mode": "apm",
                                      "paymentTypeId": type_id, "successUrl": "https://example.com/success",
                                      "failureUrl": "https://example.com/failure"})
    response = client.get(f"/d/{token}")
    assert response.status_code == 422 and says in text(response)


def test_the_seeds_own_link_example_can_be_paid(app, client):
    """The seed's main Link request (10.66 USD, countryCode BR, Banco Itau 1000) makes a
    link that goes on to the method's page (the sandbox's), not to "not in USD"."""
    seed = {"personId": "4000878749933", "phone": "+73838247553", "address": "Wall Street 14-49",
            "city": "New York", "firstName": "John", "lastName": "Doe", "countryCode": "BR"}
    path = direct_link(client, 1000, seed, currency="USD", amount=10.66)
    response = client.get(path)
    assert response.status_code == 303 and "/sandbox/apm/" in response.headers["Location"]
    assert checkout_row(app, path).state == st.PENDING


def test_expired_link_starts_nothing(app, client):
    with app.test_request_context():
        payload = {**tokens.load_checkout(token_of(direct_link(client, 2000, UPI, currency="INR", amount=500))),
                   "exp": int(time.time()) - 1}
        token = tokens.sign_checkout(payload)
    response = client.get(f"/d/{token}")
    assert response.status_code == 410 and "This payment link has expired" in text(response)


# -- gateway trouble -------------------------------------------------------------------------
def test_gateway_trouble_is_a_pending_page(tmp_path):
    app = create_app(base_config(tmp_path, GATEWAY_URL="http://127.0.0.1:9", GATEWAY_TIMEOUT=1))
    client = app.test_client()
    path = direct_link(client, 2000, UPI, currency="INR", amount=500)
    response = client.get(path)
    assert response.status_code == 202
    assert "We are confirming your payment" in text(response)
    assert f'href="{path}/return"' in text(response)
    assert checkout_row(app, path).state == st.PENDING
    assert client.get(f"{path}/return").status_code == 202  # still unknown: still pending


# -- crypto ----------------------------------------------------------------------------------
def test_crypto_quote_page_then_settled(app, client):
    path = direct_link(client, 10100, {}, invoiceId="btc")
    page = client.get(path)
    assert page.status_code == 200
    html = text(page)
    row = ledger(app).find(id=int(checkout_row(app, path).transaction_id))
    assert row["address"].startswith("tb1") and row["crypto_amount"] == "0.00016400"  # 10.66 USD at 65000
    assert f'id="crypto-address" class="copyable">{row["address"]}<' in html
    assert '<span id="crypto-amount" class="copyable">0.00016400</span> <span id="crypto-asset">BTC</span>' in html
    assert "Bitcoin network" in html
    qr = [i for i in Page(html).images if "qr" in i.get("class", "")][0]
    assert qr["src"].startswith("data:image/svg+xml;base64,") and qr["alt"].startswith("QR code of the payment")
    svg = base64.b64decode(qr["src"].split(",", 1)[1]).decode()
    assert svg.startswith("<svg") and "<path" in svg
    timer = re.search(r'role="timer"[^>]*data-seconds="(\d+)"[^>]*>(\d+:\d\d)<', html)
    assert timer and 890 <= int(timer.group(1)) <= 900 and timer.group(2) in ("15:00", "14:59", "14:58")
    countdown = r'<script src="/assets/js/countdown\.[0-9a-f]{12}\.js" integrity="sha384-[^"]+" nonce="[^"]+"'
    assert re.search(countdown, html)
    assert f'href="{path}/return">Check payment status</a>' in html
    assert client.get(f"{path}/return").status_code in (202, 303)
    time.sleep(PENDING_SECONDS + 0.2)
    result = merchant_result(client.get(f"{path}/return"), "success")
    assert (result["status"], result["invoiceId"], result["amount"]) == ("Completed", "btc", "10.66")


def test_usdt_qr_holds_the_address():
    quote = CryptoQuote(address="0x" + "ab" * 20, amount="10.66", asset="USDT", network="ERC20",
                        expires_at="2030-01-01T00:00:00Z")
    assert direct.payment_uri(quote) == quote.address
    btc = CryptoQuote(address="tb1qexample", amount="0.001", asset="BTC", network="bitcoin", expires_at="x")
    assert direct.payment_uri(btc) == "bitcoin:tb1qexample?amount=0.001"


def test_expired_quote_offers_a_new_one(tmp_path):
    app = create_app(base_config(tmp_path, SANDBOX_PENDING_SECONDS=600, SANDBOX_QUOTE_SECONDS=3))
    client = app.test_client()
    path = direct_link(client, 7009, {}, currency="USD", invoiceId="usdt")
    first = client.get(path)
    assert first.status_code == 200 and "ERC20 network" in text(first)
    old = checkout_row(app, path).transaction_id
    time.sleep(3.1)
    expired = client.get(f"{path}/return")
    assert expired.status_code == 200 and "This quote has expired." in text(expired)
    assert "Get a new quote" in text(expired) and "data-poll" not in text(expired)
    csrf = Page(text(expired)).inputs["csrf_token"]["value"]
    assert client.post(f"{path}/quote", data={}).status_code == 303  # no token: nothing new
    assert ledger(app).count("pbid_test", "usdt") == 1
    renewed = client.post(f"{path}/quote", data={"csrf_token": csrf})
    assert renewed.status_code == 303 and renewed.headers["Location"] == path
    new = checkout_row(app, path)
    assert new.state == st.PENDING and new.transaction_id != old
    assert ledger(app).count("pbid_test", "usdt") == 2
    page = text(client.get(path))
    assert ledger(app).find(id=int(new.transaction_id))["address"] in page
    assert "Waiting for your payment." in page
    # A second post for the same (now open) quote makes nothing new.
    client.post(f"{path}/quote", data={"csrf_token": csrf})
    assert ledger(app).count("pbid_test", "usdt") == 2
