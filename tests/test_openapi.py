"""The merchant API against its own OpenAPI document (schemathesis, in-process over WSGI),
and the API's promises by hand: APM links, Idempotency-Key replay and conflict, JSON
errors for every failure."""
from __future__ import annotations

import atexit
import base64
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import DEMO_AUTH, base_config, local, seed_request
from test_pay_http import pay

from checkout import create_app, tokens
from checkout.flows import notify, worker
from checkout.flows import payment as flow
from checkout.signatures import content_hmac

schemathesis = pytest.importorskip("schemathesis")
jsonschema_rs = pytest.importorskip("jsonschema_rs")  # schemathesis's own JSON Schema validator
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import checks as st_checks  # noqa: E402

BASIC = "Basic " + base64.b64encode(b"pbid_test:test_secret").decode()


# schemathesis parametrizes at import time: the app gets its own temporary directory.
_TMP = tempfile.mkdtemp(prefix="checkout-openapi-")
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app(base_config(Path(_TMP))))


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_schemathesis_finds_no_server_error(case):
    """No 5xx; status codes, content types, headers and bodies as documented."""
    case.call_and_validate(
        headers={"Authorization": BASIC, "Accept-Encoding": "identity"},  # its WSGI client decodes no brotli
        checks=[st_checks.not_a_server_error, st_checks.status_code_conformance,
                st_checks.content_type_conformance, st_checks.response_headers_conformance,
                st_checks.response_schema_conformance])


def test_the_document_describes_the_api(client):
    doc = client.get("/openapi.json").json
    assert doc["openapi"].startswith("3.")
    # Every merchant route (HTTP Basic) of the app is here, and nothing else.
    assert set(doc["paths"]) == {"/checkout/link", "/payments/link", "/payments/redirect/{publicId}", "/payouts",
                                 "/payouts/{payoutId}", "/payouts/{payoutId}/confirm", "/payouts/{payoutId}/reject",
                                 "/checkout/{checkoutId}", "/checkout", "/checkout/{checkoutId}/expire",
                                 "/notifications", "/gateway/notifications/{publicId}"}
    assert "cashier" in doc["components"]["schemas"]["CheckoutRequest"]["properties"]["mode"]["enum"]
    basic = doc["components"]["securitySchemes"]["basicAuth"]
    assert (basic["type"], basic["scheme"]) == ("http", "basic")
    headers = {p["name"] for p in doc["components"]["parameters"].values()}
    assert headers == {"Content-HMAC", "Idempotency-Key"}
    for path in ("/checkout/link", "/payments/link"):
        assert {"200", "400", "401", "409", "415"} <= set(doc["paths"][path]["post"]["responses"])
    assert doc["servers"] == [{"url": "http://localhost"}]


