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
import logging
import time
from datetime import UTC, datetime

import segno
from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms import StringField

from .. import i18n, tokens
from .. import methods as apm
from .. import store as st
from ..forms import CheckoutForm
from ..gateway import GatewayError, Outcome, gateway_for
from ..gateway.base import CryptoQuote
from ..urls import public_base
from . import pay
from .pay import Ctx

bp = Blueprint("direct", __name__)
log = logging.getLogger(__name__)

IN_FLIGHT = (st.PROCESSING, st.AWAITING_3DS, st.PENDING)
#: Browser autofill tokens for the fields methods ask for (HTML's autocomplete names).
AUTOCOMPLETE = {"firstName": "given-name", "lastName": "family-name", "phone": "tel", "email": "email"}
INPUTMODE = {"tel": "tel", "email": "email"}


# -- context -------------------------------------------------------------------------------
def _context(token: str) -> tuple[Ctx, apm.Method]:
    """The checkout of a direct link and its method. The link may be past its ``exp``
    here: a payment already under way can still be followed; starting one cannot
    (:func:`_require_live`)."""
    ctx = pay.load_context(token, allow_expired=True, modes=("apm",))
    m = apm.method(ctx.payload.get("paymentTypeId"))
    currency = ctx.payload["currency"]
    if m is None or not m.payin:
        abort(pay._message_page(ctx, _("This payment method is not available"),
                                _("Ask the merchant for another way to pay."), status=422))
    if m.currencies and currency not in m.currencies:
        abort(pay._message_page(
            ctx, _("This payment method is not available"),
            _("%(method)s does not take payments in %(currency)s. Ask the merchant for another way to pay.",
              method=m.name, currency=currency), status=422))
    return ctx, m


def _require_live(ctx: Ctx) -> None:
    if time.time() > ctx.payload["exp"]:
        abort(pay._problem_page(_("This payment link has expired"),
                                _("Ask the merchant for a new link to complete your payment."), 410))


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
    """For a hand-over from the payment page (see ``pay.crypto_quote``): a URL of the
    checkout it came from, in a token signed afresh from this one's payload (the same
    checkout id, amount, data and expiry)."""
    payload = {k: v for k, v in ctx.payload.items() if k not in ("mode", "paymentTypeId", "parent")}
    token = tokens.sign_checkout({**payload, "cid": ctx.payload["parent"]})
    return url_for(endpoint, token=token, **g.get("embed_args", {}))


def _to_parent(ctx: Ctx) -> Response:
    """A hand-over that is no longer in flight: its checkout's way back asks the gateway,
    records the outcome there and takes the customer on (to the merchant, or to the
    payment page to try again); one that never started: the payment page."""
    endpoint = "pay.page" if ctx.checkout.state == st.OPEN else "pay.back"
    return redirect(_parent_url(ctx, endpoint), code=303)


def missing_fields(m: apm.Method, values: dict) -> list[apm.Field]:
    """The method's fields that ``values`` (the request's ``data``) lacks or has a value
    the method refuses: the only ones a customer is asked for (here and on the payment
    page); the rest of ``data`` stands as the merchant sent it."""
    errors = apm.validate_fields(m, values, payout=False)
    return [f for f in m.fields_for(payout=False) if f.name in errors]



# -- pages ---------------------------------------------------------------------------------
def fields_form(ctx: Ctx, fields: list[apm.Field], purpose: str = "direct", **kwargs) -> CheckoutForm:
    """A form of just these fields, its CSRF token signed for this checkout and ``purpose``."""
    attrs = {f.name: StringField(f.label) for f in fields}
    form_class = type("DirectFieldsForm", (CheckoutForm,), attrs)
    return form_class(meta={"csrf_context": f"{ctx.id}:{purpose}"}, **kwargs)



def field_inputs(form: CheckoutForm, fields: list[apm.Field]) -> list[tuple]:
    """(form field, input attributes) of each asked field, for the ``input`` macro."""
    return [(form[f.name], {"autocomplete": AUTOCOMPLETE.get(f.name, "off"), "type": f.kind,
                            "inputmode": INPUTMODE.get(f.kind)}) for f in fields]


