"""The page kit every customer blueprint shares: loading a checkout from its token, the
embed (iframe) arguments, problem and message pages, the way back to the merchant with
the signed result, the hand-over to a gateway's page and the cross-site guard."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import results, security, themes, tokens
from ..assets import asset_url
from ..cards import BRAND_NAMES
from ..flows.payment import CANCELLED_STATUS, EXPIRED_STATUS, ResultKind, Session, open_session, pending_status
from ..forms import CardForm
from ..merchants import Merchant
from ..payouts import Payout, sign_token
from ..store import AWAITING_3DS, CANCELLED, COMPLETED, EXPIRED
from ..urls import gateway_origin, public_base

#: Token modes: a payment page, a cashier, a direct link (an alternative method's own page).
ALL_MODES = ("payment", "cashier", "apm")


@dataclass
class Ctx(Session):
    """A checkout as a page sees it: the flows' session and the token it came by."""

    token: str = ""


# -- problem and message pages --------------------------------------------------------------
def problem_page(title: str, message: str, status: int) -> Response:
    """A page about the link itself (invalid, expired, not here), without a theme."""
    security.nonce()
    security.no_store()
    return Response(render_template("message.html", title=title, message=message), status)


def invalid_link() -> Response:
    return problem_page(_("This payment link is not valid"),
                        _("The link may be incomplete or altered. Ask the merchant for a new one."), 404)


def expired_link() -> Response:
    return problem_page(_("This payment link has expired"),
                        _("Ask the merchant for a new link to complete your payment."), 410)


def theme_of(ctx: Ctx) -> themes.Theme:
    try:
        return themes.resolve(ctx.payload.get("theme"), ctx.payload.get("page"))
    except themes.ThemeError:  # a preset changed since the link was made: fall back
        return themes.resolve(None, None)


def message_page(ctx: Ctx, title: str, message: str, link: str | None = None,
                 link_text: str | None = None, status: int = 200) -> Response:
    return Response(render_template("message.html", title=title, message=message, link=link,
                                    link_text=link_text, theme=theme_of(ctx), p=ctx.payload), status)


def final_page(ctx: Ctx) -> Response | None:
    """The page of a checkout that was paid or cancelled (None for any other state)."""
    c = ctx.checkout
    if c.state == COMPLETED:
        return message_page(ctx, _("This payment is complete"),
                            _("This link has already been paid. You will not be charged again."),
                            merchant_link(ctx, "success"), _("Return to the merchant"))
    if c.state == CANCELLED:
        return message_page(ctx, _("This payment was cancelled"), _("Nothing was charged."),
                            merchant_link(ctx, "cancel"), _("Return to the merchant"))
    if c.state == EXPIRED:  # past its expiry, or expired by the merchant (POST /checkout/<id>/expire)
        return expired_page(ctx)
    return None


def expired_page(ctx: Ctx) -> Response:
    """An expired checkout, in the merchant's theme and name, with the way back to the
    merchant (its cancel URL, else its failure URL, with the expired result)."""
    return message_page(ctx, _("This payment link has expired"),
                        _("Nothing was charged. Ask the merchant for a new link to complete your payment."),
                        merchant_link(ctx, "cancel"), _("Return to the merchant"), status=410)


def pending_page(ctx: Ctx, check_url: str, status: int = 202) -> Response:
    """The calm confirming page: it checks ``check_url`` until the payment is final."""
    return Response(render_template(
        "pending.html", ctx=ctx, p=ctx.payload, theme=theme_of(ctx),
        refresh=current_app.config["PENDING_REFRESH"], check_url=check_url,
        pending_url=merchant_link(ctx, "pending"), awaiting_3ds=ctx.checkout.state == AWAITING_3DS), status)


def decline_reason(code: int | None, reason: str | None) -> str:
    """The gateway's reason in the customer's language when we know the code."""
    known = {5051: _("Insufficient Funds"), 5206: _("3-D Secure authentication failed"),
             5004: _("3-D Secure was not completed in time"), 5003: _("The quote expired"),
             5054: _("Expired card"), 5082: _("Incorrect security code")}
    return known.get(code) or reason or _("no reason given")


