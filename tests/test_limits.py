"""Card-testing limits (issue 11, findings 2-4): tries to pay are reserved before the
gateway is called, in the claim's own transaction, so simultaneous submissions cannot
race past a count; they are limited per checkout, per client address (IPv6 by /64), per
card (a keyed fingerprint, never the number; approvals count) and, for unsigned
checkouts, lower per address and per merchant; every way to pay goes through them, and
races on every way to pay still charge once. On SQLite and PostgreSQL, with the real
sandbox gateway (its ledger counts what reached it)."""
from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

import pytest
from conftest import DEMO_AUTH, Forms, base_config, follow, local, seed_request, text
from sqlalchemy import select

from checkout import create_app, fingerprints, methods, migrations
from checkout import store as st
from checkout.flows import direct as direct_flow
from checkout.flows import payment as flow
from checkout.flows import worker
from checkout.merchants import DEMO_MERCHANT, Merchant

BACK = "http://127.0.0.1:5000/c/token/return"
#: A client address that is no loopback one (the sandbox leaves 127.0.0.1 alone).
CLIENT = "203.0.113.7"
IFRAME = {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "same-origin"}
WIDGET = {"publicId": "pbid_test", "amount": "12.00", "currency": "EUR", "description": "Widget",
          "origin": "http://localhost:8000"}


def luhn_pan(n: int, prefix: str = "453201") -> str:
    """A valid Visa number of its own for each ``n`` (none is a sandbox trouble card)."""
    body = f"{prefix}{n:09d}"
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


@pytest.fixture
def app(tmp_path, database):
    app = create_app(base_config(tmp_path, DATABASE=database))
    yield app
    app.extensions["checkout.store"].engine.dispose()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def ledger(app):
    return app.extensions["sandbox.ledger"]


def store(app) -> st.Store:
    return app.extensions["checkout.store"]


def payload(**extra) -> dict:
    return {"cid": uuid.uuid4().hex, "m": DEMO_MERCHANT.public_id, "amount": "10.66", "currency": "USD",
            "description": "Limits test", "invoiceId": f"lim-{uuid.uuid4().hex[:10]}",
            "successUrl": "https://shop.example/s", "failureUrl": "https://shop.example/f",
            "exp": int(time.time()) + 600, **extra}


def session(merchant: Merchant = DEMO_MERCHANT, **extra) -> flow.Session:
    return flow.open_session(payload(**extra), merchant)


def card(pan: str = "4242424242424242", cvv: str = "123") -> flow.CardDetails:
    return flow.CardDetails(name="John Doe", pan=pan, cvv=cvv, expiry_month=12, expiry_year=2031)


def pay(s: flow.Session, details: flow.CardDetails | None = None, ip: str = CLIENT) -> flow.Step:
    return flow.pay_card(s, details or card(), ip=ip, back_url=BACK, data={})


def charged(app, *sessions: flow.Session) -> int:
    return sum(ledger(app).count(DEMO_MERCHANT.public_id, s.invoice) for s in sessions)


def at_once(app, n: int, act: Callable[[int], object]) -> list:
    """``act(i)`` in ``n`` threads at the same moment, each in its own app context (as
    requests on several workers are); their answers, in thread order."""
    barrier = threading.Barrier(n)
    answers: list = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        with app.app_context():
            flow.store().ping()  # connected first: the race is the act itself
            barrier.wait()
            try:
                answers[i] = act(i)
            except BaseException as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return answers


# -- finding 2: the per-address limit cannot be raced -------------------------------------------
def test_thirty_simultaneous_declines_from_one_address_get_only_the_limit_through(app, ctx):
    """30 declining cards (each its own number and checkout) from one address at once:
    before the fix 16 and 22 went to the gateway against a limit of 10. A try in flight
    now counts as a decline until its answer, and the count and the reservation are one
    transaction."""
    sessions = [session() for _ in range(30)]
    steps = at_once(app, 30, lambda i: pay(flow.open_session(sessions[i].payload, DEMO_MERCHANT),
                                           card(luhn_pan(i), cvv="333")))
    assert charged(app, *sessions) == app.config["MAX_DECLINES_PER_IP"] == 10
    kinds = [s.kind for s in steps]
    assert kinds.count("declined") == 10 and kinds.count("limited") == 20, kinds
    assert {s.limit for s in steps if s.kind == "limited"} == {"declines"}
    assert store(app).declines_from(CLIENT, 3600) == 10
    assert all(s.checkout.charges == 0 for s in steps if s.kind == "limited")  # nothing claimed


