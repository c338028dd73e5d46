"""Sandbox mode only: where the demo merchant's customers land, showing the result and
whether its signature verifies."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from .. import results, security
from ..merchants import DEMO_PUBLIC_ID

bp = Blueprint("demo", __name__, url_prefix="/demo")


@bp.get("/result/<kind>")
def result(kind: str):
    security.nonce()
    merchant = current_app.extensions["checkout.merchants"].get(DEMO_PUBLIC_ID)
    verified = bool(merchant) and results.verify(request.query_string.decode(), merchant.secret)
    params = {k: request.args.get(k, "") for k in results.FIELDS}
    return render_template("demo_result.html", kind=kind, verified=verified, params=params,
                           title=kind)
