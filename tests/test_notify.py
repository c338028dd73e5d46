"""The merchant hears every outcome from our server: notifications written with the state
change, delivered to a real receiver on loopback, retried, listed, resent; the worker
settles and expires what nobody watches; the Payment Check; the gateway's own
notifications; the merchant API's view of a checkout. On SQLite and on PostgreSQL."""
from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from conftest import Forms, base_config, local, seed_request, text
from receiver import Receiver, Reply
from test_pay_http import pay

from checkout import create_app, webhooks
from checkout import store as st
from checkout.flows import worker
from checkout.signatures import content_hmac

SHOP = ("pbid_shop", "shop-secret-0123456789")
OTHER = ("pbid_other", "other-secret-0123456789")


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def make_shop(tmp_path, database, receiver: Receiver, **config):
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([
        {"publicId": SHOP[0], "secret": SHOP[1], "name": "Shop", "notificationUrl": receiver.url + "/hooks",
         **config.pop("merchant", {})},
        {"publicId": OTHER[0], "secret": OTHER[1]}]))
    config = {"NOTIFY_SCHEDULE": "0s,0s,0s,0s,0s", "NOTIFY_TIMEOUT": 1, **config}
    return create_app(base_config(tmp_path, DATABASE=database, MERCHANTS_FILE=str(merchants), **config))


@pytest.fixture
def shop(tmp_path, database, receiver):
    app = make_shop(tmp_path, database, receiver)
    yield app
    app.extensions["checkout.store"].engine.dispose()


def new_link(app, auth=SHOP, **overrides) -> tuple[str, str]:
    """(the link's path, its checkoutId)."""
    response = app.test_client().post("/checkout/link", json=seed_request(**overrides), auth=auth)
    assert response.status_code == 200, response.json
    return local(response.json["link"]["action"]), response.json["model"]["checkoutId"]


def rounds(app, count: int = 1, now: float | None = None, name: str = "test-worker") -> list[worker.Round]:
    with app.app_context():
        return [worker.run_round(name, now) for _ in range(count)]


def outbox(app):
    return app.extensions["checkout.outbox"]


def test_a_paid_checkout_is_told_once_signed_both_ways(shop, receiver):
    path, cid = new_link(shop)
    assert pay(shop.test_client(), path).status_code == 303
    # Written with the payment, before anyone delivers it.
    (n,) = outbox(shop).of(merchant=SHOP[0])
    assert (n.event, n.subject, n.state, n.attempts) == ("checkout.completed", cid, st.NOTIFY_PENDING, 0)
    rounds(shop, 3)
    (got,) = receiver.received
    body = got.json
    assert got.path == "/hooks" and got.headers["Content-Type"] == "application/json"
    assert webhooks.verify(got.body, got.headers, SHOP[1]) == {"contentHmac": True, "standard": True}
    assert webhooks.verify(got.body, got.headers, "another-secret") == {"contentHmac": False, "standard": False}
    assert got.headers["webhook-id"] == body["notificationId"] == n.id
    assert (body["event"], body["checkoutId"], body["status"], body["statusCode"]) == (
        "checkout.completed", cid, "Completed", 4)
    seed = seed_request()
    assert (body["amount"], body["currency"], body["invoiceId"], body["accountId"]) == (
        float(seed["amount"]), seed["currency"], seed["invoiceId"], seed["accountId"])
    assert (body["cardFirstSix"], body["cardLastFour"], body["cardType"], body["cardExpDate"], body["name"]) == (
        "424242", "4242", "Visa", "12/2039", "Jane Doe")
    assert isinstance(body["transactionId"], int) and body["operationType"] == "Payment"
    assert set(body) >= {"dateTime", "operationTypeCode", "token", "reason", "reasonCode"}
    assert "4242424242424242" not in got.body.decode() and "cvv" not in got.body.decode().lower()
    delivered = outbox(shop).get(n.id)
    assert (delivered.state, delivered.attempts) == (st.DELIVERED, 1)


