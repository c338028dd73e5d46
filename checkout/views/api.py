"""The merchant API (JSON, HTTP Basic auth ``publicId:secret``): checkout links, APM
links, where a checkout stands, expiring one, the notifications the merchant never
confirmed, the gateway's own notifications, and the OpenAPI document of it all."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import InternalServerError, RequestEntityTooLarge

from .. import links, openapi
from ..flows import notify, worker
from ..flows import payment as flow
from ..links import Link, RequestError
from ..merchants import Merchant
from ..signatures import hmac_matches
from ..urls import public_base
from .apikit import MAX_BODY, authenticate, error, read_json

bp = Blueprint("api", __name__)

API_PATHS = ("/checkout/link", "/payments/link")
#: How many checkouts or notifications one list answer holds at most.
LIST_LIMIT = 100


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if not key:
        return None
    if len(key) > 255 or any(not 32 <= ord(ch) < 127 for ch in key):
        raise RequestError({"Idempotency-Key": "must be at most 255 printable ASCII characters"})
    return key


def _create(make_link: Callable[[object, Merchant], Link], scope: str) -> Response:
    """Authenticate, read the JSON body, and answer with a link: the same link again for
    a repeated ``Idempotency-Key`` with the same body, 409 with another body."""
    merchant, body, failure = read_json()
    if failure:
        return failure
    try:
        key = _idempotency_key()
    except RequestError as exc:
        return error(exc.message, 400, exc.errors)
    store = current_app.extensions["checkout.store"]
    if key:
        # Scoped per endpoint: the same key sent to another endpoint is another body.
        body_hash = hashlib.sha256((scope + json.dumps(body, sort_keys=True)).encode()).hexdigest()
        known = store.find_idempotent(merchant.public_id, key)
        if known:
            if known[0] != body_hash:
                return error("This Idempotency-Key was used with another body", 409,
                              {"Idempotency-Key": "was used with another body"})
            return current_app.response_class(known[1], mimetype="application/json")
    try:
        link = make_link(body, merchant)
    except RequestError as exc:
        return error(exc.message, 400, exc.errors)
    answer = json.dumps({"success": True, "message": None,
                         "model": {"checkoutId": link.payload["cid"], "expiresAt": flow.iso(link.payload["exp"])},
                         "link": {"method": "get", "action": link.url}})
    if key:
        ours = answer
        stored_hash, answer = store.idempotent(merchant.public_id, key, body_hash, answer)
        if stored_hash != body_hash:
            return error("This Idempotency-Key was used with another body", 409,
                          {"Idempotency-Key": "was used with another body"})
        if answer != ours:  # a request with this key won the race: its checkout is the one
            return current_app.response_class(answer, mimetype="application/json")
    # Known from now on (only the link the merchant gets): GET /checkout/<id>, expiring
    # it, and the worker's expiry.
    flow.open_session(link.payload, merchant)
    return current_app.response_class(answer, mimetype="application/json")


@bp.post("/checkout/link")
def checkout_link():
    """The seed's Checkout request: a link to the payment page."""
    return _create(links.checkout_link, "")


@bp.post("/payments/link")
def payments_link():
    """The seed's Link request: a link to pay by the APM ``data.paymentTypeId``."""
    return _create(links.apm_link, "/payments/link\n")


@bp.route("/checkout/link", methods=["GET", "PUT", "PATCH", "DELETE"])
@bp.route("/payments/link", methods=["GET", "PUT", "PATCH", "DELETE"])
def wrong_method():
    response = error(f"{request.method} is not allowed here: use POST", 405)
    response.headers["Allow"] = "POST, OPTIONS"
    return response


# -- where checkouts stand ----------------------------------------------------------------
def _merchant() -> tuple[Merchant | None, Response | None]:
    return authenticate()


def _own_checkout(checkout_id: str) -> tuple[flow.Session | None, Response | None]:
    """The authenticated merchant's own checkout, or the answer: 401, or 404 (another
    merchant's checkout is not found, as none)."""
    merchant, failure = _merchant()
    if failure:
        return None, failure
    s = flow.known_session(checkout_id, merchant)
    return (s, None) if s is not None else (None, error("No such checkout", 404))


