"""The OdeonPay client against the real sandbox (in-process over WSGI) for alternative
payment methods (Link and the sandbox's APM page), status over time, payouts (card,
token, APM), a customer's saved cards with pay-by-token, and crypto quotes."""
from __future__ import annotations

import re
import sqlite3
import time
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import base_config

from checkout import create_app
from checkout.gateway import sandbox
from checkout.gateway.client import OdeonPayClient, ThreadedWSGITransport

GW = "http://gateway.test"
URLS = dict(success_url="https://merchant.example/success", failure_url="https://merchant.example/failure",
            pending_url="https://merchant.example/pending", cancel_url="https://merchant.example/cancel")
PAGE_BUTTONS = ('value="approve"', 'value="decline"', 'value="pending"')
CARD = dict(amount="10.66", currency="USD", name="Jane Doe", description="Tea", expiry_month=12,
            expiry_year=2039, ip="10.0.0.1")
PENDING = 1  # SANDBOX_PENDING_SECONDS in these tests


@pytest.fixture
def gw(tmp_path):
    return sandbox.create_app(base_config(tmp_path, SANDBOX_PENDING_SECONDS=PENDING))


@pytest.fixture
def client(gw):
    c = OdeonPayClient(GW, "pbid_test", "test_secret", transport=httpx.WSGITransport(app=gw), timeout=5)
    yield c
    c.close()


@pytest.fixture
def browser(gw):
    return gw.test_client()


def link(client, type_id, data=None, amount="500", currency="INR", invoice="inv-apm", **extra):
    return client.link(amount=amount, currency=currency, description="Payment for products", invoice_id=invoice,
                       account_id="john@deer.com", ip="10.10.10.10", payment_type_id=type_id,
                       data=data if data is not None else UPI_DATA, **{**URLS, **extra})


UPI_DATA = {"personId": "jane@okaxis", "firstName": "John", "lastName": "Deer", "phone": "9555777666"}


def page_path(outcome) -> str:
    assert outcome.redirect_url.startswith(f"{GW}/apm/"), outcome.redirect_url
    return outcome.redirect_url[len(GW):]


def wait_pending():
    time.sleep(PENDING + 0.2)


# -- Link and the APM page --------------------------------------------------------------
def test_link_then_the_customer_approves(client, browser):
    outcome = link(client, 2000)
    assert (outcome.kind, outcome.status, outcome.status_code) == ("pending", "Created", 10)
    assert outcome.transaction_id and (outcome.amount, outcome.currency) == ("500", "INR")
    assert outcome.raw["paymentTypeId"] == 2000 and outcome.crypto is None
    page = browser.get(page_path(outcome))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "UPI" in html and "₹500.00" in html
    assert all(button in html for button in PAGE_BUTTONS)
    assert page.headers["Cache-Control"] == "no-store"
    # The choice posts here, then hops to the merchant's return URL and on to wherever the
    # merchant sends its customers: no origin list can name them all.
    assert "form-action 'self' http: https:;" in page.headers["Content-Security-Policy"]
    back = browser.post(page_path(outcome), data={"decision": "approve"})
    assert back.status_code == 303 and back.headers["Location"] == URLS["success_url"]
    status = client.status(outcome.transaction_id)
    assert (status.kind, status.status, status.reason_code) == ("completed", "Completed", 0)
    assert status.token is None  # APM payments make no card token
    # The page is spent: a replay changes nothing and the page says the payment is final.
    again = browser.post(page_path(outcome), data={"decision": "decline"})
    assert again.headers["Location"] == URLS["success_url"]
    assert "final" in browser.get(page_path(outcome)).get_data(as_text=True)
    assert client.status(outcome.transaction_id).kind == "completed"


def test_link_then_the_customer_declines(client, browser):
    outcome = link(client, 2000)
    back = browser.post(page_path(outcome), data={"decision": "decline"})
    assert back.status_code == 303 and back.headers["Location"] == URLS["failure_url"]
    status = client.status(outcome.transaction_id)
    assert (status.kind, status.status_code, status.reason_code) == ("declined", 99, 5001)