def test_thirty_simultaneous_card_posts_from_one_address_over_http(app):
    """The same through the payment pages (Flask client, one per request)."""
    client = app.test_client()
    paths = []
    for n in range(30):
        body = seed_request(invoiceId=f"race-{n}")
        body.pop("page")
        paths.append(local(client.post("/checkout/link", json=body, auth=DEMO_AUTH).json["link"]["action"]))
    forms = [Forms(text(client.get(p))).form("/card") for p in paths]

    def post(i: int):
        c = app.test_client()
        data = {**forms[i]["fields"], "name": "Jane Doe", "number": luhn_pan(i), "expiry": "12 / 39", "cvv": "333"}
        return c.post(forms[i]["action"], data=data, environ_base={"REMOTE_ADDR": CLIENT}).status_code

    assert at_once(app, 30, post) == [303] * 30
    with app.app_context():
        assert sum(ledger(app).count("pbid_test", f"race-{n}") for n in range(30)) == 10
    shown = [client.get(p, environ_base={"REMOTE_ADDR": CLIENT}) for p in paths]
    assert sorted(r.status_code for r in shown) == [402] * 10 + [429] * 20


# -- finding 3: every way to pay, per card, approvals too ----------------------------------------
def test_one_card_across_many_checkouts_is_stopped_by_its_fingerprint_approvals_included(app, ctx):
    """Card testers look for approvals: five approved payments with one card (from five
    addresses, so no address limit applies), and the sixth try is refused before the
    gateway, however the number is spelled; another card goes on."""
    paid = [pay(session(), ip=f"198.51.100.{n}") for n in range(5)]
    assert [p.result for p in paid] == ["success"] * 5
    s = session()
    step = pay(s, card("4242 4242 4242 4242"), ip="198.51.100.99")
    assert (step.kind, step.limit) == ("limited", "card")
    assert 3500 < step.retry_at - time.time() <= 3600
    assert charged(app, s) == 0 and store(app).get(s.id).state == st.OPEN
    assert pay(s, card("5555555555554444"), ip="198.51.100.99").result == "success"


def test_a_saved_card_is_limited_by_its_token(app, ctx):
    app.config["MAX_ATTEMPTS_PER_CARD"] = 2
    first = session(accountId="jane@shop.example")
    assert pay(first, ip="198.51.100.1").result == "success"
    saved = flow.saved_cards(session(accountId="jane@shop.example"))
    assert len(saved) == 1
    for n in range(2):
        assert flow.pay_saved(session(accountId="jane@shop.example"), saved[0], None,
                              ip=f"198.51.100.{10 + n}").result == "success"
    s = session(accountId="jane@shop.example")
    step = flow.pay_saved(s, saved[0], None, ip="198.51.100.20")
    assert (step.kind, step.limit) == ("limited", "card") and charged(app, s) == 0


@pytest.fixture
def shop(tmp_path, database):
    """The demo merchant on a page whose customer has a saved card, with a declines limit
    of 2 per address (the finding's routes: ``/saved`` and ``/apm`` skipped it)."""
    app = create_app(base_config(tmp_path, DATABASE=database, MAX_DECLINES_PER_IP=2))
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = CLIENT
    yield app, client
    app.extensions["checkout.store"].engine.dispose()


def new_link(client, **overrides) -> str:
    body = seed_request(**overrides)
    body.pop("page")
    response = client.post("/checkout/link", json=body, auth=DEMO_AUTH)
    assert response.status_code == 200, response.json
    return local(response.json["link"]["action"])


def card_post(client, path: str, cvv: str = "123", number: str = "4242424242424242"):
    form = Forms(text(client.get(path))).form("/card")
    return client.post(form["action"], data={**form["fields"], "name": "Jane Doe", "number": number,
                                             "expiry": "12 / 39", "cvv": cvv})