def _fields_page(ctx: Ctx, m: apm.Method, fields: list[apm.Field], form: CheckoutForm,
                 notice: str | None = None, status: int = 200) -> Response:
    inputs = field_inputs(form, fields)
    cancel = _page_url(ctx, "direct.cancel") if ctx.payload.get("cancelUrl") else None
    return Response(render_template(
        "direct_fields.html", ctx=ctx, p=ctx.payload, theme=pay._theme(ctx), method=m, form=form,
        inputs=inputs, notice=notice, action=_page_url(ctx), cancel_url=cancel), status)


def _quote_form(ctx: Ctx, **kwargs) -> CheckoutForm:
    return CheckoutForm(meta={"csrf_context": f"{ctx.id}:quote"}, **kwargs)


def _seconds_left(quote: CryptoQuote) -> int:
    try:
        at = datetime.fromisoformat(quote.expires_at.replace("Z", "+00:00"))
    except ValueError:
        return 0
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0, int(at.timestamp() - time.time()))


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return (f"{hours}:{rest // 60:02d}" if hours else f"{rest // 60}") + f":{rest % 60:02d}"


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
    left = 0 if expired else _seconds_left(quote)
    qr, side = qr_data_uri(payment_uri(quote))
    return Response(render_template(
        "direct_crypto.html", ctx=ctx, p=ctx.payload, theme=pay._theme(ctx), method=m, quote=quote,
        network=_network_name(quote.network or m.network or ""), qr=qr, qr_side=side, seconds_left=left,
        clock=_clock(left),
        expired=expired, check_url=_page_url(ctx, "direct.back"), refresh=current_app.config["PENDING_REFRESH"],
        quote_url=_page_url(ctx, "direct.new_quote"), form=_quote_form(ctx) if expired else None,
        pending_url=pay.merchant_url(ctx, "pending")), status)


def _pending_page(ctx: Ctx, status: int) -> Response:
    """The calm confirming page, checking this link's way back."""
    return Response(render_template(
        "pending.html", ctx=ctx, p=ctx.payload, theme=pay._theme(ctx),
        refresh=current_app.config["PENDING_REFRESH"], check_url=_page_url(ctx, "direct.back"),
        pending_url=pay.merchant_url(ctx, "pending"), awaiting_3ds=False), status)


def _state_page(ctx: Ctx, m: apm.Method) -> Response:
    """Opening the link again once a payment has started: where it stands."""
    c = ctx.refresh()
    if c.state in IN_FLIGHT:
        return _check(ctx, m, poll=False)
    if ctx.payload.get("parent"):
        return _to_parent(ctx)
    if c.state == st.DECLINED:
        return pay._message_page(ctx, _("This payment was declined"),
                                 _("%(method)s declined the payment. Nothing was charged.", method=m.name),
                                 pay.merchant_url(ctx, "failure"), _("Return to the merchant"))
    if c.state == st.OPEN:
        return redirect(_page_url(ctx), code=303)
    return pay.render_state(ctx)  # completed or cancelled: says so, with the way back


def _settled(ctx: Ctx) -> Response:
    """On the way back: a final status goes on to the merchant (a hand-over's, through
    the checkout it came from)."""
    c = ctx.refresh()
    if ctx.payload.get("parent") and c.state not in IN_FLIGHT:
        return _to_parent(ctx)
    if c.state == st.COMPLETED:
        return pay._to_merchant(ctx, "success")
    if c.state == st.DECLINED:
        return pay._to_merchant(ctx, "failure")
    if c.state == st.CANCELLED:
        return pay._to_merchant(ctx, "cancel")
    if c.state == st.OPEN:
        return redirect(_page_url(ctx), code=303)
    return _pending_page(ctx, 202)


# -- the gateway ---------------------------------------------------------------------------
def _record(ctx: Ctx, outcome: Outcome, from_states: tuple[str, ...]) -> None:
    """Store a final outcome (completed or declined)."""
    fields = {"transaction_id": outcome.transaction_id, "status": outcome.status,
              "status_code": outcome.status_code, "reason": outcome.reason or outcome.message,
              "reason_code": outcome.reason_code}
    if outcome.kind == "completed":
        pay.store().transition(ctx.id, from_states, st.COMPLETED, **fields)
    else:
        fields.update(status=outcome.status or "Declined", status_code=outcome.status_code or 99)
        pay.store().transition(ctx.id, from_states, st.DECLINED, **fields)