def test_the_document_describes_checkouts_and_notifications(client):
    doc = client.get("/openapi.json").json
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    assert set(schemas["LinkAnswer"]["properties"]["model"]["required"]) == {"checkoutId", "expiresAt"}
    for request in ("CheckoutRequest", "LinkRequest"):
        assert schemas[request]["properties"]["notificationUrl"]["pattern"] == "^https?://"
    for path, method in (("/checkout/{checkoutId}", "get"), ("/checkout", "get"),
                         ("/checkout/{checkoutId}/expire", "post"), ("/notifications", "get")):
        assert paths[path][method]["security"] == [{"basicAuth": []}], path
        assert {"200", "401"} <= set(paths[path][method]["responses"]), path
    assert {"404"} <= set(paths["/checkout/{checkoutId}"]["get"]["responses"])
    assert {"404", "409"} <= set(paths["/checkout/{checkoutId}/expire"]["post"]["responses"])
    (invoice,) = paths["/checkout"]["get"]["parameters"]
    assert (invoice["name"], invoice["in"], invoice["required"]) == ("invoiceId", "query", True)
    (state,) = paths["/notifications"]["get"]["parameters"]
    assert (state["name"], state["schema"]["enum"]) == ("state", list(notify.STATES))
    # The gateway's notifications: no Basic auth, its Content-HMAC instead.
    gateway = paths["/gateway/notifications/{publicId}"]["post"]
    assert "security" not in gateway and {"200", "400", "401"} <= set(gateway["responses"])
    assert {p["name"] for p in gateway["parameters"]} == {"publicId", "Content-HMAC"}
    # The states and events are the code's.
    assert schemas["CheckoutState"]["enum"] == list(flow.API_STATES)
    events = set(notify.EVENTS.values()) | set(notify.PAYOUT_EVENTS.values())
    assert set(schemas["Notification"]["properties"]["event"]["enum"]) == events
    assert schemas["NotificationDelivery"]["properties"]["state"]["enum"] == list(notify.STATES)
    assert set(schemas["Checkout"]["required"]) == set(schemas["Checkout"]["properties"])
    # OpenAPI 3.0 has no webhooks section: the calls to the merchant's server are callbacks
    # of the link operations, and x-webhooks.
    assert doc["openapi"].startswith("3.0")
    for path in ("/checkout/link", "/payments/link"):
        assert set(paths[path]["post"]["callbacks"]) == {"notification", "paymentCheck"}
    (notification_url,) = doc["components"]["callbacks"]["Notification"]
    assert notification_url == "{$request.body#/notificationUrl}"
    for name, schema_name in (("notification", "Notification"), ("paymentCheck", "PaymentCheck")):
        call = doc["x-webhooks"][name]["post"]
        assert {p["name"] for p in call["parameters"]} == {"Content-HMAC", "webhook-id", "webhook-timestamp",
                                                           "webhook-signature"}
        assert all(p["in"] == "header" and p["required"] for p in call["parameters"])
        body = call["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{schema_name}"}
        assert call["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Confirmation"}
    assert schemas["Confirmation"]["properties"]["code"]["enum"] == [0]