def test_retried_until_confirmed_with_the_same_id(tmp_path, database):
    """500, no answer in time, a wrong body, then {"code":0}: four attempts of one notification."""
    receiver = Receiver(Reply(500, b"oops"), Reply(delay=2.5), Reply(200, b'{"ok":true}'))
    app = make_shop(tmp_path, database, receiver)
    try:
        path, cid = new_link(app)
        pay(app.test_client(), path)
        for _ in range(6):
            rounds(app)
        ids = [r.headers["webhook-id"] for r in receiver.received]
        assert len(ids) == 4 and len(set(ids)) == 1
        assert {r.json["notificationId"] for r in receiver.received} == set(ids)
        assert len({r.body for r in receiver.received}) == 1  # the same bytes every time
        listed = app.test_client().get("/notifications", auth=SHOP).json["notifications"]
        (n,) = listed
        assert (n["state"], n["attempts"], n["event"]) == ("delivered", 4, "checkout.completed")
        log = n["attemptLog"]
        assert [a["httpStatus"] for a in log] == [500, None, 200, 200]
        assert log[0]["answer"] == "oops" and log[1]["error"].startswith("no answer within 1 s")
        assert "code" in log[2]["error"] and log[3]["error"] is None
    finally:
        receiver.stop()
        app.extensions["checkout.store"].engine.dispose()


def test_failed_after_the_last_try_listed_and_resent(tmp_path, database):
    receiver = Receiver(default=Reply(503, b"down"))
    app = make_shop(tmp_path, database, receiver, NOTIFY_SCHEDULE="0s,0s")
    try:
        path, _cid = new_link(app)
        pay(app.test_client(), path)
        rounds(app, 5)
        assert len(receiver.received) == 3  # the first try and the two of the schedule
        failed = app.test_client().get("/notifications?state=failed", auth=SHOP).json["notifications"]
        assert [n["state"] for n in failed] == ["failed"]
        assert app.test_client().get("/notifications?state=failed", auth=OTHER).json["notifications"] == []
        runner = app.test_cli_runner()
        listed = runner.invoke(args=["notifications", "list", "--state", "failed"])
        assert listed.exit_code == 0 and failed[0]["notificationId"] in listed.output and "HTTP 503" in listed.output
        receiver.default = Reply()
        resent = runner.invoke(args=["notifications", "resend", failed[0]["notificationId"]])
        assert resent.exit_code == 0, resent.output
        rounds(app)
        assert len(receiver.received) == 4
        assert receiver.received[-1].headers["webhook-id"] == failed[0]["notificationId"]
        assert outbox(app).get(failed[0]["notificationId"]).state == st.DELIVERED
        assert runner.invoke(args=["notifications", "resend", "ntf_nope"]).exit_code != 0
    finally:
        receiver.stop()
        app.extensions["checkout.store"].engine.dispose()


def test_retry_after_is_honoured(tmp_path, database):
    receiver = Receiver(Reply(503, b"busy", headers={"Retry-After": "120"}))
    app = make_shop(tmp_path, database, receiver)
    try:
        path, _cid = new_link(app)
        pay(app.test_client(), path)
        before = time.time()
        rounds(app, 3)
        (n,) = outbox(app).of(merchant=SHOP[0])
        assert len(receiver.received) == 1 and n.state == st.NOTIFY_PENDING
        assert n.next_at >= before + 119
        rounds(app, now=n.next_at + 1)
        assert outbox(app).get(n.id).state == st.DELIVERED
    finally:
        receiver.stop()
        app.extensions["checkout.store"].engine.dispose()


def test_the_schedule_by_default_lasts_more_than_three_days():
    from checkout.config import DEFAULTS
    from checkout.flows.notify import parse_schedule
    schedule = parse_schedule(DEFAULTS["NOTIFY_SCHEDULE"])
    assert len(schedule) == 10 and sum(schedule) > 3 * 86400
    with pytest.raises(ValueError, match="NOTIFY_SCHEDULE"):
        parse_schedule("10s,soon")


