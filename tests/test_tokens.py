"""Checkout tokens: what a link carries is encrypted and authenticated, expires, survives
key rotation, is bound to its purpose, and never holds a secret or card data (not even
inside the ciphertext). tests/test_private_links.py shows a link is unreadable."""
from __future__ import annotations

import base64
import json
import re
import time

import pytest
from conftest import DEMO_AUTH, EXTRA_FIELDS, base_config, follow, seed_request

from checkout import create_app, tokens

PAYLOAD = {"m": "pbid_test", "amount": "10.66", "currency": "USD", "description": "Tea",
           "successUrl": "https://example.com/success", "failureUrl": "https://example.com/failure"}


def _raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _carried(app, token: str) -> bytes:
    """What a token carries once decrypted with the app's keys: a checkout payload or a
    CSRF token's context."""
    with app.app_context():
        try:
            payload = tokens.load_checkout(token, allow_expired=True)
        except tokens.TokenError:
            payload = tokens.load(token, tokens.CSRF_SALT, None)
    return json.dumps(payload).encode()


def test_round_trip_adds_cid_and_exp(app):
    with app.app_context():
        token = tokens.sign_checkout(PAYLOAD)
        loaded = tokens.load_checkout(token)
    assert {k: loaded[k] for k in PAYLOAD} == PAYLOAD
    assert len(loaded["cid"]) >= 16
    default_ttl = app.config["TOKEN_MAX_AGE"]
    assert abs(loaded["exp"] - (time.time() + default_ttl)) < 5


def test_each_token_gets_its_own_checkout_id(app):
    with app.app_context():
        cids = {tokens.load_checkout(tokens.sign_checkout(PAYLOAD))["cid"] for _ in range(20)}
    assert len(cids) == 20


# The token's bytes: version (1), key id (4), nonce (12), ciphertext, tag (last 16).
@pytest.mark.parametrize("index", [0, 1, 4, 5, 16, 17, 30, -17, -1], ids=[
    "version", "key id", "key id end", "nonce", "nonce end", "ciphertext", "ciphertext middle", "ciphertext end",
    "tag"])
def test_tampered_token_is_rejected(app, index):
    with app.app_context():
        token = tokens.sign_checkout(PAYLOAD)
        raw = bytearray(_raw(token))
        raw[index] ^= 0x01
        tampered = _token(bytes(raw))
        assert tampered != token
        with pytest.raises(tokens.TokenError) as info:
            tokens.load_checkout(tampered)
        assert not isinstance(info.value, tokens.TokenExpired)


@pytest.mark.parametrize("junk", ["", "x", "a.b.c", "not-a-token" * 10])
def test_garbage_is_rejected(app, junk):
    with app.app_context(), pytest.raises(tokens.TokenError):
        tokens.load_checkout(junk)


def test_expired_link_raises_token_expired(app):
    with app.app_context():
        token = tokens.sign_checkout({**PAYLOAD, "exp": int(time.time()) - 1})
        with pytest.raises(tokens.TokenExpired):
            tokens.load_checkout(token)
        # A payment started before expiry may still come back (3-D Secure, status check).
        assert tokens.load_checkout(token, allow_expired=True)["amount"] == "10.66"


def test_link_expires_after_its_ttl(app, monkeypatch):
    with app.app_context():
        token = tokens.sign_checkout({**PAYLOAD, "ttl": 120})
        assert tokens.load_checkout(token)
        later = time.time() + 121
        monkeypatch.setattr(time, "time", lambda: later)
        with pytest.raises(tokens.TokenExpired):
            tokens.load_checkout(token)


def test_nothing_lives_past_the_limit_age_even_allowing_expired(app, monkeypatch):
    with app.app_context():
        token = tokens.sign_checkout(PAYLOAD)
    # The issue time inside the ciphertext is checked against TOKEN_LIMIT_AGE.
    later = time.time() + app.config["TOKEN_LIMIT_AGE"] + 10
    monkeypatch.setattr(time, "time", lambda: later)
    with app.app_context(), pytest.raises(tokens.TokenExpired):
        tokens.load_checkout(token, allow_expired=True)


