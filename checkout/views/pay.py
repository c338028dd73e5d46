"""Customer pages: the payment page, the card form, saved cards, alternative methods,
3-D Secure, the way back, and the cashier. Each view loads the checkout, calls a flow
(:mod:`checkout.flows.payment`) and renders the step it returns."""
from __future__ import annotations

import logging
import math
import time
import uuid
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
from flask_babel import format_timedelta
from flask_babel import gettext as _
from markupsafe import Markup

from .. import cards, fragments, methods, payouts, results, security, themes, tokens
from .. import store as st
from ..flows import payment as flow
from ..flows import payout as payout_flow
from ..flows.payment import Step
from ..forms import (
    AmountForm,
    CardForm,
    CheckoutForm,
    MethodForm,
    SavedCardForm,
    card_form_class,
    country_code,
    csrf_token,
    customer_country,
    extra_data,
    field_inputs,
    fields_form,
    prefill,
)
from ..i18n import currency_digits, format_amount, select_locale
from ..validation import RequestError, amount_text
from . import drafts
from .page import (
    ALL_MODES,
    Ctx,
    decline_reason,
    expired_page,
    final_page,
    hand_over,
    load_context,
    merchant_link,
    pay_url,
    payout_links,
    pending_page,
    refuse_cross_site,
    result_for,
    theme_of,
    to_merchant,
)

bp = Blueprint("pay", __name__)
log = logging.getLogger(__name__)


# -- rendering ------------------------------------------------------------------------------
def saved_cards(ctx: Ctx) -> list:
    """The customer's saved cards, asked of the gateway once per request."""
    if "saved_cards" not in g:
        g.saved_cards = flow.saved_cards(ctx)
    return g.saved_cards


def offered_methods(ctx: Ctx) -> methods.Offer:
    """The alternative methods that fit this checkout's currency and the customer's
    country (``data.countryCode``, else the currency's), crypto aside (direct links and
    the cashier show those). Test methods only in sandbox mode. In the page's order,
    grouped, the country's most used first (:func:`checkout.methods.arrange`)."""
    currency, country, include_test, crypto = _offer_of(ctx)
    return methods.offer(currency, country, include_test=include_test, crypto=crypto)


def _offer_of(ctx: Ctx) -> tuple[str, str | None, bool, bool]:
    """What :func:`methods.offer` picks a checkout's methods by (and, with the locale, all
    that their form is drawn from)."""
    return (ctx.payload["currency"], country_code(ctx.data.get("countryCode")) or None,
            current_app.config["MODE"] == "sandbox", bool(ctx.payload.get("deposit")))


def card_form(ctx: Ctx, theme: themes.Theme, **kwargs) -> CardForm:
    """The card form with the theme's extra sections, prefilled from the request's data."""
    fields = tuple(theme.get("fields", ()))
    initial = prefill(fields, ctx.payload) if kwargs.get("formdata", True) is None else {}
    return card_form_class(fields)(meta={"csrf_context": f"{ctx.id}:card"}, data=initial, **kwargs)


def _payment_page(ctx: Ctx, form: CardForm | None = None, notice: str | None = None,
                  status: int = 200, saved_form: SavedCardForm | None = None,
                  method_form: MethodForm | None = None) -> Response:
    """The payment page: the card form, saved cards and other methods (any of them as
    the customer last sent it, with its errors)."""
    theme = theme_of(ctx)
    c = ctx.checkout
    declines_left = current_app.config["MAX_DECLINES"] - c.declines
    if notice is None and c.state == st.DECLINED:
        reason = decline_reason(c.reason_code, c.reason)
        notice = (_("Your card was declined: %(reason)s.", reason=reason) if c.masked_pan
                  else _("Your payment was declined: %(reason)s.", reason=reason))  # another method's
    declines_left = declines_left if c.declines else None
    offered = offered_methods(ctx)
    saved = saved_cards(ctx)
    # The saved-card form (and its CSRF token) only when the page shows it.
    if saved and saved_form is None:
        saved_form = SavedCardForm(formdata=None, meta={"csrf_context": f"{ctx.id}:saved"})
    return Response(render_template(
        "pay.html", ctx=ctx, p=ctx.payload, theme=theme,
        card_form_html=card_form_html(ctx, theme, form, notice, declines_left), notice=notice,
        methods=offered, methods_html=methods_html(ctx, offered, method_form) if offered else None,
        saved=saved, saved_form=saved_form,
        saved_cvv=ctx.merchant.saved_card_cvv, declines_left=declines_left,
        cancel_url=pay_url("pay.cancel", ctx) if ctx.payload.get("cancelUrl") or g.embed_args else None,
        expires_in=_expires_in(ctx),
    ), status)


