"""Private links (issue 11): a link's token is encrypted, so whoever sees the URL (a log,
a proxy, the browser's history) reads nothing of the customer in it; it still opens after
a key rotation; any altered character makes it "not valid", never an error; links signed
before the change still open. And our logs (the dev server's, gunicorn's, the app's)
never keep a token or a card-like number.

The token does not depend on the database: these tests run on SQLite only."""
from __future__ import annotations

import base64
import logging
import os
import threading
import time
import zlib
from collections.abc import Iterator
from urllib.parse import unquote

import httpx
import pytest
from conftest import DEMO_AUTH, base_config, seed_request
from flask import Flask
from itsdangerous import URLSafeTimedSerializer
from test_payouts import payout_request
from test_servers import Server
from werkzeug.serving import make_server

from checkout import create_app, logmask, tokens

NOT_VALID = "This payment link is not valid"
CUSTOMER = {"firstName": "Philippa", "lastName": "Quinterro", "email": "philippa.quinterro@mailbox.example",
            "phone": "+44 20 7946 0123", "address": "221B Bakerloo Street, Marylebone", "postcode": "NW1 6XE"}
SECRETS = [*CUSTOMER.values(), "quinterro", "Bakerloo", "7946", "mailbox.example", "pbid_test", "10.66",
           "Payment for products", "990022", "john@doe.com"]
KEY_A = "key-a-0123456789abcdef0123456789abcdef"
KEY_B = "key-b-0123456789abcdef0123456789abcdef"


@pytest.fixture
def app(tmp_path) -> Iterator[Flask]:
    app = create_app(base_config(tmp_path))
    yield app
    app.extensions["checkout.store"].engine.dispose()


def make_link(client, **overrides) -> str:
    response = client.post("/checkout/link", json=seed_request(data=dict(CUSTOMER), **overrides), auth=DEMO_AUTH)
    assert response.status_code == 200, response.json
    return response.json["link"]["action"]


def token_of(link: str, marker: str = "/c/") -> str:
    return link.split(marker, 1)[1].split("/", 1)[0].split("?", 1)[0]


def readings(token: str) -> list[bytes]:
    """Every way to read a token without its key: as it is, base64url-decoded (padding
    added), and zlib-inflated from any offset of the decoded bytes."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    found = [token.encode(), raw]
    for offset in range(len(raw)):
        for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
            try:
                found.append(zlib.decompressobj(wbits).decompress(raw[offset:]))
            except zlib.error:
                pass
    return found


def readable(text: str, forms: list[bytes] | None = None) -> list[str]:
    """What of :data:`SECRETS` can be read in ``text`` (URL-decoded) or in ``forms`` (none,
    for a private link)."""
    forms = forms if forms is not None else [unquote(text).encode()]
    return [s for s in SECRETS if any(s.encode().lower() in form.lower() for form in forms)]


# -- what a link shows -------------------------------------------------------------------
def test_the_link_and_its_token_show_nothing_of_the_customer(client):
    link = make_link(client, description="Payment for products")
    token = token_of(link)
    assert readable(link) == []
    assert readable(token, readings(token)) == []
    assert "." not in token  # never the old signed form
    page = client.get(f"/c/{token}")
    assert page.status_code == 200
    assert "Payment for products" in page.get_data(as_text=True)  # the page still has it all


def test_two_links_for_the_same_order_share_no_bytes_an_observer_could_compare(client):
    one, two = (token_of(make_link(client)) for _ in range(2))
    assert one != two
    raw_one, raw_two = (base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)) for t in (one, two))
    assert raw_one[:5] == raw_two[:5]  # version and key id: the only plain bytes
    assert raw_one[5:17] != raw_two[5:17]  # a fresh nonce, so a different ciphertext
    assert sum(a == b for a, b in zip(raw_one[17:], raw_two[17:], strict=False)) < len(raw_one) // 4


def test_a_payout_link_shows_neither_its_payout_nor_its_merchant(client):
    answer = client.post("/payouts", json=payout_request(), auth=DEMO_AUTH).json
    token = token_of(answer["iframeUrls"]["card"], "/p/")
    payout_hex = answer["payoutId"].removeprefix("po_")
    assert not any(s in form for form in readings(token) for s in (payout_hex.encode(), b"pbid_test", b"Doe"))
    assert client.get(f"/p/{token}").status_code == 200


# -- key rotation --------------------------------------------------------------------------
def test_a_link_made_with_key_a_opens_with_b_then_a_not_with_b(tmp_path):
    made = create_app(base_config(tmp_path, SECRET_KEYS=KEY_A))
    rotated = create_app(base_config(tmp_path, SECRET_KEYS=f"{KEY_B},{KEY_A}"))
    retired = create_app(base_config(tmp_path, SECRET_KEYS=KEY_B))
    token = token_of(make_link(made.test_client()))
    assert rotated.test_client().get(f"/c/{token}").status_code == 200
    refused = retired.test_client().get(f"/c/{token}")
    assert refused.status_code == 404 and NOT_VALID in refused.get_data(as_text=True)
    # New links are made with the first key (B): B alone opens them, A alone does not.
    new = token_of(make_link(rotated.test_client()))
    assert retired.test_client().get(f"/c/{new}").status_code == 200
    assert made.test_client().get(f"/c/{new}").status_code == 404


# -- tampering and hostile input -------------------------------------------------------------
def _other(ch: str) -> str:
    return "B" if ch == "A" else "A"


def test_every_altered_character_or_truncation_is_not_valid(client):
    token = token_of(make_link(client))
    tampered = {token[:i] + _other(token[i]) + token[i + 1:] for i in range(len(token))}
    tampered |= {token[:n] for n in (1, 10, len(token) // 2, len(token) - 2, len(token) - 1)}
    tampered |= {token + "A", token + "AA", "A" + token, token[1:]}
    assert len(tampered) > len(token)
    for bad in tampered:
        response = client.get(f"/c/{bad}")
        assert response.status_code == 404, (bad, response.status_code)
        assert NOT_VALID in response.get_data(as_text=True)


def test_another_spelling_of_the_same_bytes_is_not_valid(app):
    """base64 leaves a few bits of the last character unused: changing only those gives
    the same bytes, which must not make a second valid token."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    with app.app_context():
        token = next(t for t in (tokens.sign({"n": "x" * i}, tokens.CHECKOUT_SALT) for i in range(3))
                     if len(t) % 4)
        respelled = token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]
        assert base64.urlsafe_b64decode(respelled + "=" * (-len(respelled) % 4)) == \
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert set(tokens.load(token, tokens.CHECKOUT_SALT, 60)) == {"n"}
        with pytest.raises(tokens.TokenError):
            tokens.load(respelled, tokens.CHECKOUT_SALT, 60)