def test_a_declined_checkout_is_told_once_no_tries_are_left(shop, receiver):
    path, cid = new_link(shop)
    client = shop.test_client()
    for _ in range(2):
        pay(client, path, cvv="333")
        rounds(shop)
    assert receiver.received == []  # the customer may still pay
    assert client.get(f"/checkout/{cid}", auth=SHOP).json["model"]["state"] == "open"
    pay(client, path, cvv="333")
    rounds(shop)
    (body,) = receiver.bodies()
    assert (body["event"], body["status"], body["reasonCode"]) == ("checkout.declined", "Declined", 5051)
    model = client.get(f"/checkout/{cid}", auth=SHOP).json["model"]
    assert (model["state"], model["attempts"], model["declines"]) == ("declined", 3, 3)


def test_cancel_and_expire_are_told(shop, receiver):
    client = shop.test_client()
    path, cancelled = new_link(shop)
    client.get(path)
    assert client.get(f"{path}/cancel").status_code in (302, 303)
    _path2, expired = new_link(shop)
    answer = client.post(f"/checkout/{expired}/expire", auth=SHOP)
    assert answer.status_code == 200 and answer.json["model"]["state"] == "expired"
    again = client.post(f"/checkout/{expired}/expire", auth=SHOP)
    assert again.status_code == 409 and again.json["model"]["state"] == "expired"
    rounds(shop)
    events = {b["checkoutId"]: b["event"] for b in receiver.bodies()}
    assert events == {cancelled: "checkout.cancelled", expired: "checkout.expired"}
    page = client.get(_path2)
    assert page.status_code == 410 and "expired" in text(page)


def test_the_api_shows_a_merchant_its_own_checkouts_only(shop):
    client = shop.test_client()
    path, cid = new_link(shop, invoiceId="inv-42")
    model = client.get(f"/checkout/{cid}", auth=SHOP).json["model"]
    assert (model["checkoutId"], model["state"], model["invoiceId"], model["attempts"]) == (cid, "open", "inv-42", 0)
    assert set(model) == {"checkoutId", "state", "status", "statusCode", "transactionId", "amount", "currency",
                          "invoiceId", "accountId", "reason", "reasonCode", "attempts", "declines", "createdAt",
                          "updatedAt", "expiresAt"}
    assert client.get(f"/checkout/{cid}", auth=OTHER).status_code == 404
    assert client.get(f"/checkout/{cid}").status_code == 401
    assert client.post(f"/checkout/{cid}/expire", auth=OTHER).status_code == 404
    pay(client, path)
    paid = client.get(f"/checkout/{cid}", auth=SHOP).json["model"]
    assert (paid["state"], paid["status"], paid["statusCode"]) == ("completed", "Completed", 4)
    assert isinstance(paid["transactionId"], int)
    refused = client.post(f"/checkout/{cid}/expire", auth=SHOP)
    assert refused.status_code == 409 and refused.json["model"]["state"] == "completed"
    _other_path, second = new_link(shop, invoiceId="inv-42")
    listed = client.get("/checkout?invoiceId=inv-42", auth=SHOP).json["checkouts"]
    assert [c["checkoutId"] for c in listed] == [second, cid]
    assert client.get("/checkout?invoiceId=inv-42", auth=OTHER).json["checkouts"] == []
    assert client.get("/checkout", auth=SHOP).status_code == 400


def test_the_worker_expires_open_checkouts_past_their_expiry(shop, receiver):
    path, cid = new_link(shop, expiresIn=60)
    rounds(shop)
    assert receiver.received == []
    rounds(shop, now=time.time() + 61)
    (body,) = receiver.bodies()
    assert (body["event"], body["checkoutId"], body["status"]) == ("checkout.expired", cid, "Expired")
    assert shop.test_client().get(f"/checkout/{cid}", auth=SHOP).json["model"]["state"] == "expired"


