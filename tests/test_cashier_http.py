"""The cashier over HTTP (Flask test client, the real sandbox gateway in-process): its
amount options, the withdraw tab (a payout prefilled from the link's ``data``), and a
crypto deposit, whose quote page is single use: the deposit is never paid twice."""
from __future__ import annotations

import re
import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import DEMO_AUTH, Forms, base_config, follow, local, text

from checkout import create_app, results, tokens
from checkout import store as st

SECRET = "test_secret"
PENDING_SECONDS = 1
ORIGIN = "http://localhost:8000"


def ledger(app):
    return app.extensions["sandbox.ledger"]


def row(app, cid: str):
    return app.extensions["checkout.store"].get(cid)


def cid_of(app, path: str) -> str:
    with app.app_context():
        return tokens.load_checkout(urlsplit(path).path.split("/")[2], allow_expired=True)["cid"]


@pytest.fixture
def app(tmp_path, database):
    return create_app(base_config(tmp_path, DATABASE=database, SANDBOX_PENDING_SECONDS=PENDING_SECONDS))


@pytest.fixture
def client(app):
    return app.test_client()


def cashier_body(**overrides) -> dict:
    body = {"mode": "cashier", "currency": "USD", "description": "Casino deposit", "invoiceId": "cashier-1",
            "accountId": "player-7", "successUrl": "https://example.com/success",
            "failureUrl": "https://example.com/failure", "pendingUrl": "https://example.com/pending",
            "locale": "en_US", "cashier": {"presets": [10, 25, 50], "min": 5, "max": 500, "payouts": True},
            "data": {"firstName": "John", "lastName": "Doe"}}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def cashier(client, **overrides) -> str:
    response = client.post("/checkout/link", json=cashier_body(**overrides), auth=DEMO_AUTH)
    assert response.status_code == 200, response.json
    return local(response.json["link"]["action"])


# -- amount options --------------------------------------------------------------------------
def test_presets_without_min_take_the_smallest_as_min(client):
    body = cashier_body(cashier={"presets": [50, 10], "max": 500})
    response = client.post("/checkout/link", json=body, auth=DEMO_AUTH)
    assert response.status_code == 200, response.json
    page = text(client.get(local(response.json["link"]["action"])))
    assert "From $10.00 to $500.00" in page
    # Still refused when the presets are below an explicit min.
    refused = client.post("/checkout/link", json=cashier_body(cashier={"presets": [50, 10], "min": 20}),
                          auth=DEMO_AUTH)
    assert refused.status_code == 400 and refused.json["errors"]["cashier.presets"] == "must be between min and max"


# -- withdrawals -----------------------------------------------------------------------------
def withdraw(client, path: str, amount: str = "20", destination: str = "card"):
    page = Forms(text(client.get(path))).form("/withdraw")
    return client.post(page["action"], data={**page["fields"], "w-custom_amount": amount,
                                             "destination": destination})


def test_withdraw_to_a_card_with_the_name_prefilled(app, client):
    path = cashier(client)
    answer = withdraw(client, path)
    assert answer.status_code == 303 and "/p/" in answer.headers["Location"]
    card_page = client.get(local(answer.headers["Location"]))
    form = Forms(text(card_page)).forms[0]
    assert form["fields"]["name"] == "John Doe"
    paid = client.post(form["action"] or local(answer.headers["Location"]),
                       data={**form["fields"], "number": "4242 4242 4242 4242"})
    assert paid.status_code == 303
    status = client.get(local(paid.headers["Location"]))
    assert "Sent" in text(status)
    payout = ledger(app).find(operation=3)
    assert (Decimal(payout["amount"]), payout["currency"], payout["name"]) == (Decimal(20), "USD", "John Doe")
    assert payout["masked_pan"].endswith("4242") and "4242424242424242" not in str(dict(payout))


def test_withdraw_without_names_asks_for_them_rather_than_making_them_up(client):
    path = cashier(client, data=None)
    card_page = text(client.get(local(withdraw(client, path).headers["Location"])))
    assert Forms(card_page).inputs["name"].get("value", "") == ""
    assert "- -" not in card_page


