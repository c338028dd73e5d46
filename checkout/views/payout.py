"""Payouts (the OMNO payout API): the merchant's JSON API and the customer's hosted
forms, each a full page or an iframe (``?embed=1&origin=…``, as the payment pages).

Merchant (HTTP Basic ``publicId:secret``, ``Content-HMAC`` verified when sent):
``POST /payouts`` -> ``{payoutId, status, iframeUrls: {card, apm}}``; ``GET
/payouts/<id>``; ``POST|PUT /payouts/<id>/confirm`` and ``/reject`` (the seed's PUTs).

Customer: ``/p/<token>`` (status), ``/p/<token>/card`` (card number and name: the
seed's "Payout to card"), ``/p/<token>/apm`` (a payout method and its fields: "APM
Payout"). A submission claims the payout (``CREATED`` -> ``PENDING``, compare-and-set)
before the gateway is called, so it is never paid out twice; the card or account number
goes to the gateway and nowhere else (the record keeps it masked)."""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from .. import cards, methods, payouts, security, tokens
from ..forms import CheckoutForm
from ..gateway import GatewayError, Outcome, gateway_for
from ..urls import public_base
from ..merchants import Merchant
from ..payouts import Payout
from .api import MAX_BODY, _authenticate, _error
from .pay import BRAND_NAMES, _embed_args, _problem_page

bp = Blueprint("payout", __name__)
log = logging.getLogger(__name__)

#: The customer's wording of each OMNO status.
STATUS_NAMES = {
    payouts.CREATED: _l("Waiting for your details"),
    payouts.WAITING_FOR_CONFIRMATION: _l("Waiting for approval"),
    payouts.PENDING: _l("Being processed"),
    payouts.PROCESSED: _l("Sent"),
    payouts.REJECTED: _l("Declined"),
    payouts.FAILED: _l("Failed"),
}
#: Statuses the pages keep checking (HTTP 202 for static/js/pending.js).
POLLED = (payouts.WAITING_FOR_CONFIRMATION, payouts.PENDING)
#: The field of an APM payout that says where the money goes (kept masked).
DESTINATION_FIELDS = ("bankAccountNumber", "personId", "blockchainAddress")
AUTOCOMPLETE = {"firstName": "given-name", "lastName": "family-name", "name": "name", "phone": "tel",
                "bankAccountHolder": "name"}


# -- forms -----------------------------------------------------------------------------
class PayoutCardForm(CheckoutForm):
    """Where a card payout goes: the card number and the cardholder's name (no expiry,
    no CVV: the seed's "Payout to card" takes ``pan`` and ``name``)."""

    name = StringField(_l("Name on card"), validators=[
        InputRequired(_l("Enter the name on the card.")),
        Length(max=100, message=_l("The name is too long."))])
    number = StringField(_l("Card number"))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        # The payment form's number rules and messages (known brand, length, Luhn).
        error = cards.validate_card(self.number.data or "", "", "", "").get("number")
        if error:
            self.number.errors = [*self.number.errors, error]
        return ok and not error

    @property
    def pan(self) -> str:
        return "".join(ch for ch in self.number.data or "" if ch.isdigit())

    def forget_card_data(self) -> None:
        self.number.data = self.number.raw_data = None


@lru_cache(maxsize=64)
def apm_form_class(type_id: int) -> type[CheckoutForm]:
    """A form of one payout method's fields (checked by ``methods.validate_fields``)."""
    m = methods.method(type_id)
    attrs = {f.name: StringField(f.label) for f in m.fields_for(payout=True)}
    return type(f"PayoutApmForm{type_id}", (CheckoutForm,), attrs)


# -- the merchant API --------------------------------------------------------------------
def _read_json() -> tuple[Merchant | None, object, Response | None]:
    request.max_content_length = MAX_BODY
    try:
        request.get_data()
    except RequestEntityTooLarge:
        return None, None, _error(f"The body is larger than {MAX_BODY} bytes", 413)
    merchant, failure = _authenticate()
    if failure:
        return None, None, failure
    if not request.is_json:
        return None, None, _error("Send the body as JSON (Content-Type: application/json)", 415,
                                  {"Content-Type": "must be application/json"})
    try:
        return merchant, json.loads(request.get_data() or b"null"), None
    except (ValueError, RecursionError):
        return None, None, _error("The body is not valid JSON", 400, {"body": "must be a JSON object"})