#: The card form as it stands before the customer typed anything, kept per locale,
#: sections, values shown, amount and notice (:class:`checkout.fragments.Kept`): a link
#: without the customer's data shares it with every link of its locale and amount, one
#: with them on its reloads. Drawing it was half to two thirds of a page's render.
_UNTOUCHED_CARD_FORMS = fragments.Kept(64)


def card_form_html(ctx: Ctx, theme: themes.Theme, form: CardForm | None, notice: str | None,
                   declines_left: int | None) -> Markup:
    """The card form: ``form`` as the customer sent it back (values and errors), or, with
    none, the untouched one from :data:`_UNTOUCHED_CARD_FORMS` with this page's CSRF token
    and form URL (drawn afresh in debug mode, where the static files' URLs may change)."""
    shown = {"ctx": ctx, "p": ctx.payload, "theme": theme, "notice": notice, "declines_left": declines_left}
    if form is not None:
        return Markup(render_template("_card_form.html", form=form, **shown))
    fields, p = tuple(theme.get("fields", ())), ctx.payload
    csrf = csrf_token(f"{ctx.id}:card")

    def draw() -> str:
        untouched = card_form(ctx, theme, formdata=None)
        untouched.csrf_token.current_token = csrf  # the token put back in on every later use
        return render_template("_card_form.html", form=untouched, **shown)

    if current_app.debug:
        return Markup(draw())
    key = (select_locale(), fields, bool(theme.get("payButtonWithPrice", True)), p["amount"], p["currency"],
           customer_country(p), fragments.frozen(prefill(fields, p)), notice, declines_left)
    return _UNTOUCHED_CARD_FORMS(key, draw, csrf=csrf, action=url_for("pay.card", token=ctx.token, **g.embed_args))


#: The other methods' form as it stands before the customer chose, kept per locale and
#: offer (:class:`checkout.fragments.Kept`): every checkout of a currency and country
#: shares it.
_UNTOUCHED_METHOD_FORMS = fragments.Kept(64)


def methods_html(ctx: Ctx, offered: methods.Offer, form: MethodForm | None) -> Markup:
    """The form of the other methods: ``form`` as the customer sent it back (its error),
    or the untouched one, kept, with this page's CSRF token and form URL."""
    if form is not None:
        return Markup(render_template("_methods.html", ctx=ctx, methods=offered, method_form=form))
    csrf = csrf_token(f"{ctx.id}:apm")

    def draw() -> str:
        untouched = MethodForm(formdata=None, meta={"csrf_context": f"{ctx.id}:apm"})
        untouched.csrf_token.current_token = csrf
        return render_template("_methods.html", ctx=ctx, methods=offered, method_form=untouched)

    if current_app.debug:
        return Markup(draw())
    return _UNTOUCHED_METHOD_FORMS((select_locale(), *_offer_of(ctx)), draw, csrf=csrf,
                                   action=url_for("pay.apm", token=ctx.token, **g.embed_args))


#: The payment page says how long its link has left in the link's last minutes.
EXPIRY_WARNING_SECONDS = 5 * 60


def _expires_in(ctx: Ctx) -> int | None:
    """Seconds the link has left, when it is in its last minutes (else None)."""
    left = int(ctx.payload["exp"] - time.time())
    return max(left, 0) if left <= EXPIRY_WARNING_SECONDS else None


