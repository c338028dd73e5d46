"""Customer pages: the payment page, the card form, 3-D Secure, the way back."""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

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
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _

from .. import cards, methods, payouts, results, security, themes, tokens
from .. import store as st
from ..forms import (
    AmountForm,
    CardForm,
    MethodForm,
    SavedCardForm,
    card_form_class,
    countries,
    country_code,
    extra_data,
    prefill,
)
from ..gateway import GatewayError, Outcome, gateway_for, gateway_origin
from ..gateway.base import STATUS_NAMES
from ..i18n import currency_digits, format_amount
from ..urls import public_base
from ..merchants import Merchant
from ..store import Checkout, Store

bp = Blueprint("pay", __name__)
log = logging.getLogger(__name__)

IN_FLIGHT = (st.PROCESSING, st.AWAITING_3DS, st.PENDING)
#: Token modes: a payment page, a cashier, a direct link (an alternative method's own page).
ALL_MODES = ("payment", "cashier", "apm")


@dataclass
class Ctx:
    token: str
    payload: dict
    merchant: Merchant
    checkout: Checkout

    @property
    def id(self) -> str:
        return self.payload["cid"]

    @property
    def invoice(self) -> str:
        """What the gateway knows this checkout by: the merchant's invoiceId, or our id."""
        return self.payload.get("invoiceId") or self.id

    def refresh(self) -> Checkout:
        self.checkout = store().get(self.id)
        return self.checkout


def store() -> Store:
    return current_app.extensions["checkout.store"]


def _problem_page(title: str, message: str, status: int) -> Response:
    security.nonce()
    security.no_store()
    return Response(render_template("message.html", title=title, message=message), status)


def load_context(token: str, allow_expired: bool = False, modes: tuple[str, ...] = ("payment",)) -> Ctx:
    """Verify the token and set up the page: locale, framing, form targets, store row.
    A bad or expired token, or one of another ``mode`` than these pages serve, ends
    the request with a page that says so."""
    g.locale = None
    try:
        payload = tokens.load_checkout(token, allow_expired=allow_expired)
    except tokens.TokenExpired:
        try:  # say it in the link's language when the token is still readable
            g.locale = tokens.load_checkout(token, allow_expired=True).get("locale")
        except tokens.TokenError:
            pass
        abort(_problem_page(_("This payment link has expired"),
                            _("Ask the merchant for a new link to complete your payment."), 410))
    except tokens.TokenError:
        abort(_problem_page(_("This payment link is not valid"),
                            _("The link may be incomplete or altered. Ask the merchant for a new one."), 404))
    merchant = current_app.extensions["checkout.merchants"].get(payload.get("m", ""))
    if merchant is None:
        abort(_problem_page(_("This payment link is not valid"),
                            _("The link may be incomplete or altered. Ask the merchant for a new one."), 404))
    g.locale = payload.get("locale")
    g.merchant_name = merchant.name or merchant.public_id
    security.nonce()
    security.no_store()
    g.embed_args = _embed_args(merchant)
    if payload.get("frameOrigin") and (g.embed_args.get("origin") != payload["frameOrigin"]
                                       or request.headers.get("Sec-Fetch-Dest") == "document"):
        # An unsigned widget checkout lives only in the frame of the page that asked for it.
        abort(_problem_page(_("This checkout cannot be shown here"),
                            _("Open the payment from the shop's page."), 403))
    security.allow_framing([g.embed_args["origin"]] if g.embed_args else merchant.allowed_origins)
    if payload.get("mode", "payment") not in modes:
        abort(_problem_page(_("This payment method is not available yet"),
                            _("Ask the merchant for another way to pay."), 501))
    security.allow_form_action(*(payload.get(k) for k in ("successUrl", "failureUrl", "pendingUrl", "cancelUrl")),
                               gateway_origin())
    checkout = store().ensure(payload["cid"], merchant.public_id, payload.get("invoiceId"),
                              payload["amount"], payload["currency"])
    return Ctx(token, payload, merchant, checkout)


def _embed_args(merchant: Merchant) -> dict[str, str]:
    """``?embed=1&origin=…``: the iframe rendering, for a parent page on one of the
    merchant's allowed origins (the exact origin results are posted to)."""
    if request.args.get("embed") != "1":
        return {}
    origin = security.origin_of(request.args.get("origin"))
    if not origin and len(exact := [o for o in merchant.allowed_origins if not o.endswith(":*")]) == 1:
        origin = exact[0]
    if not origin or not merchant.origin_allowed(origin):
        abort(_problem_page(_("This checkout cannot be shown here"),
                            _("This site is not allowed to embed the merchant's checkout."), 403))
    return {"embed": "1", "origin": origin}


def pay_url(endpoint: str, ctx: Ctx, external: bool = False, **values) -> str:
    """A URL of this checkout that keeps the embed rendering."""
    url = url_for(endpoint, token=ctx.token, **g.get("embed_args", {}), **values)
    return public_base() + url if external else url


# -- results -------------------------------------------------------------------------
def _result(ctx: Ctx, status: str | None = None, status_code: int | None = None) -> dict:
    c = ctx.checkout
    return {"invoiceId": ctx.payload.get("invoiceId"), "transactionId": c.transaction_id,
            "status": status or c.status, "statusCode": status_code if status is not None else c.status_code,
            "amount": ctx.payload["amount"], "currency": ctx.payload["currency"],
            "reasonCode": c.reason_code, "reason": c.reason}