def test_saved_card_and_method_posts_are_limited_per_address(shop):
    app, client = shop
    assert urlsplit(card_post(client, new_link(client, invoiceId="save")).headers["Location"]).path == "/success"
    for n in range(2):
        assert follow(client, card_post(client, new_link(client, invoiceId=f"no-{n}"), cvv="333")).status_code == 402
    path = new_link(client, invoiceId="saved", data={"personId": "success@bank"})
    page = Forms(text(client.get(path)))
    saved = page.form("/saved")
    chosen = {**saved["fields"], "card": page.inputs["card"]["value"]}
    answer = follow(client, client.post(saved["action"], data=chosen))
    assert answer.status_code == 429 and "Too many declined payments from your connection" in text(answer)
    apm = page.form("/apm")
    answer = follow(client, client.post(apm["action"], data={**apm["fields"], "paymentTypeId": "1"}))
    assert answer.status_code == 429 and 3500 < int(answer.headers["Retry-After"]) <= 3600
    with app.app_context():
        assert ledger(app).count("pbid_test", "saved") == 0  # neither reached the gateway
    other = app.test_client()  # another customer pays by the method on a link of their own
    other.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    mine = new_link(other, invoiceId="other", data={"personId": "success@bank"})
    apm = Forms(text(other.get(mine))).form("/apm")
    paid = other.post(apm["action"], data={**apm["fields"], "paymentTypeId": "1"})
    assert paid.status_code == 303 and paid.headers["Location"].startswith("https://example.com/success?")


def test_crypto_quotes_and_direct_links_count_per_address(app, ctx):
    app.config["MAX_ATTEMPTS_PER_IP"] = 2
    btc = methods.method(10100)
    assert flow.quote_crypto(session(), btc, ip=CLIENT, locale=None, back_url=BACK).kind == "quote"
    direct = session(mode="apm", paymentTypeId=1, data={"personId": "success@bank"})
    assert direct_flow.start(direct, methods.method(1), direct.data, ip=CLIENT, locale=None,
                             back_url=BACK).kind == "settled"
    s = session()
    step = flow.pay_method(s, methods.method(1), {"personId": "success@bank"}, ip=CLIENT, locale=None, back_url=BACK)
    assert (step.kind, step.limit) == ("limited", "address") and charged(app, s) == 0
    assert [t["kind"] for t in store(app).tries(ip=CLIENT)] == ["crypto", "direct"]


def test_tries_on_one_checkout_are_limited(app, ctx):
    """Leaving the bank's page opens the checkout again: without a limit per checkout,
    one link would test card after card at 3-D Secure."""
    app.config["MAX_ATTEMPTS"] = 3
    s = session()
    for n in range(3):
        assert pay(s, card("4111111111111111"), ip=f"198.51.100.{n}").kind == "acs"
        assert flow.abandon_3ds(s).kind == "open"
    step = pay(s, card("4111111111111111"), ip="198.51.100.9")
    assert (step.kind, step.limit) == ("limited", "checkout")
    assert [t["outcome"] for t in store(app).tries(checkout_id=s.id)] == [st.TRY_ENDED] * 3


def test_ipv6_clients_are_counted_by_their_64(app, ctx):
    app.config["MAX_ATTEMPTS_PER_IP"] = 1
    assert pay(session(), ip="2001:db8:1:2::1").result == "success"
    step = pay(session(), card("5555555555554444"), ip="2001:db8:1:2:ffff:ffff:ffff:9")
    assert (step.kind, step.limit) == ("limited", "address")
    assert pay(session(), card("5555555555554444"), ip="2001:db8:1:3::1").result == "success"
    assert fingerprints.address_key("::ffff:203.0.113.7") == CLIENT


def test_a_try_the_gateway_never_saw_is_not_counted(app, ctx):
    """A claim released before the gateway (a Payment Check said no) leaves no try behind."""
    a, b = st.Try("a", "m", "card", ip=CLIENT), st.Try("b", "m", "card", ip=CLIENT)
    quota = [st.Quota("address", (("ip", CLIENT),), 1, 3600)]
    for cid in ("a", "b"):
        store(app).ensure(cid, "m", None, "1.00", "USD")
    assert store(app).reserve(a, quota, (st.OPEN,)).claimed
    refused = store(app).reserve(b, quota, (st.OPEN,))
    assert (refused.claimed, refused.limit) == (False, "address") and refused.retry_at > time.time() + 3590
    assert store(app).release("a")
    assert store(app).reserve(b, quota, (st.OPEN,)).claimed
    assert [t["outcome"] for t in store(app).tries(ip=CLIENT)] == [st.TRY_RELEASED, st.TRY_RESERVED]


