"""The merchant API (JSON, HTTP Basic auth ``publicId:secret``)."""
from __future__ import annotations

import hashlib
import json

from flask import Blueprint, current_app, jsonify, request

from ..links import RequestError, create_link
from ..merchants import Merchant
from ..signatures import hmac_matches

bp = Blueprint("api", __name__)


def _error(message: str, status: int, errors: dict | None = None):
    body = {"success": False, "message": message}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="checkout"'
    return response


def _authenticate() -> tuple[Merchant | None, object]:
    auth = request.authorization
    merchant = None
    if auth and auth.type == "basic":
        merchant = current_app.extensions["checkout.merchants"].authenticate(auth.username or "", auth.password or "")
    if merchant is None:
        return None, _error("Unauthorized", 401)
    given = request.headers.get("Content-HMAC")
    if given is not None or merchant.require_hmac:
        if not hmac_matches(request.get_data(), merchant.secret, given):
            return None, _error("Content-HMAC does not match the body", 401)
    return merchant, None


@bp.post("/checkout/link")
def checkout_link():
    merchant, failure = _authenticate()
    if failure:
        return failure
    try:
        body = json.loads(request.get_data() or b"null")
    except ValueError:
        return _error("The body is not valid JSON", 400, {"body": "must be a JSON object"})
    key = request.headers.get("Idempotency-Key")
    if key:
        if len(key) > 255:
            return _error("Idempotency-Key is too long", 400, {"Idempotency-Key": "at most 255 characters"})
        body_hash = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        known = current_app.extensions["checkout.store"].find_idempotent(merchant.public_id, key)
        if known:
            if known[0] != body_hash:
                return _error("This Idempotency-Key was used with another body", 409)
            return current_app.response_class(known[1], mimetype="application/json")
    try:
        link = create_link(body, merchant)
    except RequestError as exc:
        return _error(exc.message, 400, exc.errors)
    answer = json.dumps({"success": True, "message": None, "model": {},
                         "link": {"method": "get", "action": link}})
    if key:
        stored_hash, answer = current_app.extensions["checkout.store"].idempotent(
            merchant.public_id, key, body_hash, answer)
        if stored_hash != body_hash:
            return _error("This Idempotency-Key was used with another body", 409)
    return current_app.response_class(answer, mimetype="application/json")