def test_withdraw_prefills_the_kyc_fields_from_data(client):
    """A Pakistani player: the payout's APM form (EasyPaisa) has the phone and the CNIC
    the merchant sent in ``data``; the customer only checks them."""
    data = {"firstName": "Ali", "lastName": "Khan", "countryCode": "PK", "phone": "03014333611",
            "documentId": "3520212345671", "email": "ali@example.com", "city": "Lahore"}
    path = cashier(client, currency="PKR", cashier={"presets": [1000], "max": 50000, "payouts": True}, data=data)
    answer = withdraw(client, path, amount="1000", destination="apm")
    apm_url = local(answer.headers["Location"])
    chooser = text(client.get(apm_url))
    assert "EasyPaisa" in chooser
    easypaisa = Forms(text(client.get(apm_url + ("&" if "?" in apm_url else "?") + "method=56500"))).inputs
    assert easypaisa["phone"]["value"] == "03014333611"
    assert easypaisa["documentId"]["value"] == "3520212345671"
    assert easypaisa["personId"].get("value", "") == ""  # where the money goes: the customer says


def test_bad_customer_data_is_refused_when_the_cashier_link_is_made(client):
    response = client.post("/checkout/link", json=cashier_body(data={"email": "not-an-email"}), auth=DEMO_AUTH)
    assert response.status_code == 400
    assert response.json["errors"] == {"data.email": "must be an email address"}
    # Without the withdraw tab the payout never sees it: nothing to refuse.
    quiet = cashier_body(data={"email": "not-an-email"}, cashier={"presets": [10], "max": 50})
    assert client.post("/checkout/link", json=quiet, auth=DEMO_AUTH).status_code == 200


@pytest.mark.parametrize("locale, says", [
    ("en_US", "Your withdrawal could not be started"),
    ("ru_RU", "Не удалось начать вывод средств"),
])
def test_a_withdrawal_the_payout_refuses_is_a_clear_error_not_a_crash(app, client, locale, says):
    """A link made before that check (signed here as it was then): the customer gets a
    page in their language, and nothing is paid out."""
    with app.test_request_context():
        token = tokens.sign_checkout({
            "m": "pbid_test", "mode": "cashier", "currency": "USD", "amount": "10.00", "locale": locale,
            "successUrl": "https://example.com/success", "failureUrl": "https://example.com/failure",
            "data": {"email": "not-an-email"},
            "cashier": {"presets": ["10.00"], "min": "5.00", "max": "500.00", "payouts": True}})
    sent = withdraw(client, f"/c/{token}")
    # post/redirect/get: back to the cashier, which says why
    assert sent.status_code == 303 and urlsplit(sent.headers["Location"]).path == f"/c/{token}"
    response = follow(client, sent)
    assert response.status_code == 422
    assert says in text(response)
    assert ledger(app).count() == 0


# -- a crypto deposit --------------------------------------------------------------------------
def deposit(client, path: str, amount: str = "25.00") -> str:
    """Choose an amount on the cashier: the deposit checkout's page."""
    form = Forms(text(client.get(path))).form("/amount")
    answer = client.post(form["action"], data={**form["fields"], "amount": amount})
    assert answer.status_code == 303
    return local(answer.headers["Location"])


def choose(client, path: str, type_id: int, page_html: str | None = None):
    """Choose a method on the payment page (from ``page_html``: a page shown before)."""
    form = Forms(page_html or text(client.get(path))).form("/apm")
    return client.post(form["action"], data={**form["fields"], "paymentTypeId": str(type_id)})


def quote_of(client, response) -> str:
    """Where a post leads once the deposit's quote is live: its 303 goes to the deposit's
    page (post/redirect/get), which sends the customer on to the quote page."""
    assert response.status_code == 303
    location = response.headers["Location"]
    if urlsplit(location).path.startswith("/c/"):
        page = client.get(location)
        assert page.status_code == 303, page.status_code
        location = page.headers["Location"]
    assert location.startswith("/d/"), location
    return location