@pytest.mark.parametrize("servers", [24])
def test_separate_servers_reserving_at_once_never_pass_a_limit(database, servers):
    """One store and engine per thread (separate servers sharing the database), 24 tries on
    24 checkouts from one address against a limit of 5: exactly 5 are claimed."""
    first = st.Store(database)
    migrations.upgrade(first.engine)
    for n in range(servers):
        first.ensure(f"c{n}", "m", None, "1.00", "USD")
    stores = [st.Store(database) for _ in range(servers)]
    barrier = threading.Barrier(servers)
    won: list[bool] = []

    def run(n: int) -> None:
        stores[n].ping()
        barrier.wait()
        got = stores[n].reserve(st.Try(f"c{n}", "m", "card", ip=CLIENT),
                                [st.Quota("address", (("ip", CLIENT),), 5, 3600)], (st.OPEN,))
        won.append(got.claimed)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(servers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(won) == [False] * (servers - 5) + [True] * 5
        assert len(first.tries(ip=CLIENT)) == 5
    finally:
        for s in (first, *stores):
            s.engine.dispose()


# -- the loopback exemption ---------------------------------------------------------------------
def test_the_sandbox_leaves_loopback_out_of_the_limits_across_checkouts(app, ctx):
    app.config["MAX_ATTEMPTS_PER_CARD"] = 1
    assert [pay(session(), ip="127.0.0.1").result for _ in range(3)] == ["success"] * 3
    app.config["LIMIT_LOOPBACK"] = True
    assert pay(session(), ip="127.0.0.1").limit == "card"
    app.config["LIMIT_LOOPBACK"] = None
    app.config["MAX_ATTEMPTS"] = 1  # the checkout's own limit holds for everyone
    s = session()
    assert pay(s, card(cvv="333"), ip="127.0.0.1").kind == "declined"
    assert pay(s, ip="127.0.0.1").limit == "checkout"


# -- finding 4: the unsigned widget ---------------------------------------------------------------
def test_the_unsigned_widget_needs_a_frame_and_has_lower_limits(tmp_path, database):
    app = create_app(base_config(tmp_path, DATABASE=database, UNSIGNED_MAX_ATTEMPTS_PER_IP=1))
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = CLIENT
    query = "/widget/checkout?" + urlencode(WIDGET)
    scripted = client.get(query)  # a plain HTTP client: no Fetch Metadata
    assert scripted.status_code == 403 and "Open the payment from the shop" in text(scripted)
    assert "Location" not in scripted.headers

    def widget_payment():
        opened = client.get(query, headers=IFRAME)
        assert opened.status_code == 303
        framed = local(opened.headers["Location"])
        form = Forms(text(client.get(framed, headers=IFRAME))).form("/card")
        sent = client.post(form["action"], headers=IFRAME, data={
            **form["fields"], "name": "Jane Doe", "number": "4242424242424242", "expiry": "12 / 39", "cvv": "123"})
        assert sent.status_code == 303
        return client.get(local(sent.headers["Location"]), headers=IFRAME), framed

    first, _ = widget_payment()
    assert first.status_code == 200 and 'data-checkout-result="success"' in text(first)  # paid
    second, framed = widget_payment()
    assert second.status_code == 429 and 3500 < int(second.headers["Retry-After"]) <= 3600
    assert "Too many payment attempts from your connection" in text(second)
    assert "frame-ancestors http://localhost:8000" in second.headers["Content-Security-Policy"]
    # The signed checkouts of the same address keep the usual limits.
    assert card_post(client, new_link(client, invoiceId="signed")).headers["Location"].startswith(
        "https://example.com/success?")
    app.extensions["checkout.store"].engine.dispose()


def test_all_unsigned_checkouts_of_a_merchant_share_a_limit(app, ctx):
    merchant = dataclasses.replace(DEMO_MERCHANT, limits={"UNSIGNED_MAX_ATTEMPTS_PER_MERCHANT": 2})
    assert [pay(session(merchant, unsigned=True), ip=f"198.51.100.{n}").result for n in range(2)] == ["success"] * 2
    step = pay(session(merchant, unsigned=True), card("5555555555554444"), ip="198.51.100.50")
    assert (step.kind, step.limit) == ("limited", "merchant")
    assert pay(session(merchant), card("5555555555554444"), ip="198.51.100.50").result == "success"


# -- per-merchant settings ------------------------------------------------------------------------
def test_a_merchants_limits_from_the_merchants_file_are_obeyed(tmp_path, database):
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([
        {"publicId": "pbid_strict", "secret": "strict_secret_0123456789", "limits": {"attemptsPerAddress": 1}},
        {"publicId": "pbid_loose", "secret": "loose_secret_0123456789"}]))
    app = create_app(base_config(tmp_path, DATABASE=database, MERCHANTS_FILE=str(merchants)))
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = CLIENT

    def link(auth, invoice):
        body = seed_request(invoiceId=invoice)
        body.pop("page")
        return local(client.post("/checkout/link", json=body, auth=auth).json["link"]["action"])

    strict, loose = ("pbid_strict", "strict_secret_0123456789"), ("pbid_loose", "loose_secret_0123456789")
    assert card_post(client, link(strict, "s1")).headers["Location"].startswith("https://example.com/success?")
    refused = follow(client, card_post(client, link(strict, "s2"), number="5555555555554444"))
    assert refused.status_code == 429 and "Too many payment attempts from your connection" in text(refused)
    for n in range(2):  # the other merchant: the app's limits
        paid = card_post(client, link(loose, f"l{n}"), number=luhn_pan(n))
        assert paid.headers["Location"].startswith("https://example.com/success?")
    with app.app_context():
        assert ledger(app).count("pbid_strict", "s2") == 0
    app.extensions["checkout.store"].engine.dispose()


