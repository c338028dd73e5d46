"""The sandbox's Refund, APM Refund, List and Balance (the seed's API), through the
OdeonPay client over the in-process transport and the app's test client: the seed's
refund test cards, partial and full refunds, what is refused, transactions of a day in a
timezone, and the balance from the ledger."""
from __future__ import annotations

import json
import re
import time
import zoneinfo
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from conftest import base_config

from checkout.gateway import GatewayError, sandbox
from checkout.gateway.client import OdeonPayClient
from checkout.signatures import content_hmac

GW = "http://gateway.test"
AUTH = ("pbid_test", "test_secret")
CARD = dict(currency="USD", name="Jane Doe", description="Tea", expiry_month=12, expiry_year=2039,
            account_id="jane@example.com", ip="10.0.0.1")
PENDING = 0.4  # SANDBOX_PENDING_SECONDS here: short, so that "later" is a short sleep
#: The seed's List example's fields, exactly.
LIST_FIELDS = {"id", "statusId", "status", "currency", "amount", "description", "invoiceId", "accountId",
               "created", "operationTypeId", "operationType", "reasonId", "reason", "cardType", "cardFirstSix",
               "cardLastFour", "completed", "paymentTransactionId"}
#: The seed's Balance example's fields, exactly.
BALANCE_FIELDS = {"currency", "total", "pending", "hold", "fee", "pendingFee", "available"}


@pytest.fixture
def gw(tmp_path):
    return sandbox.create_app(base_config(tmp_path, TESTING=True, SANDBOX_PENDING_SECONDS=PENDING))


@pytest.fixture
def client(gw):
    c = OdeonPayClient(GW, *AUTH, transport=httpx.WSGITransport(app=gw), timeout=5)
    yield c
    c.close()


@pytest.fixture
def api(gw):
    """The sandbox's API through the app's test client, signed as the client signs."""
    http = gw.test_client()

    def post(path: str, body: dict, auth=AUTH):
        raw = json.dumps(body).encode()
        return http.post(path, data=raw, auth=auth, content_type="application/json",
                         headers={"Content-HMAC": content_hmac(raw, auth[1])})
    return post


def paid(client, gw, pan: str, amount: str = "10.66", invoice: str = "inv-r", **extra) -> str:
    """A Completed card payment with ``pan`` (CVV 123), its 3-D Secure passed as the
    customer would (passphrase 4: the ACS page then post3ds, or the redirect page)."""
    outcome = client.charge_card(pan=pan, cvv="123", amount=amount, invoice_id=invoice, **{**CARD, **extra},
                                 success_url="https://merchant.example/back",
                                 failure_url="https://merchant.example/back")
    browser = gw.test_client()
    if outcome.kind == "3ds":
        term = "https://merchant.example/3ds"
        page = browser.post("/acs/submit", data={"PaReq": outcome.pa_req, "MD": outcome.transaction_id,
                                                 "TermUrl": term, "passphrase": "4"})
        pa_res = re.search(r'name="PaRes" value="([^"]+)"', page.get_data(as_text=True))[1]
        outcome = client.post3ds(outcome.transaction_id, pa_res)
    elif outcome.kind == "redirect":
        reference = outcome.redirect_url.split("link_reference=", 1)[1]
        back = browser.post("/redirect/", data={"link_reference": reference, "passphrase": "4"})
        assert back.status_code == 303
        outcome = client.status(outcome.transaction_id)
    assert (outcome.kind, outcome.status) == ("completed", "Completed"), outcome
    return outcome.transaction_id


# -- Refund -------------------------------------------------------------------------------
@pytest.mark.parametrize("pan, kind, status, code", [
    ("4242424242424242", "completed", "RefundCompleted", 5),
    ("4111111111111111", "declined", "Declined", 99),
    ("4200000000000000", "pending", "Created", 10),
    ("5555555555554444", "completed", "RefundCompleted", 5),  # any other card
])
def test_the_seed_refund_test_cards(client, gw, pan, kind, status, code):
    payment = paid(client, gw, pan)
    refund = client.refund(payment)
    assert (refund.kind, refund.status, refund.status_code) == (kind, status, code)
    assert refund.transaction_id != payment and refund.raw["paymentTransactionId"] == int(payment)
    assert (refund.amount, refund.currency, refund.invoice_id) == ("10.66", "USD", "inv-r")
    assert refund.raw["operationType"] == "Refund" and refund.raw["operationTypeCode"] == 2
    if kind == "declined":
        assert (refund.reason_code, refund.reason) == (5005, "Refund declined")
    if kind == "pending":  # no acquiring bank answers here: RefundCompleted later, when asked
        assert client.status(refund.transaction_id).status == "Created"
        time.sleep(PENDING + 0.1)
        later = client.status(refund.transaction_id)
        assert (later.kind, later.status, later.status_code) == ("completed", "RefundCompleted", 5)
    assert client.status(payment).status == "Completed"  # the payment itself stays what it was


