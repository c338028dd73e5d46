"""The sandbox's own notifications to the merchant (the seed's Notifications): recorded
when a transaction reaches a final status, with the seed's fields for its kind, sent by
``deliver_notices`` to a real HTTP receiver on loopback with the seed's Content-HMAC, and
tried again on the schedule until ``{"code": 0}`` comes back (at most 6 attempts:
"repeated 5 times"); in the checkout app, delivered in-process to its own address."""
from __future__ import annotations

import json
import re
import threading
import time

import httpx
import pytest
from conftest import DEMO_AUTH, base_config
from receiver import Receiver, Reply

from checkout import create_app
from checkout.gateway import sandbox
from checkout.gateway.client import OdeonPayClient
from checkout.signatures import content_hmac, hmac_matches

GW = "http://gateway.test"
CARD = dict(amount="10.66", currency="USD", name="Jane Doe", description="Tea", expiry_month=3,
            expiry_year=2039, ip="10.0.0.1")
CONFIRM, REFUSE = (200, b'{"code":0}'), (200, b'{"code":1}')
PAYMENT_SUCCESS = {"transactionId", "amount", "currency", "dateTime", "invoiceId", "accountId", "operationTypeCode",
                   "operationType", "status", "statusCode", "cardFirstSix", "cardLastFour", "cardType",
                   "cardExpDate", "name"}
REFUND_SUCCESS = {"paymentTransactionId", "transactionId", "amount", "currency", "dateTime", "invoiceId",
                  "accountId", "operationTypeCode", "operationType", "status", "statusCode"}
PAYOUT_SUCCESS = {"transactionId", "amount", "currency", "accountId", "invoiceId", "dateTime", "operationTypeCode",
                  "operationType", "status", "statusCode"}
FAILURE = {"reason", "reasonCode"}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class Hook:
    """The merchant's receiver (tests/receiver.py) at the address set in the gateway's
    back office: each POST gets the next of ``answers``, the last one again when they run out."""

    def __init__(self, answers: list[tuple[int, bytes]]):
        *first, last = answers
        self.server = Receiver(*(Reply(status, body) for status, body in first), default=Reply(*last))
        self.url = self.server.url + "/hooks/odeonpay"

    @property
    def got(self) -> list[dict]:
        return [{"path": r.path, "headers": r.headers, "body": r.body} for r in self.server.received]

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def receiver():
    made: list[Hook] = []

    def make(*answers: tuple[int, bytes]) -> Hook:
        made.append(Hook(list(answers) or [CONFIRM]))
        return made[-1]
    yield make
    for r in made:
        r.stop()


def sandbox_for(tmp_path, url: str | None, schedule: str = "0s,0s,0s,0s,0s", **extra):
    merchant = {"publicId": "pbid_test", "secret": "test_secret"}
    if url:
        merchant["gatewayNotificationUrl"] = url
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([merchant]))
    return sandbox.create_app(base_config(tmp_path, MERCHANTS_FILE=str(merchants), TESTING=True,
                                          SANDBOX_NOTIFY_SCHEDULE=schedule, **extra))


def gateway_client(gw) -> OdeonPayClient:
    return OdeonPayClient(GW, *DEMO_AUTH, transport=httpx.WSGITransport(app=gw), timeout=5)


def later(seconds: float = 1.0) -> float:
    return time.time() + seconds


