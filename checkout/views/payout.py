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
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from .. import cards, methods, payouts, tokens
from ..flows import payout as flow
from ..forms import CheckoutForm, plain_text
from ..merchants import Merchant
from ..payouts import Payout
from ..validation import RequestError
from . import drafts
from .apikit import authenticate, error, read_json
from .page import BRAND_NAMES, frame_for, payout_links, problem_page, refuse_cross_site

bp = Blueprint("payout", __name__)

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
AUTOCOMPLETE = {"firstName": "given-name", "lastName": "family-name", "name": "name", "phone": "tel",
                "bankAccountHolder": "name"}


# -- forms -----------------------------------------------------------------------------
class PayoutCardForm(CheckoutForm):
    """Where a card payout goes: the card number and the cardholder's name (no expiry,
    no CVV: the seed's "Payout to card" takes ``pan`` and ``name``)."""

    name = StringField(_l("Name on card"), validators=[
        InputRequired(_l("Enter the name on the card.")),
        Length(max=100, message=_l("The name is too long.")), plain_text])
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
        return "".join(ch for ch in self.number.data or "" if ch in "0123456789")

    def forget_card_data(self) -> None:
        self.number.data = self.number.raw_data = None


@lru_cache(maxsize=64)
def apm_form_class(type_id: int) -> type[CheckoutForm]:
    """A form of one payout method's fields (checked by ``methods.validate_fields``)."""
    m = methods.method(type_id)
    attrs = {f.name: StringField(f.label) for f in m.fields_for(payout=True)}
    return type(f"PayoutApmForm{type_id}", (CheckoutForm,), attrs)


# -- the merchant API --------------------------------------------------------------------
def start_payout(merchant: Merchant, body, customer_required: tuple[str, ...] = payouts.CUSTOMER_REQUIRED) -> dict:
    """Create a payout from a create-payout request: the answer of ``POST /payouts``
    (``payoutId``, ``status``, ``iframeUrls``, ``expiresAt``). Raises RequestError (bad
    input) or ``flows.payout.PayoutConflict``."""
    payout, expires = flow.create(merchant, body, customer_required)
    return {"success": True, "message": None, "payoutId": payout.id, "status": payout.status,
            "iframeUrls": payout_links(payout, expires), "expiresAt": payouts.iso(expires)}


@bp.post("/payouts")
def create():
    """The OMNO create-payout request: 200 ``{payoutId, status, iframeUrls}``. The same
    ``orderId`` (or ``externalId`` / ``invoiceId``) with the same body gives the same
    payout back; with another body, 409."""
    merchant, body, failure = read_json()
    if failure:
        return failure
    try:
        return jsonify(start_payout(merchant, body))
    except RequestError as exc:
        return error(exc.message, 400, exc.errors)
    except flow.PayoutConflict as exc:
        return error("This orderId was used for another payout", 409,
                      {"orderId": f"was used for payout {exc.payout.id} with another body"})


def _merchant_payout(pid: str) -> tuple[Merchant | None, Payout | None, Response | None]:
    merchant, failure = authenticate()
    if failure:
        return None, None, failure
    payout = payouts.store().get(pid)
    if payout is None or payout.merchant != merchant.public_id:
        return None, None, error("No such payout", 404, {"payoutId": "is not one of this merchant's payouts"})
    return merchant, payout, None


@bp.get("/payouts/<pid>")
def show(pid: str):
    """The payout's status (asking the gateway first while it is PENDING)."""
    merchant, payout, failure = _merchant_payout(pid)
    if failure:
        return failure
    payout = flow.refresh(payout, merchant)
    return jsonify({"success": True, "message": None, **payout.as_json()})


@bp.route("/payouts/<pid>/confirm", methods=["POST", "PUT"])
def confirm(pid: str):
    """WAITING_FOR_CONFIRMATION -> CREATED: the customer's forms open."""
    _merchant, payout, failure = _merchant_payout(pid)
    if failure:
        return failure
    moved, payout = flow.confirm(pid)
    if not moved:
        return error(f"The payout is {payout.status}: only a payout WAITING_FOR_CONFIRMATION can be confirmed",
                      409, {"status": payout.status})
    return jsonify({"success": True, "message": None, "payoutId": pid, "status": payouts.CREATED})


@bp.route("/payouts/<pid>/reject", methods=["POST", "PUT"])
def reject(pid: str):
    """WAITING_FOR_CONFIRMATION or CREATED -> REJECTED: never sent to the gateway."""
    _merchant, payout, failure = _merchant_payout(pid)
    if failure:
        return failure
    moved, payout = flow.reject(pid)
    if not moved:
        return error(f"The payout is {payout.status}: it was already sent to the gateway or settled", 409,
                      {"status": payout.status})
    return jsonify({"success": True, "message": None, "payoutId": pid, "status": payouts.REJECTED})


@bp.route("/payouts", methods=["GET", "PUT", "PATCH", "DELETE"])
def wrong_method():
    response = error(f"{request.method} is not allowed here: use POST", 405)
    response.headers["Allow"] = "POST, OPTIONS"
    return response


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
    abort(problem_page(_("This payout link is not valid"),
                        _("The link may be incomplete or altered. Ask the merchant for a new one."), 404))


