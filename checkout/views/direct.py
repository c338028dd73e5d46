"""Direct links (``/d/<token>``): the OMNO overview's Direct Link, a payment "without a
payment page or UI layer". ``POST /payments/link`` answers with one.

Opening the link claims the checkout, calls the gateway's Link for the token's
``paymentTypeId`` and sends the customer straight to the page the gateway names: no
page of ours. Two exceptions:

* the method needs customer fields the request's ``data`` does not carry (or carries
  with a value the method refuses): a minimal page of ours asks for only those fields;
* a crypto method (BTC, USDT): a page of ours shows the deposit address, the exact
  amount and asset of the gateway's quote, a QR code, the quote's expiry with a
  countdown, and polls the status (without scripts, a "Check payment status" link does
  it). When the quote expires (the OMS seed's quote window), the page offers a new one.

A crypto method chosen on the payment page (a cashier's deposit) comes here as a
*hand-over* (a token with ``parent``; see ``pay.crypto_quote``): the quote is made
there, under that checkout's claim, and this page only shows it and follows it; once it
is final, or the quote expired, the customer goes through the parent checkout's way back.

The way back (``/d/<token>/return``) asks the gateway, never the query string, and
sends the customer to the merchant's URL with the signed result once the status is
final. Declines of a method are final for a direct link: there is no page of ours to
try again on.
"""
from __future__ import annotations

import base64
import io
import time

import segno
from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import i18n, tokens
from .. import methods as apm
from .. import store as st
from ..flows import direct as flow
from ..flows.payment import IN_FLIGHT, CryptoQuote, Step, keep_draft
from ..forms import CheckoutForm, field_inputs, fields_form
from ..urls import public_base
from . import drafts
from .page import (
    Ctx,
    expired_link,
    final_page,
    hand_over,
    load_context,
    merchant_url,
    message_page,
    refuse_cross_site,
    theme_of,
    to_merchant,
)
from .pay import limited_draft, limited_notice, retry_after

bp = Blueprint("direct", __name__)


# -- context -------------------------------------------------------------------------------
def _context(token: str) -> tuple[Ctx, apm.Method]:
    """The checkout of a direct link and its method. The link may be past its ``exp``
    here: a payment already under way can still be followed; starting one cannot
    (:func:`_require_live`)."""
    ctx = load_context(token, allow_expired=True, modes=("apm",), create=True)  # a direct link's GET starts a payment
    m = apm.method(ctx.payload.get("paymentTypeId"))
    currency = ctx.payload["currency"]
    if m is None or not m.payin:
        abort(message_page(ctx, _("This payment method is not available"),
                           _("Ask the merchant for another way to pay."), status=422))
    if m.currencies and currency not in m.currencies:
        abort(message_page(
            ctx, _("This payment method is not available"),
            _("%(method)s does not take payments in %(currency)s. Ask the merchant for another way to pay.",
              method=m.name, currency=currency), status=422))
    return ctx, m


def _require_live(ctx: Ctx) -> None:
    if time.time() > ctx.payload["exp"]:
        abort(expired_link())


def _is_prefetch() -> bool:
    """A HEAD request or a browser's speculative prefetch: opening the link starts a
    payment, so these get no side effect (a prefetch that fails is simply dropped)."""
    purpose = request.headers.get("Sec-Purpose", "") or request.headers.get("Purpose", "")
    return request.method == "HEAD" or purpose.startswith("prefetch")


def _page_url(ctx: Ctx, endpoint: str = "direct.page", external: bool = False) -> str:
    """A URL of this link that keeps the embed rendering (``?embed=1&origin=…``)."""
    url = url_for(endpoint, token=ctx.token, **g.get("embed_args", {}))
    return public_base() + url if external else url


def _parent_url(ctx: Ctx, endpoint: str) -> str:
    """For a hand-over from the payment page (see ``flows.payment.quote_crypto``): a URL
    of the checkout it came from, in a token signed afresh from this one's payload (the
    same checkout id, amount, data and expiry)."""
    payload = {k: v for k, v in ctx.payload.items() if k not in ("mode", "paymentTypeId", "parent")}
    token = tokens.sign_checkout({**payload, "cid": ctx.payload["parent"]})
    return url_for(endpoint, token=token, **g.get("embed_args", {}))