def test_a_customer_who_leaves_after_the_bank_is_settled_by_the_worker(shop, receiver):
    """Redirect 3-D Secure: the customer passes at the bank and closes the tab before the
    way back. Nobody opens the link again; the worker asks the gateway."""
    client = shop.test_client()
    path, cid = new_link(shop)
    hand_over = pay(client, path, number="4200000000000000")
    bank = Forms(text(hand_over)).forms
    link = [a for a in text(hand_over).split('"') if "/sandbox/redirect/" in a][0].replace("&amp;", "&")
    bank_page = client.get(local(link))
    fields = Forms(text(bank_page)).form("/sandbox/redirect/")["fields"]
    done = client.post("/sandbox/redirect/", data={**fields, "passphrase": "4"})
    assert done.status_code == 303 and bank is not None  # the way back the customer never follows
    assert client.get(f"/checkout/{cid}", auth=SHOP).json["model"]["state"] == "awaiting_3ds"
    rounds(shop, 2)
    assert client.get(f"/checkout/{cid}", auth=SHOP).json["model"]["state"] == "completed"
    assert [b["event"] for b in receiver.bodies()] == ["checkout.completed"]


def test_a_customer_who_leaves_at_the_bank_ends_as_the_gateway_says(tmp_path, database, receiver):
    """Advanced 3-D Secure left unfinished: the gateway declines it once its window is
    over; the checkout may still be paid until its link expires, and then the merchant
    hears that it expired, with the bank's reason."""
    app = make_shop(tmp_path, database, receiver, SANDBOX_3DS_SECONDS=1)
    try:
        client = app.test_client()
        path, cid = new_link(app, expiresIn=60)
        acs = pay(client, path, number="4111111111111111")
        assert "PaReq" in text(acs)
        time.sleep(1.2)
        rounds(app, now=time.time() + 10)
        model = client.get(f"/checkout/{cid}", auth=SHOP).json["model"]
        assert (model["state"], model["reasonCode"]) == ("open", 5004)
        rounds(app, now=time.time() + 120)
        (body,) = receiver.bodies()
        assert (body["event"], body["checkoutId"], body["reasonCode"]) == ("checkout.expired", cid, 5004)
    finally:
        app.extensions["checkout.store"].engine.dispose()


def test_a_charge_whose_answer_never_came_is_settled_by_the_worker(tmp_path, database, receiver):
    """The slow card is charged but answers after our timeout: pending, then settled from
    the gateway's status (its own notification in, or the worker's polling), told once."""
    app = make_shop(tmp_path, database, receiver, GATEWAY_TIMEOUT=1, SANDBOX_SLOW_SECONDS=1.5)
    try:
        path, cid = new_link(app)
        client = app.test_client()
        pay(client, path, number="4000000000000408")
        assert client.get(f"/checkout/{cid}", auth=SHOP).json["model"]["state"] == "pending"
        time.sleep(1)
        rounds(app, 3, now=time.time() + 60)
        assert client.get(f"/checkout/{cid}", auth=SHOP).json["model"]["state"] == "completed"
        assert Counter(b["event"] for b in receiver.bodies()) == {"checkout.pending": 1, "checkout.completed": 1}
        assert app.extensions["sandbox.ledger"].count(SHOP[0], seed_request()["invoiceId"]) == 1
    finally:
        app.extensions["checkout.store"].engine.dispose()


# -- Payment Check ------------------------------------------------------------------------------
@pytest.fixture
def check():
    r = Receiver()
    yield r
    r.stop()