def test_the_refund_answer_is_the_seeds(client, gw, api):
    payment = paid(client, gw, "4242424242424242")
    answer = api("/payments/refund", {"transactionId": int(payment), "amount": 3.5})
    assert answer.status_code == 200
    body = answer.json
    assert (body["success"], body["message"]) == (True, None)
    model = body["model"]
    assert {"transactionId", "amount", "currency", "invoiceId", "accountId", "statusCode", "status", "reasonCode",
            "reason", "paymentTransactionId"} <= set(model)
    assert model["transactionId"] != int(payment) and model["paymentTransactionId"] == int(payment)
    assert (model["amount"], model["currency"], model["invoiceId"], model["accountId"]) == (
        3.5, "USD", "inv-r", "jane@example.com")
    assert (model["statusCode"], model["status"], model["reasonCode"], model["reason"]) == (
        5, "RefundCompleted", 0, "Approved")


def test_partial_then_full_refund(client, gw):
    payment = paid(client, gw, "4242424242424242", amount="10.66")
    first = client.refund(payment, "4.00")
    assert (first.kind, first.amount) == ("completed", "4")
    rest = client.refund(payment)  # no amount: what is left
    assert (rest.kind, rest.amount) == ("completed", "6.66")
    again = client.refund(payment, "0.01")
    assert again.kind == "declined" and again.transaction_id is None
    assert again.message == "The payment is already refunded in full"
    assert gw.extensions["sandbox.ledger"].left(int(payment)) == 0


def test_more_than_what_is_left_is_refused(client, gw):
    payment = paid(client, gw, "4242424242424242", amount="10.66")
    ledger = gw.extensions["sandbox.ledger"]
    before = ledger.count()
    too_much = client.refund(payment, "10.67")
    assert too_much.kind == "declined" and too_much.transaction_id is None
    assert "exceeds what is left to refund (10.66)" in too_much.message
    assert ledger.count() == before  # refused: no transaction
    assert client.refund(payment, "10").kind == "completed"
    assert "(0.66)" in client.refund(payment, "0.67").message
    assert client.refund(payment, "0.66").kind == "completed"


def test_only_completed_refunds_count(client, gw):
    declined_card = paid(client, gw, "4111111111111111", amount="5.00")
    for _ in range(2):  # declined refunds take nothing: the whole amount stays refundable
        assert client.refund(declined_card).status == "Declined"
    assert gw.extensions["sandbox.ledger"].left(int(declined_card)) == Decimal("5.00")

    waiting_card = paid(client, gw, "4200000000000000", amount="5.00", invoice="inv-w")
    first, second = client.refund(waiting_card), client.refund(waiting_card)  # both Created
    assert (first.status, second.status) == ("Created", "Created")
    time.sleep(PENDING + 0.1)
    assert client.status(first.transaction_id).status == "RefundCompleted"
    late = client.status(second.transaction_id)  # by now nothing is left for it
    assert (late.status, late.reason_code, late.reason) == ("Declined", 5006, "Refund exceeds the amount left")


