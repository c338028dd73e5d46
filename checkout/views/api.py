"""The merchant API (JSON, HTTP Basic auth ``publicId:secret``): checkout links, APM
links, and the OpenAPI document that describes them."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import InternalServerError

from .. import openapi
from ..links import RequestError, create_apm_link, create_link
from ..merchants import Merchant
from ..urls import public_base
from .apikit import error, read_json

bp = Blueprint("api", __name__)

API_PATHS = ("/checkout/link", "/payments/link")


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if not key:
        return None
    if len(key) > 255 or any(not 32 <= ord(ch) < 127 for ch in key):
        raise RequestError({"Idempotency-Key": "must be at most 255 printable ASCII characters"})
    return key


def _create(make_link: Callable[[object, Merchant], str], scope: str) -> Response:
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
    answer = json.dumps({"success": True, "message": None, "model": {},
                         "link": {"method": "get", "action": link}})
    if key:
        stored_hash, answer = store.idempotent(merchant.public_id, key, body_hash, answer)
        if stored_hash != body_hash:
            return error("This Idempotency-Key was used with another body", 409,
                          {"Idempotency-Key": "was used with another body"})
    return current_app.response_class(answer, mimetype="application/json")


@bp.post("/checkout/link")
def checkout_link():
    """The seed's Checkout request: a link to the payment page."""
    return _create(create_link, "")


@bp.post("/payments/link")
def payments_link():
    """The seed's Link request: a link to pay by the APM ``data.paymentTypeId``."""
    return _create(create_apm_link, "/payments/link\n")


@bp.route("/checkout/link", methods=["GET", "PUT", "PATCH", "DELETE"])
@bp.route("/payments/link", methods=["GET", "PUT", "PATCH", "DELETE"])
def wrong_method():
    response = error(f"{request.method} is not allowed here: use POST", 405)
    response.headers["Allow"] = "POST, OPTIONS"
    return response


@bp.errorhandler(InternalServerError)
def _servererror(exc):
    if request.path in API_PATHS:
        return error("Internal error: nothing was created; try again", 500)
    return exc


@bp.get("/openapi.json")
def openapi_document():
    response = jsonify(openapi.document(public_base()))
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response