def test_payment_check_lets_the_charge_go_on(tmp_path, database, receiver, check):
    app = make_shop(tmp_path, database, receiver, merchant={"checkUrl": check.url + "/check"})
    try:
        path, cid = new_link(app)
        assert pay(app.test_client(), path).status_code == 303
        (asked,) = check.received
        fields = asked.json
        assert webhooks.verify(asked.body, asked.headers, SHOP[1])["contentHmac"]
        assert (fields["status"], fields["statusCode"], fields["checkoutId"], fields["cardLastFour"]) == (
            "Created", 10, cid, "4242")
        assert set(fields) >= {"transactionId", "amount", "currency", "dateTime", "invoiceId", "accountId", "name",
                               "operationTypeCode", "operationType", "cardFirstSix", "cardType", "cardExpDate"}
        assert app.test_client().get(f"/checkout/{cid}", auth=SHOP).json["model"]["state"] == "completed"
    finally:
        app.extensions["checkout.store"].engine.dispose()


@pytest.mark.parametrize("reply", [Reply(200, b'{"code":1}'), Reply(500), Reply(delay=2.5)],
                         ids=["refused", "error", "no-answer"])
def test_payment_check_refuses_the_charge(tmp_path, database, receiver, check, reply):
    check.default = reply
    app = make_shop(tmp_path, database, receiver, CHECK_TIMEOUT=1, merchant={"checkUrl": check.url + "/check"})
    try:
        path, cid = new_link(app)
        answer = pay(app.test_client(), path)
        assert answer.status_code == 403
        assert "The shop could not accept this payment. Nothing was charged." in text(answer)
        assert app.extensions["sandbox.ledger"].count(SHOP[0], seed_request()["invoiceId"]) == 0
        model = app.test_client().get(f"/checkout/{cid}", auth=SHOP).json["model"]
        assert (model["state"], model["transactionId"]) == ("open", None)
        check.default = Reply()
        assert pay(app.test_client(), path).status_code == 303  # the shop accepts it now
    finally:
        app.extensions["checkout.store"].engine.dispose()


# -- the gateway's own notifications -------------------------------------------------------------
def test_gateway_notifications_need_their_content_hmac(tmp_path, database, receiver):
    """Pending after a timeout; the gateway's notification settles it at once (the checkout
    asks the gateway, never trusting the body); a wrong Content-HMAC changes nothing."""
    app = make_shop(tmp_path, database, receiver, GATEWAY_TIMEOUT=1, SANDBOX_SLOW_SECONDS=1.5)
    try:
        path, cid = new_link(app)
        client = app.test_client()
        pay(client, path, number="4000000000000408")
        time.sleep(1)
        body = json.dumps({"transactionId": None, "invoiceId": seed_request()["invoiceId"], "status": "Completed",
                           "statusCode": 4, "amount": 10.66, "currency": "USD"})
        forged = client.post(f"/gateway/notifications/{SHOP[0]}", data=body, content_type="application/json",
                             headers={"Content-HMAC": content_hmac(body, "not-the-secret")})
        assert forged.status_code == 401 and forged.json["code"] != 0
        assert client.get(f"/checkout/{cid}", auth=SHOP).json["model"]["state"] == "pending"
        signed = client.post(f"/gateway/notifications/{SHOP[0]}", data=body, content_type="application/json",
                             headers={"Content-HMAC": content_hmac(body, SHOP[1])})
        assert signed.status_code == 200 and signed.json == {"code": 0}
        assert client.get(f"/checkout/{cid}", auth=SHOP).json["model"]["state"] == "completed"
        unknown = client.post("/gateway/notifications/pbid_nobody", data=body, content_type="application/json",
                              headers={"Content-HMAC": content_hmac(body, SHOP[1])})
        assert unknown.status_code == 401
    finally:
        app.extensions["checkout.store"].engine.dispose()