def limited_notice(retry_at: float, limit: str | None = "declines") -> str:
    """Which card-testing limit was reached (see ``flows.payment.LimitKind``), and when
    to try again."""
    wait = format_timedelta(max(retry_at - time.time(), 60), threshold=1.1, add_direction=False)
    if limit == "address":
        return _("Too many payment attempts from your connection. You can try again in %(wait)s.", wait=wait)
    if limit == "card":
        return _("Too many payment attempts with this card. You can try again in %(wait)s.", wait=wait)
    if limit == "checkout":
        return _("Too many payment attempts for this order. You can try again in %(wait)s.", wait=wait)
    if limit == "merchant":
        return _("This shop is receiving too many payment attempts. You can try again in %(wait)s.", wait=wait)
    return _("Too many declined payments from your connection. You can try again in %(wait)s.", wait=wait)


def retry_after(retry_at: float | None) -> int:
    """Whole seconds until ``retry_at`` (``Retry-After``); 0 once it has come."""
    return max(math.ceil(retry_at - time.time()), 0) if retry_at else 0


def limited_draft(step: Step) -> dict:
    """What a ``limited`` step leaves in the draft for the page that shows it: which limit
    and when to try again (the page cannot ask again: a card's limit is by its number)."""
    return {"limit": step.limit, "retryAt": step.retry_at} if step.kind == "limited" else {}


def _drafted_page(ctx: Ctx, draft: dict | None) -> Response:
    """The payment page as the customer's last form post left it (post/redirect/get):
    the form they sent with its values (never the card number or CVV) and errors, the
    notice and the status of that answer. ``limited`` says when to try again and sends
    ``Retry-After``; once that time has come the page is the plain one."""
    if draft is None:
        return _payment_page(ctx)
    theme, kind, data = theme_of(ctx), draft.get("form"), drafts.formdata(draft)
    form = saved_form = method_form = None
    if kind == "card":
        form = drafts.restore(card_form(ctx, theme, formdata=data), draft)
    elif kind == "saved":
        saved_form = drafts.restore(SavedCardForm(formdata=data, meta={"csrf_context": f"{ctx.id}:saved"}), draft)
    elif kind == "apm":
        method_form = drafts.restore(MethodForm(formdata=data, meta={"csrf_context": f"{ctx.id}:apm"}), draft)
    notice, status = draft.get("notice"), drafts.status(draft)
    # The limited try left which limit and when it frees; once that time has come, the plain page.
    wait = retry_after(draft.get("retryAt")) if status == 429 else 0
    if status == 429:
        if wait <= 0:
            notice, status = None, 200
        else:
            notice = limited_notice(draft["retryAt"], draft.get("limit"))
    response = _payment_page(ctx, form, notice, status, saved_form, method_form)
    if status == 429:
        response.headers["Retry-After"] = str(wait)
    return response


def _quote_url(ctx: Ctx, method: methods.Method) -> str:
    """The direct link's page that shows this checkout's crypto quote (see
    ``flows.payment.quote_crypto``)."""
    payload = {**ctx.payload, "cid": flow.quote_checkout_id(ctx.id, method.type_id), "mode": "apm",
               "paymentTypeId": method.type_id, "parent": ctx.id}
    return url_for("direct.page", token=tokens.sign_checkout(payload), **g.get("embed_args", {}))


def render_state(ctx: Ctx, fresh: bool = False) -> Response:
    """The page for where the checkout stands now (``fresh``: ``ctx`` was just read)."""
    c = ctx.checkout if fresh else ctx.refresh()
    final = final_page(ctx)
    if final is not None:
        return final
    if c.state == st.AWAITING_3DS and c.bank_step:
        return bank_page(ctx, c.bank_step, auto=False)
    if c.state in flow.IN_FLIGHT:
        quote = flow.live_quote(ctx)
        return redirect(_quote_url(ctx, quote), code=303) if quote else pending_page(ctx, pay_url("pay.back", ctx))
    if flow.final_result(c) == "failure":
        return to_merchant(ctx, "failure")
    draft = drafts.fresh(c.form_draft, since=c.updated_at)
    if c.state == st.OPEN and c.charges and not c.transaction_id and \
            not (draft and (draft.get("notice") or drafts.status(draft) == 429)):
        # Open again after a charge that left no trace at the gateway: say so on every
        # rendering (the confirming page's script reloads the page that says it), unless
        # the last form's outcome says why (the Payment Check, the gateway unreachable, a limit).
        return _payment_page(ctx, notice=_("Your payment did not go through and nothing was charged. "
                                           "Please try again."))
    return _drafted_page(ctx, draft)


