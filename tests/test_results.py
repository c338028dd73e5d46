"""The signed result a merchant receives on its success / failure / pending / cancel URL,
and the seed's HMAC form it is built on."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from checkout import results
from checkout.signatures import content_hmac, hmac_matches

SECRET = "test_secret"
RESULT = {"invoiceId": "990022", "transactionId": "17", "status": "Completed", "statusCode": 4,
          "amount": "10.66", "currency": "USD", "reasonCode": 0, "reason": "Approved & done"}


def independent_signature(params: dict[str, str], secret: str) -> str:
    """The seed's algorithm written out again: base64 of the hex HMAC-SHA256 of the
    parameters sorted by name, URL-encoded."""
    message = urlencode(sorted(params.items())).encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().encode()).decode()


def query(params: dict[str, str]) -> str:
    return urlencode(list(params.items()))


def test_seed_hmac_example():
    body = '{"transactionId":512,"amount":30.45,"currency":"EUR"}'
    expected = "MzVkMzBlMTdmMmVkNGJkNjFhMzFmNTdhODU0ZGQwZTYwZGU5MDg5MDRiODYyMTAzZmI0ZDAzMjRiMWJmNmM3Mw=="
    assert content_hmac(body, "1234ABCD") == expected
    assert content_hmac(body.encode(), "1234ABCD") == expected
    assert hmac_matches(body, "1234ABCD", expected)
    assert not hmac_matches(body + " ", "1234ABCD", expected)
    assert not hmac_matches(body, "1234ABCE", expected)
    assert not hmac_matches(body, "1234ABCD", None)
    assert not hmac_matches(body, "1234ABCD", "")


def test_signed_params_shape_and_signature():
    params = results.signed_params(RESULT, SECRET, now=1700000000)
    assert set(params) == {*results.FIELDS, "signature"}
    assert params["ts"] == "1700000000"
    assert params["statusCode"] == "4" and params["amount"] == "10.66"
    unsigned = {k: v for k, v in params.items() if k != "signature"}
    assert params["signature"] == independent_signature(unsigned, SECRET)


def test_missing_fields_are_empty_and_still_signed():
    params = results.signed_params({"status": "Cancelled", "statusCode": 0}, SECRET, now=1)
    assert params["transactionId"] == "" and params["reason"] == ""
    assert results.verify(query(params), SECRET)


def test_verify_accepts_a_good_query_in_any_order():
    params = results.signed_params(RESULT, SECRET)
    assert results.verify(query(params), SECRET)
    assert results.verify("?" + query(params), SECRET)
    assert results.verify(urlencode(sorted(params.items(), reverse=True)), SECRET)


@pytest.mark.parametrize("name", [*results.FIELDS, "signature"])
def test_verify_rejects_any_changed_parameter(name):
    params = results.signed_params(RESULT, SECRET)
    params[name] = params[name] + "1" if name != "signature" else "A" + params[name][1:]
    assert not results.verify(query(params), SECRET)


@pytest.mark.parametrize("name", [n for n in results.FIELDS])
def test_verify_rejects_a_dropped_parameter(name):
    params = results.signed_params(RESULT, SECRET)
    del params[name]
    assert not results.verify(query(params), SECRET)


def test_verify_rejects_missing_or_duplicate_signature_and_duplicate_parameters():
    params = results.signed_params(RESULT, SECRET)
    good = query(params)
    assert not results.verify(query({k: v for k, v in params.items() if k != "signature"}), SECRET)
    assert not results.verify(good + "&signature=" + params["signature"], SECRET)
    # A second status=... (e.g. appended by someone hoping the merchant reads the last one).
    assert not results.verify(good + "&status=Completed", SECRET)
    assert not results.verify(good + "&amount=0.01", SECRET)
    assert not results.verify("", SECRET)


def test_verify_rejects_the_wrong_secret():
    params = results.signed_params(RESULT, SECRET)
    assert not results.verify(query(params), "other_secret")
    assert not results.verify(query(results.signed_params(RESULT, "other_secret")), SECRET)


def test_verify_max_age():
    old = results.signed_params(RESULT, SECRET, now=time.time() - 600)
    assert results.verify(query(old), SECRET)
    assert results.verify(query(old), SECRET, max_age=900)
    assert not results.verify(query(old), SECRET, max_age=300)
    fresh = results.signed_params(RESULT, SECRET)
    assert results.verify(query(fresh), SECRET, max_age=300)


def test_spaces_are_encoded_as_plus_like_urlencode():
    params = results.signed_params({**RESULT, "reason": "Insufficient Funds"}, SECRET)
    unsigned = {k: v for k, v in params.items() if k != "signature"}
    assert params["signature"] == independent_signature(unsigned, SECRET)
    assert "reason=Insufficient+Funds" in query(params)
    assert results.verify(query(params), SECRET)
    assert results.verify(query(params).replace("Insufficient+Funds", "Insufficient%20Funds"), SECRET)


def test_with_params_keeps_the_merchants_own_query():
    params = results.signed_params(RESULT, SECRET)
    url = results.with_params("https://shop.example/done?order=42&lang=en#top", params)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("https", "shop.example", "/done", "top")
    pairs = parse_qsl(parts.query)
    assert ("order", "42") in pairs and ("lang", "en") in pairs
    assert dict(pairs)["status"] == "Completed"
    assert results.verify(parts.query, SECRET)


def test_with_params_replaces_a_forged_result_in_the_merchants_url():
    params = results.signed_params(RESULT, SECRET)
    url = results.with_params("https://shop.example/done?status=Declined&amount=1", params)
    query_string = urlsplit(url).query
    assert [v for k, v in parse_qsl(query_string) if k == "status"] == ["Completed"]
    assert results.verify(query_string, SECRET)