def _result_for(ctx: Ctx, kind: str) -> dict:
    c = ctx.checkout
    if kind == "pending":
        code = c.status_code if c.status_code in (1, 10) else 10
        return _result(ctx, STATUS_NAMES[code], code)
    if kind == "cancel":
        return _result(ctx, "Cancelled", 0)
    return _result(ctx)


def merchant_url(ctx: Ctx, kind: str) -> str:
    """successUrl / failureUrl / pendingUrl / cancelUrl with the signed result."""
    p = ctx.payload
    url = {"success": p["successUrl"], "failure": p["failureUrl"],
           "pending": p.get("pendingUrl") or p["successUrl"],
           "cancel": p.get("cancelUrl") or p["failureUrl"]}[kind]
    return results.with_params(url, results.signed_params(_result_for(ctx, kind), ctx.merchant.secret))


def merchant_link(ctx: Ctx, kind: str) -> str:
    """Where "return to the merchant" goes: through ``finish``, which signs the result
    when the customer follows it (a page may stay open longer than a merchant's
    ``max_age``) and, inside an iframe, hands it to the parent window."""
    return pay_url("pay.finish", ctx, kind=kind)


def _to_merchant(ctx: Ctx, kind: str) -> Response:
    if g.get("embed_args"):
        return _embed_result(ctx, kind)
    return redirect(merchant_url(ctx, kind), code=303)


RESULT_TITLES = {"success": lambda: _("Payment complete"), "failure": lambda: _("Payment declined"),
                 "pending": lambda: _("Payment being confirmed"), "cancel": lambda: _("Payment cancelled")}


def _embed_result(ctx: Ctx, kind: str) -> Response:
    """The last page inside an iframe: posts the signed result to the parent window."""
    fields = results.signed_params(_result_for(ctx, kind), ctx.merchant.secret)
    return Response(render_template("embed_result.html", kind=kind, fields=fields, p=ctx.payload,
                                    theme=_theme(ctx), title=RESULT_TITLES[kind]()))


# -- rendering -------------------------------------------------------------------------
def _theme(ctx: Ctx) -> themes.Theme:
    try:
        return themes.resolve(ctx.payload.get("theme"), ctx.payload.get("page"))
    except themes.ThemeError:  # a preset changed since the link was made: fall back
        return themes.resolve(None, None)


def _payment_page(ctx: Ctx, form: CardForm | None = None, notice: str | None = None,
                  status: int = 200, saved_form: SavedCardForm | None = None,
                  method_form: MethodForm | None = None) -> Response:
    theme = _theme(ctx)
    form = form or card_form(ctx, theme, formdata=None)
    c = ctx.checkout
    declines_left = current_app.config["MAX_DECLINES"] - c.declines
    if notice is None and c.state == st.DECLINED:
        reason = decline_reason(c.reason_code, c.reason)
        notice = (_("Your card was declined: %(reason)s.", reason=reason) if c.masked_pan
                  else _("Your payment was declined: %(reason)s.", reason=reason))  # another method's
    return Response(render_template(
        "pay.html", ctx=ctx, p=ctx.payload, theme=theme, form=form, notice=notice,
        methods=offered_methods(ctx),
        method_form=method_form or MethodForm(formdata=None, meta={"csrf_context": f"{ctx.id}:apm"}),
        saved=saved_cards(ctx),
        saved_form=saved_form or SavedCardForm(formdata=None, meta={"csrf_context": f"{ctx.id}:saved"}),
        saved_cvv=ctx.merchant.saved_card_cvv,
        countries=countries() if {"billing_address", "shipping_address"} & set(theme.get("fields", ())) else (),
        declines_left=declines_left if c.declines else None,
        cancel_url=pay_url("pay.cancel", ctx) if ctx.payload.get("cancelUrl") or g.embed_args else None,
    ), status)


def saved_cards(ctx: Ctx) -> list:
    """The customer's saved cards (by the checkout's accountId), or none when the gateway
    cannot say right now: the page still works with a new card."""
    account = ctx.payload.get("accountId")
    if not account or ctx.payload.get("unsigned"):
        return []  # unsigned options: whoever typed the accountId is not known to own it
    if "saved_cards" not in g:
        gateway = gateway_for(ctx.merchant)
        try:
            g.saved_cards = gateway.saved_cards(account)
        except GatewayError as exc:
            log.info("checkout %s: saved cards unavailable (%s)", ctx.id, exc)
            g.saved_cards = []
        finally:
            gateway.close()
    return g.saved_cards


def offered_methods(ctx: Ctx) -> list[methods.Method]:
    """The alternative methods that fit this checkout's currency and the customer's
    country (``data.countryCode``, else the currency's), crypto aside (direct links and
    the cashier show those). Test methods only in sandbox mode."""
    country = country_code((ctx.payload.get("data") or {}).get("countryCode")) or None
    return [m for m in methods.for_checkout(ctx.payload["currency"], country,
                                           include_test=current_app.config["MODE"] == "sandbox")
            if ctx.payload.get("deposit") or not methods.is_crypto(m)]


def card_form(ctx: Ctx, theme: themes.Theme, **kwargs) -> CardForm:
    """The card form with the theme's extra sections, prefilled from the request's data."""
    fields = tuple(theme.get("fields", ()))
    initial = prefill(fields, ctx.payload) if kwargs.get("formdata", True) is None else {}
    return card_form_class(fields)(meta={"csrf_context": f"{ctx.id}:card"}, data=initial, **kwargs)