def bank_page(ctx: Ctx, bank: dict, auto: bool) -> Response:
    """The bank's 3-D Secure step: "Continue to your bank" (the same authentication
    again: a form posted to the ACS, or the bank's page) and "Use another card". Right
    after the card form (``auto``) a script goes on by itself, first making this history
    entry the payment page's, so that Back from the bank's page comes here again."""
    fields = bank.get("fields")
    if fields:
        security.allow_form_action(bank["url"])
        fields = {**fields, "TermUrl": pay_url("pay.three_ds", ctx, external=True)}
    return Response(render_template(
        "bank.html", ctx=ctx, p=ctx.payload, theme=theme_of(ctx), url=bank["url"], fields=fields, auto=auto,
        abandon_form=CheckoutForm(formdata=None, meta={"csrf_context": f"{ctx.id}:abandon"}),
        page_url=pay_url("pay.page", ctx), check_url=pay_url("pay.back", ctx)))


#: The status of the page that shows a step's outcome, and its notice.
_STEP_STATUS = {"declined": 402, "limited": 429, "refused": 403, "unreachable": 503}


def after_post(ctx: Ctx, step: Step, name: str | None = None, form=None,
               method: methods.Method | None = None) -> Response:
    """Post/redirect/get: keep the outcome of the form ``name`` for the page that shows
    it, and answer with a 303 there (the merchant, the bank, a quote, or this checkout's
    page). ``form`` (card data already forgotten) keeps what the customer typed."""
    if step.checkout is not None:
        ctx.checkout = step.checkout
    if step.kind == "merchant":
        if g.embed_args:  # the last page inside the frame, by GET
            return redirect(merchant_link(ctx, step.result), code=303)
        return to_merchant(ctx, step.result)
    if step.kind == "quote" and method is not None:
        return redirect(_quote_url(ctx, method), code=303)
    notices = {"refused": refused_notice, "unreachable": _unreachable}
    notice = notices[step.kind]() if step.kind in notices else None
    status = _STEP_STATUS.get(step.kind, 200)
    if name is not None:
        flow.keep_draft(ctx, {**drafts.of_form(name, form, status=status, notice=notice), **limited_draft(step)})
    elif step.kind in _STEP_STATUS:  # the bank's answer: the form sent before it stays as it was
        flow.keep_draft(ctx, {**drafts.outcome(drafts.fresh(ctx.checkout.form_draft), status=status, notice=notice),
                              **limited_draft(step)})
    if step.kind in ("acs", "handover"):
        return redirect(pay_url("pay.bank", ctx), code=303)
    return _see_page(ctx)


def _see_page(ctx: Ctx) -> Response:
    return redirect(pay_url("pay.page", ctx), code=303)


def _unreachable() -> str:
    return _("We could not reach the payment service. Nothing was charged. Please try again.")


def refused_notice() -> str:
    """The merchant's Payment Check said no."""
    return _("The shop could not accept this payment. Nothing was charged. "
             "Please try again later or contact the shop.")


def render_step(ctx: Ctx, step: Step) -> Response:
    """The page for a step a GET made (the way back from a gateway, a cancel): on to the
    merchant, or where the checkout stands."""
    if step.checkout is not None:
        ctx.checkout = step.checkout
    if step.kind == "merchant":
        return to_merchant(ctx, step.result)
    if step.kind == "declined":  # back from the bank or a method's page: the decline's page says 402
        flow.keep_draft(ctx, drafts.outcome(drafts.fresh(ctx.checkout.form_draft), status=402))
    return render_state(ctx)


