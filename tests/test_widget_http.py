"""widget.js and its unsigned entry point ``/widget/checkout``, and the sandbox's demo
store, over HTTP (the browser tests are in test_browser_embed.py)."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from conftest import base_config, follow, upgraded

from checkout import create_app, results, tokens

IFRAME = {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "cross-site"}
OPTIONS = {"publicId": "pbid_test", "amount": "68.54", "currency": "EUR", "invoiceId": "9264",
           "description": "Product purchasing example", "accountId": "foo@bar.com", "locale": "ru_RU",
           "origin": "http://localhost:8000"}


def test_widget_js_is_served_as_a_script(client):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"  # RFC 9239: the one JavaScript type
    assert "public" in response.headers["Cache-Control"] and "max-age=300" in response.headers["Cache-Control"]
    assert response.headers.get("ETag")
    source = response.get_data(as_text=True)
    assert "Checkout.prototype.charge" in source and '"*"' not in source  # never posts or accepts "*"
    assert client.get("/widget.js", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def _token_of(location: str) -> str:
    return urlsplit(location).path.rsplit("/c/", 1)[1]


def test_unsigned_options_make_an_embedded_checkout(app, client):
    response = client.get("/widget/checkout?" + urlencode(OPTIONS), headers=IFRAME)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert parse_qs(urlsplit(location).query) == {"embed": ["1"], "origin": ["http://localhost:8000"]}
    with app.app_context():
        payload = tokens.load_checkout(_token_of(location))
    assert (payload["amount"], payload["currency"], payload["invoiceId"], payload["accountId"]) == \
        ("68.54", "EUR", "9264", "foo@bar.com")
    assert payload["description"] == "Product purchasing example" and payload["locale"] == "ru_RU"
    # No result URLs from the merchant: the checkout's own neutral result page.
    assert payload["successUrl"] == "http://localhost/widget/result/success"
    assert payload["cancelUrl"] == "http://localhost/widget/result/cancel"
    page = client.get(location.split("localhost", 1)[1], headers=IFRAME)
    assert page.status_code == 200
    assert "frame-ancestors http://localhost:8000" in page.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_an_unsigned_checkout_opens_only_in_its_frame(client):
    """Anyone can send unsigned options: what they make is no full page to pass around."""
    location = client.get("/widget/checkout?" + urlencode(OPTIONS), headers=IFRAME).headers["Location"]
    path = location.split("localhost", 1)[1].split("?", 1)[0]
    assert client.get(path).status_code == 403
    assert client.get(path + "?embed=1&origin=http%3A%2F%2F127.0.0.1%3A9000", headers=IFRAME).status_code == 403
    assert client.get(path + "?embed=1&origin=http%3A%2F%2Flocalhost%3A8000", headers=IFRAME).status_code == 200
    # The same URL typed or shared and opened as a page of its own: refused.
    assert client.get(path + "?embed=1&origin=http%3A%2F%2Flocalhost%3A8000",
                      headers={"Sec-Fetch-Dest": "document"}).status_code == 403


def test_an_unsigned_checkout_never_offers_saved_cards(app, client, make_link):
    """The customer's saved cards come with a checkout the merchant's server signed, never
    with options anyone could type (or they could charge a stranger's card)."""
    signed = make_link(accountId=OPTIONS["accountId"], page={"merchantTitle": "Shop"})
    data = {"name": "Jane Doe", "number": "4242 4242 4242 4242", "expiry": "12 / 39", "cvv": "123"}
    html = client.get(signed).get_data(as_text=True)
    data["csrf_token"] = re.search(r'data-card-form.*?name="csrf_token"[^>]*value="([^"]+)"', html, re.S)[1]
    assert client.post(signed + "/card", data=data).status_code == 303
    assert "Your saved cards" in client.get(make_link(accountId=OPTIONS["accountId"], invoiceId="2")).get_data(
        as_text=True)
    location = client.get("/widget/checkout?" + urlencode(OPTIONS), headers=IFRAME).headers["Location"]
    framed = location.split("localhost", 1)[1]
    page = client.get(framed, headers=IFRAME).get_data(as_text=True)
    assert "Your saved cards" not in page
    with app.app_context():
        saved = app.extensions["sandbox.ledger"].cards("pbid_test", OPTIONS["accountId"])
    # Even a well-formed post naming the card (CSRF token and all) charges nothing.
    path, query = framed.split("?", 1)
    with app.app_context():
        cid = tokens.load_checkout(_token_of(path))["cid"]
        csrf_token = tokens.sign(f"{cid}:saved", tokens.CSRF_SALT, app)
    forced = client.post(f"{path}/saved?{query}", data={"card": saved[0]["token"], "csrf_token": csrf_token},
                         headers={"Sec-Fetch-Site": "same-origin"})
    assert forced.status_code == 303 and urlsplit(forced.headers["Location"]).path == path
    assert follow(client, forced).status_code == 422  # "choose a saved card": there are none here
    with app.app_context():
        assert app.extensions["sandbox.ledger"].count("pbid_test", OPTIONS["invoiceId"]) == 0


def test_no_fetch_metadata_is_refused(client):
    """A plain HTTP client sends no Sec-Fetch-Dest (every current browser's frame does):
    no checkout for it (issue 11, finding 4; a missing header used to count as a frame)."""
    response = client.get("/widget/checkout?" + urlencode(OPTIONS))
    assert response.status_code == 403 and "/c/" not in response.headers.get("Location", "")
    assert "Open the payment from the shop&#39;s page." in response.get_data(as_text=True)


@pytest.mark.parametrize("change, status", [
    ({"origin": "http://evil.example"}, 403),
    ({"origin": "https://localhost:8000"}, 403),
    ({"origin": None}, 403),
    ({"origin": "null"}, 403),
    ({"publicId": "pbid_nobody"}, 404),
    ({"publicId": None}, 404),
    ({"amount": "10.555"}, 400),
    ({"amount": "-1"}, 400),
    ({"currency": "XXZ"}, 400),
])
def test_unsigned_options_are_refused(client, change, status):
    options = {k: v for k, v in {**OPTIONS, **change}.items() if v is not None}
    response = client.get("/widget/checkout?" + urlencode(options), headers=IFRAME)
    assert response.status_code == status
    assert "/c/" not in response.headers.get("Location", "")
    assert "This payment cannot be started here" in response.get_data(as_text=True)


@pytest.mark.parametrize("dest", ["document", "script", "empty"])
def test_unsigned_options_only_inside_a_frame(client, dest):
    response = client.get("/widget/checkout?" + urlencode(OPTIONS), headers={"Sec-Fetch-Dest": dest})
    assert response.status_code == 403


def test_refusals_can_be_read_inside_the_merchants_frame(client):
    response = client.get("/widget/checkout?" + urlencode({**OPTIONS, "amount": "x"}), headers=IFRAME)
    assert "frame-ancestors http://localhost:* http://127.0.0.1:*" in response.headers["Content-Security-Policy"]
    unknown = client.get("/widget/checkout?" + urlencode({**OPTIONS, "publicId": "nobody"}), headers=IFRAME)
    assert "frame-ancestors 'none'" in unknown.headers["Content-Security-Policy"]


@pytest.fixture
def shops(tmp_path):
    path = tmp_path / "merchants.json"
    path.write_text(json.dumps([
        {"publicId": "pbid_signed_only", "secret": "s1", "allowedOrigins": ["http://localhost:*"]},
        {"publicId": "pbid_widget", "secret": "s2", "allowedOrigins": ["https://shop.example"],
         "allowUnsignedWidget": True, "redirectHosts": ["shop.example"],
         "successUrl": "https://shop.example/thanks", "failureUrl": "https://shop.example/sorry"},
    ]))
    app = create_app(base_config(tmp_path, MERCHANTS_FILE=str(path)))
    return app, app.test_client()


def test_merchants_must_allow_unsigned_widget_payments(shops):
    _, client = shops
    options = {**OPTIONS, "publicId": "pbid_signed_only"}
    response = client.get("/widget/checkout?" + urlencode(options), headers=IFRAME)
    assert response.status_code == 403
    assert "only accepts payments its server has prepared" in response.get_data(as_text=True)


def test_the_merchants_default_result_urls(shops):
    app, client = shops
    options = {**OPTIONS, "publicId": "pbid_widget", "origin": "https://shop.example"}
    response = client.get("/widget/checkout?" + urlencode(options), headers=IFRAME)
    assert response.status_code == 303
    with app.app_context():
        payload = tokens.load_checkout(_token_of(response.headers["Location"]))
    assert payload["successUrl"] == "https://shop.example/thanks"
    assert payload["failureUrl"] == "https://shop.example/sorry"
    # The ones it does not name are the checkout's own, despite its redirect hosts.
    assert payload["pendingUrl"] == "http://localhost/widget/result/pending"
    assert client.get("/widget/checkout?" + urlencode({**options, "origin": "http://localhost:1"}),
                      headers=IFRAME).status_code == 403


@pytest.mark.parametrize("kind", ["success", "failure", "pending", "cancel"])
def test_the_neutral_result_page(client, kind):
    response = client.get(f"/widget/result/{kind}")
    assert response.status_code == 200
    assert "You can close this window" in response.get_data(as_text=True)
    assert client.get("/widget/result/other").status_code == 404


# -- the demo store -----------------------------------------------------------------------------
def test_the_demo_store_is_the_landing_page(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Blue stoneware mug" in html and "$18.50" in html
    for way in ("pay-page", "pay-iframe", "pay-widget"):
        assert f'id="{way}"' in html
    csp = response.headers["Content-Security-Policy"]
    assert "frame-src 'self'" in csp and "frame-ancestors 'none'" in csp
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    assert re.search(rf'<script src="/widget.js" integrity="sha384-[A-Za-z0-9+/=]+" nonce="{nonce}">', html)
    assert "<script>" not in html and " on" + "click=" not in html


def test_demo_full_page_way(client):
    response = client.get("/demo/pay")
    assert response.status_code == 303 and "/c/" in response.headers["Location"]
    page = client.get(response.headers["Location"].split("localhost", 1)[1])
    assert "Blue stoneware mug" in page.get_data(as_text=True)


def test_demo_link_and_verify(app, client):
    answer = client.post("/demo/link", json={"locale": "ru_RU"})
    assert answer.status_code == 200
    with app.app_context():
        payload = tokens.load_checkout(answer.json["link"].rsplit("/c/", 1)[1])
    assert payload["amount"] == "18.50" and payload["locale"] == "ru_RU"
    assert payload["successUrl"] == "http://localhost/demo/result/success"
    fields = results.signed_params({"invoiceId": "demo-1", "transactionId": "7", "status": "Completed",
                                    "statusCode": 4, "amount": "18.50", "currency": "USD"}, "test_secret")
    assert client.post("/demo/verify", json={**fields, "type": "checkout:success"}).json == \
        {"verified": True, "asOrdered": True}
    assert client.post("/demo/verify", json={**fields, "amount": "1.00"}).json["verified"] is False
    # Genuinely signed, but for another amount (the widget's public options were changed).
    cheap = results.signed_params({**{k: fields[k] for k in ("invoiceId", "transactionId", "status", "statusCode",
                                                               "currency")}, "amount": "0.01"}, "test_secret")
    assert client.post("/demo/verify", json=cheap).json == {"verified": True, "asOrdered": False}
    assert client.post("/demo/verify", json=["x"]).status_code == 400


def test_no_demo_store_in_production(tmp_path):
    path = tmp_path / "merchants.json"
    path.write_text(json.dumps([{"publicId": "pbid_shop", "secret": "shop_secret"}]))
    app = create_app(base_config(tmp_path, MODE="production", SECRET_KEYS="k" * 40, MERCHANTS_FILE=str(path),
                                 GATEWAY_URL="https://api.gateway.example", PUBLIC_URL="https://pay.shop.example",
                                 DATABASE=upgraded(str(tmp_path / "checkout.sqlite3"))))
    client = app.test_client()
    for path in ("/", "/demo/pay", "/demo/result/success"):
        assert client.get(path).status_code == 404, path
    for path in ("/demo/link", "/demo/verify"):
        assert client.post(path, json={}).status_code == 404, path
    assert client.get("/widget.js").status_code == 200  # the widget is for production too


def test_closing_the_widget_on_a_cashier_is_no_payment(app, client, make_link):
    """The frame's question when the widget closes: where does this checkout stand?"""
    path = make_link(mode="cashier", amount=None, cashier={"presets": [10], "min": 5, "max": 50})
    page = client.get(path + "?embed=1&origin=http%3A%2F%2Flocalhost%3A8000", headers=IFRAME).get_data(as_text=True)
    standing = re.search(r'data-standing-url="([^"]+)"', page)[1].replace("&amp;", "&")
    answer = client.get(standing, headers={"Sec-Fetch-Dest": "empty"})
    assert answer.status_code == 200 and answer.json == {"kind": "open", "fields": None}