def decline_reason(code: int | None, reason: str | None) -> str:
    """The gateway's reason in the customer's language when we know the code."""
    known = {5051: _("Insufficient Funds"), 5206: _("3-D Secure authentication failed"),
             5004: _("3-D Secure was not completed in time"), 5003: _("The quote expired"),
             5054: _("Expired card"), 5082: _("Incorrect security code")}
    return known.get(code) or reason or _("no reason given")


def _pending_page(ctx: Ctx, status: int = 202) -> Response:
    return Response(render_template(
        "pending.html", ctx=ctx, p=ctx.payload, theme=_theme(ctx),
        refresh=current_app.config["PENDING_REFRESH"],
        check_url=pay_url("pay.back", ctx),
        pending_url=merchant_link(ctx, "pending"),
        awaiting_3ds=ctx.checkout.state == st.AWAITING_3DS), status)


def _message_page(ctx: Ctx, title: str, message: str, link: str | None = None,
                  link_text: str | None = None, status: int = 200) -> Response:
    return Response(render_template("message.html", title=title, message=message, link=link,
                                    link_text=link_text, theme=_theme(ctx), p=ctx.payload), status)


def render_state(ctx: Ctx) -> Response:
    """The page for where the checkout stands now."""
    c = ctx.refresh()
    if c.state == st.COMPLETED:
        return _message_page(ctx, _("This payment is complete"),
                             _("This link has already been paid. You will not be charged again."),
                             merchant_link(ctx, "success"), _("Return to the merchant"))
    if c.state in IN_FLIGHT:
        quote_page = _live_quote(ctx)
        return redirect(quote_page, code=303) if quote_page else _pending_page(ctx)
    if c.state == st.CANCELLED:
        return _message_page(ctx, _("This payment was cancelled"), _("Nothing was charged."),
                             merchant_link(ctx, "cancel"), _("Return to the merchant"))
    if c.state == st.DECLINED and c.declines >= current_app.config["MAX_DECLINES"]:
        return _to_merchant(ctx, "failure")
    if c.state == st.OPEN and c.charges and not c.transaction_id:
        # Open again after a charge that left no trace at the gateway: say so on every
        # rendering (the confirming page's script reloads the page that says it).
        return _payment_page(ctx, notice=_("Your payment did not go through and nothing was charged. "
                                           "Please try again."))
    return _payment_page(ctx)


def apply_outcome(ctx: Ctx, outcome: Outcome, from_states: tuple[str, ...],
                  form: CardForm | None = None) -> Response:
    """Record what the gateway said and take the customer on from there. ``form`` (card
    data already forgotten) keeps what the customer typed for another try."""
    fields = {"transaction_id": outcome.transaction_id, "status": outcome.status,
              "status_code": outcome.status_code}
    if outcome.kind == "completed":
        store().transition(ctx.id, from_states, st.COMPLETED, reason=outcome.reason,
                           reason_code=outcome.reason_code, **fields)
        c = ctx.refresh()
        return _to_merchant(ctx, "success") if c.state == st.COMPLETED else render_state(ctx)
    if outcome.kind == "declined":
        fields.update(status=outcome.status or "Declined", status_code=outcome.status_code or 99,
                      reason=outcome.reason or outcome.message, reason_code=outcome.reason_code)
        if not store().record_decline(ctx.id, from_states, request.remote_addr, **fields):
            return render_state(ctx)
        c = ctx.refresh()
        if c.declines >= current_app.config["MAX_DECLINES"]:
            return _to_merchant(ctx, "failure")
        return _payment_page(ctx, form, status=402)
    if outcome.kind == "3ds":
        if not store().transition(ctx.id, from_states, st.AWAITING_3DS, **fields):
            return render_state(ctx)
        store().save_3ds(outcome.transaction_id, ctx.id)
        security.allow_form_action(outcome.acs_url)
        term_url = pay_url("pay.three_ds", ctx, external=True)
        return Response(render_template(
            "autopost.html", action=outcome.acs_url, title=_("3-D Secure"),
            message=_("Your bank needs to confirm this payment. Taking you to your bank…"),
            fields={"PaReq": outcome.pa_req, "MD": outcome.transaction_id, "TermUrl": term_url},
            theme=_theme(ctx)))
    if outcome.kind == "redirect":
        if not store().transition(ctx.id, from_states, st.AWAITING_3DS, **fields):
            return render_state(ctx)
        return hand_over(outcome.redirect_url, _("3-D Secure"),
                         _("Your bank needs to confirm this payment. Taking you to your bank…"), _theme(ctx))
    store().transition(ctx.id, from_states, st.PENDING, **fields)
    return render_state(ctx)


def hand_over(url: str, title: str, message: str, theme: themes.Theme | None = None) -> Response:
    """Send the customer on to the gateway's page (Redirect 3-D Secure, a payment method)
    after a form POST: a page that goes there by itself, by a script, or by a Continue
    link without scripts; not a 303. Browsers check a redirect that answers a form POST
    (and every hop after it) against the *form page's* ``form-action``, which cannot name
    every host a gateway sends its customers to (the seed's API is on api., its payment
    pages on checkout.); a link or a script's navigation is no form submission, and the
    URL goes exactly as the gateway gave it."""
    return Response(render_template("handover.html", url=url, title=title, message=message, theme=theme))


