"""The payment and payout flows on their own, without HTTP to our pages: each step of a
card payment, a decline, both 3-D Secure schemes, an answer lost after the charge, a
second claim refused. The gateway is the real sandbox (in-process, over httpx); the
customer's part at the bank's pages is played on the sandbox's own pages."""
from __future__ import annotations

import re
import time
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import base_config

from checkout import create_app, payouts
from checkout import store as st
from checkout.flows import payment as flow
from checkout.flows import payout as payout_flow
from checkout.merchants import DEMO_MERCHANT

BACK = "http://127.0.0.1:5000/c/token/return"


@pytest.fixture
def app(tmp_path):
    # The slow card sleeps past a short timeout; a charge with no trace opens again at once.
    app = create_app(base_config(tmp_path, GATEWAY_TIMEOUT=1, SANDBOX_SLOW_SECONDS=2, PENDING_GRACE=0))
    with app.app_context():
        yield app


@pytest.fixture
def ledger(app):
    return app.extensions["sandbox.ledger"]


def session(**payload) -> flow.Session:
    body = {"cid": uuid.uuid4().hex, "m": DEMO_MERCHANT.public_id, "amount": "10.66", "currency": "USD",
            "description": "Flow test", "invoiceId": f"inv-{uuid.uuid4().hex[:8]}",
            "successUrl": "https://shop.example/s", "failureUrl": "https://shop.example/f",
            "exp": int(time.time()) + 600, **payload}
    return flow.open_session(body, DEMO_MERCHANT)


def card(pan: str = "4242424242424242", cvv: str = "123") -> flow.CardDetails:
    return flow.CardDetails(name="John Doe", pan=pan, cvv=cvv, expiry_month=12, expiry_year=2031)


def charges(ledger, s: flow.Session) -> int:
    return ledger.count(DEMO_MERCHANT.public_id, s.invoice)


def pay(s: flow.Session, details: flow.CardDetails | None = None, ip: str = "10.0.0.1") -> flow.Step:
    return flow.pay_card(s, details or card(), ip=ip, back_url=BACK, data={})


def test_a_card_payment_step_by_step(app, ledger):
    s = session()
    assert s.checkout.state == st.OPEN and flow.payable(s.checkout) and flow.standing(s.checkout) is None
    step = pay(s)
    assert (step.kind, step.result) == ("merchant", "success")
    c = step.checkout
    assert (c.state, c.status, c.status_code, c.charges, c.declines) == (st.COMPLETED, "Completed", 4, 1, 0)
    assert c.masked_pan == "424242******4242" and c.brand == "visa" and c.transaction_id
    assert flow.standing(c) == "success" and not flow.payable(c)
    assert charges(ledger, s) == 1
    # The card is nowhere in the row: only the masked PAN.
    assert "4242424242424242" not in repr(c)


def test_a_second_claim_is_refused(app, ledger):
    s = session()
    again = flow.Session(s.payload, s.merchant, s.checkout)  # a second submission of the same open page
    assert pay(s).kind == "merchant"
    assert flow.payable(again.checkout)  # it still sees the checkout open: only the claim can stop it
    step = pay(again, card("5555555555554444"))
    assert step.kind == "stands" and step.checkout.state == st.COMPLETED
    assert step.checkout.masked_pan == "424242******4242"
    assert charges(ledger, s) == 1
    # A claim already made by someone else: the flow does not charge either.
    other = session()
    assert flow.store().transition(other.id, flow.PAYABLE, st.PROCESSING)
    assert pay(other).kind == "stands" and charges(ledger, other) == 0


def test_declines_count_then_go_to_the_failure_url(app, ledger):
    s = session()
    first = pay(s, card(cvv="333"))
    assert first.kind == "declined"
    assert (first.checkout.state, first.checkout.declines, first.checkout.reason_code) == (st.DECLINED, 1, 5051)
    assert flow.payable(first.checkout)
    assert pay(s, card(cvv="333")).kind == "declined"
    last = pay(s, card(cvv="333"))
    assert (last.kind, last.result, last.checkout.declines) == ("merchant", "failure", 3)
    assert not flow.payable(last.checkout) and flow.standing(last.checkout) == "failure"
    assert pay(s).kind == "stands"  # out of tries: nothing more is charged
    assert charges(ledger, s) == 3


def test_declines_from_one_address_are_limited(app):
    app.config["MAX_DECLINES_PER_IP"] = 2
    for _ in range(2):
        assert pay(session(), card(cvv="333"), ip="10.9.9.9").kind == "declined"
    s = session()
    step = pay(s, ip="10.9.9.9")
    assert step.kind == "limited" and step.checkout.state == st.OPEN and step.checkout.charges == 0
    assert pay(s, ip="10.9.9.8").kind == "merchant"  # another address is not limited


def _bank_answers(app, step: flow.Step, passphrase: str) -> dict:
    """The customer at the sandbox's ACS: the page's form posted with the passphrase;
    what it posts back to our TermUrl (PaRes, MD)."""
    path = urlsplit(step.url).path
    client = app.test_client()
    fields = {**step.fields, "TermUrl": "http://127.0.0.1:5000/c/token/3ds"}
    assert client.post(path, data=fields).status_code == 200
    answer = client.post(path + "/submit", data={**fields, "passphrase": passphrase})
    html = answer.get_data(as_text=True)
    return dict(re.findall(r'name="(PaRes|MD)" value="([^"]+)"', html))