def _iframe_urls(payout: Payout, expires: int) -> dict:
    token = payouts.sign_token(payout, expires)
    base = public_base()
    return {"card": base + url_for("payout.card", token=token), "apm": base + url_for("payout.apm", token=token)}


class PayoutConflict(Exception):
    """The order id was used for another payout (another body)."""

    def __init__(self, payout: Payout):
        super().__init__(payout.id)
        self.payout = payout


def start_payout(merchant: Merchant, body, customer_required: tuple[str, ...] = payouts.CUSTOMER_REQUIRED) -> dict:
    """Create a payout from a create-payout request (validated): the answer of ``POST
    /payouts`` (``payoutId``, ``status``, ``iframeUrls``, ``expiresAt``). Raises
    ``payouts.PayoutRequestError`` (bad input) or :class:`PayoutConflict`. For other
    callers too (a cashier's withdraw tab, with its own ``customer_required``): needs a
    request context for the URLs."""
    cfg = current_app.config
    fields = payouts.validate_request(body, merchant, cfg["TOKEN_LIMIT_AGE"], cfg["TOKEN_MAX_AGE"],
                                      customer_required)
    ttl = fields.pop("ttl")
    request_hash = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    status = payouts.WAITING_FOR_CONFIRMATION if payouts.needs_confirmation(merchant) else payouts.CREATED
    payout, created = payouts.store().create(merchant=merchant.public_id, request_hash=request_hash,
                                             status=status, **fields)
    if not created and payout.request_hash != request_hash:
        raise PayoutConflict(payout)
    expires = int(time.time()) + ttl
    return {"success": True, "message": None, "payoutId": payout.id, "status": payout.status,
            "iframeUrls": _iframe_urls(payout, expires), "expiresAt": payouts.iso(expires)}


@bp.post("/payouts")
def create():
    """The OMNO create-payout request: 200 ``{payoutId, status, iframeUrls}``. The same
    ``orderId`` (or ``externalId`` / ``invoiceId``) with the same body gives the same
    payout back; with another body, 409."""
    merchant, body, failure = _read_json()
    if failure:
        return failure
    try:
        return jsonify(start_payout(merchant, body))
    except payouts.PayoutRequestError as exc:
        return _error(exc.message, 400, exc.errors)
    except PayoutConflict as exc:
        return _error("This orderId was used for another payout", 409,
                      {"orderId": f"was used for payout {exc.payout.id} with another body"})


def _merchant_payout(pid: str) -> tuple[Merchant | None, Payout | None, Response | None]:
    merchant, failure = _authenticate()
    if failure:
        return None, None, failure
    payout = payouts.store().get(pid)
    if payout is None or payout.merchant != merchant.public_id:
        return None, None, _error("No such payout", 404, {"payoutId": "is not one of this merchant's payouts"})
    return merchant, payout, None


@bp.get("/payouts/<pid>")
def show(pid: str):
    """The payout's status (asking the gateway first while it is PENDING)."""
    merchant, payout, failure = _merchant_payout(pid)
    if failure:
        return failure
    payout = refresh_from_gateway(payout, merchant)
    return jsonify({"success": True, "message": None, **payout.as_json()})


@bp.route("/payouts/<pid>/confirm", methods=["POST", "PUT"])
def confirm(pid: str):
    """WAITING_FOR_CONFIRMATION -> CREATED: the customer's forms open."""
    _merchant, payout, failure = _merchant_payout(pid)
    if failure:
        return failure
    if not payouts.store().transition(pid, (payouts.WAITING_FOR_CONFIRMATION,), payouts.CREATED):
        payout = payouts.store().get(pid)
        return _error(f"The payout is {payout.status}: only a payout WAITING_FOR_CONFIRMATION can be confirmed",
                      409, {"status": payout.status})
    return jsonify({"success": True, "message": None, "payoutId": pid, "status": payouts.CREATED})


@bp.route("/payouts/<pid>/reject", methods=["POST", "PUT"])
def reject(pid: str):
    """WAITING_FOR_CONFIRMATION or CREATED -> REJECTED: never sent to the gateway."""
    _merchant, payout, failure = _merchant_payout(pid)
    if failure:
        return failure
    if not payouts.store().transition(pid, (payouts.WAITING_FOR_CONFIRMATION, payouts.CREATED),
                                      payouts.REJECTED, reason="Rejected by the merchant"):
        payout = payouts.store().get(pid)
        return _error(f"The payout is {payout.status}: it was already sent to the gateway or settled", 409,
                      {"status": payout.status})
    return jsonify({"success": True, "message": None, "payoutId": pid, "status": payouts.REJECTED})