# -- loading a checkout ---------------------------------------------------------------------
def embed_args(merchant: Merchant) -> dict[str, str]:
    """``?embed=1&origin=…``: the iframe rendering, for a parent page on one of the
    merchant's allowed origins (the exact origin results are posted to)."""
    if request.args.get("embed") != "1":
        return {}
    named = request.args.get("origin")
    origin = security.origin_of(named)  # None for one no browser sends (``http://[``): refused below
    if not named and len(exact := [o for o in merchant.allowed_origins if not o.endswith(":*")]) == 1:
        origin = exact[0]
    if not origin or not merchant.origin_allowed(origin):
        abort(problem_page(_("This checkout cannot be shown here"),
                           _("This site is not allowed to embed the merchant's checkout."), 403))
    return {"embed": "1", "origin": origin}


def frame_for(merchant: Merchant) -> None:
    """Locale-independent page set-up: nonce, no-store, embed arguments and framing."""
    g.merchant_name = merchant.name or merchant.public_id
    security.nonce()
    security.no_store()
    g.embed_args = embed_args(merchant)
    security.allow_framing([g.embed_args["origin"]] if g.embed_args else merchant.allowed_origins)


def load_context(token: str, allow_expired: bool = False, modes: tuple[str, ...] = ("payment",),
                 create: bool | None = None) -> Ctx:
    """Verify the token and set up the page: locale, framing, form targets, store row.
    A bad or expired token, or one of another ``mode`` than these pages serve, ends
    the request with a page that says so. ``create``: make the checkout's row now if it
    is not made yet (default: for a POST; a GET that only shows a page writes nothing)."""
    g.locale = None
    try:
        payload = tokens.load_checkout(token, allow_expired=allow_expired)
    except tokens.TokenExpired:
        try:  # say it in the link's language when the token is still readable
            g.locale = tokens.load_checkout(token, allow_expired=True).get("locale")
        except tokens.TokenError:
            pass
        abort(expired_link())
    except tokens.TokenError:
        abort(invalid_link())
    merchant = current_app.extensions["checkout.merchants"].get(payload.get("m", ""))
    if merchant is None:
        abort(invalid_link())
    g.locale = payload.get("locale")
    frame_for(merchant)
    if payload.get("frameOrigin") and (g.embed_args.get("origin") != payload["frameOrigin"]
                                       or request.headers.get("Sec-Fetch-Dest") == "document"):
        # An unsigned widget checkout lives only in the frame of the page that asked for it.
        abort(problem_page(_("This checkout cannot be shown here"), _("Open the payment from the shop's page."), 403))
    if payload.get("mode", "payment") not in modes:
        abort(problem_page(_("This payment method is not available yet"),
                           _("Ask the merchant for another way to pay."), 501))
    security.allow_form_action(*(payload.get(k) for k in ("successUrl", "failureUrl", "pendingUrl", "cancelUrl")),
                               gateway_origin())
    s = open_session(payload, merchant, create=request.method != "GET" if create is None else create)
    return Ctx(payload=s.payload, merchant=s.merchant, checkout=s.checkout, saved=s.saved, token=token)


def refuse_cross_site(message: str | None = None) -> None:
    """Form posts must come from our own pages (an iframe of ours counts)."""
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    ours = security.origin_of(public_base())
    if site in ("cross-site", "same-site") or (origin and origin != "null" and origin.lower() != ours):
        abort(problem_page(_("This form cannot be sent from another site"),
                           message or _("Open the payment link again and pay from there."), 403))


def pay_url(endpoint: str, ctx: Ctx, external: bool = False, **values) -> str:
    """A URL of this checkout that keeps the embed rendering."""
    url = url_for(endpoint, token=ctx.token, **g.get("embed_args", {}), **values)
    return public_base() + url if external else url


# -- back to the merchant -------------------------------------------------------------------
def _result(ctx: Ctx, status: str | None = None, status_code: int | None = None) -> dict:
    c = ctx.checkout
    return {"invoiceId": ctx.payload.get("invoiceId"), "transactionId": c.transaction_id,
            "status": status or c.status, "statusCode": status_code if status is not None else c.status_code,
            "amount": ctx.payload["amount"], "currency": ctx.payload["currency"],
            "reasonCode": c.reason_code, "reason": c.reason}


def result_for(ctx: Ctx, kind: ResultKind) -> dict:
    """The result fields the merchant gets for ``kind``."""
    c = ctx.checkout
    if kind == "pending":
        return _result(ctx, *pending_status(c))
    if kind == "cancel":
        return _result(ctx, *(EXPIRED_STATUS if c.state == EXPIRED else CANCELLED_STATUS))
    return _result(ctx)