def _refuse_cross_site() -> None:
    """Form posts must come from our own pages (an iframe of ours counts)."""
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    ours = security.origin_of(public_base())
    if site in ("cross-site", "same-site") or (origin and origin != "null" and origin.lower() != ours):
        abort(_problem_page(_("This form cannot be sent from another site"),
                            _("Open the payment link again and pay from there."), 403))


# -- routes --------------------------------------------------------------------------
BRAND_NAMES = {"visa": "Visa", "mastercard": "Mastercard", "maestro": "Maestro", "mir": "Mir",
               "amex": "American Express", "discover": "Discover", "jcb": "JCB",
               "unionpay": "UnionPay", "diners": "Diners Club"}


@bp.app_context_processor
def _page_names() -> dict:
    return {
        "brand_names": BRAND_NAMES,
        "footer_icon_names": {
            "secure-connection": _("Secure connection"), "verified-by-visa": _("Visa Secure"),
            "mastercard-secure-code": _("Mastercard Identity Check"), "mir-accept": _("Mir Accept"),
            "american-express": _("American Express SafeKey"), "pci-dss": _("PCI DSS compliant")},
        "merchant_name": g.get("merchant_name", ""),
        "embed_args": g.get("embed_args") or {},
        # Where the frame asks, when the widget is closed, how the checkout stands.
        "standing_url": url_for("pay.standing_json", token=request.view_args["token"], **g.embed_args)
        if g.get("embed_args") and request.blueprint in ("pay", "direct") and "token" in (request.view_args or {})
        else None,
    }


@bp.app_template_global()
def form_first_error(form) -> str | None:
    """The id of the first field with an error, in page order (focus goes there). The
    card form's sections are declared in another order than _card_form.html draws them
    (contact, card, billing, shipping, whatever the order of ``page.fields``); other
    forms are drawn in their declaration order."""
    fields = list(form)
    if isinstance(form, CardForm):
        drawn = ("email", "phone", "name", "number", "expiry", "cvv", "billing_address", "shipping_address")
        fields.sort(key=lambda f: drawn.index(f.short_name) if f.short_name in drawn else len(drawn))
    for field in fields:
        if field.type == "FormField":
            for sub in field:
                if sub.errors:
                    return sub.id
        elif field.errors and field.type != "CSRFTokenField":
            return field.id
    return None


@bp.get("/logos/<path:filename>")
def logo(filename: str):
    return send_from_directory(themes.LOGOS_DIR, filename, max_age=3600)


@bp.get("/c/<token>")
def page(token: str):
    """The payment page, or the cashier (by the token's ``mode``)."""
    ctx = load_context(token, allow_expired=True, modes=("payment", "cashier"))
    c = ctx.checkout
    payable = c.state == st.OPEN or (c.state == st.DECLINED and c.declines < current_app.config["MAX_DECLINES"])
    if time.time() > ctx.payload["exp"] and payable:
        # Past its expiry only a link nobody paid says so; a paid, cancelled or in-flight
        # one still tells the customer where it stands (never "ask for a new link").
        return _problem_page(_("This payment link has expired"),
                             _("Ask the merchant for a new link to complete your payment."), 410)
    if ctx.payload.get("mode") == "cashier":
        return _cashier_page(ctx)
    return render_state(ctx)


# -- the cashier ---------------------------------------------------------------------
def _cashier_page(ctx: Ctx, form: AmountForm | None = None, status: int = 200,
                  withdraw: AmountForm | None = None, withdraw_notice: str | None = None) -> Response:
    form = form or AmountForm(formdata=None, meta={"csrf_context": f"{ctx.id}:amount"})
    if _payouts_allowed(ctx):
        withdraw = withdraw or AmountForm(formdata=None, meta={"csrf_context": f"{ctx.id}:withdraw"}, prefix="w")
    return Response(render_template("cashier.html", ctx=ctx, p=ctx.payload, theme=_theme(ctx), form=form,
                                    withdraw=withdraw, withdraw_notice=withdraw_notice,
                                    options=ctx.payload["cashier"]), status)


def _payouts_allowed(ctx: Ctx) -> bool:
    return bool(ctx.merchant.allow_payouts and ctx.payload["cashier"].get("payouts"))


def _chosen_amount(ctx: Ctx, form: AmountForm) -> str | None:
    """The amount picked or typed, in the currency's minor units and within the
    cashier's limits; None (with the error on the form) otherwise."""
    options = ctx.payload["cashier"]
    raw = (form.custom_amount.data or "").strip() or (form.amount.data or "").strip()
    field = form.custom_amount if (form.custom_amount.data or "").strip() else form.amount
    digits = currency_digits(ctx.payload["currency"])
    try:
        value = Decimal(raw.replace(",", ".").replace(" ", "").replace("\xa0", ""))
        if not value.is_finite() or value != value.quantize(Decimal(1).scaleb(-digits)):
            raise InvalidOperation
    except InvalidOperation:
        field.errors = [_("Enter an amount like %(example)s.",
                          example=format_amount(options["min"], ctx.payload["currency"]))]
        return None
    low, high = Decimal(options["min"]), Decimal(options["max"])
    if not low <= value <= high:
        field.errors = [_("Choose an amount from %(min)s to %(max)s.",
                          min=format_amount(low, ctx.payload["currency"]),
                          max=format_amount(high, ctx.payload["currency"]))]
        return None
    return format(value.quantize(Decimal(1).scaleb(-digits)), "f")