def test_what_cannot_be_refunded(client, gw, api):
    declined = client.charge_card(pan="4242424242424242", cvv="333", amount="2.00", invoice_id="inv-d", **CARD)
    waiting = client.charge_card(pan="4111111111111111", cvv="123", amount="2.00", invoice_id="inv-a", **CARD)
    payout = client.payout_card("4242424242424242", "Jane Doe", "2.00", "USD", invoice_id="inv-p")
    payment = paid(client, gw, "4242424242424242")
    refund = client.refund(payment, "1.00")
    link = client.link(amount="700", currency="EUR", description="APM", payment_type_id=1, invoice_id="inv-apm",
                       account_id="john@deer.com", ip="10.0.0.1", data={"personId": "success@bank"})
    assert link.kind == "completed"
    cases = [(declined.transaction_id, "Only a completed payment can be refunded"),
             (waiting.transaction_id, "Only a completed payment can be refunded"),
             (payout.transaction_id, "Only a payment can be refunded"),
             (refund.transaction_id, "Only a payment can be refunded"),
             (link.transaction_id, "An APM payment: refund it with payments/apm/refund"),
             ("999999", "Transaction not found")]
    for tid, message in cases:
        outcome = client.refund(tid)
        assert (outcome.kind, outcome.message, outcome.transaction_id) == ("declined", message, None), tid
    assert client.apm_refund(payment, "1.00").message == "Not an APM payment: refund it with payments/refund"
    for body, message in (({}, "transactionId is required"), ({"transactionId": True}, "transactionId is required"),
                          ({"transactionId": int(payment), "amount": -1}, "Invalid Amount value"),
                          ({"transactionId": int(payment), "amount": "lots"}, "Invalid Amount value")):
        answer = api("/payments/refund", body)
        assert answer.status_code == 400 and answer.json == {"success": False, "message": message}
    assert api("/payments/refund", {"transactionId": int(payment)}, auth=("pbid_test", "wrong")).status_code == 401


def test_another_merchants_payment_is_not_found(tmp_path):
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([{"publicId": "pbid_a", "secret": "a"}, {"publicId": "pbid_b", "secret": "b"}]))
    gw = sandbox.create_app(base_config(tmp_path, MERCHANTS_FILE=str(merchants), TESTING=True))
    a = OdeonPayClient(GW, "pbid_a", "a", transport=httpx.WSGITransport(app=gw))
    b = OdeonPayClient(GW, "pbid_b", "b", transport=httpx.WSGITransport(app=gw))
    payment = a.charge_card(pan="4242424242424242", cvv="123", amount="3.00", invoice_id="x", **CARD)
    assert b.refund(payment.transaction_id).message == "Transaction not found"
    assert b.list_transactions(datetime.now(UTC).date()) == []
    assert [t["id"] for t in a.list_transactions(datetime.now(UTC).date())] == [int(payment.transaction_id)]
    assert b.balance() == [{"name": "The balance", "currencies": []}]
    a.close()
    b.close()


def test_a_token_payment_is_refunded_like_its_card(client, gw):
    paid(client, gw, "4111111111111111", amount="1.00", invoice="inv-card")
    token = client.saved_cards("jane@example.com")[0].token
    charge = client.charge_token(token, "4.00", "USD", account_id="jane@example.com", invoice_id="inv-token")
    assert charge.kind == "completed"
    assert client.refund(charge.transaction_id).status == "Declined"  # the 4111 card declines refunds


# -- APM Refund ---------------------------------------------------------------------------
def test_apm_refund_is_created_then_completed(client, api):
    link = client.link(amount="700", currency="INR", description="APM", payment_type_id=1, invoice_id="08072021-01",
                       account_id="john@deer.com", ip="10.0.0.1", data={"personId": "success@bank"})
    assert link.kind == "completed"
    answer = api("/payments/apm/refund", {"transactionId": int(link.transaction_id), "amount": 300})
    body = answer.json
    assert answer.status_code == 200 and (body["success"], body["message"]) == (True, None)
    # The seed's APM Refund example's fields.
    model = body["model"]
    assert {"transactionId", "amount", "currency", "invoiceId", "accountId", "name", "statusCode", "status",
            "reasonCode", "reason"} <= set(model)
    assert (model["amount"], model["currency"], model["invoiceId"], model["accountId"]) == (
        300.0, "INR", "08072021-01", "john@deer.com")
    assert (model["statusCode"], model["status"], model["reasonCode"], model["reason"]) == (
        10, "Created", 0, "Approved")
    assert model["paymentTransactionId"] == int(link.transaction_id)
    rest = client.apm_refund(link.transaction_id, "400")
    assert (rest.kind, rest.status) == ("pending", "Created")
    assert client.status(str(model["transactionId"])).status == "Created"
    time.sleep(PENDING + 0.1)
    for tid in (str(model["transactionId"]), rest.transaction_id):
        done = client.status(tid)
        assert (done.kind, done.status, done.status_code) == ("completed", "RefundCompleted", 5)
    assert "already refunded in full" in client.apm_refund(link.transaction_id, "1").message


def test_a_pending_apm_payment_cannot_be_refunded_yet(client):
    link = client.link(amount="500", currency="INR", description="UPI", payment_type_id=2000, invoice_id="inv-u",
                       account_id="john@deer.com", ip="10.0.0.1",
                       data={"personId": "jane@okaxis", "firstName": "John", "lastName": "Deer",
                             "phone": "9555777666"})
    assert link.kind == "pending"
    assert client.apm_refund(link.transaction_id, "100").message == "Only a completed payment can be refunded"


