"""Sandbox mode only: the demo store a newcomer sees at ``/`` (one product, three ways to
pay it: the full checkout page, an iframe, the widget), and the merchant-side pages and
endpoints that show each result and whether its signature verifies, and the demo
store's server receiving its notifications (``/demo/notifications``)."""
from __future__ import annotations

import json
import re
import secrets
import threading
from collections import deque
from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from .. import results, security, webhooks
from ..links import RequestError, create_link
from ..merchants import DEMO_PUBLIC_ID
from ..urls import gateway_origin, public_base
from .apikit import MAX_BODY

bp = Blueprint("demo", __name__)

PRODUCT = {"name": "Blue stoneware mug", "amount": "18.50", "currency": "USD", "price": "$18.50",
           "description": "Blue stoneware mug, 350 ml",
           "blurb": "Wheel-thrown, glazed in deep cobalt, and just the right weight for the first "
                    "coffee of the day. Dishwasher safe."}
RESULT_KINDS = ("success", "failure", "pending", "cancel")


def _demo_merchant():
    merchant = current_app.extensions["checkout.merchants"].get(DEMO_PUBLIC_ID)
    if merchant is None:
        abort(404)
    return merchant


def _order(locale: str | None = None, **overrides) -> dict:
    """A checkout request for the product, as the demo merchant's server would send it."""
    base = public_base()
    body = {"amount": PRODUCT["amount"], "currency": PRODUCT["currency"],
            "description": PRODUCT["description"], "invoiceId": "demo-" + secrets.token_hex(4),
            **{f"{kind}Url": base + url_for("demo.result", kind=kind) for kind in RESULT_KINDS},
            # A mug is shipped: the store asks for contact details and both addresses
            # (shipping the same as billing unless the customer says otherwise).
            "page": {"merchantTitle": "Demo Store",
                     "fields": ["email", "phone", "billing_address", "shipping_address"]}, **overrides}
    if locale in ("en_US", "ru_RU"):
        body["locale"] = locale
    return body


@bp.get("/")
def index():
    security.nonce()
    # The iframe way frames our own checkout, and inside it the gateway's 3-D Secure page.
    security.allow_frame_src("'self'", *filter(None, [gateway_origin()]))
    return render_template("demo_index.html", title="Demo Store", product=PRODUCT,
                           public_id=DEMO_PUBLIC_ID)


@bp.get("/demo/pay")
def pay():
    """The full-page way: create a checkout link for the demo merchant and open it."""
    overrides = {key: request.args[key] for key in ("amount", "currency", "description") if request.args.get(key)}
    try:
        return redirect(create_link(_order(request.args.get("locale"), **overrides), _demo_merchant()), code=303)
    except RequestError as exc:
        security.nonce()
        security.allow_frame_src("'self'", *filter(None, [gateway_origin()]))
        return render_template("demo_index.html", title="Demo Store", product=PRODUCT,
                               public_id=DEMO_PUBLIC_ID, error=exc.message), 400


@bp.post("/demo/link")
def link():
    """The iframe way: the demo merchant's server creates the link the page embeds."""
    body = request.get_json(silent=True)
    locale = body.get("locale") if isinstance(body, dict) else None
    try:
        return jsonify({"link": create_link(_order(locale), _demo_merchant())})
    except RequestError as exc:
        return jsonify({"error": exc.message}), 400


@bp.post("/demo/verify")
def verify():
    """What a merchant's server does with a result that came by postMessage: check its
    signature with the secret (the page cannot: it must never hold the secret)."""
    fields = request.get_json(silent=True)
    if not isinstance(fields, dict):
        return jsonify({"verified": False, "error": "send the result's fields as a JSON object"}), 400
    signed = {key: str(fields[key]) for key in (*results.FIELDS, "signature")
              if key in fields and isinstance(fields[key], (str, int, float))}
    # A true signature says the checkout sent it; only the amount says it is what the
    # order costs (the widget's public options can be changed by anyone in the browser).
    as_ordered = (signed.get("amount"), signed.get("currency")) == (PRODUCT["amount"], PRODUCT["currency"])
    return jsonify({"verified": results.verify(urlencode(signed), _demo_merchant().secret),
                    "asOrdered": as_ordered})


@bp.get("/demo/result/<kind>")
def result(kind: str):
    security.nonce()
    verified = results.verify(request.query_string.decode(), _demo_merchant().secret)
    params = {k: request.args.get(k, "") for k in results.FIELDS}
    return render_template("demo_result.html", kind=kind, verified=verified, params=params, title=kind)