@bp.route("/payouts", methods=["GET", "PUT", "PATCH", "DELETE"])
def wrong_method():
    response = _error(f"{request.method} is not allowed here: use POST", 405)
    response.headers["Allow"] = "POST, OPTIONS"
    return response


# -- the gateway -------------------------------------------------------------------------
def apply_outcome(payout: Payout, outcome: Outcome) -> Payout:
    """Record the gateway's answer for a PENDING payout."""
    status = payouts.status_for(outcome)
    fields = payouts.outcome_fields(outcome)
    if status == payouts.PENDING:
        payouts.store().note(payout.id, payouts.PENDING, **fields)
    else:
        payouts.store().transition(payout.id, (payouts.PENDING,), status, **fields)
    return payouts.store().get(payout.id)


def refresh_from_gateway(payout: Payout, merchant: Merchant) -> Payout:
    """A PENDING payout: ask the gateway (by transaction id, or by invoice when the answer
    to the payout request never came). Unknown stays PENDING: never guess."""
    if payout.status != payouts.PENDING:
        return payout
    gateway = gateway_for(merchant)
    try:
        if payout.transaction_id:
            outcome = gateway.status(payout.transaction_id)
        else:
            found = [o for o in gateway.status_invoice(payout.invoice)
                     if payouts.is_payout(o) and o.currency == payout.currency and o.amount is not None
                     and float(o.amount) == float(payout.amount)]
            outcome = found[-1] if found else None
    except GatewayError as exc:
        log.warning("payout %s: status unknown (%s)", payout.id, exc)
        return payout
    finally:
        gateway.close()
    return apply_outcome(payout, outcome) if outcome is not None else payout


def _recipient_data(payout: Payout) -> dict:
    """The seed's "Payout recipient additional data" from the customer record."""
    c = payout.customer
    billing = c.get("billing") or {}
    values = {"phone": c.get("phoneNumber"), "address": billing.get("address"), "city": billing.get("city"),
              "countryCode": billing.get("countryCode"), "birthDate": c.get("dateOfBirth")}
    return {k: v for k, v in values.items() if v}


# -- customer pages ----------------------------------------------------------------------
@dataclass
class PCtx:
    token: str
    merchant: Merchant
    payout: Payout

    def refresh(self) -> Payout:
        self.payout = payouts.store().get(self.payout.id)
        return self.payout


def _invalid_link() -> None:
    abort(_problem_page(_("This payout link is not valid"),
                        _("The link may be incomplete or altered. Ask the merchant for a new one."), 404))


def load_payout(token: str, allow_expired: bool = False) -> PCtx:
    """Verify the token and set the page up as the payment pages are: locale, CSP nonce,
    no-store, framing for the merchant's allowed origins (or the embed's origin)."""
    g.locale = None
    try:
        payload = payouts.load_token(token, allow_expired=allow_expired)
    except tokens.TokenExpired:
        abort(_problem_page(_("This payout link has expired"), _("Ask the merchant for a new link."), 410))
    except tokens.TokenError:
        _invalid_link()
    merchant = current_app.extensions["checkout.merchants"].get(payload.get("m", ""))
    payout = payouts.store().get(payload["pid"])
    if merchant is None or payout is None or payout.merchant != merchant.public_id:
        _invalid_link()
    g.locale = payout.locale
    g.merchant_name = merchant.name or merchant.public_id
    security.nonce()
    security.no_store()
    g.embed_args = _embed_args(merchant)
    security.allow_framing([g.embed_args["origin"]] if g.embed_args else merchant.allowed_origins)
    return PCtx(token, merchant, payout)


def page_url(endpoint: str, ctx: PCtx, **values) -> str:
    """A URL of this payout's pages that keeps the embed rendering."""
    return url_for(endpoint, token=ctx.token, **g.get("embed_args", {}), **values)