def test_a_receiver_that_fails_twice_gets_it_on_the_third_attempt(tmp_path, receiver):
    hook = receiver((500, b"<html>oops</html>"), REFUSE, CONFIRM)
    gw = sandbox_for(tmp_path, hook.url)
    client = gateway_client(gw)
    paid = client.charge_card(pan="4242424242424242", cvv="123", invoice_id="inv-n", account_id="jane@example.com",
                              **CARD)
    ledger = gw.extensions["sandbox.ledger"]
    [notice] = ledger.notices(int(paid.transaction_id))
    assert (notice["state"], notice["attempts"], notice["url"], notice["local"]) == ("pending", 0, hook.url, 0)

    assert [sandbox.deliver_notices(gw, later()) for _ in range(3)] == [0, 0, 1]
    assert len(hook.got) == 3
    notice = ledger.notices(int(paid.transaction_id))[0]
    assert (notice["state"], notice["attempts"], notice["last_status"], notice["last_error"]) == (
        "delivered", 3, 200, None)
    assert sandbox.deliver_notices(gw, later(3600)) == 0 and len(hook.got) == 3  # delivered: never again

    for got in hook.got:  # the same bytes each time, signed as the seed's Notification validation says
        assert got["path"] == "/hooks/odeonpay" and got["body"] == notice["body"].encode()
        assert got["headers"]["Content-Type"] == "application/json"
        assert got["headers"]["Content-HMAC"] == content_hmac(got["body"], "test_secret")
        assert hmac_matches(got["body"], "test_secret", got["headers"]["Content-HMAC"])
    body = json.loads(hook.got[0]["body"])
    assert set(body) == PAYMENT_SUCCESS | {"token"}  # the token: the payment carried accountId
    assert body == {**body, "transactionId": int(paid.transaction_id), "amount": 10.66, "currency": "USD",
                    "invoiceId": "inv-n", "accountId": "jane@example.com", "operationTypeCode": 1,
                    "operationType": "Payment", "status": "Completed", "statusCode": 4, "cardFirstSix": "424242",
                    "cardLastFour": "4242", "cardType": "Visa", "cardExpDate": "03/2039", "name": "Jane Doe",
                    "token": paid.token}
    assert ISO_UTC.match(body["dateTime"])
    client.close()


def test_a_receiver_that_never_confirms_gets_six_attempts_then_it_fails(tmp_path, receiver):
    hook = receiver(REFUSE)
    gw = sandbox_for(tmp_path, hook.url)
    client = gateway_client(gw)
    paid = client.charge_card(pan="4242424242424242", cvv="333", invoice_id="inv-f", **CARD)
    assert [sandbox.deliver_notices(gw, later(i)) for i in range(1, 10)] == [0] * 9
    assert len(hook.got) == 6  # the first attempt, "repeated 5 times"
    [notice] = gw.extensions["sandbox.ledger"].notices(int(paid.transaction_id))
    assert (notice["state"], notice["attempts"], notice["last_status"]) == ("failed", 6, 200)
    assert "not confirmed" in notice["last_error"]
    body = json.loads(hook.got[0]["body"])  # the seed's Payment Failure
    assert set(body) == PAYMENT_SUCCESS | FAILURE
    assert (body["status"], body["statusCode"], body["reason"], body["reasonCode"]) == (
        "Declined", 99, "Insufficient Funds", 5051)
    assert body["accountId"] is None
    client.close()


def test_other_answers_are_not_a_confirmation(tmp_path, receiver):
    hook = receiver((200, b'{"code":"0"}'), (200, b"code=0"), (200, b'{"code":false}'), (201, b'{"code":0}'))
    gw = sandbox_for(tmp_path, hook.url)
    client = gateway_client(gw)
    client.charge_card(pan="4242424242424242", cvv="123", invoice_id="inv-o", **CARD)
    assert [sandbox.deliver_notices(gw, later()) for _ in range(4)] == [0, 0, 0, 1]  # any 2xx, integer 0
    client.close()


def test_attempts_follow_the_schedule(tmp_path, receiver):
    hook = receiver((503, b"{}"), (503, b"{}"), CONFIRM)
    gw = sandbox_for(tmp_path, hook.url, schedule="5s,2m")
    client = gateway_client(gw)
    client.charge_card(pan="4242424242424242", cvv="123", invoice_id="inv-s", **CARD)
    start = time.time()
    assert sandbox.deliver_notices(gw, start) == 0 and len(hook.got) == 1
    assert sandbox.deliver_notices(gw, start + 4) == 0 and len(hook.got) == 1  # 5 s not passed yet
    assert sandbox.deliver_notices(gw, start + 5) == 0 and len(hook.got) == 2
    assert sandbox.deliver_notices(gw, start + 5 + 119) == 0 and len(hook.got) == 2  # then 2 minutes
    assert sandbox.deliver_notices(gw, start + 5 + 120) == 1 and len(hook.got) == 3
    assert gw.config["SANDBOX_NOTIFY_SCHEDULE"] == "5s,2m"
    client.close()