# -- List ---------------------------------------------------------------------------------
def _at(iso: str) -> float:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()


def test_list_by_date_and_timezone(client, gw):
    ledger = gw.extensions["sandbox.ledger"]
    late = paid(client, gw, "4242424242424242", invoice="late")  # 23:30 UTC on 10 March
    early = paid(client, gw, "4242424242424242", invoice="early")  # 00:30 UTC on 11 March
    ledger.update(int(late), created_at=_at("2024-03-10T23:30:00"), completed_at=_at("2024-03-10T23:30:20"))
    ledger.update(int(early), created_at=_at("2024-03-11T00:30:00"), completed_at=_at("2024-03-11T00:30:05"))

    def ids(day, tz=None):
        return [t["id"] for t in client.list_transactions(day, tz)]

    assert ids("2024-03-10") == [int(late)] and ids("2024-03-11") == [int(early)]  # UTC by default
    # Sydney is 11 hours ahead in March: 23:30 UTC on the 10th is the 11th there.
    assert ids("2024-03-10", "Australia/Sydney") == [] and ids("2024-03-11", "Australia/Sydney") == [
        int(late), int(early)]
    # Samoa (Pacific/Samoa, UTC-11): 00:30 UTC on the 11th is still the 10th there.
    assert ids("2024-03-10", "Pacific/Samoa") == [int(late), int(early)] and ids("2024-03-11", "Pacific/Samoa") == []
    assert ids("2024-03-11", "Europe/Moscow") == [int(late), int(early)]

    entry = client.list_transactions("2024-03-10")[0]
    assert set(entry) == LIST_FIELDS  # the seed's List example's names, no more, no fewer
    assert entry == {
        "id": int(late), "statusId": 4, "status": "Completed", "currency": "USD", "amount": 10.66,
        "description": "Tea", "invoiceId": "late", "accountId": "jane@example.com",
        "created": int(_at("2024-03-10T23:30:00") * 1000), "operationTypeId": 1, "operationType": "Payment",
        "reasonId": 0, "reason": "Approved", "cardType": "Visa", "cardFirstSix": "424242", "cardLastFour": "4242",
        "completed": int(_at("2024-03-10T23:30:20") * 1000), "paymentTransactionId": None}


def test_list_shows_refunds_payouts_and_waiting_ones_as_they_are(client, gw):
    payment = paid(client, gw, "4242424242424242")
    refund = client.refund(payment, "1.00")
    payout = client.payout_card("4242424242424242", "Jane Doe", "2.00", "USD", invoice_id="inv-p")
    waiting = client.charge_card(pan="4111111111111111", cvv="123", amount="3.00", invoice_id="inv-a", **CARD)
    found = {t["id"]: t for t in client.list_transactions(datetime.now(UTC).date())}
    assert set(found) == {int(payment), int(refund.transaction_id), int(payout.transaction_id),
                          int(waiting.transaction_id)}
    assert all(set(t) == LIST_FIELDS for t in found.values())
    r = found[int(refund.transaction_id)]
    assert (r["operationTypeId"], r["operationType"], r["status"], r["statusId"], r["paymentTransactionId"]) == (
        2, "Refund", "RefundCompleted", 5, int(payment))
    assert r["completed"] is not None and r["cardFirstSix"] == "424242"
    p = found[int(payout.transaction_id)]
    assert (p["operationTypeId"], p["operationType"], p["status"]) == (3, "CardPayout", "PayoutCompleted")
    w = found[int(waiting.transaction_id)]
    assert (w["status"], w["completed"], w["cardFirstSix"], w["cardLastFour"]) == (
        "AwaitingAuthentication", None, "411111", "1111")


@pytest.mark.parametrize("name", sandbox.TIMEZONES)
def test_every_timezone_of_the_seed_is_known(client, name):
    zoneinfo.ZoneInfo(name)  # in the system's (or the tzdata package's) database
    assert client.list_transactions("2024-01-01", name) == []