def test_pending_then_completed_over_time(client, browser):
    outcome = link(client, 2000, invoice="inv-pending")
    assert client.status(outcome.transaction_id).kind == "pending"
    back = browser.post(page_path(outcome), data={"decision": "pending"})
    assert back.status_code == 303 and back.headers["Location"] == URLS["pending_url"]
    assert client.status(outcome.transaction_id).kind == "pending"
    assert "pending" in browser.get(page_path(outcome)).get_data(as_text=True)
    wait_pending()
    assert [o.kind for o in client.status_invoice("inv-pending")] == ["completed"]
    assert client.status(outcome.transaction_id).status == "Completed"


def test_an_unvisited_link_stays_created(client):
    outcome = link(client, 2000)
    wait_pending()
    assert client.status(outcome.transaction_id).status == "Created"


def test_bad_page_requests(client, browser):
    assert browser.get("/apm/nonsense").status_code == 404
    outcome = link(client, 2000)
    assert browser.post(page_path(outcome), data={"decision": "maybe"}).status_code == 400
    assert client.status(outcome.transaction_id).status == "Created"


def test_apm_test_payment_credentials_settle_at_once(client, browser):
    ok = link(client, 1, {"personId": "success@bank"}, amount="700", currency="EUR")
    assert (ok.kind, ok.status, ok.redirect_url) == ("completed", "Completed", URLS["success_url"])
    assert client.status(ok.transaction_id).kind == "completed"
    bad = link(client, 1, {"personId": "failure@bank"}, amount="700", currency="EUR")
    assert (bad.kind, bad.status, bad.redirect_url) == ("declined", "Declined", URLS["failure_url"])
    other = link(client, 1, {"personId": "someone@bank"}, amount="700", currency="EUR")
    assert other.kind == "pending" and browser.get(page_path(other)).status_code == 200


@pytest.mark.parametrize("type_id, data, currency, message", [
    (9999, UPI_DATA, "INR", "Invalid paymentTypeId"),
    (3020, UPI_DATA, "INR", "does not support payments"),
    (2000, UPI_DATA, "USD", "Currency USD is not available"),
    (2000, {**UPI_DATA, "personId": "not-a-vpa"}, "INR", "Invalid data: personId"),
    (56500, {"personId": "03014333611", "phone": "03014333611"}, "PKR", "Invalid data: documentId"),
    (56500, {"personId": "03014333611", "phone": "03014333611", "documentId": "3440289238550"}, "PKR",
     "Invalid data: documentId"),
])
def test_link_refuses_what_the_method_cannot_take(client, gw, type_id, data, currency, message):
    outcome = link(client, type_id, data, currency=currency, invoice="inv-refused")
    assert outcome.kind == "declined" and message in outcome.reason
    assert gw.extensions["sandbox.ledger"].count("pbid_test", "inv-refused") == 0


def test_link_for_a_pakistan_wallet(client):
    data = {"personId": "03014333611", "phone": "03014333611", "documentId": "34201-0891231-8",
            "firstName": "John", "lastName": "Deer"}
    outcome = link(client, 56500, data, amount="10000", currency="PKR")
    assert outcome.kind == "pending" and outcome.redirect_url


def test_in_process_the_page_is_under_sandbox(tmp_path):
    app = create_app(base_config(tmp_path, SANDBOX_PENDING_SECONDS=0))
    c = OdeonPayClient("http://localhost/sandbox", "pbid_test", "test_secret",
                       transport=ThreadedWSGITransport(app=app), timeout=5)
    outcome = link(c, 2000)
    assert urlsplit(outcome.redirect_url).path.startswith("/sandbox/apm/")
    browser = app.test_client()
    path = urlsplit(outcome.redirect_url).path
    assert browser.get(path).status_code == 200
    assert browser.post(path, data={"decision": "pending"}).headers["Location"] == URLS["pending_url"]
    assert c.status(outcome.transaction_id).kind == "completed"  # SANDBOX_PENDING_SECONDS = 0
    c.close()


# -- crypto -------------------------------------------------------------------------------
def bech32_valid(address: str) -> bool:
    hrp, _, data = address.rpartition("1")
    values = [sandbox._BECH32.index(c) for c in data]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    return sandbox._bech32_polymod(expanded + values) == 1