def _refuse_cross_site() -> None:
    """Form posts must come from our own pages (our iframe on the merchant's page counts)."""
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    ours = security.origin_of(public_base())
    if site in ("cross-site", "same-site") or (origin and origin != "null" and origin.lower() != ours):
        abort(_problem_page(_("This form cannot be sent from another site"),
                            _("Open the payout link again and send the form from there."), 403))


def _merchant_return(ctx: PCtx) -> str | None:
    """Where "Return to the merchant" goes on a full page: successUrl for a payout sent
    or on its way, failureUrl for one that was not (``payoutId`` and ``status`` added:
    the merchant checks them with ``GET /payouts/<id>``)."""
    p = ctx.payout
    if g.get("embed_args") or p.status not in (payouts.PENDING, *payouts.FINAL):
        return None
    good = p.status in (payouts.PENDING, payouts.PROCESSED)
    url = (p.success_url or p.failure_url) if good else (p.failure_url or p.success_url)
    if not url:
        return None
    return url + ("&" if "?" in url else "?") + urlencode({"payoutId": p.id, "status": p.status})


def status_page(ctx: PCtx, poll_url: str | None = None) -> Response:
    """Where the payout stands, in the customer's language. While it is waiting or
    pending the page checks again (HTTP 202 for pending.js; a meta refresh without
    scripts); inside an iframe the pending and final statuses go to the parent."""
    p = ctx.payout
    polled = p.status in POLLED
    poll = (poll_url or page_url("payout.status", ctx)) if polled else None
    result = p.status.lower() if p.status in (payouts.PENDING, *payouts.FINAL) else None
    return Response(render_template(
        "payout_status.html", payout=p, status_name=STATUS_NAMES[p.status], poll_url=poll,
        refresh=current_app.config["PENDING_REFRESH"], result=result,
        card_url=page_url("payout.card", ctx), apm_url=page_url("payout.apm", ctx),
        return_url=_merchant_return(ctx), title=STATUS_NAMES[p.status]), 202 if polled else 200)


def _elsewhere(ctx: PCtx, here: str) -> Response:
    """A form that is not open: waiting for the merchant's approval, the status page
    that comes back here once approved; otherwise to the status page."""
    if ctx.payout.status == payouts.WAITING_FOR_CONFIRMATION:
        return status_page(ctx, poll_url=page_url(here, ctx))
    return redirect(page_url("payout.status", ctx), code=303)


@bp.get("/p/<token>")
def status(token: str):
    ctx = load_payout(token, allow_expired=True)
    ctx.payout = refresh_from_gateway(ctx.payout, ctx.merchant)
    return status_page(ctx)


def _claim(ctx: PCtx, **fields) -> bool:
    """CREATED -> PENDING before the gateway is called: of two submissions one wins."""
    return payouts.store().transition(ctx.payout.id, (payouts.CREATED,), payouts.PENDING, **fields)


def _card_page(ctx: PCtx, form: PayoutCardForm, notice: str | None = None, status: int = 200) -> Response:
    return Response(render_template(
        "payout_card.html", payout=ctx.payout, form=form, notice=notice, brand_names=BRAND_NAMES,
        action=page_url("payout.card", ctx), apm_url=page_url("payout.apm", ctx),
        title=_("Receive your payout")), status)


@bp.route("/p/<token>/card", methods=["GET", "POST"])
def card(token: str):
    ctx = load_payout(token)
    if ctx.payout.status != payouts.CREATED:
        return _elsewhere(ctx, "payout.card")
    context = {"csrf_context": f"{ctx.payout.id}:payout-card"}
    if request.method == "GET":
        return _card_page(ctx, PayoutCardForm(meta=context, formdata=None, data={"name": ctx.payout.full_name}))
    _refuse_cross_site()
    form = PayoutCardForm(meta=context)
    if not form.validate():
        form.forget_card_data()
        return _card_page(ctx, form, _("Please check the highlighted fields."), 422)
    pan, name = form.pan, form.name.data.strip()
    form.forget_card_data()
    if not _claim(ctx, method="card", destination=cards.mask_pan(pan), brand=cards.card_brand(pan)):
        ctx.refresh()
        return _elsewhere(ctx, "payout.card")  # another submission won: never paid out twice
    p = ctx.refresh()
    gateway = gateway_for(ctx.merchant)
    try:
        outcome = gateway.payout_card(pan, name, p.amount, p.currency, invoice_id=p.invoice,
                                      data=_recipient_data(p))
    except GatewayError as exc:
        log.warning("payout %s: card payout outcome unknown (%s); pending until the gateway says", p.id, exc)
        outcome = None
    finally:
        gateway.close()
    if outcome is not None:
        apply_outcome(p, outcome)
    return redirect(page_url("payout.status", ctx), code=303)