def _closed(ctx: Ctx) -> bool:
    """The checkout takes no new payment now (paid, in flight, out of tries)."""
    return not flow.payable(ctx.checkout)


# -- routes ---------------------------------------------------------------------------------
@bp.get("/logos/<path:filename>")
def logo(filename: str):
    return send_from_directory(themes.LOGOS_DIR, filename, max_age=3600)


@bp.get("/c/<token>")
def page(token: str):
    """The payment page, or the cashier (by the token's ``mode``)."""
    ctx = load_context(token, allow_expired=True, modes=("payment", "cashier"))
    if time.time() > ctx.payload["exp"] and flow.payable(ctx.checkout):
        # Past its expiry only a link nobody paid says so (and it ends now, as the worker
        # would end it); a paid, cancelled or in-flight one still tells the customer
        # where it stands (never "ask for a new link").
        flow.expire(ctx)
        return expired_page(ctx)
    if ctx.payload.get("mode") == "cashier":
        return _drafted_cashier(ctx, drafts.fresh(ctx.checkout.form_draft, since=ctx.checkout.updated_at))
    return render_state(ctx, fresh=True)


@bp.post("/c/<token>/card")
def card(token: str):
    ctx = load_context(token)
    refuse_cross_site()
    if _closed(ctx):
        return _see_page(ctx)
    theme = theme_of(ctx)
    form = card_form(ctx, theme)
    if not form.validate():
        form.forget_card_data()
        flow.keep_draft(ctx, drafts.of_form("card", form, status=422, notice=_("Please check the highlighted fields.")))
        return _see_page(ctx)
    month, year = form.expiry_month_year
    details = flow.CardDetails(name=form.name.data.strip(), pan=form.pan, cvv=form.cvv.data.strip(),
                               expiry_month=month, expiry_year=year)
    data = {**ctx.data, **extra_data(form, tuple(theme.get("fields", ())))}
    form.forget_card_data()
    back = pay_url("pay.back", ctx, external=True)
    step = flow.pay_card(ctx, details, ip=request.remote_addr or "", back_url=back, data=data)
    return after_post(ctx, step, "card", form)


@bp.post("/c/<token>/saved")
def saved(token: str):
    """Pay with one of the customer's saved cards (a token the gateway keeps)."""
    ctx = load_context(token)
    refuse_cross_site()
    if _closed(ctx):
        return _see_page(ctx)
    form = SavedCardForm(meta={"csrf_context": f"{ctx.id}:saved"})
    by_token = {card.token: card for card in saved_cards(ctx)}
    ok = form.validate()
    chosen = by_token.get(form.card.data or "")
    cvv = (form.saved_cvv.data or "").strip()
    if ok and chosen is None:
        form.card.errors = [_("Choose a saved card.")]
    if ctx.merchant.saved_card_cvv and (len(cvv) != cards.cvv_length(chosen.brand if chosen else None)
                                        or not (cvv.isascii() and cvv.isdigit())):
        form.saved_cvv.errors = [_("Enter the security code.")]
    form.saved_cvv.data = None
    if not ok or form.card.errors or form.saved_cvv.errors:
        flow.keep_draft(ctx, drafts.of_form("saved", form, status=422,
                                            notice=_("Please check the highlighted fields.")))
        return _see_page(ctx)
    return after_post(ctx, flow.pay_saved(ctx, chosen, cvv or None, ip=request.remote_addr), "saved", form)