# -- the demo store's server, told by the checkout ---------------------------------------------
#: Deliveries the demo store keeps (per app, in this process's memory).
KEEP = 200
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Inbox:
    """What the demo store's server was told: the last :data:`KEEP` deliveries, newest
    first, in a ``deque`` guarded by a lock (the worker delivers from its own threads
    while the page reads). One per app (``app.extensions["demo.notifications"]``).

    Enough for a demo, not for a store: a restart forgets it, and each process has its
    own. The demo merchant's ``notificationUrl`` is a path, delivered in-process by the
    process that runs the worker: ``make run``'s (its worker runs inside the server);
    a worker started on its own (``make worker``) tells its own copy, which no page
    shows. A real store keeps what it was told in its database, and knows a repeat by
    its ``notificationId`` for good; here a delivery is a repeat only while the first
    one is still among the last :data:`KEEP`."""

    def __init__(self, keep: int = KEEP):
        self._lock = threading.Lock()
        self._items: deque[dict] = deque(maxlen=keep)

    def add(self, entry: dict) -> dict:
        """Keep one delivery, marked ``repeat`` when a genuine delivery of the same
        ``notificationId`` arrived before (a forged one does not make the real one a repeat)."""
        with self._lock:
            nid = entry["notificationId"]
            repeat = nid is not None and any(e["genuine"] and e["notificationId"] == nid for e in self._items)
            entry = {**entry, "repeat": repeat}
            self._items.appendleft(entry)
        return entry

    def newest_first(self) -> list[dict]:
        with self._lock:
            return list(self._items)


@bp.record_once
def _make_inbox(state) -> None:
    state.app.extensions["demo.notifications"] = Inbox()


def _inbox() -> Inbox:
    return current_app.extensions["demo.notifications"]


def _scalar(value) -> str | int | float | None:
    """A body value shown as it came (None when absent, or not a string or number)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return value[:200] if isinstance(value, str) else value


def _amount(value) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if value == value and abs(value) != float("inf") else None  # not NaN or infinite


def _received(body: dict, headers, checks: dict[str, bool]) -> dict:
    """One delivery as the list keeps it."""
    currency = body.get("currency")
    nid = _scalar(body.get("notificationId")) or headers.get("webhook-id")
    return {"receivedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "notificationId": None if nid is None else str(nid)[:200], "event": _scalar(body.get("event")),
            "checkoutId": _scalar(body.get("checkoutId")), "payoutId": _scalar(body.get("payoutId")),
            "invoiceId": _scalar(body.get("invoiceId")), "amount": _amount(body.get("amount")),
            "currency": currency if isinstance(currency, str) and _CURRENCY.match(currency) else None,
            "status": _scalar(body.get("status")), "statusCode": _scalar(body.get("statusCode")),
            "contentHmac": checks["contentHmac"], "standard": checks["standard"],
            "genuine": checks["contentHmac"] and checks["standard"], "body": body}


@bp.post("/demo/notifications")
def notification_in():
    """What the demo merchant's server does with a notification: check its signatures
    over the raw body with the secret (:func:`checkout.webhooks.verify`), keep it, and
    confirm it with ``{"code":0}`` when both verify (as the README's receiver does), a
    repeat of a notificationId it already had too (the checkout sends a notification
    again until it is confirmed: confirm, do the work once). Otherwise 401, not
    confirmed: never act on it (it is listed all the same, to be seen). A body that is
    not a JSON object: 400."""
    request.max_content_length = MAX_BODY
    try:
        raw = request.get_data()
    except RequestEntityTooLarge:
        return jsonify({"code": 2, "message": f"The body is larger than {MAX_BODY} bytes"}), 413
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        return jsonify({"code": 2, "message": "The body must be a JSON object"}), 400
    # A signature is ASCII: any other header value is no signature (and hmac.compare_digest
    # refuses non-ASCII strings with a TypeError).
    received = {k: v for k, v in request.headers.items() if v.isascii()}
    checks = webhooks.verify(raw, received, _demo_merchant().secret)
    entry = _inbox().add(_received(body, {k.lower(): v for k, v in received.items()}, checks))
    if not entry["genuine"]:
        failed = [name for name, key in (("Content-HMAC", "contentHmac"), ("webhook-signature", "standard"))
                  if not checks[key]]
        verb = "do" if len(failed) > 1 else "does"
        return jsonify({"code": 1, "message": f"{' and '.join(failed)} {verb} not verify"}), 401
    return jsonify({"code": 0})


def _wants_json() -> bool:
    if request.args.get("format") == "json":
        return True
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


@bp.get("/demo/notifications")
def notifications():
    """What the demo store's server was told, newest first: a page, or the same as JSON
    (``Accept: application/json`` or ``?format=json``) for tests and scripts."""
    security.no_store()
    received = _inbox().newest_first()
    if _wants_json():
        return jsonify({"notifications": received})
    security.nonce()
    return render_template("demo_notifications.html", notifications=received)