def test_a_state_reached_twice_is_told_once(shop):
    """Two servers recording the same answer: the second write of the notification is a no-op."""
    path, cid = new_link(shop)
    pay(shop.test_client(), path)
    store = shop.extensions["checkout.store"]
    with shop.app_context():
        c = store.get(cid)
        again = store.notices(c)
        outbox(shop).add(again)
    assert [n.event for n in outbox(shop).of(subject=cid)] == ["checkout.completed"]


def test_a_payout_the_gateway_finishes_later_is_told(tmp_path, database, receiver):
    """Card 4200 is paid out later (Created at the gateway): nobody looks at the payout's
    page again, the worker asks, and the merchant hears payout.pending then payout.completed."""
    from test_payouts import card_payout, follow, payout_request
    app = make_shop(tmp_path, database, receiver, SANDBOX_PENDING_SECONDS=0.5,
                    merchant={"allowPayouts": True})
    try:
        client = app.test_client()
        answer = client.post("/payouts", json=payout_request(), auth=SHOP).json
        assert follow(client, card_payout(client, answer, "4200000000000000")).status_code == 202
        rounds(app)
        assert [b["event"] for b in receiver.bodies()] == ["payout.pending"]
        time.sleep(0.6)
        rounds(app, now=time.time() + 11)
        events = [b["event"] for b in receiver.bodies()]
        assert events == ["payout.pending", "payout.completed"]
        done = receiver.bodies("payout.completed")[0]
        assert (done["payoutId"], done["status"], done["cardLastFour"], done["operationType"]) == (
            answer["payoutId"], "PayoutCompleted", "0000", "CardPayout")
        assert client.get(f"/payouts/{answer['payoutId']}", auth=SHOP).json["status"] == "PROCESSED"
    finally:
        app.extensions["checkout.store"].engine.dispose()


def test_a_worker_killed_mid_delivery_leaves_it_to_another(shop, receiver):
    """A lease, not a lock held by a process: the dead worker's lease runs out, and the
    next worker delivers; while it holds, nobody else sends it."""
    path, _cid = new_link(shop)
    pay(shop.test_client(), path)
    box = outbox(shop)
    now = time.time()
    (taken,) = box.claim("dead-worker", now, lease_seconds=60)
    assert box.claim("other-worker", now + 30, lease_seconds=60) == []  # still leased
    rounds(shop, now=now + 30, name="other-worker")
    assert receiver.received == []
    rounds(shop, now=now + 61, name="other-worker")
    assert len(receiver.received) == 1 and box.get(taken.id).state == st.DELIVERED
    assert box.attempts(taken.id)[0].worker == "other-worker"
    assert not box.finish(taken.id, "dead-worker", box.attempts(taken.id)[0], True, None)  # too late to count


def test_a_checkout_may_name_its_own_notification_url(tmp_path, database, receiver):
    own = Receiver()
    app = make_shop(tmp_path, database, receiver, merchant={"redirectHosts": ["example.com", "127.0.0.1"]})
    try:
        client = app.test_client()
        refused = client.post("/checkout/link", json=seed_request(notificationUrl="https://evil.example/x"),
                              auth=SHOP)
        assert refused.status_code == 400 and "notificationUrl" in refused.json["errors"]
        path, cid = new_link(app, notificationUrl=own.url + "/this-order")
        pay(client, path)
        rounds(app)
        assert receiver.received == [] and [r.path for r in own.received] == ["/this-order"]
        assert own.received[0].json["checkoutId"] == cid
    finally:
        own.stop()
        app.extensions["checkout.store"].engine.dispose()


