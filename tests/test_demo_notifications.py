"""The demo store's server receiving its notifications (``/demo/notifications``): both
signatures checked, kept, confirmed with ``{"code":0}`` (a repeat too), listed as a page
and as JSON; a real payment told to it by the worker; and the README's verification
snippet, run as it is written there."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from conftest import DEMO_AUTH, LiveServer, base_config, local, seed_request, text
from test_pay_http import pay
from werkzeug.datastructures import Headers

from checkout import create_app, webhooks
from checkout.flows import worker
from checkout.flows.merchant import post_signed

SECRET = DEMO_AUTH[1]
README = Path(__file__).resolve().parent.parent / "README.md"


def notification(nid: str = "ntf_demo_1", **fields) -> bytes:
    """A notification's body as the checkout sends it (compact JSON)."""
    body = {"transactionId": 7, "amount": 18.5, "currency": "USD", "dateTime": "2026-12-02T07:16:37Z",
            "invoiceId": "demo-1234", "accountId": None, "operationTypeCode": 1, "operationType": "Payment",
            "status": "Completed", "statusCode": 4, "checkoutId": "c0ffee", "event": "checkout.completed",
            "notificationId": nid, **fields}
    return json.dumps(body, separators=(",", ":")).encode()


def deliver(client, body: bytes, secret: str = SECRET, nid: str | None = None, timestamp: int | None = None):
    nid = nid or json.loads(body)["notificationId"]
    headers = webhooks.headers(body, secret, nid, int(time.time()) if timestamp is None else timestamp)
    return client.post("/demo/notifications", data=body, content_type="application/json", headers=headers)


