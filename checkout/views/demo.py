"""Sandbox mode only: a landing page that starts a test checkout as the demo merchant,
and the pages its customers land on, showing the result and whether it verifies."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import results, security
from ..links import RequestError, create_link, public_base
from ..merchants import DEMO_PUBLIC_ID

bp = Blueprint("demo", __name__)


def _demo_merchant():
    merchant = current_app.extensions["checkout.merchants"].get(DEMO_PUBLIC_ID)
    if merchant is None:
        abort(404)
    return merchant


@bp.get("/")
def index():
    security.nonce()
    return render_template("demo_index.html", title=_("Checkout sandbox"))


@bp.get("/demo/pay")
def pay():
    """Create a checkout link for the demo merchant and open it."""
    base = public_base()
    body = {"amount": request.args.get("amount", "10.66"), "currency": request.args.get("currency", "USD"),
            "description": request.args.get("description", "Payment for products"),
            "locale": request.args.get("locale", "en_US"),
            "successUrl": base + url_for("demo.result", kind="success"),
            "failureUrl": base + url_for("demo.result", kind="failure"),
            "pendingUrl": base + url_for("demo.result", kind="pending"),
            "cancelUrl": base + url_for("demo.result", kind="cancel"),
            "page": {"merchantTitle": "Demo Store"}}
    try:
        return redirect(create_link(body, _demo_merchant()), code=303)
    except RequestError as exc:
        security.nonce()
        return render_template("demo_index.html", title=_("Checkout sandbox"), error=exc.message), 400


@bp.get("/demo/result/<kind>")
def result(kind: str):
    security.nonce()
    verified = results.verify(request.query_string.decode(), _demo_merchant().secret)
    params = {k: request.args.get(k, "") for k in results.FIELDS}
    return render_template("demo_result.html", kind=kind, verified=verified, params=params, title=kind)