def test_signature_headers_that_are_not_ascii_are_refused_not_errors(shop):
    client = shop.test_client()
    body = json.dumps(seed_request())
    link = client.post("/checkout/link", data=body, content_type="application/json", auth=SHOP,
                       headers={"Content-HMAC": "é" * 8})
    assert link.status_code == 401
    gateway = client.post(f"/gateway/notifications/{SHOP[0]}", data="{}", content_type="application/json",
                          headers={"Content-HMAC": "ü"})
    assert gateway.status_code == 401 and gateway.json["code"] != 0
    signed = webhooks.headers(b"{}", SHOP[1], "ntf_x", int(time.time()))
    assert webhooks.verify(b"{}", signed, SHOP[1]) == {"contentHmac": True, "standard": True}
    for key, bad in (("webhook-timestamp", "²"), ("webhook-signature", "v1,é"), ("webhook-id", "ид")):
        assert webhooks.verify(b"{}", {**signed, key: bad}, SHOP[1])["standard"] is False
    big = client.post(f"/gateway/notifications/{SHOP[0]}", data="x" * 70_000, content_type="application/json")
    assert big.status_code == 413 and big.json["code"] != 0


def test_an_old_timestamp_is_refused_by_the_standard_signature():
    signed = webhooks.headers(b"{}", SHOP[1], "ntf_x", int(time.time()) - 3600)
    assert webhooks.verify(b"{}", signed, SHOP[1]) == {"contentHmac": True, "standard": False}


@pytest.mark.parametrize("url, problem", [
    ("https://hooks.shop.example/n", None),
    ("http://hooks.shop.example/n", "must be an https URL"),
    ("https://localhost/n", "must not be on this host"),
    ("https://127.0.0.1:8080/n", "must not be a loopback, private or link-local address"),
    ("https://10.1.2.3/n", "must not be a loopback, private or link-local address"),
    ("https://169.254.169.254/latest/meta-data", "must not be a loopback, private or link-local address"),
    ("https://[::1]/n", "must not be a loopback, private or link-local address"),
])
def test_in_production_a_checkout_names_only_a_public_https_endpoint(url, problem):
    from checkout.validation import public_endpoint_error
    assert public_endpoint_error(url) == problem


def test_a_refused_payment_check_is_said_in_the_customer_s_language(tmp_path, database, receiver, check):
    check.default = Reply(200, b'{"code":7}')
    app = make_shop(tmp_path, database, receiver, merchant={"checkUrl": check.url + "/check"})
    try:
        path, _cid = new_link(app, locale="ru_RU")
        answer = pay(app.test_client(), path)
        assert answer.status_code == 403 and "Магазин не смог принять этот платёж. Деньги не списаны." in text(answer)
    finally:
        app.extensions["checkout.store"].engine.dispose()


def test_checkouts_a_final_decline_ended_do_not_hold_up_expiry(shop, receiver):
    """Past their expiry, declined checkouts with no tries left are not picked again and
    again: an open one behind them still expires, even one at a time."""
    client = shop.test_client()
    declined_path, declined = new_link(shop, expiresIn=60)
    for _ in range(3):
        pay(client, declined_path, cvv="333")
    _path, still_open = new_link(shop, expiresIn=60)
    with shop.app_context():
        assert worker.expire_due(time.time() + 120, limit=1) == 1
    states = {cid: client.get(f"/checkout/{cid}", auth=SHOP).json["model"]["state"] for cid in (declined, still_open)}
    assert states == {declined: "declined", still_open: "expired"}


def test_an_idempotent_repeat_registers_no_second_checkout(shop):
    client = shop.test_client()
    headers = {"Idempotency-Key": "order-7"}
    first = client.post("/checkout/link", json=seed_request(invoiceId="idem-7"), auth=SHOP, headers=headers).json
    again = client.post("/checkout/link", json=seed_request(invoiceId="idem-7"), auth=SHOP, headers=headers).json
    assert again == first
    other = client.post("/checkout/link", json=seed_request(invoiceId="idem-8"), auth=SHOP, headers=headers)
    assert other.status_code == 409
    listed = client.get("/checkout?invoiceId=idem-7", auth=SHOP).json["checkouts"]
    assert [c["checkoutId"] for c in listed] == [first["model"]["checkoutId"]]
    assert client.get("/checkout?invoiceId=idem-8", auth=SHOP).json["checkouts"] == []
