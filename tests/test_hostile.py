"""The hostile-input suite over HTTP (issue 11), which any later change must keep passing:
hypothesis-made tampering of a real link's token; every payload of tests/hostile_payloads.py
in every text field of ``/checkout/link``, ``/payments/link``, ``/payouts`` and the
widget (never a 5xx; when accepted, the page it makes holds it only escaped); and a
search of the logs, every table, the raw SQLite bytes and every page served for the
test card numbers after paying with them.

The token and the text rules do not depend on the database: SQLite only."""
from __future__ import annotations

import copy
import json
import logging
import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import quote, unquote, urlsplit

import pytest
from conftest import DEMO_AUTH, base_config, follow, seed_request
from flask import Flask
from hostile_payloads import EVIL, JSON_ODDITIES, PAYLOADS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from test_pay_http import Forms, card_data, text
from test_payouts import payout_request

from checkout import create_app
from checkout.store import metadata

NOT_VALID = "This payment link is not valid"
PAYMENT_PAGE_MARK = "/card"  # the card form's action: only a payment page has it
VALUES: dict[str, object] = {**PAYLOADS, **JSON_ODDITIES}
MARKUP_CHARS = set("<>\"'")


@pytest.fixture
def app(tmp_path) -> Iterator[Flask]:
    app = create_app(base_config(tmp_path))
    yield app
    app.extensions["checkout.store"].engine.dispose()


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def set_path(body: dict, path: str, value: object) -> dict:
    """``body`` with ``value`` at the dotted ``path`` (a copy)."""
    body = copy.deepcopy(body)
    target = body
    *parents, last = path.split(".")
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = value
    return body


def is_payment_page(response) -> bool:
    return response.status_code == 200 and 'action="' in text(response) and \
        re.search(r'<form[^>]+action="[^"]*/card"', text(response)) is not None


# -- (a) token tampering -----------------------------------------------------------------------
def _mutations(token: str) -> st.SearchStrategy[str]:
    odd = list("-_=.~%/\\\u00e9\u0430\ud800\x00")
    alphabet = st.characters(min_codepoint=0x20, max_codepoint=0x7e) | st.sampled_from(odd)
    index = st.integers(0, len(token) - 1)
    flip = st.tuples(index, st.integers(1, 127)).map(
        lambda p: token[:p[0]] + chr(ord(token[p[0]]) ^ p[1]) + token[p[0] + 1:])
    insert = st.tuples(index, st.text(alphabet, min_size=1, max_size=4)).map(
        lambda p: token[:p[0]] + p[1] + token[p[0]:])
    delete = st.tuples(index, st.integers(1, 8)).map(lambda p: token[:p[0]] + token[p[0] + p[1]:])
    truncate = st.integers(0, len(token) - 1).map(lambda n: token[:n])
    append = st.text(alphabet, min_size=1, max_size=40).map(lambda s: token + s)
    percent = st.tuples(index, st.integers(1, 6)).map(
        lambda p: token[:p[0]] + "".join(f"%{ord(c):02X}" for c in token[p[0]:p[0] + p[1]]) + token[p[0] + p[1]:])
    return st.one_of(flip, insert, delete, truncate, append, percent)


@pytest.fixture(scope="module")
def token_app(tmp_path_factory) -> Iterator[tuple[Flask, str]]:
    app = create_app(base_config(tmp_path_factory.mktemp("tokens")))
    response = app.test_client().post("/checkout/link", json=seed_request(), auth=DEMO_AUTH)
    assert response.status_code == 200, response.json
    yield app, urlsplit(response.json["link"]["action"]).path.rsplit("/c/", 1)[1]
    app.extensions["checkout.store"].engine.dispose()


def test_the_real_token_opens_a_payment_page(token_app):
    app, token = token_app
    assert is_payment_page(app.test_client().get(f"/c/{token}"))