@pytest.mark.parametrize("body, message", [
    ({"date": "2024-03-10", "timezone": "Mars/Olympus"}, "Invalid timezone"),
    ({"date": "2024-03-10", "timezone": "UTC"}, "Invalid timezone"),  # not in the dictionary: the default
    ({"date": "2024-13-01"}, "Invalid date: the format is YYYY-MM-DD"),
    ({"date": "10/03/2024"}, "Invalid date: the format is YYYY-MM-DD"),
    ({"date": "2024-3-1"}, "Invalid date: the format is YYYY-MM-DD"),
    ({"date": 20240310}, "Invalid date: the format is YYYY-MM-DD"),
    ({}, "Invalid date: the format is YYYY-MM-DD"),
])
def test_list_refuses_a_bad_date_or_timezone(api, client, body, message):
    answer = api("/payments/list", body)
    assert answer.status_code == 400 and answer.json == {"success": False, "message": message}
    if isinstance(body.get("date"), str):
        with pytest.raises(GatewayError, match=re.escape(message)):
            client.list_transactions(body["date"], body.get("timezone"))


# -- Balance ------------------------------------------------------------------------------
def test_the_balance_from_the_ledger(client, gw, api):
    assert client.balance() == [{"name": "The balance", "currencies": []}]
    payment = paid(client, gw, "4242424242424242", amount="100.00", invoice="b1")  # fee 2.90 + 0.30
    paid(client, gw, "4242424242424242", amount="10.66", invoice="b2")  # fee 0.30914 + 0.30 -> 0.61
    client.refund(payment, "4.00")  # RefundCompleted
    # Its payment counts (fee 0.029 + 0.30 -> 0.33); its refund is Declined: no effect.
    client.refund(paid(client, gw, "4111111111111111", amount="1.00", invoice="b3"))
    client.payout_card("4242424242424242", "Jane Doe", "20.00", "USD", invoice_id="b4")  # PayoutCompleted
    client.payout_card("4111111111111111", "Jane Doe", "7.00", "USD", invoice_id="b5")  # Declined
    client.charge_card(pan="4111111111111111", cvv="123", amount="50.00", invoice_id="b6", **CARD)  # waiting
    client.charge_card(pan="4242424242424242", cvv="333", amount="9.00", invoice_id="b7", **CARD)  # Declined
    paid(client, gw, "4242424242424242", amount="5.00", invoice="e1", currency="EUR")  # fee 0.445 -> 0.45
    paid(client, gw, "4242424242424242", amount="1000", invoice="j1", currency="JPY")  # fee 29.30 -> 29

    balances = client.balance()
    assert [b["name"] for b in balances] == ["The balance"] and set(balances[0]) == {"name", "currencies"}
    currencies = {c["currency"]: c for c in balances[0]["currencies"]}
    assert all(set(c) == BALANCE_FIELDS for c in currencies.values())
    # total 100 + 10.66 + 1.00 - 4 (refund) - 20 (payout); fee 3.20 + 0.61 + 0.33;
    # pending the waiting 50.00, its fee 1.45 + 0.30.
    assert currencies["USD"] == {"currency": "USD", "total": 87.66, "pending": 50.0, "hold": 0.0, "fee": 4.14,
                                 "pendingFee": 1.75, "available": 83.52}
    assert currencies["EUR"] == {"currency": "EUR", "total": 5.0, "pending": 0.0, "hold": 0.0, "fee": 0.45,
                                 "pendingFee": 0.0, "available": 4.55}
    assert currencies["JPY"] == {"currency": "JPY", "total": 1000.0, "pending": 0.0, "hold": 0.0, "fee": 29.0,
                                 "pendingFee": 0.0, "available": 971.0}
    posted = api("/payments/balance", {})  # POST answers the same
    assert posted.status_code == 200 and posted.json["balances"] == balances
    assert (posted.json["success"], posted.json["message"]) == (True, None)
    assert gw.test_client().get("/payments/balance").status_code == 401


def test_balance_for_a_merchant_that_requires_hmac(tmp_path):
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([{"publicId": "pbid_strict", "secret": "s3cret", "requireHmac": True}]))
    gw = sandbox.create_app(base_config(tmp_path, MERCHANTS_FILE=str(merchants), TESTING=True))
    strict = OdeonPayClient(GW, "pbid_strict", "s3cret", transport=httpx.WSGITransport(app=gw))
    assert strict.balance() == [{"name": "The balance", "currencies": []}]  # GET, signed as an empty body
    strict.close()
    unsigned = gw.test_client().get("/payments/balance", auth=("pbid_strict", "s3cret"))
    assert unsigned.status_code == 400 and unsigned.json["message"] == "Invalid Content-HMAC"