def test_the_bech32_check_agrees_with_bip173():
    assert bech32_valid("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx")  # BIP 173 test vector
    assert not bech32_valid("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsy")


def test_crypto_link_gives_address_amount_and_expiry(client, browser):
    before = time.time()
    outcome = link(client, 10100, {}, amount="0.00045", currency="BTC")  # the seed's BTC example
    quote = outcome.crypto
    assert outcome.kind == "pending" and quote is not None
    assert (quote.amount, quote.asset, quote.network) == ("0.00045000", "BTC", "bitcoin")
    assert re.fullmatch(r"tb1q[02-9ac-hj-np-z]{38}", quote.address) and bech32_valid(quote.address)
    expires = datetime.strptime(quote.expires_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    assert before + 899 <= expires <= time.time() + 901
    assert outcome.raw["cryptoAmount"] == "0.00045000" and outcome.raw["address"] == quote.address
    html = browser.get(page_path(outcome)).get_data(as_text=True)
    assert quote.address in html and "0.00045000 BTC" in html
    # Settles once the sandbox's pending time has passed (the transfer "arrived").
    assert client.status(outcome.transaction_id).kind == "pending"
    wait_pending()
    settled = client.status(outcome.transaction_id)
    assert settled.kind == "completed" and settled.crypto == quote


def test_the_apm_page_speaks_the_customers_language(client, browser):
    """The quote's expiry as people write dates in the page's language (the machine-readable
    time beside it), and the status in words of that language, not the API's name."""
    from babel.dates import format_datetime

    outcome = link(client, 10100, {}, amount="0.00045", currency="BTC")
    ru = {"Accept-Language": "ru-RU,ru;q=0.9"}
    html = browser.get(page_path(outcome), headers=ru).get_data(as_text=True)
    expires = datetime.strptime(outcome.crypto.expires_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    shown = format_datetime(expires, "long", tzinfo=UTC, locale="ru_RU")
    assert f'<time datetime="{outcome.crypto.expires_at}">{shown}</time>' in html
    assert re.search(r"[\u0400-\u04FF]", shown)  # month names in Russian
    browser.post(page_path(outcome), data={"decision": "approve"})
    html = browser.get(page_path(outcome), headers=ru).get_data(as_text=True)
    assert "Completed" not in html and "итоговый статус: выполнен." in html
    english = browser.get(page_path(outcome), headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "This payment is final: completed." in english


def test_usdt_quote_in_usd(client, browser):
    outcome = link(client, 7009, {}, amount="10.66", currency="USD")
    quote = outcome.crypto
    assert (quote.amount, quote.asset, quote.network) == ("10.660000", "USDT", "ERC20")
    assert re.fullmatch(r"0x[0-9a-f]{40}", quote.address)
    back = browser.post(page_path(outcome), data={"decision": "approve"})  # or approve on the page
    assert back.headers["Location"] == URLS["success_url"]
    assert client.status(outcome.transaction_id).kind == "completed"
    btc = link(client, 10100, {}, amount="130", currency="USD").crypto
    assert btc.amount == "0.00200000"  # at the sandbox's fixed 65000 USD


def test_an_expired_quote_is_declined(tmp_path):
    gw = sandbox.create_app(base_config(tmp_path, SANDBOX_PENDING_SECONDS=60, SANDBOX_QUOTE_SECONDS=0.5))
    c = OdeonPayClient(GW, "pbid_test", "test_secret", transport=httpx.WSGITransport(app=gw))
    outcome = link(c, 10100, {}, amount="100", currency="EUR")
    time.sleep(0.7)
    status = c.status(outcome.transaction_id)
    assert (status.kind, status.reason) == ("declined", "Quote expired")
    assert link(c, 10100, {}, amount="100", currency="XAF").reason == "No quote for XAF in BTC"
    c.close()


# -- payouts ------------------------------------------------------------------------------
@pytest.mark.parametrize("pan, kind, status", [("4242424242424242", "completed", "PayoutCompleted"),
                                               ("4111111111111111", "declined", "Declined"),
                                               ("4200000000000000", "pending", "Created")])
def test_payout_to_the_seed_payout_test_cards(client, pan, kind, status):
    outcome = client.payout_card(pan, "John Doe", "12.30", "EUR", "11928485",
                                 {"phone": "+999389235", "countryCode": "US"})
    assert (outcome.kind, outcome.status) == (kind, status)
    assert outcome.raw["operationType"] == "CardPayout" and outcome.raw["name"] == "John Doe"
    assert outcome.token is None
    if status == "Created":  # no acquiring bank answers in the sandbox: processed over time
        wait_pending()
        assert client.status(outcome.transaction_id).status == "PayoutCompleted"


def test_payout_to_a_bad_card_is_refused(client, gw):
    for pan, name in (("4242424242424241", "John Doe"), ("4242", "John Doe"), ("4242424242424242", "")):
        outcome = client.payout_card(pan, name, "12.30", "EUR", "inv-bad-payout")
        assert outcome.kind == "declined" and outcome.reason in ("Invalid card data", "Invalid name")
    assert gw.extensions["sandbox.ledger"].count("pbid_test", "inv-bad-payout") == 0


def test_payout_via_token_from_an_approved_payment(client):
    paid = client.charge_card(pan="4242424242424242", cvv="123", invoice_id="inv-t", account_id="jane@example.com",
                              **CARD)
    assert paid.kind == "completed" and paid.token
    payout = client.payout_token(paid.token, "5.00", "USD", "jane@example.com", "inv-payout")
    assert (payout.kind, payout.status, payout.status_code) == ("completed", "PayoutCompleted", 7)
    assert (payout.amount, payout.invoice_id, payout.raw["accountId"]) == ("5", "inv-payout", "jane@example.com")
    # The token is the customer's only; a declined payment makes none.
    assert client.payout_token(paid.token, "5.00", "USD", "other@example.com").reason == "Invalid token"
    assert client.payout_token("sbx-999999", "5.00", "USD", "jane@example.com").reason == "Invalid token"
    declined = client.charge_card(pan="4242424242424242", cvv="333", account_id="jane@example.com", **CARD)
    assert declined.kind == "declined" and declined.token is None
    no_account = client.charge_card(pan="4242424242424242", cvv="123", account_id=None, **CARD)
    assert no_account.kind == "completed" and no_account.token is None


def test_payout_via_token_follows_the_payout_test_cards(client, browser):
    """A 4111 card, approved after 3-D Secure: its token exists, and payouts to it are
    declined, as the seed's payout test cards say."""
    outcome = client.charge_card(pan="4111111111111111", cvv="123", account_id="jane@example.com", **CARD)
    term = "https://merchant.example/3ds"
    fields = {"PaReq": outcome.pa_req, "MD": outcome.transaction_id, "TermUrl": term}
    html = browser.post("/acs/submit", data={**fields, "passphrase": "4"}).get_data(as_text=True)
    pa_res = re.search(r'name="PaRes" value="([^"]+)"', html)[1]
    done = client.post3ds(outcome.transaction_id, pa_res)
    assert done.kind == "completed" and done.token
    assert client.payout_token(done.token, "1.00", "USD", "jane@example.com").status == "Declined"


def test_apm_test_payout_credentials(client):
    ok = client.apm_payout("10", "EUR", "1928398740527", {"personId": "success@bank", "phone": "9555777666"},
                           payment_type_id=2, account_id="john@deer.com", name="John Deer")
    assert (ok.kind, ok.status, ok.raw["operationType"], ok.raw["paymentTypeId"]) == (
        "completed", "PayoutCompleted", "ApmPayout", 2)
    bad = client.apm_payout("10", "EUR", "1928398740528", {"personId": "failure@bank", "paymentTypeId": 2})
    assert (bad.kind, bad.status, bad.reason) == ("declined", "Declined", "Payout declined")
    later = client.apm_payout("10", "EUR", "1928398740529", {"personId": "someone@bank", "paymentTypeId": 2})
    assert later.status == "Created"
    wait_pending()
    assert client.status(later.transaction_id).status == "PayoutCompleted"


def test_apm_payouts_to_other_methods(client):
    upi = client.apm_payout("700", "INR", "08072021-01", {"personId": "9555777666@upi", "phone": "9555777666"},
                            payment_type_id=3020, account_id="john@deer.com", name="John Deer")
    assert (upi.kind, upi.status, upi.status_code) == ("pending", "Created", 10)
    sepa = client.apm_payout("10", "EUR", "inv-sepa", {"bankAccountNumber": "DE89370400440532013000"},
                             payment_type_id=6000, name="John Deer")
    assert sepa.status == "Created"
    wait_pending()
    assert client.status(upi.transaction_id).status == "PayoutCompleted"
    assert client.status(sepa.transaction_id).kind == "completed"
    refused = (
        ({"personId": "9555777666", "phone": "9555777666"}, 3020, "INR", "Invalid data: personId"),
        ({"bankAccountNumber": "LT837500018004669430"}, 6000, "EUR", "Invalid data: bankAccountNumber"),
        (UPI_DATA, 2000, "INR", "does not support payouts"),
        ({"personId": "success@bank"}, None, "EUR", "Invalid paymentTypeId"),
    )
    for data, type_id, currency, message in refused:
        outcome = client.apm_payout("10", currency, "inv-x", data, payment_type_id=type_id, name="John Deer")
        assert outcome.kind == "declined" and message in outcome.reason, outcome.reason


# -- saved cards --------------------------------------------------------------------------
def test_saved_cards_and_charge_by_token(client):
    account = "jane@example.com"
    first = client.charge_card(pan="4242424242424242", cvv="123", account_id=account, **CARD)
    latest = client.charge_card(pan="4242424242424242", cvv="123", account_id=account, **CARD)
    master = client.charge_card(pan="5555555555554444", cvv="123", account_id=account,
                                **{**CARD, "expiry_month": 3, "expiry_year": 2031})
    client.charge_card(pan="4000056655665556", cvv="333", account_id=account, **CARD)  # declined: not saved
    client.charge_card(pan="4242424242424242", cvv="123", account_id="someone@else.com", **CARD)
    cards = client.saved_cards(account)
    assert [(c.token, c.masked_pan, c.brand, c.expiry_month, c.expiry_year, c.last4) for c in cards] == [
        (master.token, "555555******4444", "mastercard", 3, 2031, "4444"),
        (latest.token, "424242******4242", "visa", 12, 2039, "4242"),
    ]
    assert first.token != latest.token
    assert client.saved_cards("nobody@example.com") == []

    paid = client.charge_token(latest.token, "3.50", "USD", account_id=account, invoice_id="inv-token",
                               description="Tea again")
    assert (paid.kind, paid.status, paid.amount, paid.invoice_id) == ("completed", "Completed", "3.5", "inv-token")
    assert paid.token == latest.token and paid.raw["accountId"] == account
    assert client.charge_token(first.token, "3.50", "USD", cvv="123").kind == "completed"  # the first still works
    declined = client.charge_token(latest.token, "3.50", "USD", cvv="333", account_id=account)
    assert (declined.kind, declined.reason_code) == ("declined", 5051)
    for cvv in ("12", "1234", "abc"):
        assert client.charge_token(latest.token, "3.50", "USD", cvv=cvv).reason == "Invalid card data"
    assert client.charge_token(latest.token, "3.50", "USD", account_id="someone@else.com").reason == "Invalid token"
    assert client.charge_token("sbx-000999", "3.50", "USD").reason == "Invalid token"
    assert Decimal(client.status(paid.transaction_id).amount) == Decimal("3.5")


def test_a_ledger_from_before_gains_the_new_columns(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(sandbox.SCHEMA.split("CREATE TABLE IF NOT EXISTS card_tokens")[0])
    old.execute("INSERT INTO transactions (merchant, amount, currency, approve, scheme, status_code, created_at)"
                " VALUES ('pbid_test', '1.00', 'USD', 1, 'none', 4, 0)")
    old.commit()
    old.close()
    ledger = sandbox.Ledger(str(path))
    row = ledger.find(id=1)
    assert row["operation"] == 1 and row["payment_type_id"] is None
    assert sandbox._model(row)["operationType"] == "Payment"
    # The refund columns too; a final row from before has no completion time, and no notice.
    assert row["payment_transaction_id"] is None and row["completed_at"] is None and row["expiry_month"] is None
    assert sandbox._list_entry(row)["completed"] is None
    assert ledger.notices() == []
    sandbox.Ledger(str(path))  # again: nothing left to add