@bp.get("/checkout/<checkout_id>")
def checkout_status(checkout_id: str):
    """Where a checkout stands (the merchant's own only: any other id is 404)."""
    s, failure = _own_checkout(checkout_id)
    if failure:
        return failure
    return jsonify({"success": True, "message": None, "model": flow.summary(s.checkout)})


@bp.get("/checkout")
def checkout_list():
    """The merchant's checkouts of one invoice (``?invoiceId=``), newest first."""
    merchant, failure = _merchant()
    if failure:
        return failure
    invoice = request.args.get("invoiceId")
    if not invoice:
        return error("Give the invoiceId to list its checkouts: GET /checkout?invoiceId=…", 400,
                     {"invoiceId": "is required"})
    found = flow.checkouts_of(merchant, invoice, LIST_LIMIT)
    return jsonify({"success": True, "message": None, "checkouts": [flow.summary(c) for c in found]})


@bp.post("/checkout/<checkout_id>/expire")
def checkout_expire(checkout_id: str):
    """End an open checkout: it can no longer be paid (409 when in flight or final)."""
    s, failure = _own_checkout(checkout_id)
    if failure:
        return failure
    expired = flow.expire(s)
    model = flow.summary(s.checkout)
    if not expired:
        response = jsonify({"success": False, "message": f"This checkout is {model['state']}: it cannot be expired",
                            "model": model})
        response.status_code = 409
        return response
    return jsonify({"success": True, "message": None, "model": model})


# -- notifications ------------------------------------------------------------------------
@bp.get("/notifications")
def notifications_list():
    """The merchant's notifications, newest first (``?state=failed``: those never confirmed)."""
    merchant, failure = _merchant()
    if failure:
        return failure
    state = request.args.get("state")
    if state is not None and state not in notify.STATES:
        return error(f"state must be one of {', '.join(notify.STATES)}", 400, {"state": "is not a state"})
    found = notify.outbox().of(merchant=merchant.public_id, state=state, limit=LIST_LIMIT)
    return jsonify({"success": True, "message": None,
                    "notifications": [notify.as_json(n, notify.outbox().attempts(n.id)) for n in found]})


def _not_taken(code: int, message: str, status: int) -> Response:
    """A gateway notification we refuse: any code but 0 tells the gateway to send it again."""
    response = jsonify({"code": code, "message": message})
    response.status_code = status
    return response


@bp.post("/gateway/notifications/<public_id>")
def gateway_notification(public_id: str):
    """The gateway's own notification (the address set in its back office): verified by
    its Content-HMAC with this merchant's gateway secret, confirmed with ``{"code":0}``,
    and the checkout it is about is settled at once (asking the gateway, never trusting
    the body's status)."""
    merchant = current_app.extensions["checkout.merchants"].get(public_id)
    request.max_content_length = MAX_BODY
    try:
        raw = request.get_data()
    except RequestEntityTooLarge:
        return _not_taken(3, f"The body is larger than {MAX_BODY} bytes", 413)
    if merchant is None or not hmac_matches(raw, merchant.gateway_credentials[1], request.headers.get("Content-HMAC")):
        return _not_taken(1, "Content-HMAC does not match the body", 401)
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _not_taken(2, "The body must be a JSON object", 400)
    tid = body.get("transactionId")
    if body.get("paymentTransactionId") is None:  # a refund's is about a payment we do not change
        worker.settle_transaction(merchant.public_id, None if tid is None else str(tid),
                                  None if body.get("invoiceId") is None else str(body["invoiceId"]))
    return jsonify({"code": 0})


@bp.errorhandler(InternalServerError)
def _servererror(exc):
    if request.path in API_PATHS:
        return error("Internal error: nothing was created; try again", 500)
    return exc


@bp.get("/openapi.json")
def openapi_document():
    response = jsonify(openapi.document(public_base()))
    if current_app.config.get("PUBLIC_URL"):
        response.cache_control.public = True
        response.cache_control.max_age = 300
    else:  # the sandbox's servers follow the request's Host: never for a shared cache
        response.cache_control.no_cache = True
        response.cache_control.private = True
        response.vary.add("Host")
    return response