def merchant_url(ctx: Ctx, kind: ResultKind) -> str:
    """successUrl / failureUrl / pendingUrl / cancelUrl with the signed result."""
    p = ctx.payload
    url = {"success": p["successUrl"], "failure": p["failureUrl"],
           "pending": p.get("pendingUrl") or p["successUrl"],
           "cancel": p.get("cancelUrl") or p["failureUrl"]}[kind]
    return results.with_params(url, results.signed_params(result_for(ctx, kind), ctx.merchant.secret))


def merchant_link(ctx: Ctx, kind: ResultKind) -> str:
    """Where "return to the merchant" goes: through ``pay.finish``, which signs the
    result when the customer follows it (a page may stay open longer than a merchant's
    ``max_age``) and, inside an iframe, hands it to the parent window."""
    return pay_url("pay.finish", ctx, kind=kind)


RESULT_TITLES = {"success": lambda: _("Payment complete"), "failure": lambda: _("Payment declined"),
                 "pending": lambda: _("Payment being confirmed"), "cancel": lambda: _("Payment cancelled")}


def embed_result(ctx: Ctx, kind: ResultKind) -> Response:
    """The last page inside an iframe: posts the signed result to the parent window."""
    fields = results.signed_params(result_for(ctx, kind), ctx.merchant.secret)
    return Response(render_template("embed_result.html", kind=kind, fields=fields, p=ctx.payload,
                                    theme=theme_of(ctx), title=RESULT_TITLES[kind]()))


def to_merchant(ctx: Ctx, kind: ResultKind) -> Response:
    if g.get("embed_args"):
        return embed_result(ctx, kind)
    return redirect(merchant_url(ctx, kind), code=303)


def hand_over(url: str, title: str, message: str, theme: themes.Theme | None = None) -> Response:
    """Send the customer on to the gateway's page (Redirect 3-D Secure, a payment method)
    after a form POST: a page that goes there by itself, by a script, or by a Continue
    link without scripts; not a 303. Browsers check a redirect that answers a form POST
    (and every hop after it) against the *form page's* ``form-action``, which cannot name
    every host a gateway sends its customers to (the seed's API is on api., its payment
    pages on checkout.); a link or a script's navigation is no form submission, and the
    URL goes exactly as the gateway gave it."""
    return Response(render_template("handover.html", url=url, title=title, message=message, theme=theme))


def payout_links(payout: Payout, expires: int) -> dict[str, str]:
    """The customer's payout forms (``iframeUrls``), valid until ``expires``."""
    token = sign_token(payout, expires)
    base = public_base()
    return {"card": base + url_for("payout.card", token=token), "apm": base + url_for("payout.apm", token=token)}


# -- template helpers -----------------------------------------------------------------------
#: The footer icons' alternative texts (translated when a page draws them, not on every
#: render of a page without footer icons).
FOOTER_ICON_NAMES = {
    "secure-connection": _l("Secure connection"), "verified-by-visa": _l("Visa Secure"),
    "mastercard-secure-code": _l("Mastercard Identity Check"), "mir-accept": _l("Mir Accept"),
    "american-express": _l("American Express SafeKey"), "pci-dss": _l("PCI DSS compliant")}


def _page_names() -> dict:
    return {
        "brand_names": BRAND_NAMES,
        "footer_icon_names": FOOTER_ICON_NAMES,
        "merchant_name": g.get("merchant_name", ""),
        "embed_args": g.get("embed_args") or {},
        # Where the frame asks, when the widget is closed, how the checkout stands.
        "standing_url": url_for("pay.standing_json", token=request.view_args["token"], **g.embed_args)
        if g.get("embed_args") and request.blueprint in ("pay", "direct") and "token" in (request.view_args or {})
        else None,
    }


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


def brand_icons() -> dict[str, str]:
    """The URL of each card brand's mark, for card-input.js (the URLs are content-hashed)."""
    return {brand: asset_url(f"brands/{brand}.svg") for brand in BRAND_NAMES}


def init_app(app: Flask) -> None:
    app.context_processor(_page_names)
    app.add_template_global(brand_icons)
    app.add_template_global(form_first_error)