@pytest.mark.parametrize("limits, says", [
    ({"attemptsPerAdress": 3}, "unknown limits attemptsPerAdress"),
    ({"attemptsPerCard": 0}, "limits.attemptsPerCard must be a whole number from 1"),
    ({"attemptWindow": "1h"}, "limits.attemptWindow must be a whole number from 1"),
    ([5], "limits must be an object"),
])
def test_a_merchants_file_with_a_wrong_limit_is_refused(tmp_path, limits, says):
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([{"publicId": "pbid_x", "secret": "x_secret_0123456789", "limits": limits}]))
    with pytest.raises(ValueError, match=re.escape(says)):
        create_app(base_config(tmp_path, MERCHANTS_FILE=str(merchants)))


# -- the 429 page says when ---------------------------------------------------------------------
@pytest.mark.parametrize("config, says", [
    ({"MAX_ATTEMPTS_PER_IP": 1}, "Too many payment attempts from your connection."),
    ({"MAX_ATTEMPTS_PER_CARD": 1}, "Too many payment attempts with this card."),
    ({"MAX_ATTEMPTS": 1}, "Too many payment attempts for this order."),
    ({"MAX_DECLINES_PER_IP": 1, "DECLINE_WINDOW": 600}, "Too many declined payments from your connection."),
])
def test_the_limited_page_says_which_limit_and_when(tmp_path, config, says):
    app = create_app(base_config(tmp_path, TOKEN_MAX_AGE=7200, **config))  # the link outlives the window
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = CLIENT
    first = new_link(client, invoiceId="first")
    assert follow(client, card_post(client, first, cvv="333")).status_code == 402
    path = first if "MAX_ATTEMPTS" in config else new_link(client, invoiceId="second")
    shown = follow(client, card_post(client, path))
    window = config.get("DECLINE_WINDOW", 3600)
    assert shown.status_code == 429 and window - 100 < int(shown.headers["Retry-After"]) <= window
    minutes = window // 60
    assert re.search(rf"{re.escape(says)} You can try again in ({minutes - 1}|{minutes}) minutes\.", text(shown))
    # The page says it again when opened, until the time has come.
    again = client.get(path)
    assert again.status_code == 429 and says in text(again)
    later = time.time() + window + 1
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(time, "time", lambda: later)
        plain = client.get(path)
        assert plain.status_code in (200, 402) and "Retry-After" not in plain.headers


def test_a_direct_link_says_when_to_try_again(tmp_path):
    app = create_app(base_config(tmp_path, MAX_ATTEMPTS_PER_IP=1))
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = CLIENT

    def direct_link(invoice, data):
        body = seed_request(invoiceId=invoice)
        body.pop("page")
        body["data"] = {**data, "paymentTypeId": 1}
        return urlsplit(client.post("/payments/link", json=body, auth=DEMO_AUTH).json["link"]["action"]).path

    assert client.get(direct_link("d1", {"personId": "success@bank"})).status_code == 303
    opened = client.get(direct_link("d2", {"personId": "success@bank"}))
    assert opened.status_code == 429 and 3500 < int(opened.headers["Retry-After"]) <= 3600
    assert re.search(r"Too many payment attempts from your connection\. You can try again in (59|60) minutes\.",
                     text(opened))
    # The fields form's post leads to its page, which says it.
    asking = direct_link("d3", {})
    form = Forms(text(client.get(asking))).form(asking)
    sent = client.post(form["action"], data={**form["fields"], "personId": "success@bank"})
    assert sent.status_code == 303
    shown = client.get(local(sent.headers["Location"]))
    assert shown.status_code == 429 and "Too many payment attempts from your connection" in text(shown)
    assert "Retry-After" in shown.headers
    with app.app_context():
        assert ledger(app).count("pbid_test", "d2") == ledger(app).count("pbid_test", "d3") == 0