@bp.post("/c/<token>/apm")
def apm(token: str):
    """An alternative method chosen on the payment page: ask for the fields the
    request's ``data`` lacks, then the gateway's Link, then on to the method's page."""
    ctx = load_context(token)
    refuse_cross_site()
    if _closed(ctx):
        return _see_page(ctx)
    form = MethodForm(meta={"csrf_context": f"{ctx.id}:apm"})
    offered = {str(m.type_id): m for m in offered_methods(ctx)}
    if not form.validate() or form.paymentTypeId.data not in offered:
        # By the list it is about (focus goes there); an expired form says so at the top.
        expired = form.csrf_token.errors[0] if form.csrf_token.errors else None
        form.paymentTypeId.errors = [] if expired else [_("Choose a payment method.")]
        if request.form.get("step") == "fields" and form.paymentTypeId.data in offered and expired:
            method = offered[form.paymentTypeId.data]
            flow.keep_draft(ctx, drafts.of_form(f"method:{method.type_id}", status=422, notice=expired))
            return redirect(pay_url("pay.method_fields", ctx, type_id=method.type_id), code=303)
        flow.keep_draft(ctx, drafts.of_form("apm", form, status=422, notice=expired))
        return _see_page(ctx)
    method = offered[form.paymentTypeId.data]
    back = pay_url("pay.back", ctx, external=True)
    if methods.is_crypto(method):  # the direct link's page shows the address, amount and QR
        step = flow.quote_crypto(ctx, method, ip=request.remote_addr, locale=g.locale, back_url=back)
        return after_post(ctx, step, method=method)
    data = ctx.data
    asked = methods.missing_fields(method, data)  # only what data lacks or has wrong: the rest stands as sent
    typed = request.form.get("step") == "fields"
    values = {**data, **{f.name: (request.form.get(f.name) or "").strip() for f in asked}} if typed else data
    errors = methods.validate_fields(method, values, payout=False)
    if errors:
        name = f"method:{method.type_id}"
        if typed:
            fields = fields_form(ctx.id, asked, "apm", formdata=None)
            for f in asked:
                if f.name in errors:
                    fields[f.name].errors = [errors[f.name]]
            flow.keep_draft(ctx, drafts.of_form(name, fields, status=422,
                                                notice=_("Please check the highlighted fields.")))
        return redirect(pay_url("pay.method_fields", ctx, type_id=method.type_id), code=303)
    step = flow.pay_method(ctx, method, values, ip=request.remote_addr, locale=g.locale, back_url=back)
    return after_post(ctx, step, method=method)


@bp.get("/c/<token>/method/<int:type_id>")
def method_fields(token: str, type_id: int):
    """An alternative method's own fields: only those the request's ``data`` lacks (or
    carries with a value the method refuses), as the customer last sent them."""
    ctx = load_context(token)
    method = {m.type_id: m for m in offered_methods(ctx)}.get(type_id)
    asked = methods.missing_fields(method, ctx.data) if method is not None else []
    if _closed(ctx) or not asked or methods.is_crypto(method):
        return render_state(ctx)
    draft = drafts.fresh(ctx.checkout.form_draft, f"method:{type_id}", since=ctx.checkout.updated_at)
    if draft is not None:
        fields = drafts.restore(fields_form(ctx.id, asked, "apm", formdata=drafts.formdata(draft)), draft)
    else:
        fields = fields_form(ctx.id, asked, "apm", formdata=None,
                             data={f.name: ctx.data.get(f.name) or "" for f in asked})
        refused = methods.validate_fields(method, ctx.data, payout=False)
        for f in asked:
            if f.name in refused and ctx.data.get(f.name):  # given but refused: say why
                fields[f.name].errors = [refused[f.name]]
    return Response(render_template(
        "apm_fields.html", ctx=ctx, p=ctx.payload, theme=theme_of(ctx), method=method, form=fields,
        inputs=field_inputs(fields, asked), notice=draft.get("notice") if draft else None), drafts.status(draft))


@bp.post("/c/<token>/3ds")
def three_ds(token: str):
    """The TermUrl: the ACS posts ``MD`` and ``PaRes`` here, cross-site and without our
    cookies. Bound to the single-use 3-D Secure context kept for this checkout."""
    ctx = load_context(token, allow_expired=True)
    step = flow.finish_3ds(ctx, request.form.get("MD", ""), request.form.get("PaRes", ""), ip=request.remote_addr)
    return after_post(ctx, step)