@bp.post("/c/<token>/withdraw")
def cashier_withdraw(token: str):
    """A withdrawal from the cashier: a payout for the chosen amount, then its card or
    APM form (the customer says where the money goes; nothing of that is kept here)."""
    from .payout import start_payout  # the payout blueprint's own request handling

    ctx = load_context(token, modes=("cashier",))
    _refuse_cross_site()
    if not _payouts_allowed(ctx):
        abort(404)
    form = AmountForm(meta={"csrf_context": f"{ctx.id}:withdraw"}, prefix="w")
    amount = _chosen_amount(ctx, form) if form.validate() else None
    kind = request.form.get("destination")
    if amount is None or kind not in ("card", "apm"):
        if amount is not None:
            form.amount.errors = [_("Choose where the money should go.")]
        return _cashier_page(ctx, withdraw=form, status=422)
    data = ctx.payload.get("data") or {}
    # What the merchant told us of the customer prefills the payout's forms (names,
    # phone, document, address); names it did not give are asked there, not made up.
    customer = payouts.customer_from_data(data, ctx.payload.get("accountId") or data.get("personId") or ctx.id)
    try:
        answer = start_payout(ctx.merchant, {
            "amount": amount, "currency": ctx.payload["currency"], "customer": customer,
            "orderId": f"{ctx.id[:12]}-{uuid.uuid4().hex[:12]}", "locale": g.locale or "en_US",
            "description": ctx.payload.get("description") or ""}, customer_required=payouts.CASHIER_REQUIRED)
    except payouts.PayoutRequestError as exc:  # the link's data, refused by the payout (an older link)
        log.warning("checkout %s: withdrawal refused (%s)", ctx.id, exc)
        return _cashier_page(ctx, withdraw=form, status=422, withdraw_notice=_(
            "Your withdrawal could not be started: the merchant's details of your account are incomplete. "
            "Nothing was paid out. Please contact the merchant."))
    url = answer["iframeUrls"][kind]
    if g.embed_args:
        url = results.with_params(url, g.embed_args)
    return redirect(url, code=303)


@bp.post("/c/<token>/amount")
def cashier_amount(token: str):
    """A deposit from the cashier: a payment checkout of its own for the chosen amount
    (single use, like any link), which offers card, saved cards and alternative methods."""
    ctx = load_context(token, modes=("cashier",))
    _refuse_cross_site()
    form = AmountForm(meta={"csrf_context": f"{ctx.id}:amount"})
    amount = _chosen_amount(ctx, form) if form.validate() else None
    if amount is None:
        return _cashier_page(ctx, form, status=422)
    payload = {k: v for k, v in ctx.payload.items() if k not in ("cid", "mode", "cashier")}
    payload.update(amount=amount, deposit=True)
    deposit = tokens.sign_checkout(payload)
    return redirect(url_for("pay.page", token=deposit, **g.embed_args), code=303)


@bp.post("/c/<token>/card")
def card(token: str):
    ctx = load_context(token)
    _refuse_cross_site()
    c = ctx.checkout
    if c.state not in (st.OPEN, st.DECLINED) or c.declines >= current_app.config["MAX_DECLINES"]:
        return render_state(ctx)
    theme = _theme(ctx)
    form = card_form(ctx, theme)
    if not form.validate():
        form.forget_card_data()
        return _payment_page(ctx, form, notice=_("Please check the highlighted fields."), status=422)
    ip = request.remote_addr or ""
    if store().declines_from(ip, current_app.config["DECLINE_WINDOW"]) >= current_app.config["MAX_DECLINES_PER_IP"]:
        form.forget_card_data()
        return _payment_page(ctx, form, status=429, notice=_(
            "Too many declined payments from your connection. Please try again later."))
    pan = form.pan
    month, year = form.expiry_month_year
    if not store().transition(ctx.id, (st.OPEN, st.DECLINED), st.PROCESSING,
                              max_declines=current_app.config["MAX_DECLINES"],
                              masked_pan=cards.mask_pan(pan), brand=cards.card_brand(pan)):
        form.forget_card_data()
        return render_state(ctx)  # another submission won: never charge twice
    back = pay_url("pay.back", ctx, external=True)
    gateway = gateway_for(ctx.merchant)
    try:
        if ctx.payload.get("invoiceId") and store().has_siblings(ctx.id, ctx.merchant.public_id, ctx.invoice):
            # Other links share this invoice: note their transactions first, so that an
            # unanswered charge is never confused with one of theirs.
            store().add_seen(ctx.id, [o.transaction_id for o in gateway.status_invoice(ctx.invoice)])
    except GatewayError as exc:
        gateway.close()
        log.warning("checkout %s: gateway unreachable before charging (%s)", ctx.id, exc)
        store().transition(ctx.id, (st.PROCESSING,), st.OPEN)
        form.forget_card_data()
        ctx.refresh()
        return _payment_page(ctx, form, status=503, notice=_(
            "We could not reach the payment service. Nothing was charged. Please try again."))
    try:
        outcome = gateway.charge_card(
            amount=ctx.payload["amount"], currency=ctx.payload["currency"], name=form.name.data.strip(),
            description=ctx.payload.get("description", ""), pan=pan, cvv=form.cvv.data.strip(),
            expiry_month=month, expiry_year=year, invoice_id=ctx.invoice,
            account_id=ctx.payload.get("accountId"), ip=ctx.payload.get("ip") or ip,
            data={**ctx.payload.get("data", {}), **extra_data(form, tuple(theme.get("fields", ())))},
            success_url=back, failure_url=back, pending_url=back)
    except GatewayError as exc:
        log.warning("checkout %s: charge outcome unknown (%s); pending until the gateway says", ctx.id, exc)
        store().transition(ctx.id, (st.PROCESSING,), st.PENDING)
        return render_state(ctx)
    finally:
        gateway.close()
        form.forget_card_data()
    return apply_outcome(ctx, outcome, (st.PROCESSING,), form)