def test_tampered_tokens_are_never_an_error_nor_a_payment_page(token_app):
    app, token = token_app
    client = app.test_client()
    tried = []

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_mutations(token))
    def check(mutated: str) -> None:
        # What a client sends on the wire: anything not URL-safe is percent-encoded as UTF-8
        # (a lone surrogate as its raw bytes), a "%" already there is kept.
        path_token = quote(mutated.encode("utf-8", "surrogatepass"), safe="%-_.~")
        tried.append(mutated)
        for response in (client.get(f"/c/{path_token}"),
                         client.post(f"/c/{path_token}/card", data=card_data("", number="4242424242424242"))):
            assert response.status_code < 500, (mutated, response.status_code)
            if unquote(path_token, errors="surrogateescape") != token:  # %41 is "A": the same token
                assert not is_payment_page(response), mutated
                assert response.status_code != 303 or "/c/" + token not in response.headers.get("Location", "")

    check()
    print(f"\ntoken tampering: {len(tried)} mutated tokens, {2 * len(tried)} requests")


# -- (b) payloads in every field -------------------------------------------------------------
CHECKOUT_FIELDS = ["description", "invoiceId", "accountId", "locale", "data.firstName", "data.lastName",
                   "data.email", "successUrl", "failureUrl", "pendingUrl", "cancelUrl",
                   "page.merchantTitle", "page.footerText", "page.logo", "page.bodyFont", "page.payButtonColor",
                   "page.leftContainerBackgroundColor", "page.formControlBorderRadius", "page.priceHeadingColor"]
DIRECT_FIELDS = ["description", "invoiceId", "accountId", "locale", "data.personId", "data.firstName",
                 "successUrl", "cancelUrl"]
PAYOUT_FIELDS = ["orderId", "locale", "customer.externalUserId", "customer.firstName", "customer.lastName",
                 "customer.email", "customer.phoneNumber", "customer.billing.address", "customer.billing.city",
                 "customer.billing.state", "customer.billing.postalCode", "successUrl", "failureUrl"]
WIDGET_FIELDS = ["description", "invoiceId", "accountId", "locale", "currency", "amount", "origin"]
#: Fields whose accepted value lands in a style (theme) or in a URL: no outside address may
#: reach the page from them, not even as text.
STRICT = {f for f in CHECKOUT_FIELDS if f.startswith("page.") and f not in
          ("page.merchantTitle", "page.footerText")}
TALLY: dict[str, int] = {}


URL_ATTRIBUTES = {"src", "href", "action", "formaction", "data", "poster", "background", "content", "srcset"}