def _json_schema(value):
    """OpenAPI 3.0's ``nullable`` as JSON Schema (what schemathesis does with the answers)."""
    if isinstance(value, list):
        return [_json_schema(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _json_schema(v) for k, v in value.items() if k != "nullable"}
    return {"anyOf": [out, {"type": "null"}]} if value.get("nullable") is True else out


def test_real_answers_and_notifications_are_as_documented(app, client):
    """Not random input this time: a checkout that is paid, listed, refused expiry, a second one
    expired, the notifications the worker sent, and the gateway's notification in; each answer
    against the document, and each notification's body against its schema."""
    link = client.post("/checkout/link", json=seed_request(invoiceId="inv-doc-1"), auth=DEMO_AUTH)
    schema["/checkout/link"]["POST"].validate_response(link)
    cid = link.json["model"]["checkoutId"]
    opened = client.get(f"/checkout/{cid}", auth=DEMO_AUTH)
    schema["/checkout/{checkoutId}"]["GET"].validate_response(opened)
    assert opened.json["model"]["state"] == "open"
    assert pay(client, local(link.json["link"]["action"])).status_code == 303
    paid = client.get(f"/checkout/{cid}", auth=DEMO_AUTH)
    schema["/checkout/{checkoutId}"]["GET"].validate_response(paid)
    assert paid.json["model"]["state"] == "completed"
    listed = client.get("/checkout?invoiceId=inv-doc-1", auth=DEMO_AUTH)
    schema["/checkout"]["GET"].validate_response(listed)
    assert [c["checkoutId"] for c in listed.json["checkouts"]] == [cid]
    refused = client.post(f"/checkout/{cid}/expire", auth=DEMO_AUTH)
    assert refused.status_code == 409
    schema["/checkout/{checkoutId}/expire"]["POST"].validate_response(refused)
    other = client.post("/checkout/link", json=seed_request(invoiceId="inv-doc-2"), auth=DEMO_AUTH).json
    expired = client.post(f"/checkout/{other['model']['checkoutId']}/expire", auth=DEMO_AUTH)
    assert expired.status_code == 200 and expired.json["model"]["state"] == "expired"
    schema["/checkout/{checkoutId}/expire"]["POST"].validate_response(expired)
    for bad in (client.get("/checkout/nope", auth=DEMO_AUTH), client.get("/checkout", auth=DEMO_AUTH),
                client.get("/notifications?state=lost", auth=DEMO_AUTH), client.get("/notifications")):
        assert bad.status_code in (400, 401, 404)
    schema["/checkout/{checkoutId}"]["GET"].validate_response(client.get("/checkout/nope", auth=DEMO_AUTH))

    with app.app_context():
        worker.run_round("doc-worker")
    told = client.get("/notifications", auth=DEMO_AUTH)
    schema["/notifications"]["GET"].validate_response(told)
    assert {n["event"] for n in told.json["notifications"]} == {"checkout.completed", "checkout.expired"}
    doc = client.get("/openapi.json").json
    body_schema = jsonschema_rs.Draft4Validator({"$ref": "#/components/schemas/Notification",
                                                 "components": _json_schema(doc["components"])})
    for n in told.json["notifications"]:
        assert n["state"] == "delivered", n["attemptLog"]
        errors = [e.message for e in body_schema.iter_errors(n["body"])]
        assert not errors, (n["event"], errors)
    assert not body_schema.is_valid({**told.json["notifications"][0]["body"], "event": "checkout.paid"})
    schema["/notifications"]["GET"].validate_response(client.get("/notifications?state=failed", auth=DEMO_AUTH))

    # The gateway's notification in: signed with the merchant's gateway secret, else 401.
    gateway = schema["/gateway/notifications/{publicId}"]["POST"]
    body = json.dumps({"transactionId": paid.json["model"]["transactionId"], "invoiceId": "inv-doc-1"}).encode()
    signed = client.post("/gateway/notifications/pbid_test", data=body, content_type="application/json",
                         headers={"Content-HMAC": content_hmac(body, DEMO_AUTH[1])})
    assert (signed.status_code, signed.json) == (200, {"code": 0})
    gateway.validate_response(signed)
    forged = client.post("/gateway/notifications/pbid_test", data=body, content_type="application/json",
                         headers={"Content-HMAC": content_hmac(body, "another secret")})
    assert forged.status_code == 401 and forged.json["code"] == 1
    gateway.validate_response(forged)


# -- POST /payments/link ---------------------------------------------------------------------
def link_request(**overrides) -> dict:
    body = seed_request(**overrides)
    body.pop("page", None)
    body.setdefault("data", {})
    return body


def apm(client, body, auth=DEMO_AUTH, **kwargs):
    return client.post("/payments/link", json=body, auth=auth, **kwargs)


def test_payments_link_answers_like_checkout_link_with_an_apm_token(app, client):
    body = link_request(data={"firstName": "John", "paymentTypeId": 1000})
    response = apm(client, body)
    assert response.status_code == 200, response.json
    answer = response.json
    assert (answer["success"], answer["message"]) == (True, None)
    assert set(answer["model"]) == {"checkoutId", "expiresAt"}
    assert answer["link"]["method"] == "get" and "/d/" in answer["link"]["action"]  # a direct link
    with app.app_context():
        payload = tokens.load_checkout(answer["link"]["action"].rsplit("/d/", 1)[1])
    assert payload["mode"] == "apm" and payload["paymentTypeId"] == 1000
    assert payload["data"] == {"firstName": "John"}
    assert (payload["amount"], payload["currency"]) == ("10.66", "USD")


@pytest.mark.parametrize("data, problem", [
    ({}, "is required"), ({"paymentTypeId": "1000"}, "must be a positive integer"),
    ({"paymentTypeId": 0}, "must be a positive integer"), ({"paymentTypeId": True}, "must be a positive integer"),
    ({"paymentTypeId": 1.5}, "must be a positive integer"), (None, "is required"),
])
def test_payments_link_needs_an_integer_payment_type(client, data, problem):
    body = link_request()
    body["data"] = data
    response = apm(client, {k: v for k, v in body.items() if v is not None})
    assert response.status_code == 400
    assert response.json["errors"]["data.paymentTypeId"] == problem


def test_payments_link_reports_every_field(client):
    response = apm(client, link_request(amount=-1, successUrl="ftp://x", data={"paymentTypeId": "x"}))
    assert response.status_code == 400
    assert {"amount", "successUrl", "data.paymentTypeId"} <= set(response.json["errors"])


def test_checkout_link_refuses_the_apm_mode(client):
    response = client.post("/checkout/link", json=seed_request(mode="apm"), auth=DEMO_AUTH)
    assert response.status_code == 400 and "mode" in response.json["errors"]


# -- Idempotency-Key --------------------------------------------------------------------------
@pytest.mark.parametrize("path, make", [("/checkout/link", seed_request),
                                        ("/payments/link", lambda **kw: link_request(data={"paymentTypeId": 1}, **kw))])
def test_idempotency_key_replay_and_conflict(client, path, make):
    headers = {"Idempotency-Key": "order-77"}
    first = client.post(path, json=make(), auth=DEMO_AUTH, headers=headers)
    replay = client.post(path, json=make(), auth=DEMO_AUTH, headers=headers)
    assert first.status_code == replay.status_code == 200
    assert replay.json == first.json
    # The same body with its keys in another order is the same request.
    reordered = json.dumps(dict(reversed(list(make().items()))))
    again = client.post(path, data=reordered, content_type="application/json", auth=DEMO_AUTH, headers=headers)
    assert again.json == first.json
    conflict = client.post(path, json=make(amount=11), auth=DEMO_AUTH, headers=headers)
    assert conflict.status_code == 409
    assert conflict.json["success"] is False and "Idempotency-Key" in conflict.json["errors"]
    # Another merchant's key space is its own; a fresh key is a new link.
    fresh = client.post(path, json=make(), auth=DEMO_AUTH, headers={"Idempotency-Key": "order-78"})
    assert fresh.json["link"] != first.json["link"]


def test_idempotency_key_is_scoped_to_the_endpoint(client):
    headers = {"Idempotency-Key": "shared"}
    assert client.post("/checkout/link", json=seed_request(), auth=DEMO_AUTH, headers=headers).status_code == 200
    other = client.post("/payments/link", json=link_request(data={"paymentTypeId": 1}), auth=DEMO_AUTH,
                        headers=headers)
    assert other.status_code == 409


@pytest.mark.parametrize("key", ["k" * 256, "caf\u00e9"])
def test_bad_idempotency_keys(client, key):
    response = client.post("/checkout/link", json=seed_request(), auth=DEMO_AUTH,
                           headers={"Idempotency-Key": key.encode().decode("latin-1")})
    assert response.status_code == 400 and "Idempotency-Key" in response.json["errors"]


# -- JSON errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/checkout/link", "/payments/link"])
def test_errors_are_json(client, path):
    not_json = client.post(path, data="amount=1", content_type="application/x-www-form-urlencoded", auth=DEMO_AUTH)
    assert not_json.status_code == 415 and not_json.json["success"] is False
    no_auth = client.post(path, json={})
    assert no_auth.status_code == 401 and no_auth.json["success"] is False
    bad_json = client.post(path, data="{", content_type="application/json", auth=DEMO_AUTH)
    assert bad_json.status_code == 400 and bad_json.json["errors"] == {"body": "must be a JSON object"}
    deep = client.post(path, data="[" * 50_000, content_type="application/json", auth=DEMO_AUTH)
    assert deep.status_code == 400
    huge = client.post(path, data=b"{" + b" " * 70_000 + b"}", content_type="application/json", auth=DEMO_AUTH)
    assert huge.status_code == 413 and huge.json["success"] is False
    wrong_method = client.get(path)
    assert wrong_method.status_code == 405 and wrong_method.json["success"] is False
    assert "POST" in wrong_method.headers["Allow"]


def test_content_hmac_on_payments_link(tmp_path):
    path = tmp_path / "merchants.json"
    path.write_text(json.dumps([{"publicId": "pbid_shop", "secret": "shop_secret", "requireHmac": True}]))
    client = create_app(base_config(tmp_path, MERCHANTS_FILE=str(path))).test_client()
    body = json.dumps(link_request(data={"paymentTypeId": 1})).encode()
    auth = ("pbid_shop", "shop_secret")
    unsigned = client.post("/payments/link", data=body, content_type="application/json", auth=auth)
    assert unsigned.status_code == 401 and "Content-HMAC" in unsigned.json["errors"]
    signed = client.post("/payments/link", data=body, content_type="application/json", auth=auth,
                         headers={"Content-HMAC": content_hmac(body, "shop_secret")})
    assert signed.status_code == 200


def test_an_unexpected_error_is_json_too(client, monkeypatch):
    from checkout import links

    def boom(body, merchant):
        raise RuntimeError("boom")

    monkeypatch.setattr(links, "checkout_link", boom)
    response = client.post("/checkout/link", json=seed_request(), auth=DEMO_AUTH)
    assert response.status_code == 500
    assert response.json == {"success": False, "message": "Internal error: nothing was created; try again"}