@bp.post("/c/<token>/apm")
def apm(token: str):
    """An alternative method chosen on the payment page: ask for the fields the
    request's ``data`` lacks, then the gateway's Link, then on to the method's page."""
    ctx = load_context(token)
    _refuse_cross_site()
    c = ctx.checkout
    if c.state not in (st.OPEN, st.DECLINED) or c.declines >= current_app.config["MAX_DECLINES"]:
        return render_state(ctx)
    form = MethodForm(meta={"csrf_context": f"{ctx.id}:apm"})
    offered = {str(m.type_id): m for m in offered_methods(ctx)}
    if not form.validate() or form.paymentTypeId.data not in offered:
        # By the list it is about (focus goes there); an expired form says so at the top.
        expired = form.csrf_token.errors[0] if form.csrf_token.errors else None
        form.paymentTypeId.errors = [] if expired else [_("Choose a payment method.")]
        return _payment_page(ctx, notice=expired, status=422, method_form=form)
    method = offered[form.paymentTypeId.data]
    if methods.is_crypto(method):  # the direct link's page shows the address, amount and QR
        return crypto_quote(ctx, method)
    from .direct import field_inputs, fields_form, missing_fields  # the direct link's own rules

    data = ctx.payload.get("data") or {}
    asked = missing_fields(method, data)  # only what data lacks or has wrong: the rest stands as sent
    step = request.form.get("step") == "fields"
    values = {**data, **{f.name: (request.form.get(f.name) or "").strip() for f in asked}} if step else data
    errors = methods.validate_fields(method, values, payout=False)
    if errors:
        fields = fields_form(ctx, asked, "apm", formdata=None, data={f.name: values.get(f.name) or "" for f in asked})
        for f in asked:
            if f.name in errors and (step or data.get(f.name)):  # typed, or given but refused: say why
                fields[f.name].errors = [errors[f.name]]
        return Response(render_template(
            "apm_fields.html", ctx=ctx, p=ctx.payload, theme=_theme(ctx), method=method, form=fields,
            inputs=field_inputs(fields, asked), notice=_("Please check the highlighted fields.") if step else None),
            422 if step else 200)
    if not store().transition(ctx.id, (st.OPEN, st.DECLINED), st.PROCESSING,
                              max_declines=current_app.config["MAX_DECLINES"], masked_pan=None, brand=None):
        return render_state(ctx)
    try:
        outcome = gateway_link(ctx, method, {**data, **methods.clean_fields(method, values, payout=False)})
    except GatewayError as exc:
        log.warning("checkout %s: link outcome unknown (%s)", ctx.id, exc)
        store().transition(ctx.id, (st.PROCESSING,), st.PENDING)
        return render_state(ctx)
    if outcome.kind == "pending" and outcome.redirect_url:
        store().transition(ctx.id, (st.PROCESSING,), st.PENDING, transaction_id=outcome.transaction_id,
                           status=outcome.status, status_code=outcome.status_code)
        return hand_over(outcome.redirect_url, method.name, _("Taking you to %(method)s…", method=method.name),
                         _theme(ctx))
    return apply_outcome(ctx, outcome, (st.PROCESSING,))


def gateway_link(ctx: Ctx, method: methods.Method, data: dict) -> Outcome:
    """The gateway's Link for this checkout and method; every way back is our ``/return``
    (which asks the gateway's status). Raises GatewayError when the answer is unknown."""
    back = pay_url("pay.back", ctx, external=True)
    gateway = gateway_for(ctx.merchant)
    try:
        return gateway.link(
            amount=ctx.payload["amount"], currency=ctx.payload["currency"],
            description=ctx.payload.get("description", ""), payment_type_id=method.type_id,
            invoice_id=ctx.invoice, account_id=ctx.payload.get("accountId"),
            ip=ctx.payload.get("ip") or request.remote_addr, locale=g.locale, data=data,
            success_url=back, failure_url=back, pending_url=back, cancel_url=back)
    finally:
        gateway.close()


def quote_checkout_id(checkout_id: str, type_id: int) -> str:
    """The id of the crypto quote's checkout that ``checkout_id`` hands over to."""
    return f"{checkout_id}.{type_id}"


def _quote_url(ctx: Ctx, method: methods.Method) -> str:
    payload = {**ctx.payload, "cid": quote_checkout_id(ctx.id, method.type_id), "mode": "apm",
               "paymentTypeId": method.type_id, "parent": ctx.id}
    return url_for("direct.page", token=tokens.sign_checkout(payload), **g.get("embed_args", {}))