def load_payout(token: str, allow_expired: bool = False) -> PCtx:
    """Verify the token and set the page up as the payment pages are: locale, CSP nonce,
    no-store, framing for the merchant's allowed origins (or the embed's origin)."""
    g.locale = None
    try:
        payload = payouts.load_token(token, allow_expired=allow_expired)
    except tokens.TokenExpired:
        abort(problem_page(_("This payout link has expired"), _("Ask the merchant for a new link."), 410))
    except tokens.TokenError:
        _invalid_link()
    merchant = current_app.extensions["checkout.merchants"].get(payload.get("m", ""))
    payout = payouts.store().get(payload["pid"])
    if merchant is None or payout is None or payout.merchant != merchant.public_id:
        _invalid_link()
    g.locale = payout.locale
    frame_for(merchant)
    return PCtx(token, merchant, payout)


def page_url(endpoint: str, ctx: PCtx, **values) -> str:
    """A URL of this payout's pages that keeps the embed rendering."""
    return url_for(endpoint, token=ctx.token, **g.get("embed_args", {}), **values)


def _refuse_cross_site() -> None:
    refuse_cross_site(_("Open the payout link again and send the form from there."))


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
    that comes back here once approved; otherwise to the status page. A form post gets
    a redirect to the page that says so."""
    waiting = ctx.payout.status == payouts.WAITING_FOR_CONFIRMATION
    if request.method == "POST":
        return redirect(page_url(here if waiting else "payout.status", ctx), code=303)
    if waiting:
        return status_page(ctx, poll_url=page_url(here, ctx))
    return redirect(page_url("payout.status", ctx), code=303)


@bp.get("/p/<token>")
def status(token: str):
    ctx = load_payout(token, allow_expired=True)
    ctx.payout = flow.refresh(ctx.payout, ctx.merchant)
    return status_page(ctx)


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
        draft = drafts.fresh(ctx.payout.form_draft, "payout-card", since=ctx.payout.updated_at)
        if draft is not None:  # the form as the customer last sent it (post/redirect/get)
            form = drafts.restore(PayoutCardForm(meta=context, formdata=drafts.formdata(draft)), draft)
            return _card_page(ctx, form, draft.get("notice"), drafts.status(draft))
        return _card_page(ctx, PayoutCardForm(meta=context, formdata=None, data={"name": ctx.payout.full_name}))
    _refuse_cross_site()
    form = PayoutCardForm(meta=context)
    if not form.validate():
        form.forget_card_data()
        flow.keep_draft(ctx.payout, drafts.of_form("payout-card", form, status=422,
                                                   notice=_("Please check the highlighted fields.")))
        return redirect(page_url("payout.card", ctx), code=303)
    pan, name = form.pan, form.name.data.strip()
    form.forget_card_data()
    if flow.pay_out_card(ctx.payout, ctx.merchant, pan, name) is None:
        ctx.refresh()
        return _elsewhere(ctx, "payout.card")  # another submission won: never paid out twice
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
        if request.method == "POST":  # post/redirect/get: the list again, saying what is missing
            flow.keep_draft(ctx.payout, drafts.of_form("payout-apm", status=422, notice=_("Choose a payout method.")))
            return redirect(page_url("payout.apm", ctx), code=303)
        draft = drafts.fresh(ctx.payout.form_draft, "payout-apm", since=ctx.payout.updated_at)
        notice = _("Choose a payout method.") if request.args.get("method") else draft.get("notice") if draft else None
        return _apm_page(ctx, available, notice=notice, status=422 if notice else 200)
    context = {"csrf_context": f"{ctx.payout.id}:payout-apm"}
    form_class = apm_form_class(m.type_id)
    if request.method == "GET":
        draft = drafts.fresh(ctx.payout.form_draft, f"payout-apm:{m.type_id}", since=ctx.payout.updated_at)
        if draft is not None:
            form = drafts.restore(form_class(meta=context, formdata=drafts.formdata(draft)), draft)
            return _apm_page(ctx, available, m, form, draft.get("notice"), drafts.status(draft))
        return _apm_page(ctx, available, m, form_class(meta=context, formdata=None, data=_prefill(ctx.payout, m)))
    form = form_class(meta=context)
    ok = form.validate()
    values = {f.name: form[f.name].data for f in m.fields_for(payout=True)}
    for name, message in methods.validate_fields(m, values, payout=True).items():
        form[name].errors = [*form[name].errors, message]
        ok = False
    if not ok:
        flow.keep_draft(ctx.payout, drafts.of_form(f"payout-apm:{m.type_id}", form, status=422,
                                                   notice=_("Please check the highlighted fields.")))
        return redirect(page_url("payout.apm", ctx, method=m.type_id), code=303)
    if flow.pay_out_method(ctx.payout, ctx.merchant, m, values) is None:
        ctx.refresh()
        return _elsewhere(ctx, "payout.apm")
    return redirect(page_url("payout.status", ctx), code=303)