def _start(ctx: Ctx, m: apm.Method, values: dict, from_states: tuple[str, ...] = (st.OPEN,),
           **reset) -> Response:
    """Claim the checkout (never two payments at once), call the gateway's Link and take
    the customer on: to the method's page, to the crypto page, or straight to the
    merchant when the method answered at once."""
    if not pay.store().transition(ctx.id, from_states, st.PROCESSING, **reset):
        return _state_page(ctx, m)  # another request started it
    back = _page_url(ctx, "direct.back", external=True)
    data = {**(ctx.payload.get("data") or {}), **apm.clean_fields(m, values, payout=False)}
    gateway = gateway_for(ctx.merchant)
    try:
        if ctx.payload.get("invoiceId") and pay.store().has_siblings(ctx.id, ctx.merchant.public_id, ctx.invoice):
            # Other links share this invoice: note their transactions, so that a Link
            # whose answer never came is not confused with one of theirs.
            pay.store().add_seen(ctx.id, [o.transaction_id for o in gateway.status_invoice(ctx.invoice)])
        outcome = gateway.link(
            amount=ctx.payload["amount"], currency=ctx.payload["currency"],
            description=ctx.payload.get("description", ""), payment_type_id=m.type_id,
            invoice_id=ctx.invoice, account_id=ctx.payload.get("accountId"),
            ip=ctx.payload.get("ip") or request.remote_addr, data=data, success_url=back, failure_url=back,
            pending_url=back, cancel_url=back, locale=ctx.payload.get("locale") or i18n.select_locale())
    except GatewayError as exc:
        log.warning("checkout %s: Link outcome unknown (%s); pending until the gateway says", ctx.id, exc)
        pay.store().transition(ctx.id, (st.PROCESSING,), st.PENDING)
        return _pending_page(ctx, 202)
    finally:
        gateway.close()
    if outcome.final:
        _record(ctx, outcome, (st.PROCESSING,))
        return _settled(ctx)
    if not pay.store().transition(ctx.id, (st.PROCESSING,), st.PENDING, transaction_id=outcome.transaction_id,
                                  status=outcome.status, status_code=outcome.status_code):
        return _state_page(ctx, m)
    if apm.is_crypto(m) and outcome.crypto:
        if request.method == "POST":
            return redirect(_page_url(ctx), code=303)
        return _crypto_page(ctx, m, outcome.crypto)
    if outcome.redirect_url:
        if request.method == "POST":  # the customer's fields: a page goes on (see pay.hand_over)
            return pay.hand_over(outcome.redirect_url, m.name, _("Taking you to %(method)s…", method=m.name),
                                 pay._theme(ctx))
        return redirect(outcome.redirect_url, code=303)  # no page of ours when none is needed
    return _pending_page(ctx, 202)


