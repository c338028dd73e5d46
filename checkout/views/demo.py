"""Sandbox mode only: the demo store a newcomer sees at ``/`` (one product, three ways to
pay it: the full checkout page, an iframe, the widget), and the merchant-side pages and
endpoints that show each result and whether its signature verifies."""
from __future__ import annotations

import secrets
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for

from .. import results, security
from ..links import RequestError, create_link
from ..merchants import DEMO_PUBLIC_ID
from ..urls import gateway_origin, public_base

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
            "page": {"merchantTitle": "Demo Store"}, **overrides}
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
