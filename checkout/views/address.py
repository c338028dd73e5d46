"""An address's fields for one country, as an HTML fragment: the card form's script
(static/js/address.js) swaps them in when the customer chooses another country. Public
and cacheable: no checkout, no form values, nothing of the store; the same for every
customer of a locale. Without scripts the form is posted as it stands and the page that
answers draws the posted country's fields (see ``_fields.html``)."""
from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, g, jsonify, render_template, request

from .. import phones
from ..forms import (
    AddressForm,
    address_layout,
    calling_region,
    country_choices,
    phone_choices,
    phone_hint,
    phone_message,
)
from ..phones import BROWSER_PATTERN

bp = Blueprint("address", __name__)
#: The address sections of the card form (``<kind>_address-…`` fields).
KINDS = ("billing", "shipping")
CACHE_SECONDS = 3600


@bp.get("/address-fields/<kind>/<country>")
def fields(kind: str, country: str) -> Response:
    """``GET /address-fields/billing/US?locale=en_US``: the fields of an address in that
    country (any other code: the fields asked before a country is chosen)."""
    if kind not in KINDS:
        abort(404)
    g.locale = request.args.get("locale")  # the page's; else the browser's (see i18n.select_locale)
    form = AddressForm(formdata=None, prefix=f"{kind}_address-")
    response = Response(render_template("_address_fields.html", fragment=True, group=form, kind=kind,
                                        layout=address_layout(country)))
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    if not g.locale:
        response.vary.add("Accept-Language")
    return response


@bp.get("/phone-example/<country>")
def phone_example(country: str) -> Response:
    """``GET /phone-example/FR``: the country's example phone number, as address.js shows
    it when the customer picks another calling code (``{"example": "01 23 45 67 89"}``;
    ``null`` for none). Kept out of the page: one per option was a fifth of its size."""
    region = calling_region(country)
    response = jsonify({"example": (phones.example(region) or None) if region else None})
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response


def init_app(app: Flask) -> None:
    """The card form's helpers its templates call (views pass only the form, the
    checkout and its theme)."""
    for helper in (address_layout, country_choices, phone_choices, phone_hint, phone_message):
        app.add_template_global(helper)
    app.add_template_global(BROWSER_PATTERN, "phone_pattern")
