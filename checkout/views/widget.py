"""Ways into a checkout that a merchant's page starts: ``/widget.js`` (the script-tag
widget), ``/widget/checkout`` (the widget's unsigned ``publicId`` options), signed
redirect links (``/payments/redirect/<publicId>``) and a neutral result page."""
from __future__ import annotations

import dataclasses
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

from .. import assets, i18n, security, tokens, weburl
from ..links import RequestError, link_for, validate_checkout
from ..merchants import URL_KEYS, Merchant
from ..querysign import query_matches
from ..urls import public_base

bp = Blueprint("widget", __name__)

#: The seed's widget options and redirect-link parameters (besides publicId/signature).
WIDGET_FIELDS = ("amount", "currency", "description", "invoiceId", "accountId", "locale")
REDIRECT_FIELDS = (*WIDGET_FIELDS, *URL_KEYS)
RESULT_KINDS = ("success", "failure", "pending", "cancel")


def _page(title: str, message: str, status: int) -> Response:
    security.nonce()
    security.no_store()
    return Response(render_template("message.html", title=title, message=message), status)


def _refuse(title: str, message: str, status: int):
    abort(_page(title, message, status))


def _merchant(public_id: str) -> Merchant | None:
    return current_app.extensions["checkout.merchants"].get(public_id)


def _checkout_url(payload: dict, **query: str) -> str:
    link = link_for(tokens.sign_checkout(payload))
    return link + ("?" + urlencode(query) if query else "")


@bp.get("/widget.js")
def script():
    # One stable URL for every merchant page: cached briefly, revalidated by ETag. Merchants'
    # pages load it with integrity="..." crossorigin="anonymous" (`flask pci inventory`, the
    # hash of these very bytes): Subresource Integrity on another origin's script needs CORS.
    return assets.send(assets.manifest().get("js/widget.js"), "public, max-age=300")


# -- the widget's unsigned options --------------------------------------------------------
def _own_result_urls(merchant: Merchant) -> tuple[dict[str, str], Merchant]:
    """The merchant's default result URLs; where it has none, this checkout's own
    result page (and the merchant's redirect-host rule widened to admit it)."""
    urls = {key: merchant.default_urls.get(key) or public_base() + url_for("widget.result", kind=kind)
            for key, kind in zip(URL_KEYS, RESULT_KINDS, strict=True)}
    own = weburl.parse(public_base())
    if own is None:  # a Host header no browser sends (no PUBLIC_URL): no page of ours to return to
        _refuse(_("This payment cannot be started here"), _("Open the payment from the shop's page."), 400)
    own_host = own.host
    if merchant.redirect_hosts and not all(key in merchant.default_urls for key in URL_KEYS):
        merchant = dataclasses.replace(merchant, redirect_hosts=(*merchant.redirect_hosts, own_host))
    return urls, merchant


@bp.get("/widget/texts")
def texts() -> Response:
    """The widget's own words in the customer's language (``?locale=`` as the widget's
    options give it, else the browser's): widget.js asks for them when it opens its
    dialog, so that they come from the catalogues like every other text, not from the
    script. Public and cacheable: nothing of any checkout."""
    g.locale = request.args.get("locale")
    response = jsonify({
        "lang": i18n.current_lang(), "dir": i18n.text_direction(),
        "title": _("Secure payment"), "close": _("Close"), "frame": _("Payment form"),
        "slow": _("The payment form is taking long to load. You can close this window and try again."),
    })
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"  # asked for from the merchant's page
    if not g.locale:
        response.vary.add("Accept-Language")
    return response


@bp.get("/widget/checkout")
def checkout():
    """``widget.js`` with the seed's public options (no server-side signature): accepted
    only inside an iframe, for a merchant that allows it, on a page of one of its
    allowed origins. Makes a checkout and sends the frame to its embed rendering."""
    not_here = _("This payment cannot be started here")
    security.no_store()
    merchant = _merchant(request.args.get("publicId", ""))
    if merchant is None:
        _refuse(not_here, _("The shop's payment settings are not valid (unknown publicId)."), 404)
    # The explanation may show inside the merchant's frame; it holds nothing secret.
    security.allow_framing(merchant.allowed_origins)
    origin = security.origin_of(request.args.get("origin"))
    if not merchant.allow_unsigned_widget:
        _refuse(not_here, _("This shop only accepts payments its server has prepared."), 403)
    if not origin or not merchant.origin_allowed(origin):
        _refuse(not_here, _("This site is not allowed to take payments for this shop."), 403)
    # Only a browser's frame: every current browser says so (Fetch Metadata); a script
    # that does not is refused, and one that forges it meets the unsigned limits.
    if request.headers.get("Sec-Fetch-Dest") != "iframe":
        _refuse(not_here, _("Open the payment from the shop's page."), 403)
    urls, validating = _own_result_urls(merchant)
    body = {key: request.args[key] for key in WIDGET_FIELDS if request.args.get(key)}
    try:
        payload = validate_checkout({**body, **urls}, validating, current_app.config["TOKEN_LIMIT_AGE"])
    except RequestError as exc:
        return _page(not_here, _("The payment details are not valid: %(problem)s.", problem=str(exc)), 400)
    # Nobody's server vouched for these options: the checkout opens only in a frame on this
    # origin, and the customer's saved cards are not offered (anyone may name an accountId).
    payload.update(unsigned=True, frameOrigin=origin)
    return redirect(_checkout_url(payload, embed="1", origin=origin), code=303)


@bp.get("/widget/result/<kind>")
def result(kind: str):
    """Where a widget checkout ends when the merchant names no result URLs and the page
    was opened outside its frame (inside the frame the result goes to the parent)."""
    if kind not in RESULT_KINDS:
        abort(404)
    titles = {"success": _("Payment complete"), "failure": _("Payment declined"),
              "pending": _("Payment being confirmed"), "cancel": _("Payment cancelled")}
    return _page(titles[kind], _("You can close this window and return to the shop."), 200)


# -- redirect links ---------------------------------------------------------------------
@bp.get("/payments/redirect/<public_id>")
def redirect_link(public_id: str):
    """The seed's Payment via Redirect link, with ``signature``: the seed's HMAC form over
    the other query parameters sorted by name and URL-encoded (as signed results are)."""
    not_valid = _("This payment link is not valid")
    security.no_store()  # the URL carries a signature and the order: never cached, never a referrer
    merchant = _merchant(public_id)
    if merchant is None:
        _refuse(not_valid, _("The link may be incomplete or altered. Ask the merchant for a new one."), 404)
    pairs = list(request.args.items(multi=True))
    if len({key for key, _value in pairs}) != len(pairs):
        _refuse(not_valid, _("The link names a parameter more than once. Ask the merchant for a new one."), 400)
    params = dict(pairs)
    signature = params.pop("signature", None)
    if signature is None and not merchant.allow_unsigned_redirect:
        _refuse(not_valid, _("The link is not signed. Ask the merchant for a new one."), 403)
    if signature is not None and not query_matches(params, merchant.secret, signature):
        _refuse(not_valid, _("The link may be incomplete or altered. Ask the merchant for a new one."), 403)
    body = {key: params[key] for key in REDIRECT_FIELDS if params.get(key)}
    try:
        payload = validate_checkout(body, merchant, current_app.config["TOKEN_LIMIT_AGE"])
    except RequestError as exc:
        return _page(not_valid, _("The payment details are not valid: %(problem)s.", problem=str(exc)), 400)
    if signature is None:
        payload["unsigned"] = True  # no saved cards for an accountId anyone could have typed
    return redirect(_checkout_url(payload), code=303)
