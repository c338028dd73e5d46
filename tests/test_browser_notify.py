"""What a merchant's server hears when a customer pays in real Chromium: one
``checkout.completed`` from our server, its two signatures checked by the README's own
snippet; and the demo store's page that lists what arrived."""
from __future__ import annotations

import json
import re
import time

import pytest
from conftest import DEMO_AUTH, serve_site
from receiver import Receiver
from test_browser_card import landed, pay

from checkout.paths import ROOT

pytestmark = pytest.mark.browser


def readme_verifier():
    """The README's notification snippet, run as it is written: the function it defines."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    (snippet,) = [b for b in blocks if "webhook-signature" in b and "Content-HMAC" in b]
    namespace: dict = {}
    exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102 (the README's own code)
    return next(v for k, v in namespace.items() if callable(v) and k.startswith("verify"))


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def shop_site(tmp_path, receiver):
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([{"publicId": DEMO_AUTH[0], "secret": DEMO_AUTH[1], "name": "Demo Store",
                                      "allowedOrigins": ["http://127.0.0.1:*"],
                                      "notificationUrl": receiver.url + "/hooks"}]))
    yield from serve_site(tmp_path, "inprocess", MERCHANTS_FILE=str(merchants), WORKER_IN_PROCESS=1,
                      WORKER_INTERVAL=0.2)


def test_a_payment_in_the_browser_is_told_to_the_merchant_once(shop_site, receiver, page):
    page.goto(shop_site.link(invoiceId="told-1"))
    pay(page, "4242 4242 4242 4242")
    result = landed(page, "success")
    (got,) = receiver.wait_for(1)
    time.sleep(1.5)  # the worker keeps running: a second delivery would arrive by now
    assert len(receiver.received) == 1
    body = got.json
    assert (body["event"], body["invoiceId"], body["transactionId"]) == (
        "checkout.completed", "told-1", int(result["transactionId"]))
    verify = readme_verifier()
    assert verify(got.body, got.headers, DEMO_AUTH[1]) is True
    assert verify(got.body, got.headers, "not-the-secret") is False
    tampered = got.body.replace(b'"told-1"', b'"told-2"')
    assert verify(tampered, got.headers, DEMO_AUTH[1]) is False
    shop_site.app.extensions["checkout.worker"].set()


def test_the_demo_store_lists_what_its_server_was_told(tmp_path, page):
    """The demo merchant as `make run` has it: its notifications go to the demo store."""
    for site in serve_site(tmp_path, "inprocess", WORKER_IN_PROCESS=1, WORKER_INTERVAL=0.2):
        try:
            page.goto(site.link(invoiceId="demo-told"))
            pay(page, "4242 4242 4242 4242")
            landed(page, "success")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                page.goto(site.url + "/demo/notifications")
                if "checkout.completed" in page.content():
                    break
                time.sleep(0.3)
            content = page.content()
            assert "checkout.completed" in content and "demo-told" in content
        finally:
            site.app.extensions["checkout.worker"].set()