def test_crypto_deposit_is_single_use(app, client):
    path = deposit(client, cashier(client, data={"countryCode": "VN"}))  # BTC, and USDT in Vietnam
    page = text(client.get(path))  # the page as first shown, to choose from it again later
    first = choose(client, path, 10100, page)
    assert first.status_code == 303 and first.headers["Location"].startswith("/d/")
    quote = text(client.get(first.headers["Location"]))
    tx = ledger(app).find(invoice_id="cashier-1")
    assert tx["address"] in quote and "Pay with BTC, Bitcoin" in quote
    checkout = row(app, cid_of(app, path))
    assert checkout.state == st.PENDING and checkout.transaction_id == str(tx["id"])
    # Choosing BTC again, from the old page: the same quote page, no second quote.
    again = quote_of(client, choose(client, path, 10100, page))
    assert cid_of(app, again) == cid_of(app, first.headers["Location"])
    assert tx["address"] in text(client.get(again))
    # Another crypto method, or a card: no second payment while the quote is live.
    other = quote_of(client, choose(client, path, 7009, page))
    assert tx["address"] in text(client.get(other))
    card = Forms(page).form("/card")
    by_card = client.post(card["action"], data={**card["fields"], "name": "John Doe", "number": "4242424242424242",
                                                "expiry": "12 / 39", "cvv": "123"})
    assert cid_of(app, quote_of(client, by_card)) == cid_of(app, first.headers["Location"])
    assert ledger(app).count("pbid_test", "cashier-1") == 1
    # Opening the deposit link again shows the same quote page.
    reopened = client.get(path)
    assert reopened.status_code == 303 and tx["address"] in text(client.get(reopened.headers["Location"]))
    # Settled: the quote page's way back records it on the deposit, then to the merchant.
    time.sleep(PENDING_SECONDS + 0.2)
    done = client.get(urlsplit(first.headers["Location"]).path + "/return")
    assert done.status_code == 303 and done.headers["Location"].startswith("/c/")
    landed = client.get(done.headers["Location"])
    assert landed.status_code == 303
    result = urlsplit(landed.headers["Location"])
    assert result.netloc == "example.com" and result.path == "/success" and results.verify(result.query, SECRET)
    fields = {k: v[0] for k, v in parse_qs(result.query).items()}
    assert (fields["status"], fields["transactionId"], fields["amount"]) == ("Completed", str(tx["id"]), "25.00")
    assert row(app, cid_of(app, path)).state == st.COMPLETED
    assert ledger(app).count("pbid_test", "cashier-1") == 1


def test_an_expired_deposit_quote_opens_the_deposit_again(tmp_path):
    """The quote expires: a decline of the deposit ("The quote expired"), the quote page
    makes no new quote of its own; choosing BTC again makes one, on the same quote page."""
    app = create_app(base_config(tmp_path, SANDBOX_PENDING_SECONDS=600, SANDBOX_QUOTE_SECONDS=1))
    client = app.test_client()
    path = deposit(client, cashier(client))
    quote_path = urlsplit(choose(client, path, 10100).headers["Location"]).path
    old = row(app, cid_of(app, path)).transaction_id
    time.sleep(1.2)
    back = client.get(f"{quote_path}/return")
    assert back.status_code == 303 and back.headers["Location"].startswith("/c/")
    reopened = client.get(back.headers["Location"])
    assert reopened.status_code == 402 and "Your payment was declined: The quote expired." in text(reopened)
    assert client.post(f"{quote_path}/quote", data={}).status_code == 303  # no new quote here
    assert ledger(app).count("pbid_test", "cashier-1") == 1
    again = choose(client, path, 10100)
    assert again.status_code == 303 and urlsplit(again.headers["Location"]).path != quote_path
    assert cid_of(app, again.headers["Location"]) == cid_of(app, quote_path)  # the same quote checkout
    assert ledger(app).count("pbid_test", "cashier-1") == 2
    new = row(app, cid_of(app, path))
    assert new.state == st.PENDING and new.transaction_id != old and new.declines == 1
    assert ledger(app).find(id=int(new.transaction_id))["address"] in text(client.get(again.headers["Location"]))


def test_an_embedded_crypto_deposit_hands_its_result_to_the_parent(app, client):
    path = deposit(client, cashier(client)) + f"?embed=1&origin={ORIGIN}"
    chosen = choose(client, path, 10100)
    assert chosen.status_code == 303
    assert parse_qs(urlsplit(chosen.headers["Location"]).query) == {"embed": ["1"], "origin": [ORIGIN]}
    quote = client.get(chosen.headers["Location"])
    assert quote.status_code == 200 and f"frame-ancestors {ORIGIN}" in quote.headers["Content-Security-Policy"]
    check = next(a for a in re.findall(r'href="([^"]+)"', text(quote)) if "/return" in a)
    assert parse_qs(urlsplit(check.replace("&amp;", "&")).query) == {"embed": ["1"], "origin": [ORIGIN]}
    time.sleep(PENDING_SECONDS + 0.2)
    back = client.get(check.replace("&amp;", "&"))
    assert back.status_code == 303 and parse_qs(urlsplit(back.headers["Location"]).query)["origin"] == [ORIGIN]
    end = client.get(back.headers["Location"])
    assert end.status_code == 200 and 'data-checkout-result="success"' in text(end)
    assert row(app, cid_of(app, path)).state == st.COMPLETED