def _to_parent(ctx: Ctx) -> Response:
    """A hand-over that is no longer in flight: its checkout's way back asks the gateway,
    records the outcome there and takes the customer on (to the merchant, or to the
    payment page to try again); one that never started: the payment page."""
    endpoint = "pay.page" if ctx.checkout.state == st.OPEN else "pay.back"
    return redirect(_parent_url(ctx, endpoint), code=303)


def _locale() -> str:
    return g.get("locale") or i18n.select_locale()


# -- pages ---------------------------------------------------------------------------------
def _fields_page(ctx: Ctx, m: apm.Method, fields: list[apm.Field], form: CheckoutForm,
                 notice: str | None = None, status: int = 200) -> Response:
    inputs = field_inputs(form, fields)
    cancel = _page_url(ctx, "direct.cancel") if ctx.payload.get("cancelUrl") else None
    return Response(render_template(
        "direct_fields.html", ctx=ctx, p=ctx.payload, theme=theme_of(ctx), method=m, form=form,
        inputs=inputs, notice=notice, action=_page_url(ctx), cancel_url=cancel), status)


def _quote_form(ctx: Ctx, **kwargs) -> CheckoutForm:
    return CheckoutForm(meta={"csrf_context": f"{ctx.id}:quote"}, **kwargs)


def _network_name(network: str) -> str:
    return network.capitalize() if network.islower() else network  # "bitcoin" -> "Bitcoin"; "ERC20" stays


def payment_uri(quote: CryptoQuote) -> str:
    """What the QR code holds: a BIP 21 URI for bitcoin (address and amount); for other
    assets the address alone, which every wallet reads."""
    if quote.asset.upper() == "BTC":
        return f"bitcoin:{quote.address}?amount={quote.amount}"
    return quote.address


def qr_data_uri(text: str) -> tuple[str, int]:
    """An SVG QR code of ``text`` as a ``data:`` URI (the CSP admits ``img-src data:``),
    and its side in pixels. Dark on white with the standard quiet zone, so it scans on
    any theme."""
    qr = segno.make(text, error="m")
    scale = 4
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=scale, border=4, dark="#000", light="#fff", xmldecl=False)
    side = qr.symbol_size(scale=scale, border=4)[0]
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"), side


def _crypto_page(ctx: Ctx, m: apm.Method, quote: CryptoQuote, status: int = 200,
                 expired: bool = False) -> Response:
    left = 0 if expired else quote.seconds_left()
    qr, side = qr_data_uri(payment_uri(quote))
    return Response(render_template(
        "direct_crypto.html", ctx=ctx, p=ctx.payload, theme=theme_of(ctx), method=m, quote=quote,
        network=_network_name(quote.network or m.network or ""), qr=qr, qr_side=side, seconds_left=left,
        clock=i18n.clock(left),
        expired=expired, check_url=_page_url(ctx, "direct.back"), refresh=current_app.config["PENDING_REFRESH"],
        quote_url=_page_url(ctx, "direct.new_quote"), form=_quote_form(ctx) if expired else None,
        pending_url=merchant_url(ctx, "pending")), status)


def _pending_page(ctx: Ctx, status: int) -> Response:
    """The calm confirming page, checking this link's way back."""
    return Response(render_template(
        "pending.html", ctx=ctx, p=ctx.payload, theme=theme_of(ctx),
        refresh=current_app.config["PENDING_REFRESH"], check_url=_page_url(ctx, "direct.back"),
        pending_url=merchant_url(ctx, "pending"), awaiting_3ds=False), status)


def _state_page(ctx: Ctx, m: apm.Method) -> Response:
    """Opening the link again once a payment has started: where it stands."""
    c = ctx.refresh()
    if c.state in IN_FLIGHT:
        return _render(ctx, m, flow.check(ctx, m), poll=False)
    if ctx.payload.get("parent"):
        return _to_parent(ctx)
    if c.state == st.DECLINED:
        return message_page(ctx, _("This payment was declined"),
                            _("%(method)s declined the payment. Nothing was charged.", method=m.display_name),
                            merchant_url(ctx, "failure"), _("Return to the merchant"))
    if c.state == st.OPEN:
        return redirect(_page_url(ctx), code=303)
    return final_page(ctx) or redirect(_page_url(ctx), code=303)