@pytest.mark.parametrize("bad", ["é" * 60, "\u0430" * 80, "A" * 9000, "." * 60, "x.y.z", "A" * 61 + "=",
                                 "%00" * 20, "a/../b"])
def test_hostile_tokens_are_not_valid_never_an_error(app, client, bad):
    response = client.get(f"/c/{bad}")
    assert response.status_code in (404, 400), response.status_code  # 400: a URL werkzeug will not route
    with app.app_context(), pytest.raises(tokens.TokenError):
        tokens.load_checkout(bad)


@pytest.mark.parametrize("bad", [None, 7, b"bytes", "\ud800" * 60, "A" * (tokens.MAX_TOKEN_LENGTH + 1)])
def test_load_refuses_what_is_not_a_token_with_token_error(app, bad):
    with app.app_context(), pytest.raises(tokens.TokenError) as info:
        tokens.load(bad, tokens.CSRF_SALT, 60)
    assert not info.value.expired


def test_a_token_is_bound_to_its_purpose(app):
    with app.app_context():
        csrf = tokens.sign({"cid": "x" * 32, "exp": int(time.time()) + 600}, tokens.CSRF_SALT)
        with pytest.raises(tokens.TokenError):
            tokens.load_checkout(csrf)
        assert tokens.load(csrf, tokens.CSRF_SALT, 60)["cid"] == "x" * 32


# -- links signed before the change ------------------------------------------------------------
def _legacy(app: Flask, client, keys: list[str] | None = None) -> str:
    """A link's token as the signing-only version made it (itsdangerous, the first key),
    for the payload of a link made now."""
    with app.app_context():
        payload = tokens.load_checkout(token_of(make_link(client)))
    keys = keys or app.config["SECRET_KEYS"]
    return URLSafeTimedSerializer(list(reversed(keys)), salt=tokens.CHECKOUT_SALT).dumps(payload)


def test_a_link_signed_before_the_change_still_opens(app, client):
    old = _legacy(app, client)
    assert "." in old
    page = client.get(f"/c/{old}")
    assert page.status_code == 200 and "Payment for products" in page.get_data(as_text=True)
    assert client.get(f"/c/{_legacy(app, client, ['another-key-0123456789'])}").status_code == 404
    body, ts, sig = old.rsplit(".", 2)
    for bad in (f"{body}.{ts}.{_other(sig[0])}{sig[1:]}", f"{body}.{_other(ts[0])}{ts[1:]}.{sig}",
                f"{_other(body[0])}{body[1:]}.{ts}.{sig}", f"{body}.{ts}"):
        assert client.get(f"/c/{bad}").status_code == 404


def test_a_legacy_link_expires_with_the_limit_age(app, client, monkeypatch):
    old = _legacy(app, client)
    later = time.time() + app.config["TOKEN_LIMIT_AGE"] + 10
    monkeypatch.setattr(time, "time", lambda: later)
    with app.app_context(), pytest.raises(tokens.TokenExpired):
        tokens.load_checkout(old, allow_expired=True)