class Live(HTMLParser):
    """What of a payload the browser would act on: event-handler attributes, scripts,
    ``iframe[srcdoc]``, ``base``/``meta refresh``/``style`` elements and any attribute
    naming the outside address (text that merely shows the payload is fine)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.found += [f"<{tag} {k}>" for k in a if k.startswith("on")]
        for key in URL_ATTRIBUTES & set(a):
            value = a[key].strip().lower()
            if value.startswith(("javascript:", "data:text/html", "vbscript:")) or "203.0.113.1" in \
                    (value.split(";url=", 1)[-1] if key == "content" else value)[:40]:
                self.found.append(f"<{tag} {key}={a[key][:40]}>")
        if tag == "iframe" and "srcdoc" in a or tag in ("base", "object", "embed"):
            self.found.append(f"<{tag}>")
        if tag == "style" and "nonce" not in a or "203.0.113.1" in a.get("style", ""):
            self.found.append(f"<{tag} style>")
        self._script = tag == "script" and a.get("type", "text/javascript") in ("text/javascript", "module", "")

    def handle_endtag(self, tag):
        self._script = False

    def handle_data(self, data):
        if self._script and "__pwned" in data:
            self.found.append("<script>__pwned")


def _page_check(where: str, field: str, name: str, value: object, html: str) -> list[str]:
    """What is wrong with ``html``, a page made from ``value`` in ``field``."""
    problems = []
    if isinstance(value, str) and MARKUP_CHARS & set(value) and len(value) > 3 and value in html:
        problems.append(f"{where} {field} {name}: the payload is in the page unescaped")
    if isinstance(value, str) and field in STRICT and EVIL.split("//")[1] in html:
        problems.append(f"{where} {field} {name}: the outside address reached the page")
    live = Live(html).found
    if live:
        problems.append(f"{where} {field} {name}: injected {live[:3]}")
    if name.startswith("template") and ">49<" in html:
        problems.append(f"{where} {field} {name}: a template expression was evaluated")
    return problems


def _run(client, where: str, fields: list[str], send, follow_page) -> list[str]:
    problems = []
    for field in fields:
        for name, value in VALUES.items():
            TALLY[where] = TALLY.get(where, 0) + 1
            try:
                response = send(field, value)
            except Exception as exc:  # an error raised through the test client is a 500
                problems.append(f"{where} {field} {name}: raised {type(exc).__name__}: {exc!s:.80}")
                continue
            if response.status_code >= 500:
                problems.append(f"{where} {field} {name}: {response.status_code}")
                continue
            if response.status_code >= 300 and response.status_code not in (303,):
                if response.is_json is False:
                    problems += _page_check(where, field, name, value, text(response))
                continue
            try:
                page = follow_page(response)
            except Exception as exc:
                problems.append(f"{where} {field} {name}: page raised {type(exc).__name__}: {exc!s:.80}")
                continue
            if page is None:
                continue
            if page.status_code >= 500:
                problems.append(f"{where} {field} {name}: its page answered {page.status_code}")
                continue
            TALLY[where + " renders"] = TALLY.get(where + " renders", 0) + 1
            problems += _page_check(where, field, name, value, text(page))
    return problems


def _open(client):
    def opened(response):
        link = response.json["link"]["action"]
        return follow(client, client.get(local(link)))
    return opened


def test_every_payload_in_every_checkout_link_field(client):
    def send(field, value):
        return client.post("/checkout/link", json=set_path(seed_request(), field, value), auth=DEMO_AUTH)
    problems = _run(client, "/checkout/link", CHECKOUT_FIELDS, send, _open(client))
    print(f"\n/checkout/link: {len(VALUES)} payloads x {len(CHECKOUT_FIELDS)} fields = {TALLY['/checkout/link']}"
          f" requests, {TALLY.get('/checkout/link renders', 0)} accepted and rendered")
    assert not problems, "\n".join(problems[:60]) + f"\n({len(problems)} in all)"


def test_every_payload_in_every_payments_link_field(client):
    base = seed_request()
    base.pop("page")
    base["data"] = {"paymentTypeId": 1, "personId": "success@bank", "firstName": "Jane"}

    def send(field, value):
        return client.post("/payments/link", json=set_path(base, field, value), auth=DEMO_AUTH)
    problems = _run(client, "/payments/link", DIRECT_FIELDS, send, _open(client))
    print(f"\n/payments/link: {len(VALUES)} payloads x {len(DIRECT_FIELDS)} fields = {TALLY['/payments/link']}"
          f" requests, {TALLY.get('/payments/link renders', 0)} accepted and rendered")
    assert not problems, "\n".join(problems[:60]) + f"\n({len(problems)} in all)"


def test_every_payload_in_every_payout_field(client):
    def send(field, value):
        return client.post("/payouts", json=set_path(payout_request(), field, value), auth=DEMO_AUTH)

    def opened(response):
        return client.get(local(response.json["iframeUrls"]["card"]))
    problems = _run(client, "/payouts", PAYOUT_FIELDS, send, opened)
    print(f"\n/payouts: {len(VALUES)} payloads x {len(PAYOUT_FIELDS)} fields = {TALLY['/payouts']}"
          f" requests, {TALLY.get('/payouts renders', 0)} accepted and rendered")
    assert not problems, "\n".join(problems[:60]) + f"\n({len(problems)} in all)"


WIDGET = {"publicId": "pbid_test", "amount": "10.00", "currency": "USD", "description": "Widget order",
          "invoiceId": "w-1", "accountId": "w@shop.example", "locale": "en_US", "origin": "http://localhost:1"}
IFRAME = {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "cross-site"}


def query_string(options: dict) -> str:
    return "&".join(f"{quote(k)}={quote(str(v).encode('utf-8', 'surrogatepass'), safe='')}"
                    for k, v in options.items())


def test_every_payload_in_every_widget_field(client):
    def send(field, value):
        return client.get("/widget/checkout?" + query_string({**WIDGET, field: value}), headers=IFRAME)

    def opened(response):
        return client.get(local(response.headers["Location"]), headers=IFRAME)
    problems = _run(client, "/widget/checkout", WIDGET_FIELDS, send, opened)
    print(f"\n/widget/checkout: {len(VALUES)} payloads x {len(WIDGET_FIELDS)} fields = {TALLY['/widget/checkout']}"
          f" requests, {TALLY.get('/widget/checkout renders', 0)} accepted and rendered")
    assert not problems, "\n".join(problems[:60]) + f"\n({len(problems)} in all)"


def test_the_corpus_is_big_enough():
    assert len(PAYLOADS) >= 40
    assert {"lone_surrogate", "backslash_host", "idn_host", "crlf_header", "fullwidth_script"} <= set(PAYLOADS)


# -- (c) card numbers are never kept ---------------------------------------------------------
CARDS = {"4242424242424242": "123", "4111111111111111": "123"}
DECLINE = ("4242424242424242", "333")


def _shapes(pan: str) -> list[str]:
    return [pan, " ".join(pan[i:i + 4] for i in range(0, len(pan), 4)), "-".join(pan[i:i + 4] for i in range(0, 16, 4))]


def test_card_numbers_and_cvvs_are_nowhere(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    served: list[str] = []

    def keep(response):
        served.append(text(response))
        return response

    def link(invoice: str) -> str:
        return local(client.post("/checkout/link", json=seed_request(invoiceId=invoice), auth=DEMO_AUTH)
                     .json["link"]["action"])

    def pay(path: str, number: str, cvv: str):
        page = keep(client.get(path))
        sent = keep(client.post(f"{path}/card", data=card_data(text(page), number=number, cvv=cvv)))
        landed = sent
        for _ in range(5):  # our own redirects, each page kept
            location = landed.headers.get("Location") if landed.status_code in (301, 302, 303) else None
            if not location or urlsplit(location).netloc not in ("", "localhost"):
                break
            landed = keep(client.get(local(location)))
        return landed

    pay(link("pan-1"), "4242424242424242", "123")
    bank = pay(link("pan-2"), "4111111111111111", "123")  # 3-D Secure: the bank's hand-over page
    # 3-D Secure: the hand-over page to the bank's ACS, whose form carries PaReq.
    fields = next(f for f in Forms(text(bank)).forms if "PaReq" in f["fields"])["fields"]
    assert keep(client.post("/sandbox/acs", data=fields)).status_code == 200
    back = Forms(text(keep(client.post("/sandbox/acs/submit", data={**fields, "passphrase": "4"})))).forms[-1]
    keep(client.post(local(fields["TermUrl"]), data=back["fields"],
                     headers={"Sec-Fetch-Site": "cross-site", "Origin": "null"}))
    pay(link("pan-3"), *DECLINE)

    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    store = app.extensions["checkout.store"]
    with store.engine.connect() as connection:
        rows = "\n".join(repr(row) for table in metadata.sorted_tables
                         for row in connection.execute(select(table)))
    database = app.config["DATABASE"]
    sandbox = app.config["SANDBOX_DATABASE"]  # the in-process gateway's own file: no PAN either
    raw = b"".join(open(p, "rb").read() for base in (database, sandbox)
                   for p in (base, base + "-wal", base + "-shm") if os.path.exists(p))
    pages = "\n".join(served)
    assert len(served) >= 6 and rows
    places = {"logs": logged, "tables": rows, "pages": pages,
              "sqlite": raw.decode("latin-1")}
    found = [(place, shape) for place, content in places.items()
             for pan in (*CARDS, DECLINE[0]) for shape in _shapes(pan) if shape in content]
    cvv_pairs = [(place, m.group(0)) for place, content in places.items()
                 for m in re.finditer(r"(?i)\b(cvv|cvc|cvv2|security_?code)\W{0,3}(123|333)\b", content)]
    print(f"\ncard search: {len(caplog.records)} log records, {len(rows)} chars of rows, {len(raw)} SQLite bytes,"
          f" {len(served)} pages")
    assert not found, found
    assert not cvv_pairs, cvv_pairs


# -- the corpus's URLs against a merchant with a wildcard redirect host -------------------------
URL_PAYLOADS = ["javascript_url", "javascript_url_spaced", "javascript_url_tab", "data_url", "protocol_relative",
                "backslash_host", "userinfo", "idn_homograph", "vbscript_url", "bracket_host", "crlf_header",
                "nul", "lone_surrogate"]
SHOP_AUTH = ("pbid_shop", "shop_secret_0123456789")


@pytest.fixture
def wildcard_shop(tmp_path) -> Iterator[Flask]:
    path = tmp_path / "merchants.json"
    path.write_text(json.dumps([{"publicId": "pbid_shop", "secret": SHOP_AUTH[1], "name": "Shop",
                                 "redirectHosts": ["*.shop.example"], "allowedOrigins": ["https://shop.example"]}]))
    app = create_app(base_config(tmp_path, MERCHANTS_FILE=str(path)))
    yield app
    app.extensions["checkout.store"].engine.dispose()


def test_no_url_of_the_corpus_gets_past_a_wildcard_redirect_host(wildcard_shop):
    """Each is read by a browser as another site than ``*.shop.example`` (or is no URL)."""
    client = wildcard_shop.test_client()
    own = {key: f"https://pay.shop.example/{key}" for key in ("successUrl", "failureUrl", "pendingUrl", "cancelUrl")}
    direct = {**seed_request(**own), "data": {"paymentTypeId": 1, "personId": "success@bank"}}
    direct.pop("page")
    bodies = {"/checkout/link": (seed_request(**own), ("successUrl", "cancelUrl", "failureUrl", "pendingUrl")),
              "/payments/link": (direct, ("successUrl", "cancelUrl")),
              "/payouts": (payout_request(successUrl=own["successUrl"], failureUrl=own["failureUrl"]),
                           ("successUrl", "failureUrl"))}
    accepted, tried = [], 0
    for endpoint, (body, keys) in bodies.items():
        assert client.post(endpoint, json=body, auth=SHOP_AUTH).status_code == 200, endpoint
        for key in keys:
            for name in URL_PAYLOADS:
                tried += 1
                response = client.post(endpoint, json={**body, key: PAYLOADS[name]}, auth=SHOP_AUTH)
                if response.status_code != 400:
                    accepted.append((endpoint, key, name, response.status_code))
    print(f"\nredirect URLs: {tried} tried against *.shop.example")
    assert not accepted, accepted


def test_no_origin_of_the_corpus_makes_an_error_on_the_payment_page(token_app):
    """Finding 6: ``origin=http://[`` on the embedded page and its card post was a 500."""
    app, token = token_app
    client = app.test_client()
    tried = 0
    for name, value in PAYLOADS.items():
        origin = quote(value.encode("utf-8", "surrogatepass"), safe="")
        for response in (client.get(f"/c/{token}?embed=1&origin={origin}", headers=IFRAME),
                         client.post(f"/c/{token}/card?embed=1&origin={origin}", headers=IFRAME,
                                     data=card_data("", number="4242424242424242"))):
            tried += 1
            assert response.status_code < 500, (name, response.status_code)
    print(f"\nembed origins: {tried} requests")