def test_the_schedule_setting(tmp_path):
    assert sandbox.parse_schedule("5s,30s,2m,10m,1h") == [5, 30, 120, 600, 3600]
    assert sandbox.parse_schedule("250ms, 2, 1.5m") == [0.25, 2, 90]
    for bad in ("", "5s,,1h", "soon", "-1s", "5d"):
        with pytest.raises(ValueError):
            sandbox.parse_schedule(bad)
    gw = sandbox.create_app(base_config(tmp_path, TESTING=True))
    assert gw.config["SANDBOX_NOTIFY_SCHEDULE"] == "5s,30s,2m,10m,1h"
    with pytest.raises(ValueError, match="SANDBOX_NOTIFY_SCHEDULE"):
        sandbox.create_app(base_config(tmp_path, TESTING=True, SANDBOX_NOTIFY_SCHEDULE="now"))


def test_an_unreachable_receiver_is_tried_again(tmp_path, receiver):
    hook = receiver(CONFIRM)
    url = hook.url
    hook.stop()  # nobody listens there now
    gw = sandbox_for(tmp_path, url)
    client = gateway_client(gw)
    paid = client.charge_card(pan="4242424242424242", cvv="123", invoice_id="inv-u", **CARD)
    assert sandbox.deliver_notices(gw, later()) == 0
    [notice] = gw.extensions["sandbox.ledger"].notices(int(paid.transaction_id))
    assert (notice["state"], notice["attempts"], notice["last_status"]) == ("pending", 1, None)
    assert "ConnectError" in notice["last_error"]
    client.close()


def test_refund_and_payout_notices_have_the_seeds_fields(tmp_path, receiver):
    hook = receiver(CONFIRM)
    gw = sandbox_for(tmp_path, hook.url, SANDBOX_PENDING_SECONDS=60)
    client = gateway_client(gw)
    ok = client.charge_card(pan="4242424242424242", cvv="123", invoice_id="inv-r", **CARD)
    no = client.charge_card(pan="4111111111111111", cvv="123", invoice_id="inv-r2", **CARD)
    page = gw.test_client().post("/acs/submit", data={"PaReq": no.pa_req, "MD": no.transaction_id,
                                                      "TermUrl": "https://m.example/3ds", "passphrase": "4"})
    pa_res = re.search(r'name="PaRes" value="([^"]+)"', page.get_data(as_text=True))[1]
    assert client.post3ds(no.transaction_id, pa_res).kind == "completed"
    refunded = client.refund(ok.transaction_id, "1.25")
    declined_refund = client.refund(no.transaction_id)
    payout = client.payout_card("4242424242424242", "Jane Doe", "2.00", "USD", invoice_id="inv-p")
    declined_payout = client.payout_card("4111111111111111", "Jane Doe", "3.00", "USD", invoice_id="inv-p2")
    assert sandbox.deliver_notices(gw, later()) == 6  # two payments, two refunds, two payouts
    bodies = {b["transactionId"]: b for b in (json.loads(g["body"]) for g in hook.got)}

    r = bodies[int(refunded.transaction_id)]  # the seed's Refund Success
    assert set(r) == REFUND_SUCCESS
    assert (r["paymentTransactionId"], r["amount"], r["currency"], r["invoiceId"]) == (
        int(ok.transaction_id), 1.25, "USD", "inv-r")
    assert (r["operationTypeCode"], r["operationType"], r["status"], r["statusCode"]) == (
        2, "Refund", "RefundCompleted", 5)
    f = bodies[int(declined_refund.transaction_id)]  # the seed's Refund Failure
    assert set(f) == REFUND_SUCCESS | FAILURE
    assert (f["status"], f["statusCode"], f["reason"], f["reasonCode"]) == ("Declined", 99, "Refund declined", 5005)
    p = bodies[int(payout.transaction_id)]  # the seed's Payout Success
    assert set(p) == PAYOUT_SUCCESS
    assert (p["operationTypeCode"], p["operationType"], p["status"], p["statusCode"], p["amount"]) == (
        3, "CardPayout", "PayoutCompleted", 7, 2.0)
    q = bodies[int(declined_payout.transaction_id)]  # the seed's Payout Failure
    assert set(q) == PAYOUT_SUCCESS | FAILURE
    assert (q["status"], q["reason"], q["reasonCode"]) == ("Declined", "Payout declined", 5002)
    client.close()