def test_key_rotation(tmp_path):
    old = create_app(base_config(tmp_path, SECRET_KEYS="old-key-0123456789"))
    both = create_app(base_config(tmp_path, SECRET_KEYS="new-key-0123456789,old-key-0123456789"))
    only_new = create_app(base_config(tmp_path, SECRET_KEYS="new-key-0123456789"))

    with old.app_context():
        from_old = tokens.sign_checkout(PAYLOAD)
    with both.app_context():
        assert tokens.load_checkout(from_old)["amount"] == "10.66"  # old links keep working
        from_both = tokens.sign_checkout(PAYLOAD)
    with old.app_context(), pytest.raises(tokens.TokenError):
        tokens.load_checkout(from_both)  # signed with the first ("new") key
    with only_new.app_context():
        assert tokens.load_checkout(from_both)["amount"] == "10.66"
        with pytest.raises(tokens.TokenError):
            tokens.load_checkout(from_old)  # the old key was retired


def test_token_from_another_installation_is_rejected(tmp_path):
    a = create_app(base_config(tmp_path, SECRET_KEYS="key-a-0123456789"))
    b = create_app(base_config(tmp_path, SECRET_KEYS="key-b-0123456789"))
    token = tokens.sign_checkout(PAYLOAD, app=a)
    with pytest.raises(tokens.TokenError):
        tokens.load_checkout(token, app=b)


def test_csrf_token_is_not_a_checkout_token(app):
    with app.app_context():
        # Even a CSRF token whose value looks like a checkout payload is refused.
        csrf = tokens.sign({**PAYLOAD, "cid": "x" * 32, "exp": int(time.time()) + 600}, tokens.CSRF_SALT)
        with pytest.raises(tokens.TokenError):
            tokens.load_checkout(csrf)
        link = tokens.sign_checkout(PAYLOAD)
        with pytest.raises(tokens.TokenError):
            tokens.load(link, tokens.CSRF_SALT, 3600)


def test_ttl_is_clamped(app):
    cfg = app.config
    with app.app_context():
        short = tokens.load_checkout(tokens.sign_checkout({**PAYLOAD, "ttl": 1}))
        long = tokens.load_checkout(tokens.sign_checkout({**PAYLOAD, "ttl": 10 ** 9}))
    now = time.time()
    assert abs(short["exp"] - (now + cfg["TOKEN_MIN_AGE"])) < 5
    assert abs(long["exp"] - (now + cfg["TOKEN_LIMIT_AGE"])) < 5
    assert "ttl" not in short


@pytest.mark.parametrize("expires_in", [59, 0, -5, 7 * 24 * 3600 + 1, "600", 60.5, True])
def test_api_refuses_expires_in_out_of_range(client, expires_in):
    response = client.post("/checkout/link", json=seed_request(expiresIn=expires_in), auth=DEMO_AUTH)
    assert response.status_code == 400
    assert "expiresIn" in response.json["errors"]


def test_api_expires_in_sets_the_lifetime(app, client):
    response = client.post("/checkout/link", json=seed_request(expiresIn=120), auth=DEMO_AUTH)
    assert response.status_code == 200
    token = response.json["link"]["action"].rsplit("/c/", 1)[1]
    with app.app_context():
        assert abs(tokens.load_checkout(token)["exp"] - (time.time() + 120)) < 5


def test_no_secret_or_card_data_in_a_token(app, client):
    response = client.post("/checkout/link", json=seed_request(), auth=DEMO_AUTH)
    token = response.json["link"]["action"].rsplit("/c/", 1)[1]
    raw = _carried(app, token)
    assert b"Payment for products" in raw  # we really decrypted the payload
    for secret in (b"test_secret", app.config["SECRET_KEYS"][0].encode()):
        assert secret not in raw
        assert secret.decode() not in token

    # Card data typed on the page never ends up in a token the pages carry (the link
    # tokens in links and forms, the CSRF token): decline once so the form comes back.
    page = client.get(f"/c/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    sent = client.post(f"/c/{token}/card", data={**EXTRA_FIELDS, "csrf_token": csrf, "name": "Jane Doe",
                                                 "number": "4242 4242 4242 4242", "expiry": "12 / 39",
                                                 "cvv": "333"})
    assert sent.status_code == 303  # post/redirect/get: the page that shows the decline
    declined = follow(client, sent)
    assert declined.status_code == 402
    html = sent.headers["Location"] + "\n" + declined.get_data(as_text=True)
    carried = set(re.findall(r"/c/([A-Za-z0-9_.-]+)", html)) | set(
        re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', html))
    assert len(carried) >= 2
    for found in carried:
        decoded = _carried(app, found).decode()
        assert "4242424242424242" not in decoded and '"cvv"' not in decoded
        assert "test_secret" not in decoded