def _live_quote(ctx: Ctx) -> str | None:
    """The quote page of the crypto hand-over this checkout waits for, if one is live."""
    c = ctx.checkout
    if c.state not in IN_FLIGHT or not c.transaction_id:
        return None
    for m in (m for m in methods.catalogue() if methods.is_crypto(m)):
        quote = store().get(quote_checkout_id(ctx.id, m.type_id))
        if quote is not None and quote.state in IN_FLIGHT and quote.transaction_id == c.transaction_id:
            return _quote_url(ctx, m)
    return None


def crypto_quote(ctx: Ctx, method: methods.Method) -> Response:
    """BTC or USDT chosen on the payment page (a cashier's deposit): the quote page of a
    direct link, made single use. The design, simplest first:

    * This checkout is claimed before anything else (open or declined -> processing, the
      same compare-and-set as a card payment), the gateway's Link makes the quote, and
      this checkout then waits ``pending`` with the quote's transaction id. While it waits
      it takes no other payment (card, saved card, another method, another quote): every
      form of it answers with where it stands, and where it stands is that quote page.
      Its way back (``/c/<token>/return``) asks the gateway for that transaction, like any
      pending payment: completed goes to the merchant; declined, or the quote expired,
      is a decline here (the form opens again with the reason, counted as any decline).
    * The quote page is a direct link whose checkout id is derived from this one's and
      the method's (:func:`quote_checkout_id`), its token carrying ``parent``: choosing the
      method again, or opening this link again, leads to that same page and quote. It
      never makes a quote itself: no new quote on expiry, no start when opened on its
      own; once its transaction is final it sends the customer through this checkout's
      way back, which records the outcome here. So a new quote needs this checkout's
      claim first, and one checkout is never paid twice.
    * ``?embed=1&origin=…`` travels along: the result still reaches the parent window."""
    max_declines = current_app.config["MAX_DECLINES"]
    if not store().transition(ctx.id, (st.OPEN, st.DECLINED), st.PROCESSING, max_declines=max_declines,
                              masked_pan=None, brand=None):  # not a card: no card's number on it
        return render_state(ctx)  # another payment, or another quote, came first
    quote_id = quote_checkout_id(ctx.id, method.type_id)
    store().ensure(quote_id, ctx.merchant.public_id, ctx.payload.get("invoiceId"), ctx.payload["amount"],
                   ctx.payload["currency"])
    try:
        outcome = gateway_link(ctx, method, ctx.payload.get("data") or {})
    except GatewayError as exc:
        log.warning("checkout %s: crypto quote outcome unknown (%s)", ctx.id, exc)
        store().transition(ctx.id, (st.PROCESSING,), st.PENDING)
        return render_state(ctx)  # the confirming page finds it by invoice, or opens again
    if outcome.kind != "pending" or outcome.crypto is None or not outcome.transaction_id:
        return apply_outcome(ctx, outcome, (st.PROCESSING,))
    fields = {"transaction_id": outcome.transaction_id, "status": outcome.status, "status_code": outcome.status_code}
    store().transition(quote_id, tuple(s for s in st.STATES if s != st.COMPLETED), st.PENDING, **fields)
    store().transition(ctx.id, (st.PROCESSING,), st.PENDING, **fields)
    return redirect(_quote_url(ctx, method), code=303)


@bp.post("/c/<token>/saved")
def saved(token: str):
    """Pay with one of the customer's saved cards (a token the gateway keeps)."""
    ctx = load_context(token)
    _refuse_cross_site()
    c = ctx.checkout
    if c.state not in (st.OPEN, st.DECLINED) or c.declines >= current_app.config["MAX_DECLINES"]:
        return render_state(ctx)
    form = SavedCardForm(meta={"csrf_context": f"{ctx.id}:saved"})
    by_token = {card.token: card for card in saved_cards(ctx)}
    ok = form.validate()
    card = by_token.get(form.card.data or "")
    cvv = (form.saved_cvv.data or "").strip()
    if ok and card is None:
        form.card.errors = [_("Choose a saved card.")]
    if ctx.merchant.saved_card_cvv and (len(cvv) != cards.cvv_length(card.brand if card else None)
                                        or not cvv.isdigit()):
        form.saved_cvv.errors = [_("Enter the security code.")]
    form.saved_cvv.data = None
    if not ok or form.card.errors or form.saved_cvv.errors:
        return _payment_page(ctx, saved_form=form, notice=_("Please check the highlighted fields."), status=422)
    if not store().transition(ctx.id, (st.OPEN, st.DECLINED), st.PROCESSING,
                              max_declines=current_app.config["MAX_DECLINES"],
                              masked_pan=card.masked_pan, brand=card.brand):
        return render_state(ctx)
    gateway = gateway_for(ctx.merchant)
    try:
        outcome = gateway.charge_token(
            card.token, ctx.payload["amount"], ctx.payload["currency"], cvv or None,
            account_id=ctx.payload.get("accountId"), invoice_id=ctx.invoice,
            description=ctx.payload.get("description", ""), ip=ctx.payload.get("ip") or request.remote_addr,
            data=ctx.payload.get("data"))
    except GatewayError as exc:
        log.warning("checkout %s: saved-card charge outcome unknown (%s)", ctx.id, exc)
        store().transition(ctx.id, (st.PROCESSING,), st.PENDING)
        return render_state(ctx)
    finally:
        gateway.close()
    return apply_outcome(ctx, outcome, (st.PROCESSING,))