def test_advanced_3ds_then_the_acs_answer(app, ledger):
    s = session()
    step = pay(s, card("4111111111111111"))
    assert step.kind == "acs" and step.url.endswith("/sandbox/acs")
    assert step.fields["MD"] == step.checkout.transaction_id and step.fields["PaReq"]
    assert step.checkout.state == st.AWAITING_3DS and flow.standing(step.checkout) == "pending"
    answer = _bank_answers(app, step, "4")
    done = flow.finish_3ds(s, answer["MD"], answer["PaRes"], ip="10.0.0.1")
    assert (done.kind, done.result, done.checkout.state) == ("merchant", "success", st.COMPLETED)
    # The ACS's post again (a reload, a replay): the context was single use.
    assert flow.finish_3ds(s, answer["MD"], answer["PaRes"], ip="10.0.0.1").kind == "stands"
    assert charges(ledger, s) == 1


def test_advanced_3ds_failed_is_a_decline(app):
    s = session()
    step = pay(s, card("4111111111111111"))
    answer = _bank_answers(app, step, "wrong")
    done = flow.finish_3ds(s, answer["MD"], answer["PaRes"], ip="10.0.0.1")
    assert done.kind == "declined" and done.checkout.reason_code == 5206 and flow.payable(done.checkout)


def test_redirect_3ds_then_the_way_back(app, ledger):
    s = session()
    step = pay(s, card("4200000000000000"))
    assert step.kind == "handover" and step.checkout.state == st.AWAITING_3DS
    parts = urlsplit(step.url)
    client = app.test_client()
    reference = dict(parse_qsl(parts.query))["link_reference"]
    bank = client.post(parts.path, data={"link_reference": reference, "passphrase": "4"})
    assert bank.status_code == 303 and bank.headers["Location"].startswith(BACK)
    done = flow.reconcile(s)
    assert (done.kind, done.result, done.checkout.state) == ("merchant", "success", st.COMPLETED)
    assert flow.reconcile(s).kind == "merchant"  # asking again changes nothing
    assert charges(ledger, s) == 1


def test_an_answer_lost_after_the_charge_is_found_later(app, ledger):
    s = session()
    step = pay(s, card("4000000000000408"))  # charged, but the answer comes after the timeout
    assert step.kind == "stands" and step.checkout.state == st.PENDING and not step.checkout.transaction_id
    assert flow.standing(step.checkout) == "pending" and not flow.payable(step.checkout)
    assert pay(s).kind == "stands"  # while pending, nothing is charged again
    time.sleep(1.5)  # the sandbox finishes the slow charge
    done = flow.reconcile(s)
    assert (done.kind, done.result) == ("merchant", "success")
    assert done.checkout.transaction_id and done.checkout.state == st.COMPLETED
    assert charges(ledger, s) == 1


def test_a_bad_gateway_answer_after_the_charge_is_found_by_invoice(app, ledger):
    s = session()
    assert pay(s, card("4000000000000507")).checkout.state == st.PENDING  # charged, then a 502
    done = flow.reconcile(s)
    assert done.kind == "merchant" and done.checkout.state == st.COMPLETED and charges(ledger, s) == 1


def test_a_charge_that_left_no_trace_opens_again(app, ledger):
    s = session()
    assert pay(s, card("4000000000000705")).checkout.state == st.PENDING  # 503: nothing charged
    again = flow.reconcile(s)
    assert again.kind == "stands" and again.checkout.state == st.OPEN and charges(ledger, s) == 0
    assert pay(s).kind == "merchant" and charges(ledger, s) == 1


def test_cancel_only_what_nobody_is_paying(app):
    s = session()
    step = flow.cancel(s)
    assert (step.kind, step.result, step.checkout.state) == ("merchant", "cancel", st.CANCELLED)
    assert flow.cancel(s).kind == "merchant"  # again: still cancelled
    assert pay(s).kind == "stands"
    paid = session()
    pay(paid)
    assert flow.cancel(paid).kind == "stands" and paid.checkout.state == st.COMPLETED


def test_a_payout_is_paid_out_once(app, ledger):
    payout, _expires = payout_flow.create(DEMO_MERCHANT, {
        "amount": "25.00", "currency": "EUR", "orderId": f"po-{uuid.uuid4().hex[:8]}",
        "customer": {"externalUserId": "u1", "firstName": "Jane", "lastName": "Doe"}})
    assert payout.status == payouts.CREATED
    done = payout_flow.pay_out_card(payout, DEMO_MERCHANT, "4242424242424242", "Jane Doe")
    assert done.status == payouts.PROCESSED and done.destination == "424242******4242"
    assert payout_flow.pay_out_card(payout, DEMO_MERCHANT, "4242424242424242", "Jane Doe") is None
    assert ledger.count(DEMO_MERCHANT.public_id, payout.invoice) == 1
