"""Redirect links (the seed's Payment via Redirect): ``/payments/redirect/<publicId>?...``
signed in the seed's HMAC form over the other parameters sorted by name."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest
from conftest import base_config

from checkout import create_app, tokens
from checkout.querysign import sign_query

SEED_QUERY = {"amount": "10.50", "description": "Payment", "currency": "EUR", "invoiceId": "0001",
              "accountId": "account@example.com", "successUrl": "https://www.example.com/success",
              "failureUrl": "https://www.example.com/failure", "pendingUrl": "https://www.example.com/pending",
              "cancelUrl": "https://www.example.com/cancel", "locale": "en_US"}


def signed(params: dict, secret: str = "test_secret") -> str:
    """What the README tells merchants to do, without this package."""
    message = urlencode(sorted(params.items()))
    signature = base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256)
                                 .hexdigest().encode()).decode()
    return urlencode({**params, "signature": signature})


def test_the_readme_recipe_is_sign_query():
    assert signed(SEED_QUERY).endswith(urlencode({"signature": sign_query(SEED_QUERY, "test_secret")}))


def test_good_signature_opens_the_payment_page(app, client):
    response = client.get("/payments/redirect/pbid_test?" + signed(SEED_QUERY))
    assert response.status_code == 303
    location = response.headers["Location"]
    assert "/c/" in location and "embed" not in location
    with app.app_context():
        payload = tokens.load_checkout(location.rsplit("/c/", 1)[1])
    assert (payload["amount"], payload["currency"], payload["invoiceId"]) == ("10.50", "EUR", "0001")
    assert payload["successUrl"] == SEED_QUERY["successUrl"] and payload["m"] == "pbid_test"
    page = client.get(location.split("localhost", 1)[1])
    assert page.status_code == 200 and "Payment" in page.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"  # the link carries its signature


def test_parameter_order_in_the_url_does_not_matter(client):
    query = signed(SEED_QUERY)
    reordered = "&".join(reversed(query.split("&")))
    assert client.get("/payments/redirect/pbid_test?" + reordered).status_code == 303


def test_missing_signature_is_refused_for_the_demo_merchant(client):
    response = client.get("/payments/redirect/pbid_test?" + urlencode(SEED_QUERY))
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "This payment link is not valid" in html and "not signed" in html


@pytest.mark.parametrize("tamper", [
    lambda q: {**q, "amount": "1.00"},                      # a changed amount
    lambda q: {**q, "successUrl": "https://evil.example/"},  # a changed return URL
    lambda q: {**q, "extra": "1"},                          # an added parameter
    lambda q: {k: v for k, v in q.items() if k != "invoiceId"},  # a dropped one
])
def test_wrong_signature_is_refused(client, tamper):
    signature = sign_query(SEED_QUERY, "test_secret")
    response = client.get("/payments/redirect/pbid_test?" + urlencode({**tamper(SEED_QUERY), "signature": signature}))
    assert response.status_code == 403
    assert "This payment link is not valid" in response.get_data(as_text=True)


@pytest.mark.parametrize("signature", ["", "x", sign_query(SEED_QUERY, "another_secret")])
def test_garbage_signatures_are_refused(client, signature):
    response = client.get("/payments/redirect/pbid_test?" + urlencode({**SEED_QUERY, "signature": signature}))
    assert response.status_code == 403


def test_a_parameter_given_twice_is_refused(client):
    query = signed(SEED_QUERY) + "&amount=1.00"
    assert client.get("/payments/redirect/pbid_test?" + query).status_code == 400


def test_unknown_merchant(client):
    response = client.get("/payments/redirect/pbid_nobody?" + signed(SEED_QUERY))
    assert response.status_code == 404
    assert "This payment link is not valid" in response.get_data(as_text=True)


def test_signed_but_invalid_parameters_say_what_is_wrong(client):
    response = client.get("/payments/redirect/pbid_test?" + signed({**SEED_QUERY, "amount": "10.555"}))
    assert response.status_code == 400
    assert "amount: EUR allows at most 2 decimals" in response.get_data(as_text=True)


@pytest.fixture
def shop_client(tmp_path):
    path = tmp_path / "merchants.json"
    path.write_text(json.dumps([
        {"publicId": "pbid_open", "secret": "open_secret", "allowUnsignedRedirect": True,
         "redirectHosts": ["www.example.com"]},
        {"publicId": "pbid_strict", "secret": "strict_secret"},
    ]))
    return create_app(base_config(tmp_path, MERCHANTS_FILE=str(path))).test_client()


def test_unsigned_links_for_a_merchant_that_allows_them(shop_client):
    response = shop_client.get("/payments/redirect/pbid_open?" + urlencode(SEED_QUERY))
    assert response.status_code == 303 and "/c/" in response.headers["Location"]
    # A signature, when given, must still be right; the merchant's rules still apply.
    assert shop_client.get("/payments/redirect/pbid_open?" + signed(SEED_QUERY, "wrong")).status_code == 403
    assert shop_client.get("/payments/redirect/pbid_open?" + signed(SEED_QUERY, "open_secret")).status_code == 303
    elsewhere = urlencode({**SEED_QUERY, "successUrl": "https://evil.example/"})
    assert shop_client.get("/payments/redirect/pbid_open?" + elsewhere).status_code == 400
    assert shop_client.get("/payments/redirect/pbid_strict?" + urlencode(SEED_QUERY)).status_code == 403
    assert shop_client.get("/payments/redirect/pbid_strict?" + signed(SEED_QUERY, "strict_secret")).status_code == 303
