"""What every JSON endpoint of the merchant API shares: the error body, HTTP Basic
authentication with the optional ``Content-HMAC``, and reading a bounded JSON body."""
from __future__ import annotations

import json

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..merchants import Merchant
from ..signatures import hmac_matches

#: The largest request body the API reads (a checkout request is a few kilobytes).
MAX_BODY = 64 * 1024


def error(message: str, status: int, errors: dict | None = None) -> Response:
    """``{"success": false, "message": …, "errors": {field: why}}`` with ``status``."""
    body = {"success": False, "message": message}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="checkout"'
    return response


def authenticate() -> tuple[Merchant | None, Response | None]:
    """The merchant of the request's Basic credentials (and ``Content-HMAC`` when sent or
    required), or the 401 answer."""
    auth = request.authorization
    merchant = None
    if auth and auth.type == "basic":
        merchant = current_app.extensions["checkout.merchants"].authenticate(auth.username or "", auth.password or "")
    if merchant is None:
        return None, error("Unauthorized: send HTTP Basic auth publicId:secret", 401)
    given = request.headers.get("Content-HMAC")
    if given is not None or merchant.require_hmac:
        if not hmac_matches(request.get_data(), merchant.secret, given):
            return None, error("Content-HMAC does not match the body", 401,
                               {"Content-HMAC": "must be base64 of the hex HMAC-SHA256 of the body"})
    return merchant, None


def read_json() -> tuple[Merchant | None, object, Response | None]:
    """(merchant, body, None), or (None, None, the error answer): the body is read once,
    at most :data:`MAX_BODY` bytes, authenticated, and must be JSON."""
    request.max_content_length = MAX_BODY
    try:
        request.get_data()
    except RequestEntityTooLarge:
        return None, None, error(f"The body is larger than {MAX_BODY} bytes", 413)
    merchant, failure = authenticate()
    if failure:
        return None, None, failure
    if not request.is_json:
        return None, None, error("Send the body as JSON (Content-Type: application/json)", 415,
                                 {"Content-Type": "must be application/json"})
    try:
        # Strict UTF-8 (RFC 8259), a leading BOM ignored: ``json.loads`` of bytes would also
        # take UTF-16 and UTF-32, and UTF-8-encoded surrogates ("\xed\xa0\x80") as "\ud800".
        return merchant, json.loads((request.get_data() or b"null").decode("utf-8-sig")), None
    except UnicodeDecodeError:  # a ValueError too: say which
        return None, None, error("The body is not valid UTF-8", 400, {"body": "must be JSON in UTF-8"})
    except (ValueError, RecursionError):
        return None, None, error("The body is not valid JSON", 400, {"body": "must be a JSON object"})