def _settled(ctx: Ctx) -> Response:
    """On the way back: a final status goes on to the merchant (a hand-over's, through
    the checkout it came from)."""
    c = ctx.refresh()
    if ctx.payload.get("parent") and c.state not in IN_FLIGHT:
        return _to_parent(ctx)
    if c.state == st.COMPLETED:
        return to_merchant(ctx, "success")
    if c.state == st.DECLINED:
        return to_merchant(ctx, "failure")
    if c.state == st.CANCELLED:
        return to_merchant(ctx, "cancel")
    if c.state == st.OPEN:
        return redirect(_page_url(ctx), code=303)
    return _pending_page(ctx, 202)


def _render(ctx: Ctx, m: apm.Method, step: Step, poll: bool = True) -> Response:
    """The page for a flow's step. ``poll``: the way back, answering 202 while the
    payment is still pending (200 when the link is opened again)."""
    if step.checkout is not None:
        ctx.checkout = step.checkout
    waiting = 202 if poll else 200
    if step.kind == "settled":
        return _settled(ctx)
    if step.kind == "merchant":
        return to_merchant(ctx, step.result)
    if step.kind == "open":
        return redirect(_page_url(ctx), code=303)
    if step.kind == "expired":
        return _crypto_page(ctx, m, step.quote, expired=True)
    if step.kind == "refused":  # the merchant's Payment Check said no; opening again asks again
        return _refused(ctx)
    if step.kind == "limited":  # a card-testing limit: nothing started; opening again asks again
        return _limited(ctx, step)
    if step.kind == "quote":
        if request.method == "POST":
            return redirect(_page_url(ctx), code=303)
        return _crypto_page(ctx, m, step.quote)
    if step.kind == "handover":
        if request.method == "POST":  # the customer's fields: a page of ours goes on (see direct.bank)
            return redirect(_page_url(ctx, "direct.bank"), code=303)
        return redirect(step.url, code=303)  # no page of ours when none is needed
    if step.kind == "pending":
        if step.quote is not None:
            return _crypto_page(ctx, m, step.quote, status=waiting)
        return _pending_page(ctx, waiting)
    return _state_page(ctx, m)


def _refused(ctx: Ctx) -> Response:
    return message_page(ctx, _("The shop could not accept this payment"),
                        _("Nothing was charged. Please try again later or contact the shop."), status=403)


def _limited(ctx: Ctx, step: Step) -> Response:
    """A card-testing limit was reached and nothing started: 429 with when to try again.
    The fields form's post goes on to the fields page, which says it (post/redirect/get)."""
    if request.endpoint == "direct.submit":
        keep_draft(ctx, {**drafts.of_form("direct", status=429), **limited_draft(step)})
        return redirect(_page_url(ctx), code=303)
    response = message_page(ctx, _("Please try again later"), limited_notice(step.retry_at, step.limit), status=429)
    response.headers["Retry-After"] = str(max(retry_after(step.retry_at), 1))
    return response


def _start(ctx: Ctx, m: apm.Method, values: dict) -> Response:
    step = flow.start(ctx, m, values, ip=request.remote_addr, locale=_locale(),
                      back_url=_page_url(ctx, "direct.back", external=True))
    if step.kind == "pending" and step.quote is None:
        return _pending_page(ctx, 202)
    return _render(ctx, m, step)


# -- routes --------------------------------------------------------------------------------
@bp.get("/d/<token>")
def page(token: str):
    """The direct link: straight on to the method, unless fields are missing."""
    ctx, m = _context(token)
    if ctx.checkout.state != st.OPEN or ctx.payload.get("parent"):  # a hand-over never starts here
        return _state_page(ctx, m)
    _require_live(ctx)
    if _is_prefetch():
        return Response(status=503 if request.method != "HEAD" else 200)
    data = ctx.data
    missing = apm.missing_fields(m, data)
    draft = drafts.fresh(ctx.checkout.form_draft, "direct", since=ctx.checkout.updated_at)
    if draft is not None and drafts.status(draft) == 403:  # the Payment Check said no: not asked again by a GET
        return _refused(ctx)
    if missing:
        if draft is not None:  # the fields as the customer last sent them (post/redirect/get)
            form = drafts.restore(fields_form(ctx.id, missing, "direct", formdata=drafts.formdata(draft)), draft)
            notice, status = draft.get("notice"), drafts.status(draft)
            wait = retry_after(draft.get("retryAt")) if status == 429 else 0
            if status == 429:  # a limit was reached: when to try again, until that time comes
                notice, status = (limited_notice(draft["retryAt"], draft.get("limit")), 429) if wait else (None, 200)
            fields_page = _fields_page(ctx, m, missing, form, notice=notice, status=status)
            if status == 429:
                fields_page.headers["Retry-After"] = str(wait)
            return fields_page
        form = fields_form(ctx.id, missing, "direct", formdata=None,
                           data={f.name: data.get(f.name, "") for f in missing})
        errors = apm.validate_fields(m, data, payout=False)
        for f in missing:
            if data.get(f.name):  # given but refused: say why; merely missing: just ask
                form[f.name].errors = [errors[f.name]]
        return _fields_page(ctx, m, missing, form)
    return _start(ctx, m, data)