def listed(client) -> list[dict]:
    response = client.get("/demo/notifications", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json["notifications"]


# -- the receiver ---------------------------------------------------------------------------------
def test_a_correctly_signed_notification_is_confirmed_and_verifies_both_ways(client):
    response = deliver(client, notification())
    assert (response.status_code, response.json) == (200, {"code": 0})
    (got,) = listed(client)
    assert (got["contentHmac"], got["standard"], got["repeat"]) == (True, True, False)
    assert (got["notificationId"], got["event"], got["checkoutId"], got["invoiceId"]) == (
        "ntf_demo_1", "checkout.completed", "c0ffee", "demo-1234")
    assert (got["amount"], got["currency"], got["status"], got["statusCode"]) == (18.5, "USD", "Completed", 4)
    assert got["body"] == json.loads(notification())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", got["receivedAt"])
    assert client.get("/demo/notifications?format=json").json == {"notifications": [got]}


def test_a_wrong_secret_is_listed_as_not_verified_and_not_confirmed(client):
    response = deliver(client, notification(), secret="not the demo secret")
    assert response.status_code == 401 and response.json["code"] == 1  # a real store never acts on it
    (got,) = listed(client)
    assert (got["contentHmac"], got["standard"]) == (False, False)


def test_each_signature_is_checked_on_its_own_and_both_must_verify(client):
    body = notification("ntf_one_of_two")
    headers = webhooks.headers(body, SECRET, "ntf_one_of_two", int(time.time()))
    tampered = {**headers, "webhook-signature": webhooks.standard_signature(body, "other", "ntf_one_of_two",
                                                                             int(time.time()))}
    refused = client.post("/demo/notifications", data=body, content_type="application/json", headers=tampered)
    assert (refused.status_code, refused.json) == (401, {"code": 1, "message": "webhook-signature does not verify"})
    old = int(time.time()) - 3600  # a replay of an old delivery: its Standard Webhooks signature is refused
    assert deliver(client, notification("ntf_old"), timestamp=old).status_code == 401
    # The signatures are over the raw bytes: the same JSON written another way does not verify.
    spaced = json.dumps(json.loads(notification("ntf_spaced"))).encode()
    headers = webhooks.headers(notification("ntf_spaced"), SECRET, "ntf_spaced", int(time.time()))
    refused = client.post("/demo/notifications", data=spaced, content_type="application/json", headers=headers)
    assert refused.json["message"] == "Content-HMAC and webhook-signature do not verify"
    only_hmac = {"Content-HMAC": headers["Content-HMAC"]}
    refused = client.post("/demo/notifications", data=notification("ntf_spaced"), content_type="application/json",
                          headers=only_hmac)
    assert refused.status_code == 401  # no Standard Webhooks headers at all
    hmac_only_entry, spaced_entry, old_entry, tampered_entry = listed(client)
    assert (tampered_entry["contentHmac"], tampered_entry["standard"]) == (True, False)
    assert (old_entry["contentHmac"], old_entry["standard"]) == (True, False)
    assert (spaced_entry["contentHmac"], spaced_entry["standard"]) == (False, False)
    assert (hmac_only_entry["contentHmac"], hmac_only_entry["standard"]) == (True, False)


def test_a_repeated_notification_id_is_confirmed_again_and_listed_as_a_repeat(client):
    body = notification("ntf_twice")
    assert deliver(client, body).json == {"code": 0}
    assert deliver(client, body, timestamp=int(time.time()) + 1).json == {"code": 0}  # the retry: confirmed
    assert deliver(client, notification("ntf_other")).json == {"code": 0}
    other, again, first = listed(client)  # newest first
    assert (first["notificationId"], first["repeat"]) == ("ntf_twice", False)
    assert (again["notificationId"], again["repeat"]) == ("ntf_twice", True)
    assert (again["contentHmac"], again["standard"]) == (True, True)
    assert (other["notificationId"], other["repeat"]) == ("ntf_other", False)


def test_a_forged_delivery_does_not_make_the_real_one_a_repeat(client):
    deliver(client, notification("ntf_forged_first"), secret="forger")
    assert deliver(client, notification("ntf_forged_first")).json == {"code": 0}
    real, forged = listed(client)
    assert (real["repeat"], real["standard"], forged["standard"]) == (False, True, False)


@pytest.mark.parametrize("body", [b"{", b"", b"[1, 2]", b'"text"', b"null", b"[" * 50_000])
def test_a_body_that_is_not_a_json_object_is_a_400(client, body):
    headers = webhooks.headers(body, SECRET, "ntf_bad", int(time.time()))
    response = client.post("/demo/notifications", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 400 and response.json["code"] == 2
    assert listed(client) == []


def test_odd_headers_and_values_are_shown_not_trusted(client):
    body = notification("ntf_odd", amount="NaN", currency="<b>", invoiceId={"x": 1}, event="<script>")
    headers = {**webhooks.headers(body, SECRET, "ntf_odd", int(time.time())),
               "webhook-signature": "v1,caf\u00e9", "webhook-timestamp": "\u00b2"}
    response = client.post("/demo/notifications", data=body, content_type="application/json", headers=headers)
    # Content-HMAC verifies; the non-ASCII header values are no signature (and no 500).
    assert (response.status_code, response.json["code"]) == (401, 1)
    (got,) = listed(client)
    assert (got["contentHmac"], got["standard"], got["amount"], got["currency"], got["invoiceId"]) == (
        True, False, None, None, None)
    html = text(client.get("/demo/notifications"))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_body_larger_than_64_kib_is_refused(client):
    body = notification("ntf_big", description="x" * 70_000)
    assert deliver(client, body).status_code == 413
    assert listed(client) == []


# -- the page ---------------------------------------------------------------------------------
def test_the_page_lists_them_newest_first(client):
    assert "Nothing has arrived yet" in text(client.get("/demo/notifications"))
    deliver(client, notification("ntf_page_1", invoiceId="inv-first"))
    deliver(client, notification("ntf_page_1", invoiceId="inv-first"))
    deliver(client, notification("ntf_page_2", invoiceId="inv-forged", event="checkout.declined"), secret="x")
    response = client.get("/demo/notifications")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = text(response)
    rows = re.findall(r'<tr data-notification="([^"]*)">(.*?)</tr>', html, re.S)
    assert [nid for nid, _row in rows] == ["ntf_page_2", "ntf_page_1", "ntf_page_1"]
    forged, repeat, first = (row for _nid, row in rows)
    assert "checkout.declined" in forged and "inv-forged" in forged
    assert forged.count(">does NOT verify<") == 2 and "<td data-delivery>first</td>" in forged
    assert repeat.count(">verifies<") == 2 and "<td data-delivery>repeat</td>" in repeat
    assert "<td data-delivery>first</td>" in first and "$18.50" in first and "Completed (4)" in first
    assert "c0ffee" in first and "inv-first" in first and '<time datetime="' in first
    # The demo's CSP: its one style element carries the response's nonce.
    nonce = re.search(r"style-src 'self' 'nonce-([^']+)'", response.headers["Content-Security-Policy"])[1]
    assert f'<style nonce="{nonce}">' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert 'href="/demo/notifications?format=json"' in html and 'href="/"' in html


def test_the_store_and_its_result_page_link_to_it(client):
    for path in ("/", "/demo/result/success"):
        html = text(client.get(path))
        assert re.search(r'<a href="/demo/notifications" id="notifications-link">What the store(&#39;|\')s '
                         r"server was told</a>", html), path


def test_json_is_for_who_asks_for_it(client):
    deliver(client, notification())
    browser = client.get("/demo/notifications", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.mimetype == "text/html"
    assert client.get("/demo/notifications", headers={"Accept": "*/*"}).mimetype == "text/html"
    assert client.get("/demo/notifications?format=json").mimetype == "application/json"


def test_every_app_has_its_own_list(tmp_path, client):
    deliver(client, notification())
    other = create_app(base_config(tmp_path / "other")).test_client()
    assert other.get("/demo/notifications?format=json").json == {"notifications": []}


def test_not_without_the_demo_merchant(tmp_path):
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([{"publicId": "pbid_shop", "secret": "shop-secret"}]))
    client = create_app(base_config(tmp_path, MERCHANTS_FILE=str(merchants))).test_client()
    assert deliver(client, notification(), secret="shop-secret").status_code == 404


# -- end to end ---------------------------------------------------------------------------------
def test_the_demo_store_is_told_of_a_real_payment(app, client):
    """The demo merchant's notificationUrl is the path /demo/notifications: the worker
    delivers there in-process, and the store's server sees it signed both ways."""
    answer = client.post("/checkout/link", json=seed_request(invoiceId="demo-e2e"), auth=DEMO_AUTH).json
    assert pay(client, local(answer["link"]["action"])).status_code == 303
    assert listed(client) == []  # written with the payment; the worker sends it
    with app.app_context():
        worker.run_round("demo-worker")
    (got,) = listed(client)
    assert (got["event"], got["checkoutId"], got["invoiceId"], got["status"]) == (
        "checkout.completed", answer["model"]["checkoutId"], "demo-e2e", "Completed")
    assert (got["contentHmac"], got["standard"], got["repeat"]) == (True, True, False)
    (sent,) = client.get("/notifications", auth=DEMO_AUTH).json["notifications"]
    assert (sent["notificationId"], sent["state"], sent["url"]) == (
        got["notificationId"], "delivered", "/demo/notifications")
    assert sent["attemptLog"][0]["httpStatus"] == 200


# -- the README's snippet, run as written ---------------------------------------------------------
def readme_blocks() -> list[str]:
    """The Python blocks of the README's "Notifications and the worker" section."""
    readme = README.read_text(encoding="utf-8")
    section = readme.split("\n## Notifications and the worker\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.fixture
def snippet() -> dict:
    blocks = readme_blocks()
    assert len(blocks) == 2 and "def verify_notification" in blocks[0] and "Flask(" in blocks[1]
    namespace: dict = {"__name__": "readme_snippet"}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README, on purpose
    return namespace


def test_the_readme_snippet_verifies_both_signatures(snippet):
    verify, content_hmac, standard = (snippet[name] for name in (
        "verify_notification", "content_hmac_matches", "standard_signature_matches"))
    body = notification("ntf_readme")
    now = int(time.time())
    headers = webhooks.headers(body, SECRET, "ntf_readme", now)
    as_werkzeug = dict(Headers(headers).items())  # "Content-Hmac", "Webhook-Id": any case will do
    for given in (headers, as_werkzeug):
        assert verify(body, given, SECRET) is True
        assert (content_hmac(body, given, SECRET), standard(body, given, SECRET)) == (True, True)
    assert webhooks.verify(body, headers, SECRET) == {"contentHmac": True, "standard": True}

    def both(body, headers, secret=SECRET):
        """The snippet's two answers, and that they are the package's."""
        got = {"contentHmac": content_hmac(body, headers, secret), "standard": standard(body, headers, secret)}
        assert verify(body, headers, secret) is (got["contentHmac"] and got["standard"])
        if all(v.isascii() for v in headers.values()):
            assert got == webhooks.verify(body, headers, secret)
        return got

    assert both(body, headers, "another secret") == {"contentHmac": False, "standard": False}
    assert both(body + b" ", headers) == {"contentHmac": False, "standard": False}
    old = webhooks.headers(body, SECRET, "ntf_readme", now - 3600)
    assert both(body, old) == {"contentHmac": True, "standard": False}  # a replay of an old delivery
    assert both(body, {**headers, "webhook-id": "ntf_someone_else"}) == {"contentHmac": True, "standard": False}
    rotated = {**headers, "webhook-signature": "v1,bm90IGl0 " + headers["webhook-signature"]}
    assert both(body, rotated)["standard"] is True  # any of the space-separated signatures
    odd = {**headers, "Content-HMAC": "caf\u00e9", "webhook-timestamp": "\u00b2"}
    assert both(body, odd) == {"contentHmac": False, "standard": False}  # and no exception
    assert both(body, {}) == {"contentHmac": False, "standard": False}


def test_the_readme_receiver_confirms_repeats_and_refuses_forgeries(snippet):
    shop = snippet["app"].test_client()
    body = notification("ntf_readme_shop")
    for attempt in range(2):
        headers = webhooks.headers(body, SECRET, "ntf_readme_shop", int(time.time()) + attempt)
        answer = shop.post("/checkout-notifications", data=body, content_type="application/json", headers=headers)
        assert (answer.status_code, answer.json) == (200, {"code": 0})
    assert snippet["handled"] == {"ntf_readme_shop"}  # confirmed twice, handled once
    forged = webhooks.headers(body, "forger", "ntf_forged", int(time.time()))
    refused = shop.post("/checkout-notifications", data=body, content_type="application/json", headers=forged)
    assert refused.status_code == 401 and refused.json["code"] == 1


def test_the_readme_receiver_confirms_what_the_checkout_sends(tmp_path, snippet):
    """The checkout's own sending code, to the README's receiver on a loopback port."""
    shop = LiveServer(snippet["app"])
    try:
        with create_app(base_config(tmp_path)).app_context():
            answer = post_signed(f"{shop.url}/checkout-notifications", notification("ntf_live").decode(), SECRET,
                                 "ntf_live", 5.0)
    finally:
        shop.stop()
    assert answer.confirmed, answer.attempt
    assert snippet["handled"] == {"ntf_live"}