# -- never the card number ------------------------------------------------------------------------
def test_the_fingerprint_is_keyed_and_never_the_number(app, ctx, stored_bytes):
    pans = ["4242424242424242", luhn_pan(7)]
    for n, pan in enumerate(pans):
        pay(session(), card(pan, cvv="333" if n else "123"), ip=f"198.51.100.{n}")
    rows = store(app).tries()
    assert len(rows) == 2 and all(re.fullmatch(r"[0-9a-f]{64}", r["fingerprint"]) for r in rows)
    assert rows[0]["fingerprint"] == flow.card_fingerprint("4242-4242-4242-4242")  # any spelling
    assert rows[0]["fingerprint"] != fingerprints.card(pans[0], "another-secret-key")  # keyed
    assert rows[0]["fingerprint"] != fingerprints.saved_card(pans[0], app.config["SECRET_KEYS"][0])
    with store(app).engine.connect() as db:
        values = [str(v) for row in db.execute(select(st.attempts)) for v in row]
    data = stored_bytes(app)
    for pan in pans:
        assert not any(pan in v for v in values)
        assert pan.encode() not in data and pan[-10:].encode() not in data


# -- races on every way to pay --------------------------------------------------------------------
def _saved_card(app) -> tuple[dict, object]:
    assert pay(session(accountId="racer@shop.example"), ip="198.51.100.200").result == "success"
    return {"accountId": "racer@shop.example"}, flow.saved_cards(session(accountId="racer@shop.example"))[0]


WAYS = {
    "card": lambda s, extra: flow.pay_card(s, card(), ip=CLIENT, back_url=BACK, data={}),
    "saved": lambda s, extra: flow.pay_saved(s, extra, None, ip=CLIENT),
    "method": lambda s, extra: flow.pay_method(s, methods.method(1), {"personId": "success@bank"}, ip=CLIENT,
                                               locale=None, back_url=BACK),
    "crypto": lambda s, extra: flow.quote_crypto(s, methods.method(10100), ip=CLIENT, locale=None, back_url=BACK),
    "direct": lambda s, extra: direct_flow.start(s, methods.method(1), s.data, ip=CLIENT, locale=None,
                                                 back_url=BACK),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_simultaneous_submissions_of_one_checkout_charge_once_every_way(app, ctx, way):
    """Eight submissions of one checkout at once (each its own request and session): one
    reaches the gateway, and one try is counted (the others lost the claim)."""
    extra: dict = {}
    saved = None
    if way == "saved":
        extra, saved = _saved_card(app)
    if way == "direct":
        extra = {"mode": "apm", "paymentTypeId": 1, "data": {"personId": "success@bank"}}
    first = session(**extra)
    steps = at_once(app, 8, lambda i: WAYS[way](flow.open_session(first.payload, DEMO_MERCHANT), saved))
    kinds = sorted(s.kind for s in steps)
    won = {"card": "merchant", "saved": "merchant", "method": "merchant", "crypto": "quote", "direct": "settled"}[way]
    assert kinds.count(won) == 1 and kinds.count("stands") == 7, kinds
    assert charged(app, first) == 1
    assert len(store(app).tries(checkout_id=first.id)) == 1


def test_the_worker_forgets_tries_no_limit_counts_any_more(app, ctx):
    """The tries table does not grow for ever: the worker drops what every window has left."""
    s = session()
    assert flow.pay_card(s, card(luhn_pan(901)), ip=CLIENT, back_url=BACK, data={}).kind == "merchant"
    with store(app).engine.begin() as db:
        db.execute(st.attempts.insert().values(at=time.time() - 2 * 3600, checkout_id="old", merchant="pbid_test",
                                               ip=CLIENT, kind="card", outcome="declined"))
    assert worker.forget_old_tries() == 1
    with store(app).engine.begin() as db:
        left = db.execute(select(st.attempts.c.checkout_id)).scalars().all()
    assert left == [s.id]  # this hour's try is still counted