@bp.post("/d/<token>")
def submit(token: str):
    """The missing fields: validated, then on to the method."""
    ctx, m = _context(token)
    refuse_cross_site()
    if ctx.checkout.state != st.OPEN or ctx.payload.get("parent"):
        return redirect(_page_url(ctx), code=303)  # the link's page says where it stands
    _require_live(ctx)
    data = ctx.data
    asked = apm.missing_fields(m, data)
    if not asked:
        return _submitted(ctx, m, _start(ctx, m, data))
    form = fields_form(ctx.id, asked, "direct")
    csrf_ok = form.validate()
    values = {**data, **{f.name: (form[f.name].data or "").strip() for f in asked}}
    errors = apm.validate_fields(m, values, payout=False)
    for name, message in errors.items():
        if name in form:
            form[name].errors = [message]
    if not csrf_ok or errors:
        keep_draft(ctx, drafts.of_form("direct", form, status=422, notice=_("Please check the highlighted fields.")))
        return redirect(_page_url(ctx), code=303)
    return _submitted(ctx, m, _start(ctx, m, values))


def _submitted(ctx: Ctx, m: apm.Method, answer: Response) -> Response:
    """Post/redirect/get for the fields page: the answer to a form post is a redirect —
    to the merchant, the method's page (through ``direct.bank``), a quote, or this link's
    page, which shows where the payment stands; the Payment Check's refusal is kept for
    that page."""
    if answer.status_code in (301, 302, 303):
        return answer
    c = ctx.refresh()
    if answer.status_code == 403:
        keep_draft(ctx, drafts.outcome(None, status=403, name="direct"))
    elif c.state in IN_FLIGHT and c.bank_step:
        return redirect(_page_url(ctx, "direct.bank"), code=303)
    return redirect(_page_url(ctx), code=303)


@bp.get("/d/<token>/bank")
def bank(token: str):
    """On to the method's page after the fields were sent (their post redirects here)."""
    ctx, m = _context(token)
    step = ctx.checkout.bank_step
    if ctx.checkout.state not in IN_FLIGHT or not step:
        return _state_page(ctx, m)
    return hand_over(step["url"], m.display_name, _("Taking you to %(method)s…", method=m.display_name), theme_of(ctx))


@bp.get("/d/<token>/return")
def back(token: str):
    """Back from the method's page, or the crypto page's check: ask the gateway, never
    trust the query string. 202 while pending; the merchant's URL once final."""
    ctx, m = _context(token)
    if ctx.checkout.state not in IN_FLIGHT:
        return _settled(ctx)
    return _render(ctx, m, flow.check(ctx, m))


@bp.post("/d/<token>/quote")
def new_quote(token: str):
    """A new crypto quote once the gateway says the old one expired (re-claims the
    checkout; a quote still open, or paid, is kept)."""
    ctx, m = _context(token)
    refuse_cross_site()
    c = ctx.checkout
    if not apm.is_crypto(m) or c.state != st.PENDING or not c.transaction_id or ctx.payload.get("parent"):
        return redirect(_page_url(ctx), code=303)  # a hand-over's new quote is chosen again on its payment page
    _require_live(ctx)
    if not _quote_form(ctx).validate():
        return redirect(_page_url(ctx), code=303)
    step = flow.new_quote(ctx, m, ip=request.remote_addr, locale=_locale(),
                          back_url=_page_url(ctx, "direct.back", external=True))
    return _submitted(ctx, m, _render(ctx, m, step))


@bp.get("/d/<token>/cancel")
def cancel(token: str):
    """Back to the merchant's cancelUrl from the fields page (nothing started yet)."""
    ctx, m = _context(token)
    if _is_prefetch():
        return Response(status=503 if request.method != "HEAD" else 200)
    if ctx.payload.get("parent"):
        return _state_page(ctx, m)
    step = flow.cancel(ctx)
    if step.kind == "merchant":
        return to_merchant(ctx, "cancel")
    return _state_page(ctx, m)