@bp.get("/c/<token>/bank")
def bank(token: str):
    """On to the bank's page right after the card form (the form's post redirects here):
    the 3-D Secure under way, or the alternative method's page."""
    ctx = load_context(token, allow_expired=True)
    c = ctx.checkout
    step = c.bank_step
    if c.state not in flow.IN_FLIGHT or not step:
        return render_state(ctx)
    method = methods.method(step["method"]) if step.get("method") else None
    if method is not None:
        return hand_over(step["url"], method.display_name,
                         _("Taking you to %(method)s…", method=method.display_name), theme_of(ctx))
    return bank_page(ctx, step, auto=True)


@bp.post("/c/<token>/abandon")
def abandon(token: str):
    """"Use another card" while the bank waits (see ``flows.payment.abandon_3ds``)."""
    ctx = load_context(token)
    refuse_cross_site()
    if CheckoutForm(meta={"csrf_context": f"{ctx.id}:abandon"}).validate() and \
            flow.abandon_3ds(ctx).kind == "open":
        flow.keep_draft(ctx, drafts.outcome(drafts.fresh(ctx.checkout.form_draft), status=200, notice=_(
            "The confirmation at your bank was cancelled and nothing was charged. "
            "Pay with another card or another way.")))
    return _see_page(ctx)


@bp.get("/c/<token>/return")
def back(token: str):
    """Back from a gateway redirect, or the confirming page's check: ask the gateway,
    never trust the query string."""
    ctx = load_context(token, allow_expired=True, create=True)
    return render_step(ctx, flow.reconcile(ctx, ip=request.remote_addr))


@bp.get("/c/<token>/finish/<kind>")
def finish(token: str, kind: str):
    """"Return to the merchant": the result for where the checkout stands, signed now, to
    the merchant's URL (inside an iframe, to the parent window)."""
    ctx = load_context(token, allow_expired=True, modes=ALL_MODES)
    if flow.standing(ctx.checkout) != kind:
        return render_state(ctx)
    return to_merchant(ctx, kind)


@bp.get("/c/<token>/standing")
def standing_json(token: str):
    """Inside an iframe, for the widget closing its dialog: where the checkout stands,
    with the signed result once there is one, so that closing during a payment never
    reports "cancelled" for money that moved (the checkout itself stays as it is)."""
    ctx = load_context(token, allow_expired=True, modes=ALL_MODES)
    if not g.embed_args:
        abort(404)
    kind = flow.standing(ctx.checkout)
    fields = results.signed_params(result_for(ctx, kind), ctx.merchant.secret) if kind else None
    return jsonify({"kind": kind or "open", "fields": fields})


@bp.get("/c/<token>/cancel")
def cancel(token: str):
    ctx = load_context(token, allow_expired=True, create=True)
    return render_step(ctx, flow.cancel(ctx))


# -- the cashier ----------------------------------------------------------------------------
def _cashier_page(ctx: Ctx, form: AmountForm | None = None, status: int = 200,
                  withdraw: AmountForm | None = None, withdraw_notice: str | None = None) -> Response:
    form = form or AmountForm(formdata=None, meta={"csrf_context": f"{ctx.id}:amount"})
    if _payouts_allowed(ctx):
        withdraw = withdraw or AmountForm(formdata=None, meta={"csrf_context": f"{ctx.id}:withdraw"}, prefix="w")
    return Response(render_template("cashier.html", ctx=ctx, p=ctx.payload, theme=theme_of(ctx), form=form,
                                    withdraw=withdraw, withdraw_notice=withdraw_notice,
                                    options=ctx.payload["cashier"]), status)


def _drafted_cashier(ctx: Ctx, draft: dict | None) -> Response:
    """The cashier as the customer's last form post left it (post/redirect/get)."""
    kind = draft.get("form") if draft else None
    if kind not in ("amount", "withdraw"):
        return _cashier_page(ctx)
    data = drafts.formdata(draft)
    if kind == "amount":
        form = drafts.restore(AmountForm(formdata=data, meta={"csrf_context": f"{ctx.id}:amount"}), draft)
        return _cashier_page(ctx, form, status=drafts.status(draft))
    withdraw = drafts.restore(AmountForm(formdata=data, meta={"csrf_context": f"{ctx.id}:withdraw"}, prefix="w"),
                              draft)
    return _cashier_page(ctx, withdraw=withdraw, status=drafts.status(draft), withdraw_notice=draft.get("notice"))