def _payout_methods(ctx: PCtx) -> list[methods.Method]:
    test = current_app.config["MODE"] != "production"
    return methods.payout_methods(ctx.payout.currency, ctx.payout.country, include_test=test)


def _prefill(p: Payout, m: methods.Method) -> dict:
    c = p.customer
    values = {"firstName": c.get("firstName"), "lastName": c.get("lastName"), "name": p.full_name,
              "bankAccountHolder": p.full_name, "phone": c.get("phoneNumber"), "documentId": c.get("documentId")}
    return {f.name: values[f.name] for f in m.fields_for(payout=True) if values.get(f.name)}


def _apm_page(ctx: PCtx, available: list[methods.Method], m: methods.Method | None = None, form=None,
              notice: str | None = None, status: int = 200) -> Response:
    fields = []
    if m is not None:
        for f in m.fields_for(payout=True):
            numeric = f.validator in ("in_account", "kr_account")
            fields.append({"field": form[f.name], "autocomplete": AUTOCOMPLETE.get(f.name, "off"),
                           "type": "tel" if f.kind == "tel" else "text",
                           "inputmode": "tel" if f.kind == "tel" else "numeric" if numeric else None})
    return Response(render_template(
        "payout_apm.html", payout=ctx.payout, methods_available=available, method=m, form=form, fields=fields,
        notice=notice, action=page_url("payout.apm", ctx, method=m.type_id) if m else page_url("payout.apm", ctx),
        choose_url=page_url("payout.apm", ctx) if len(available) > 1 else None,
        card_url=page_url("payout.card", ctx), title=_("Receive your payout")), status)


@bp.route("/p/<token>/apm", methods=["GET", "POST"])
def apm(token: str):
    ctx = load_payout(token)
    if ctx.payout.status != payouts.CREATED:
        return _elsewhere(ctx, "payout.apm")
    available = _payout_methods(ctx)
    by_id = {m.type_id: m for m in available}
    chosen = methods.method(request.form.get("method") if request.method == "POST" else request.args.get("method"))
    m = by_id.get(chosen.type_id) if chosen else (available[0] if len(available) == 1 else None)
    if request.method == "POST":
        _refuse_cross_site()
    if m is None:
        notice = _("Choose a payout method.") if request.method == "POST" or request.args.get("method") else None
        return _apm_page(ctx, available, notice=notice, status=422 if notice else 200)
    context = {"csrf_context": f"{ctx.payout.id}:payout-apm"}
    form_class = apm_form_class(m.type_id)
    if request.method == "GET":
        return _apm_page(ctx, available, m, form_class(meta=context, formdata=None, data=_prefill(ctx.payout, m)))
    form = form_class(meta=context)
    ok = form.validate()
    values = {f.name: form[f.name].data for f in m.fields_for(payout=True)}
    for name, message in methods.validate_fields(m, values, payout=True).items():
        form[name].errors = [*form[name].errors, message]
        ok = False
    if not ok:
        return _apm_page(ctx, available, m, form, _("Please check the highlighted fields."), 422)
    clean = methods.clean_fields(m, values, payout=True)
    where = next((clean[k] for k in DESTINATION_FIELDS if clean.get(k)), "")
    if not _claim(ctx, method="apm", payment_type_id=m.type_id,
                  destination=payouts.mask_account(where) if where else None):
        ctx.refresh()
        return _elsewhere(ctx, "payout.apm")
    p = ctx.refresh()
    name = clean.pop("name", None) or p.full_name or None
    gateway = gateway_for(ctx.merchant)
    try:
        outcome = gateway.apm_payout(p.amount, p.currency, p.invoice, clean, payment_type_id=m.type_id,
                                     account_id=p.customer.get("email"), name=name,
                                     description=p.description or None)
    except GatewayError as exc:
        log.warning("payout %s: APM payout outcome unknown (%s); pending until the gateway says", p.id, exc)
        outcome = None
    finally:
        gateway.close()
    if outcome is not None:
        apply_outcome(p, outcome)
    return redirect(page_url("payout.status", ctx), code=303)
