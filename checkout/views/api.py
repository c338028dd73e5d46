"""The merchant API (JSON, HTTP Basic auth ``publicId:secret``): checkout links, APM
links, and the OpenAPI document that describes them."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import InternalServerError, RequestEntityTooLarge

from .. import openapi
from ..links import RequestError, create_apm_link, create_link
from ..urls import public_base
from ..merchants import Merchant
from ..signatures import hmac_matches

bp = Blueprint("api", __name__)

#: The largest request body the API reads (a checkout request is a few kilobytes).
MAX_BODY = 64 * 1024
API_PATHS = ("/checkout/link", "/payments/link")


def _error(message: str, status: int, errors: dict | None = None) -> Response:
    body = {"success": False, "message": message}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="checkout"'
    return response


def _authenticate() -> tuple[Merchant | None, Response | None]:
    auth = request.authorization
    merchant = None
    if auth and auth.type == "basic":
        merchant = current_app.extensions["checkout.merchants"].authenticate(auth.username or "", auth.password or "")
    if merchant is None:
        return None, _error("Unauthorized: send HTTP Basic auth publicId:secret", 401)
    given = request.headers.get("Content-HMAC")
    if given is not None or merchant.require_hmac:
        if not hmac_matches(request.get_data(), merchant.secret, given):
            return None, _error("Content-HMAC does not match the body", 401,
                                {"Content-HMAC": "must be base64 of the hex HMAC-SHA256 of the body"})
    return merchant, None


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
    request.max_content_length = MAX_BODY
    try:
        request.get_data()
    except RequestEntityTooLarge:
        return _error(f"The body is larger than {MAX_BODY} bytes", 413)
    merchant, failure = _authenticate()
    if failure:
        return failure
    if not request.is_json:
        return _error("Send the body as JSON (Content-Type: application/json)", 415,
                      {"Content-Type": "must be application/json"})
    try:
        body = json.loads(request.get_data() or b"null")
    except (ValueError, RecursionError):
        return _error("The body is not valid JSON", 400, {"body": "must be a JSON object"})
    try:
        key = _idempotency_key()
    except RequestError as exc:
        return _error(exc.message, 400, exc.errors)
    store = current_app.extensions["checkout.store"]
    if key:
        # Scoped per endpoint: the same key sent to another endpoint is another body.
        body_hash = hashlib.sha256((scope + json.dumps(body, sort_keys=True)).encode()).hexdigest()
        known = store.find_idempotent(merchant.public_id, key)
        if known:
            if known[0] != body_hash:
                return _error("This Idempotency-Key was used with another body", 409,
                              {"Idempotency-Key": "was used with another body"})
            return current_app.response_class(known[1], mimetype="application/json")
    try:
        link = make_link(body, merchant)
    except RequestError as exc:
        return _error(exc.message, 400, exc.errors)
    answer = json.dumps({"success": True, "message": None, "model": {},
                         "link": {"method": "get", "action": link}})
    if key:
        stored_hash, answer = store.idempotent(merchant.public_id, key, body_hash, answer)
        if stored_hash != body_hash:
            return _error("This Idempotency-Key was used with another body", 409,
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
    response = _error(f"{request.method} is not allowed here: use POST", 405)
    response.headers["Allow"] = "POST, OPTIONS"
    return response


@bp.errorhandler(InternalServerError)
def _server_error(exc):
    if request.path in API_PATHS:
        return _error("Internal error: nothing was created; try again", 500)
    return exc


@bp.get("/openapi.json")
def openapi_document():
    response = jsonify(openapi.document(public_base()))
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response