def _payouts_allowed(ctx: Ctx) -> bool:
    return bool(ctx.merchant.allow_payouts and ctx.payload["cashier"].get("payouts"))


def _chosen_amount(ctx: Ctx, form: AmountForm) -> str | None:
    """The amount picked or typed, in the currency's minor units and within the
    cashier's limits; None (with the error on the form) otherwise."""
    options = ctx.payload["cashier"]
    raw = (form.custom_amount.data or "").strip() or (form.amount.data or "").strip()
    field = form.custom_amount if (form.custom_amount.data or "").strip() else form.amount
    digits = currency_digits(ctx.payload["currency"])
    typed = raw.replace(",", ".").replace(" ", "").replace("\xa0", "").replace("\u202f", "")
    try:
        if not amount_text(typed):  # Decimal() would also read "1_000", "1e3" and "١٢٣"
            raise InvalidOperation
        value = Decimal(typed)
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
    ctx = load_context(token, modes=("cashier",))
    refuse_cross_site()
    if not _payouts_allowed(ctx):
        abort(404)
    form = AmountForm(meta={"csrf_context": f"{ctx.id}:withdraw"}, prefix="w")
    amount = _chosen_amount(ctx, form) if form.validate() else None
    kind = request.form.get("destination")
    if amount is None or kind not in ("card", "apm"):
        if amount is not None:
            form.amount.errors = [_("Choose where the money should go.")]
        flow.keep_draft(ctx, drafts.of_form("withdraw", form, status=422))
        return _see_page(ctx)
    data = ctx.data
    # What the merchant told us of the customer prefills the payout's forms (names,
    # phone, document, address); names it did not give are asked there, not made up.
    customer = payouts.customer_from_data(data, ctx.payload.get("accountId") or data.get("personId") or ctx.id)
    try:
        payout, expires = payout_flow.create(ctx.merchant, {
            "amount": amount, "currency": ctx.payload["currency"], "customer": customer,
            "orderId": f"{ctx.id[:12]}-{uuid.uuid4().hex[:12]}", "locale": g.locale or "en_US",
            "description": ctx.payload.get("description") or ""}, customer_required=payouts.CASHIER_REQUIRED)
    except RequestError as exc:  # the link's data, refused by the payout (an older link)
        log.warning("checkout %s: withdrawal refused (%s)", ctx.id, exc)
        flow.keep_draft(ctx, drafts.of_form("withdraw", form, status=422, notice=_(
            "Your withdrawal could not be started: the merchant's details of your account are incomplete. "
            "Nothing was paid out. Please contact the merchant.")))
        return _see_page(ctx)
    url = payout_links(payout, expires)[kind]
    if g.embed_args:
        url = results.with_params(url, g.embed_args)
    return redirect(url, code=303)


@bp.post("/c/<token>/amount")
def cashier_amount(token: str):
    """A deposit from the cashier: a payment checkout of its own for the chosen amount
    (single use, like any link), which offers card, saved cards and alternative methods."""
    ctx = load_context(token, modes=("cashier",))
    refuse_cross_site()
    form = AmountForm(meta={"csrf_context": f"{ctx.id}:amount"})
    amount = _chosen_amount(ctx, form) if form.validate() else None
    if amount is None:
        flow.keep_draft(ctx, drafts.of_form("amount", form, status=422))
        return _see_page(ctx)
    payload = {k: v for k, v in ctx.payload.items() if k not in ("cid", "mode", "cashier")}
    payload.update(amount=amount, deposit=True)
    deposit = tokens.sign_checkout(payload)
    return redirect(url_for("pay.page", token=deposit, **g.embed_args), code=303)