def test_waiting_transactions_are_notified_when_they_settle(tmp_path, receiver):
    hook = receiver(CONFIRM)
    gw = sandbox_for(tmp_path, hook.url, SANDBOX_PENDING_SECONDS=30)
    client = gateway_client(gw)
    payment = client.charge_card(pan="4200000000000000", cvv="123", invoice_id="inv-w", **CARD,
                                 success_url="https://m.example/back", failure_url="https://m.example/back")
    assert payment.kind == "redirect"
    assert gw.extensions["sandbox.ledger"].notices() == []  # awaiting 3-D Secure: not final
    reference = payment.redirect_url.split("link_reference=", 1)[1]
    gw.test_client().post("/redirect/", data={"link_reference": reference, "passphrase": "4"})
    refund = client.refund(payment.transaction_id)  # the 4200 card: Created
    payout = client.payout_card("4200000000000000", "Jane Doe", "2.00", "USD", invoice_id="inv-wp")  # Created
    assert (refund.status, payout.status) == ("Created", "Created")
    assert sandbox.deliver_notices(gw, later()) == 1  # the payment only: the others wait for their bank
    # 30 s later (SANDBOX_PENDING_SECONDS) they settle, with nobody asking their status, and are notified.
    assert sandbox.deliver_notices(gw, later(31)) == 2
    statuses = {json.loads(g["body"])["transactionId"]: json.loads(g["body"])["status"] for g in hook.got}
    assert statuses == {int(payment.transaction_id): "Completed", int(refund.transaction_id): "RefundCompleted",
                        int(payout.transaction_id): "PayoutCompleted"}
    assert client.status(refund.transaction_id).status == "RefundCompleted"
    client.close()


def test_the_sandbox_as_its_own_server_sends_them_by_itself(tmp_path, receiver):
    hook = receiver(CONFIRM)
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([{"publicId": "pbid_test", "secret": "test_secret",
                                      "gatewayNotificationUrl": hook.url}]))
    gw = sandbox.create_app(base_config(tmp_path, MERCHANTS_FILE=str(merchants)))  # not TESTING: its thread runs
    assert any(t.name == "sandbox-notices" for t in threading.enumerate())
    client = gateway_client(gw)
    client.charge_card(pan="4242424242424242", cvv="123", invoice_id="inv-t", **CARD)
    deadline = time.monotonic() + 5
    while not hook.got and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(hook.got) == 1 and json.loads(hook.got[0]["body"])["status"] == "Completed"
    assert gw.extensions["sandbox.ledger"].notices()[0]["state"] == "delivered"
    client.close()


def test_no_address_no_notice(tmp_path):
    gw = sandbox_for(tmp_path, None)  # the sandbox as its own server, no gatewayNotificationUrl
    client = gateway_client(gw)
    client.charge_card(pan="4242424242424242", cvv="123", invoice_id="inv-x", **CARD)
    assert gw.extensions["sandbox.ledger"].notices() == []
    assert sandbox.deliver_notices(gw, later()) == 0
    client.close()


def test_in_process_the_checkout_gets_them_at_its_own_address(tmp_path):
    app = create_app(base_config(tmp_path))  # the demo merchant: no gatewayNotificationUrl
    client = OdeonPayClient("http://127.0.0.1:5000/sandbox", *DEMO_AUTH,
                            transport=httpx.WSGITransport(app=app), timeout=5)
    paid = client.charge_card(pan="4242424242424242", cvv="123", invoice_id="inv-i", **CARD)
    assert paid.kind == "completed"
    ledger = app.extensions["sandbox.ledger"]
    [notice] = ledger.notices(int(paid.transaction_id))
    assert (notice["url"], notice["local"]) == ("http://127.0.0.1:5000/gateway/notifications/pbid_test", 1)
    # Delivered through the app itself (nothing listens on 127.0.0.1:5000 here): the
    # checkout's endpoint checks the Content-HMAC and confirms with {"code":0}.
    assert sandbox.deliver_notices(app, later()) == 1
    [notice] = ledger.notices(int(paid.transaction_id))
    assert (notice["state"], notice["attempts"], notice["last_status"]) == ("delivered", 1, 200)
    client.close()