# -- logs --------------------------------------------------------------------------------------
class Lines(logging.Handler):
    """Every line a logger writes, formatted."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def werkzeug_lines() -> Iterator[Lines]:
    lines = Lines()
    logger = logging.getLogger("werkzeug")
    logger.addHandler(lines)
    yield lines
    logger.removeHandler(lines)


def test_the_dev_server_access_log_shows_no_token(app, client, werkzeug_lines):
    token = token_of(make_link(client))
    server = make_server("127.0.0.1", 0, app, threaded=True)  # werkzeug's own request handler and log
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        assert httpx.get(f"{base}/c/{token}?embed=0").status_code == 200
        assert httpx.get(f"{base}/c/{token}/standing?number=4242424242424242").status_code < 500
        assert httpx.get(f"{base}/c/{token[:-3]}").status_code == 404
    finally:
        server.shutdown()
        server.server_close()
    log = "\n".join(werkzeug_lines.lines)
    assert f"GET /c/{logmask.mark(token)}?embed=0 HTTP/1.1" in log, log
    assert f"/c/{logmask.mark(token)}/standing?number=[number]" in log, log
    assert token[:20] not in log and "4242424242424242" not in log


@pytest.mark.parametrize("number", ["4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242",
                                    "378282246310005", "6011000990139424123"])
def test_card_like_numbers_in_our_messages_are_masked(app, caplog, number):
    log = logging.getLogger("checkout.flows.payment")
    with caplog.at_level(logging.INFO):
        log.warning("customer typed %s into the name field", number)
        log.info(f"literal {number}!")
        try:
            raise ValueError(f"bad number {number}")
        except ValueError:
            log.exception("failed on %s", "x")
        app.logger.warning("app logger: %s", number)
    assert len(caplog.records) == 4
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert number not in text and "[number]" in text
    assert "customer typed [number] into the name field" in text and "bad number [number]" in text


def test_a_token_in_any_message_is_masked_and_short_numbers_are_kept(app, client, caplog):
    link = make_link(client)
    token = token_of(link)
    with app.app_context():
        csrf = tokens.sign("cid:card", tokens.CSRF_SALT)
    with caplog.at_level(logging.INFO):
        app.logger.info("made %s for order 990022 at 1700000000, then %s; bare %s", link, csrf, token)
    message = caplog.records[-1].getMessage()
    assert token not in message and csrf not in message
    assert f"/c/{logmask.mark(token)}" in message and logmask.mark(csrf) in message
    assert message.count(logmask.mark(token)) == 2  # the same token: the same mark
    assert "order 990022 at 1700000000" in message


@pytest.mark.slow
def test_gunicorn_access_log_shows_no_token(tmp_path):
    """``gunicorn -c gunicorn.conf.py 'checkout:create_app()'`` (``make serve``) with its
    access log on: the page's request line carries the token's mark, not the token."""
    outer = {k: v for k, v in os.environ.items() if not k.startswith("CHECKOUT_")}
    env = {**outer, "CHECKOUT_MODE": "sandbox", "CHECKOUT_GATEWAY_URL": "sandbox",
           "CHECKOUT_DATABASE": str(tmp_path / "checkout.sqlite3"),
           "CHECKOUT_SANDBOX_DATABASE": str(tmp_path / "sandbox.sqlite3"),
           "CHECKOUT_SECRET_KEYS": KEY_A, "CHECKOUT_WORKERS": "1", "CHECKOUT_THREADS": "2",
           "CHECKOUT_WORKER_IN_PROCESS": "0", "CHECKOUT_ACCESS_LOG": "-"}
    server = Server("gunicorn-logs", env, tmp_path)
    try:
        made = httpx.post(server.url + "/checkout/link", json=seed_request(data=dict(CUSTOMER)), auth=DEMO_AUTH,
                          timeout=30)
        assert made.status_code == 200, made.text
        token = token_of(made.json()["link"]["action"])
        assert httpx.get(f"{server.url}/c/{token}?embed=0", timeout=30).status_code == 200
        line = f'"GET /c/{logmask.mark(token)}?embed=0 HTTP/1.1" 200'
        deadline = time.monotonic() + 30  # the worker writes the line just after the answer
        while line not in server.log_path.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
    log = server.log_path.read_text(errors="replace")
    assert line in log, log[-3000:]
    assert token[:20] not in log
    assert not any(value in log for value in CUSTOMER.values())


def test_the_mask_leaves_ordinary_lines_alone():
    for line in ('127.0.0.1 - - [01/Jan/2026 10:00:00] "GET /healthz HTTP/1.1" 200 -',
                 "checkout 0123456789abcdef0123456789abcdef: pending until the gateway says",
                 "payout po_0123456789abcdef0123456789abcdef: status unknown", "ip 10.20.30.40 port 51234"):
        assert logmask.mask(line) == line