@bp.post("/c/<token>/3ds")
def three_ds(token: str):
    """The TermUrl: the ACS posts ``MD`` and ``PaRes`` here, cross-site and without our
    cookies. Bound to the single-use 3-D Secure context kept for this checkout."""
    ctx = load_context(token, allow_expired=True)
    md, pa_res = request.form.get("MD", ""), request.form.get("PaRes", "")
    if ctx.checkout.state != st.AWAITING_3DS or not md or not store().take_3ds(md, ctx.id):
        return render_state(ctx)
    gateway = gateway_for(ctx.merchant)
    try:
        outcome = gateway.post3ds(md, pa_res)
    except GatewayError as exc:
        log.warning("checkout %s: post3ds outcome unknown (%s)", ctx.id, exc)
        store().transition(ctx.id, (st.AWAITING_3DS,), st.PENDING)
        return render_state(ctx)
    finally:
        gateway.close()
    return apply_outcome(ctx, outcome, (st.AWAITING_3DS,))


def _settled(ctx: Ctx) -> Response:
    """Coming back to a checkout that is no longer in flight: a final outcome goes on
    to the merchant; anything else shows where it stands."""
    c = ctx.checkout
    if c.state == st.COMPLETED:
        return _to_merchant(ctx, "success")
    if c.state == st.CANCELLED:
        return _to_merchant(ctx, "cancel")
    if c.state == st.DECLINED and c.declines >= current_app.config["MAX_DECLINES"]:
        return _to_merchant(ctx, "failure")
    return render_state(ctx)


def _find_charge(ctx: Ctx, gateway) -> Outcome | None:
    """What the gateway knows of this checkout's latest charge: by transaction id, or
    (when the answer to the charge never came) by invoice."""
    c = ctx.checkout
    if c.transaction_id:
        return gateway.status(c.transaction_id)
    seen = set(c.transactions)
    found = [o for o in gateway.status_invoice(ctx.invoice)
             if o.transaction_id not in seen and o.amount is not None
             and o.currency == ctx.payload["currency"]
             and float(o.amount) == float(ctx.payload["amount"])]
    return found[-1] if found else None


@bp.get("/c/<token>/return")
def back(token: str):
    """Back from a gateway redirect, or the confirming page's check: ask the gateway,
    never trust the query string."""
    ctx = load_context(token, allow_expired=True)
    c = ctx.checkout
    busy = c.state == st.PROCESSING and time.time() - c.updated_at < current_app.config["GATEWAY_TIMEOUT"] + 5
    if c.state not in IN_FLIGHT or busy:
        return _settled(ctx)
    gateway = gateway_for(ctx.merchant)
    try:
        outcome = _find_charge(ctx, gateway)
    except GatewayError as exc:
        log.warning("checkout %s: status unknown (%s)", ctx.id, exc)
        return render_state(ctx)
    finally:
        gateway.close()
    if outcome is None:
        if time.time() - c.updated_at >= current_app.config["PENDING_GRACE"] and \
                store().transition(ctx.id, (st.PENDING, st.PROCESSING), st.OPEN):
            log.info("checkout %s: no trace of the charge at the gateway; open again", ctx.id)
        return render_state(ctx)
    if outcome.final:
        return apply_outcome(ctx, outcome, IN_FLIGHT)
    if outcome.transaction_id and not c.transaction_id:
        store().note(ctx.id, transaction_id=outcome.transaction_id, status=outcome.status,
                     status_code=outcome.status_code)
    return render_state(ctx)


def standing(ctx: Ctx) -> str | None:
    """The result kind where the checkout stands (success, failure, pending, cancel), or
    None while the customer may still pay."""
    c = ctx.checkout
    if c.state == st.COMPLETED:
        return "success"
    if c.state == st.CANCELLED:
        return "cancel"
    if c.state in IN_FLIGHT:
        return "pending"
    if c.state == st.DECLINED and c.declines >= current_app.config["MAX_DECLINES"]:
        return "failure"
    return None


@bp.get("/c/<token>/finish/<kind>")
def finish(token: str, kind: str):
    """"Return to the merchant": the result for where the checkout stands, signed now, to
    the merchant's URL (inside an iframe, to the parent window)."""
    ctx = load_context(token, allow_expired=True, modes=ALL_MODES)
    if standing(ctx) != kind:
        return render_state(ctx)
    return _to_merchant(ctx, kind)


@bp.get("/c/<token>/standing")
def standing_json(token: str):
    """Inside an iframe, for the widget closing its dialog: where the checkout stands,
    with the signed result once there is one, so that closing during a payment never
    reports "cancelled" for money that moved (the checkout itself stays as it is)."""
    ctx = load_context(token, allow_expired=True, modes=ALL_MODES)
    if not g.embed_args:
        abort(404)
    kind = standing(ctx)
    fields = results.signed_params(_result_for(ctx, kind), ctx.merchant.secret) if kind else None
    return jsonify({"kind": kind or "open", "fields": fields})


@bp.get("/c/<token>/cancel")
def cancel(token: str):
    ctx = load_context(token, allow_expired=True)
    if store().transition(ctx.id, (st.OPEN, st.DECLINED), st.CANCELLED) or ctx.refresh().state == st.CANCELLED:
        ctx.refresh()
        return _to_merchant(ctx, "cancel")
    return render_state(ctx)