def _check(ctx: Ctx, m: apm.Method, poll: bool) -> Response:
    """Ask the gateway where the payment stands and show it; ``poll``: the way back,
    answering 202 while the payment is still pending."""
    c = ctx.checkout
    waiting = 202 if poll else 200
    busy = c.state == st.PROCESSING and time.time() - c.updated_at < current_app.config["GATEWAY_TIMEOUT"] + 5
    if busy:
        return _pending_page(ctx, waiting)
    gateway = gateway_for(ctx.merchant)
    try:
        outcome = pay._find_charge(ctx, gateway)
    except GatewayError as exc:
        log.warning("checkout %s: status unknown (%s)", ctx.id, exc)
        return _pending_page(ctx, waiting)
    finally:
        gateway.close()
    if outcome is None:
        if time.time() - c.updated_at >= current_app.config["PENDING_GRACE"] and \
                pay.store().transition(ctx.id, (st.PENDING, st.PROCESSING), st.OPEN):
            return redirect(_page_url(ctx), code=303)  # nothing was made: start again
        return _pending_page(ctx, waiting)
    if outcome.kind == "declined" and apm.is_crypto(m) and outcome.crypto and _seconds_left(outcome.crypto) <= 0 \
            and not ctx.payload.get("parent"):  # a hand-over's expired quote is a decline of its checkout
        if outcome.transaction_id and not c.transaction_id:
            pay.store().note(ctx.id, transaction_id=outcome.transaction_id)
        return _crypto_page(ctx, m, outcome.crypto, expired=True)
    if outcome.final:
        _record(ctx, outcome, IN_FLIGHT)
        return _settled(ctx)
    if outcome.transaction_id and not c.transaction_id:
        pay.store().note(ctx.id, transaction_id=outcome.transaction_id, status=outcome.status,
                         status_code=outcome.status_code)
    if apm.is_crypto(m) and outcome.crypto:
        return _crypto_page(ctx, m, outcome.crypto, status=waiting)
    return _pending_page(ctx, waiting)


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
    data = ctx.payload.get("data") or {}
    missing = missing_fields(m, data)
    if missing:
        form = fields_form(ctx, missing, formdata=None, data={f.name: data.get(f.name, "") for f in missing})
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
    pay._refuse_cross_site()
    if ctx.checkout.state != st.OPEN or ctx.payload.get("parent"):
        return _state_page(ctx, m)
    _require_live(ctx)
    data = ctx.payload.get("data") or {}
    asked = missing_fields(m, data)
    if not asked:
        return _start(ctx, m, data)
    form = fields_form(ctx, asked)
    csrf_ok = form.validate()
    values = {**data, **{f.name: (form[f.name].data or "").strip() for f in asked}}
    errors = apm.validate_fields(m, values, payout=False)
    for name, message in errors.items():
        if name in form:
            form[name].errors = [message]
    if not csrf_ok or errors:
        return _fields_page(ctx, m, asked, form, notice=_("Please check the highlighted fields."), status=422)
    return _start(ctx, m, values)


@bp.get("/d/<token>/return")
def back(token: str):
    """Back from the method's page, or the crypto page's check: ask the gateway, never
    trust the query string. 202 while pending; the merchant's URL once final."""
    ctx, m = _context(token)
    if ctx.checkout.state not in IN_FLIGHT:
        return _settled(ctx)
    return _check(ctx, m, poll=True)


@bp.post("/d/<token>/quote")
def new_quote(token: str):
    """A new crypto quote once the gateway says the old one expired (re-claims the
    checkout; a quote still open, or paid, is kept)."""
    ctx, m = _context(token)
    pay._refuse_cross_site()
    c = ctx.checkout
    if not apm.is_crypto(m) or c.state != st.PENDING or not c.transaction_id or ctx.payload.get("parent"):
        return _state_page(ctx, m)  # a hand-over's new quote is chosen again on its payment page
    _require_live(ctx)
    if not _quote_form(ctx).validate():
        return redirect(_page_url(ctx), code=303)
    gateway = gateway_for(ctx.merchant)
    try:
        outcome = gateway.status(c.transaction_id)
    except GatewayError as exc:
        log.warning("checkout %s: status unknown (%s)", ctx.id, exc)
        return _pending_page(ctx, 202)
    finally:
        gateway.close()
    expired = outcome.kind == "declined" and outcome.crypto and _seconds_left(outcome.crypto) <= 0
    if not expired:
        return redirect(_page_url(ctx), code=303)  # still open, or settled: the page says which
    return _start(ctx, m, ctx.payload.get("data") or {}, from_states=(st.PENDING,),
                  transaction_id=None, status=None, status_code=None)


@bp.get("/d/<token>/cancel")
def cancel(token: str):
    """Back to the merchant's cancelUrl from the fields page (nothing started yet)."""
    ctx, m = _context(token)
    if _is_prefetch():
        return Response(status=503 if request.method != "HEAD" else 200)
    if ctx.payload.get("parent"):
        return _state_page(ctx, m)
    if pay.store().transition(ctx.id, (st.OPEN,), st.CANCELLED) or ctx.refresh().state == st.CANCELLED:
        return pay._to_merchant(ctx, "cancel")
    return _state_page(ctx, m)
