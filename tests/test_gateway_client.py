"""The OdeonPay client against the real sandbox gateway (in-process over WSGI): the
seed's test cards, 3-D Secure, status, credentials, Content-HMAC, and every kind of
trouble turning into GatewayError."""
from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from conftest import base_config

from checkout.gateway import GatewayError, sandbox
from checkout.gateway.client import OdeonPayClient, ThreadedWSGITransport
from checkout.signatures import content_hmac

GW = "http://gateway.test"
CARD = dict(amount="10.66", currency="USD", name="Jane Doe", description="Tea", expiry_month=12,
            expiry_year=2039, account_id="jane@example.com", ip="10.0.0.1")


class Recording(httpx.WSGITransport):
    """The real WSGI transport, keeping the requests that went through it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


@pytest.fixture
def gw(tmp_path):
    return sandbox.create_app(base_config(tmp_path))


@pytest.fixture
def transport(gw):
    return Recording(app=gw)


@pytest.fixture
def client(transport):
    c = OdeonPayClient(GW, "pbid_test", "test_secret", transport=transport, timeout=5)
    yield c
    c.close()


def charge(client, pan, cvv="123", invoice="inv-1", **extra):
    return client.charge_card(pan=pan, cvv=cvv, invoice_id=invoice, **{**CARD, **extra})


def test_card_without_3ds_completes(client, gw):
    outcome = charge(client, "4242424242424242")
    assert outcome.kind == "completed" and outcome.final
    assert (outcome.status, outcome.status_code, outcome.reason_code) == ("Completed", 4, 0)
    assert (outcome.amount, outcome.currency, outcome.invoice_id) == ("10.66", "USD", "inv-1")
    assert outcome.transaction_id and outcome.transaction_id.isdigit()
    assert gw.extensions["sandbox.ledger"].count("pbid_test", "inv-1") == 1


def test_cvv_333_is_declined_for_insufficient_funds(client):
    outcome = charge(client, "4242424242424242", cvv="333")
    assert outcome.kind == "declined" and outcome.final
    assert (outcome.status, outcome.status_code) == ("Declined", 99)
    assert (outcome.reason, outcome.reason_code) == ("Insufficient Funds", 5051)


def test_advanced_3ds_then_post3ds(client, gw):
    outcome = charge(client, "4111111111111111")
    assert outcome.kind == "3ds" and not outcome.final
    assert outcome.acs_url == f"{GW}/acs"
    assert outcome.pa_req and outcome.transaction_id and outcome.status_code == 1

    # The customer at the issuer's page (the sandbox ACS), passphrase 4.
    browser = gw.test_client()
    term = "https://merchant.example/c/x/3ds"
    page = browser.post("/acs", data={"PaReq": outcome.pa_req, "MD": outcome.transaction_id, "TermUrl": term})
    assert page.status_code == 200 and "passphrase" in page.get_data(as_text=True)
    answer = browser.post("/acs/submit", data={"PaReq": outcome.pa_req, "MD": outcome.transaction_id,
                                               "TermUrl": term, "passphrase": "4"})
    html = answer.get_data(as_text=True)
    assert f'action="{term}"' in html
    pa_res = re.search(r'name="PaRes" value="([^"]+)"', html)[1]

    done = client.post3ds(outcome.transaction_id, pa_res)
    assert done.kind == "completed" and done.transaction_id == outcome.transaction_id
    again = client.post3ds(outcome.transaction_id, pa_res)  # a replay changes nothing
    assert again.kind == "completed"
    assert client.status(outcome.transaction_id).kind == "completed"
    assert gw.extensions["sandbox.ledger"].count("pbid_test", "inv-1") == 1


def test_post3ds_with_a_forged_pares_declines(client):
    outcome = charge(client, "4111111111111111")
    done = client.post3ds(outcome.transaction_id, "Y.forged")
    assert done.kind == "declined" and done.reason_code == 5206


def test_redirect_3ds(client, gw):
    outcome = charge(client, "4200000000000000", success_url="https://merchant.example/back",
                     failure_url="https://merchant.example/back")
    assert outcome.kind == "redirect"
    assert outcome.redirect_url.startswith(f"{GW}/redirect/?link_reference=")
    assert outcome.transaction_id and client.status(outcome.transaction_id).kind == "pending"

    browser = gw.test_client()
    path = outcome.redirect_url[len(GW):]
    assert browser.get(path).status_code == 200
    reference = path.split("link_reference=", 1)[1]
    back = browser.post("/redirect/", data={"link_reference": reference, "passphrase": "4"})
    assert back.status_code == 303 and back.headers["Location"] == "https://merchant.example/back"
    assert client.status(outcome.transaction_id).kind == "completed"


def test_status_and_status_invoice(client):
    paid = charge(client, "4242424242424242", invoice="inv-9")
    declined = charge(client, "4242424242424242", cvv="333", invoice="inv-9")
    status = client.status(paid.transaction_id)
    assert (status.kind, status.transaction_id, status.amount, status.currency) == (
        "completed", paid.transaction_id, "10.66", "USD")
    found = client.status_invoice("inv-9")
    assert [(o.transaction_id, o.kind) for o in found] == [(paid.transaction_id, "completed"),
                                                            (declined.transaction_id, "declined")]
    assert client.status_invoice("never-used") == []
    with pytest.raises(GatewayError):
        client.status("999999")


def test_wrong_credentials_raise(transport):
    for public_id, secret in (("pbid_test", "wrong"), ("nobody", "test_secret")):
        bad = OdeonPayClient(GW, public_id, secret, transport=transport)
        with pytest.raises(GatewayError, match="401"):
            charge(bad, "4242424242424242")
        bad.close()


def test_content_hmac_header_is_the_seed_hmac_of_the_body(client, transport):
    charge(client, "4242424242424242")
    client.status_invoice("inv-1")
    assert len(transport.requests) == 2
    for request in transport.requests:
        body = request.content
        assert json.loads(body)  # the signed bytes are the JSON body sent
        assert request.headers["Content-HMAC"] == content_hmac(body, "test_secret")
        assert request.headers["Authorization"].startswith("Basic ")


def test_sandbox_rejects_a_wrong_content_hmac(gw):
    body = json.dumps({"publicId": "pbid_test", "amount": 1.5, "currency": "USD", "invoiceId": "inv-h",
                       "card": {"pan": "4242424242424242", "cvv": "123", "expiryMonth": 12,
                                "expiryYear": 2039}}).encode()
    auth = ("pbid_test", "test_secret")
    c = gw.test_client()
    for wrong in (content_hmac(body + b" ", "test_secret"), content_hmac(body, "other"), "garbage"):
        bad = c.post("/payments/charge/card", data=body, auth=auth, content_type="application/json",
                     headers={"Content-HMAC": wrong})
        assert bad.status_code == 400 and bad.json == {"success": False, "message": "Invalid Content-HMAC"}
    assert gw.extensions["sandbox.ledger"].count("pbid_test", "inv-h") == 0
    good = c.post("/payments/charge/card", data=body, auth=auth, content_type="application/json",
                  headers={"Content-HMAC": content_hmac(body, "test_secret")})
    assert good.status_code == 200 and good.json["model"]["status"] == "Completed"


def test_a_merchant_that_requires_hmac_is_served(tmp_path):
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([{"publicId": "pbid_strict", "secret": "s3cret", "requireHmac": True}]))
    gw = sandbox.create_app(base_config(tmp_path, MERCHANTS_FILE=str(merchants)))
    strict = OdeonPayClient(GW, "pbid_strict", "s3cret", transport=httpx.WSGITransport(app=gw))
    assert charge(strict, "4242424242424242").kind == "completed"
    strict.close()
    unsigned = gw.test_client().post("/payments/status", json={"transactionId": "1"}, auth=("pbid_strict", "s3cret"))
    assert unsigned.status_code == 400 and unsigned.json["message"] == "Invalid Content-HMAC"


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError])
def test_network_failures_raise(error):
    def fail(request: httpx.Request) -> httpx.Response:
        raise error("network trouble", request=request)

    c = OdeonPayClient(GW, "pbid_test", "test_secret", transport=httpx.MockTransport(fail))
    with pytest.raises(GatewayError):
        charge(c, "4242424242424242")
    with pytest.raises(GatewayError):
        c.status_invoice("inv-1")


@pytest.mark.parametrize("pan, charged", [("4000000000000507", 1), ("4000000000000606", 1),
                                          ("4000000000000705", 0)])
def test_trouble_cards_raise_and_status_tells_the_truth(client, gw, pan, charged):
    with pytest.raises(GatewayError):
        charge(client, pan, invoice="inv-t")
    found = client.status_invoice("inv-t")
    assert [o.kind for o in found] == ["completed"] * charged
    assert gw.extensions["sandbox.ledger"].count("pbid_test", "inv-t") == charged


def test_slow_gateway_times_out_but_the_charge_is_there(tmp_path):
    gw = sandbox.create_app(base_config(tmp_path, SANDBOX_SLOW_SECONDS=1.5))
    slow = OdeonPayClient(GW, "pbid_test", "test_secret", transport=ThreadedWSGITransport(app=gw), timeout=0.5)
    started = time.monotonic()
    with pytest.raises(GatewayError, match="ReadTimeout"):
        charge(slow, "4000000000000408", invoice="inv-slow")
    assert time.monotonic() - started < 1.4  # it gave up, it did not wait for the answer
    found = slow.status_invoice("inv-slow")
    assert [(o.kind, o.status) for o in found] == [("completed", "Completed")]
    slow.close()
    time.sleep(1.2)  # let the sandbox's sleeping request finish before tmp_path goes


def test_bad_request_is_a_decline_with_the_gateways_message(client, gw):
    outcome = charge(client, "4242", invoice="inv-short")
    assert outcome.kind == "declined" and outcome.reason == "Invalid card data"
    assert gw.extensions["sandbox.ledger"].count("pbid_test", "inv-short") == 0
