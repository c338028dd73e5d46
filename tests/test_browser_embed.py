"""Embedding in real Chromium, the way merchants do it: the merchant's page on one loopback
host name (``localhost``) and the checkout on another (``127.0.0.1``), which browsers
treat as different sites, with the sandbox gateway (and its ACS page) as its own server,
and third-party cookies blocked (the first test proves they are)."""
from __future__ import annotations

import json
import os
import re
import secrets
import time
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from conftest import CHROMIUM_FLAGS, EXTRA_FIELDS, LiveServer, serve_site
from flask import Flask, Response, request

from checkout import results

pytestmark = pytest.mark.browser
SECRET = "test_secret"
RESULT_TYPES = ("checkout:success", "checkout:failure", "checkout:pending", "checkout:cancel")
NO_EXTRA_FIELDS = {"merchantTitle": "Shop"}  # the card form without page.fields sections


# -- servers -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The checkout on 127.0.0.1 (the sandbox gateway on its own port): the demo merchant, and
    ``pbid_strict``, whose pages only 127.0.0.1 may frame."""
    tmp = tmp_path_factory.mktemp("embed")
    merchants = tmp / "merchants.json"
    merchants.write_text(json.dumps([
        {"publicId": "pbid_test", "secret": SECRET, "name": "Demo Store", "allowUnsignedWidget": True,
         "allowedOrigins": ["http://localhost:*", "http://127.0.0.1:*"]},
        {"publicId": "pbid_strict", "secret": "strict_secret", "allowedOrigins": ["http://127.0.0.1:*"]},
    ]))
    yield from serve_site(tmp, "standalone", MERCHANTS_FILE=str(merchants))


SHOP_IFRAME = """<!doctype html><title>Shop</title>
<h1>Shop</h1>
<iframe id="checkout" title="Payment form" src="{src}" style="width:420px;height:300px;border:0"></iframe>
<script>
  // Every message this window receives, wherever it comes from (the checkout posts only to us).
  window.messages = [];
  var frame = document.getElementById("checkout");
  window.addEventListener("message", function (e) {{
    window.messages.push({{origin: e.origin, fromFrame: e.source === frame.contentWindow, data: e.data}});
    if (e.origin === {checkout_origin} && e.source === frame.contentWindow && e.data.type === "checkout:resize") {{
      frame.style.height = e.data.height + "px";
    }}
  }});
</script>"""

SHOP_WIDGET = """<!doctype html><title>Shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<h1>Shop</h1>
<button id="pay" type="button">Pay</button>
<script src="{checkout}/widget.js" nonce="{nonce}"></script>
<script nonce="{nonce}">
  window.calls = [];
  document.getElementById("pay").addEventListener("click", function () {{
    var promise = new Checkout().charge({options},
      function (result) {{ calls.push(["onSuccess", result]); }},
      function (reason, result) {{ calls.push(["onFail", reason, result]); }});
    promise.then(function (result) {{ calls.push(["resolved", result]); }},
                 function (error) {{ calls.push(["rejected", error.reason, error.result, error instanceof Error]); }});
  }});
</script>"""

PROBE_SET_COOKIE = "probe=1; Path=/; SameSite=None; Secure"


@pytest.fixture(scope="module")
def shop(site):
    """The merchant's site on ``localhost``: a page that frames a URL, and a page that loads
    widget.js under a strict CSP of its own (nonces, no inline styles)."""
    app = Flask("shop")
    checkout_origin = site.url

    @app.get("/iframe")
    def iframe():
        return SHOP_IFRAME.format(src=request.args["src"], checkout_origin=json.dumps(checkout_origin))

    @app.get("/widget")
    def widget():
        nonce = secrets.token_urlsafe(12)
        html = SHOP_WIDGET.format(checkout=checkout_origin, nonce=nonce, options=request.args["options"])
        return Response(html, headers={"Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            f"frame-src {checkout_origin}; connect-src {checkout_origin}")})

    @app.get("/links")
    def links():
        """The shop's page with redirect links its server wrote (href given by the test)."""
        items = "".join(f'<li><a id="{name}" href="{href}">{name}</a></li>' for name, href in request.args.items())
        return f"<!doctype html><title>Shop</title><ul>{items}</ul>"

    server = LiveServer(app)
    yield server.url.replace("127.0.0.1", "localhost")
    server.stop()


@pytest.fixture(scope="module")
def cookie_probe():
    """A server on the checkout's host name (127.0.0.1: the same site) that sets a
    ``SameSite=None; Secure`` cookie and echoes the cookies it receives."""
    app = Flask("probe")

    @app.get("/set")
    def set_cookie():
        return Response("set", headers={"Set-Cookie": PROBE_SET_COOKIE})

    @app.get("/echo")
    def echo():
        return f"<p id=cookies>[{request.headers.get('Cookie', '')}]</p>"

    server = LiveServer(app)
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def blocking_browser(browser):
    """Chromium with third-party cookies blocked (the phase-out switch Chromium provides
    for testing; recent builds block them already)."""
    executable = os.environ.get("CHECKOUT_CHROMIUM", "/usr/bin/chromium")
    b = browser.browser_type.launch(executable_path=executable,
                                    args=[*CHROMIUM_FLAGS, "--test-third-party-cookie-phaseout"])
    yield b
    b.close()


@pytest.fixture
def page(blocking_browser):
    context = blocking_browser.new_context(locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


# -- helpers ----------------------------------------------------------------------------------
def embed_url(link: str, origin: str) -> str:
    return f"{link}?embed=1&origin={quote(origin, safe='')}"


def open_in_shop(page, shop: str, src: str) -> None:
    page.goto(f"{shop}/iframe?src={quote(src, safe='')}")


def messages(page) -> list[dict]:
    return page.evaluate("window.messages")


def wait_message(page, kind: str, timeout: float = 15_000) -> dict:
    page.wait_for_function(f"window.messages.some(m => m.data && m.data.type === {kind!r})", timeout=timeout)
    return next(m for m in messages(page) if m["data"].get("type") == kind)


def pay(frame, number: str, cvv: str = "123") -> None:
    """Fill and send the card form inside a frame (a FrameLocator), and the sections the
    page asks for where shown and empty (the demo store asks for contact details and
    addresses)."""
    frame.locator("#name").wait_for()
    for key, value in EXTRA_FIELDS.items():
        field = frame.locator(f"[name='{key}']")
        if field.count() and field.is_visible() and not field.input_value():
            if key.endswith("-country"):
                field.select_option(value)
            else:
                field.fill(value)
    frame.locator("#name").fill("John Doe")
    frame.locator("#number").fill(number)
    frame.locator("#expiry").fill("12 / 34")
    frame.locator("#cvv").fill(cvv)
    frame.locator("button.pay").click()


def verified_fields(data: dict) -> dict:
    """The result's fields; asserts they verify as the README says (urlencode, then verify)."""
    fields = {k: v for k, v in data.items() if k != "type"}
    assert all(isinstance(v, str) for v in fields.values()), fields
    assert results.verify(urlencode(fields), SECRET), fields
    return fields


def link_for(site, public_id: str = "pbid_test", secret: str = SECRET, **overrides) -> str:
    body = {"amount": "10.66", "currency": "USD", "description": "Order 1", "invoiceId": "emb-" + secrets.token_hex(3),
            "successUrl": "https://shop.example/ok", "failureUrl": "https://shop.example/no",
            "cancelUrl": "https://shop.example/cancel", "page": NO_EXTRA_FIELDS, **overrides}
    with site.app.test_client() as c:
        response = c.post("/checkout/link", json=body, auth=(public_id, secret), base_url=site.url)
    assert response.status_code == 200, response.json
    return response.json["link"]["action"]


# -- the condition: third-party cookies are blocked -------------------------------------------------
def test_third_party_cookies_are_blocked(page, shop, cookie_probe):
    # Set from inside a frame on the shop's page: refused.
    open_in_shop(page, shop, f"{cookie_probe}/set")
    page.frame_locator("#checkout").locator("body").wait_for()
    page.goto(f"{cookie_probe}/echo")
    assert page.text_content("#cookies") == "[]"
    # Set first-party: kept and sent first-party...
    page.goto(f"{cookie_probe}/set")
    page.goto(f"{cookie_probe}/echo")
    assert page.text_content("#cookies") == "[probe=1]"
    # ...but not to a frame of the same server on the shop's page.
    open_in_shop(page, shop, f"{cookie_probe}/echo")
    assert page.frame_locator("#checkout").locator("#cookies").text_content() == "[]"


# -- the iframe --------------------------------------------------------------------------------------
def test_iframe_payment_with_3ds(site, page, shop):
    link = link_for(site)
    open_in_shop(page, shop, embed_url(link, shop))
    ready = wait_message(page, "checkout:ready")
    assert ready["origin"] == site.url and ready["fromFrame"]
    frame = page.frame_locator("#checkout")
    pay(frame, "4111 1111 1111 1111")
    frame.locator("#passphrase").fill("4")  # the gateway's ACS page, inside the frame
    acs = page.locator("#checkout").element_handle().content_frame()
    assert "acs" in acs.url
    assert acs.url.startswith(site.app.config["GATEWAY_URL"])
    frame.locator("button.pay").click()
    success = wait_message(page, "checkout:success")
    fields = verified_fields(success["data"])
    assert (fields["status"], fields["statusCode"], fields["amount"], fields["currency"]) == \
        ("Completed", "4", "10.66", "USD")
    assert fields["invoiceId"].startswith("emb-") and fields["transactionId"]
    # Everything the shop received came from the checkout's frame; nothing went elsewhere.
    assert {(m["origin"], m["fromFrame"]) for m in messages(page)} == {(site.url, True)}
    assert site.ledger.count("pbid_test", fields["invoiceId"]) == 1


def test_resize_messages_change_the_frame_height(site, page, shop):
    open_in_shop(page, shop, embed_url(link_for(site), shop))
    wait_message(page, "checkout:ready")
    page.wait_for_function("window.messages.some(m => m.data.type === 'checkout:resize')")
    frame_el = page.locator("#checkout")
    before = frame_el.evaluate("f => f.getBoundingClientRect().height")
    assert before != 300  # the page's own 300px was replaced by the checkout's height
    # The content grows (an error summary, say): the frame follows.
    checkout = frame_el.element_handle().content_frame()
    checkout.evaluate("() => { const d = document.createElement('div'); d.style.height = '400px';"
                      " document.querySelector('main').appendChild(d); }")
    page.wait_for_function(f"document.getElementById('checkout').getBoundingClientRect().height >= {before + 390}")
    heights = [m["data"]["height"] for m in messages(page) if m["data"]["type"] == "checkout:resize"]
    assert heights[-1] >= before + 390
    assert frame_el.evaluate("f => f.getBoundingClientRect().height") == heights[-1]


def _assert_not_rendered(page) -> None:
    """The frame shows no checkout and the parent hears nothing from it."""
    page.wait_for_timeout(1500)
    assert messages(page) == []
    checkout = [f for f in page.frames if f != page.main_frame]
    assert all(f.url.startswith("chrome-error:") or not f.query_selector("#number") for f in checkout)


def test_a_site_that_is_not_allowed_cannot_frame_the_checkout(site, page, shop):
    # pbid_strict lets only 127.0.0.1 frame its checkout: the shop on localhost is refused...
    link = link_for(site, "pbid_strict", "strict_secret")
    open_in_shop(page, shop, embed_url(link, shop))
    _assert_not_rendered(page)
    # ...even when it claims to be an allowed origin: CSP frame-ancestors is the browser's check.
    claimed = site.url
    with site.app.test_client() as c:
        served = c.get(embed_url(link, claimed).split(site.url, 1)[1], base_url=site.url)
    assert served.status_code == 200
    assert f"frame-ancestors {claimed}" in served.headers["Content-Security-Policy"]
    open_in_shop(page, shop, embed_url(link, claimed))
    _assert_not_rendered(page)
    # A plain link (no embed) is not framable by the shop either.
    open_in_shop(page, shop, link)
    _assert_not_rendered(page)


def test_post_message_never_reaches_a_foreign_origin(site, page, shop):
    link = link_for(site)
    # An origin the merchant does not allow: the server refuses to render the frame.
    evil = embed_url(link, "http://evil.example")
    with site.app.test_client() as c:
        refused = c.get(evil.split(site.url, 1)[1], base_url=site.url)
    assert refused.status_code == 403
    assert "frame-ancestors 'none'" in refused.headers["Content-Security-Policy"] or \
        "evil.example" not in refused.headers["Content-Security-Policy"]
    open_in_shop(page, shop, evil)
    _assert_not_rendered(page)
    # An allowed origin that is not the parent (the shop is on localhost): the checkout is
    # framable by that origin only, so it never renders here and never posts here.
    other = "http://127.0.0.1:9"
    open_in_shop(page, shop, embed_url(link, other))
    _assert_not_rendered(page)
    # Served to its own parent, the frame names exactly that origin as its target.
    open_in_shop(page, shop, embed_url(link, shop))
    wait_message(page, "checkout:ready")
    checkout = page.locator("#checkout").element_handle().content_frame()
    assert "/c/" in checkout.url
    assert checkout.evaluate("document.documentElement.dataset.parentOrigin") == shop


# -- the widget --------------------------------------------------------------------------------------
def open_widget(page, shop: str, **options) -> None:
    page.goto(f"{shop}/widget?options={quote(json.dumps(options))}")
    page.click("#pay")
    page.wait_for_selector("dialog.ckw-dialog[open]")


def calls(page) -> list:
    return page.evaluate("window.calls")


def poll(page, expression: str, timeout: float = 15.0):
    """Wait until ``expression`` is truthy in the page. (wait_for_function evaluates its
    predicate by ``eval``, which the shop's widget page CSP forbids, as a strict one would.)"""
    deadline = time.monotonic() + timeout
    while not (value := page.evaluate(expression)):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)
    return value


def wait_calls(page, count: int = 2) -> list:
    poll(page, f"window.calls.length >= {count}")
    return calls(page)


def assert_modal_closed_and_focus_restored(page) -> None:
    assert page.locator("dialog.ckw-dialog").count() == 0
    assert page.evaluate("document.activeElement.id") == "pay"


WIDGET_OPTIONS = {"publicId": "pbid_test", "amount": 68.54, "currency": "EUR", "description": "Mug",
                  "accountId": "foo@bar.com"}


def test_the_widget_speaks_the_customers_language_from_the_catalogues(site, page, shop):
    """The dialog's own words are the catalogue's, right to left for Arabic; the frame
    inside is the Arabic payment page."""
    open_widget(page, shop, **WIDGET_OPTIONS, invoiceId="wdg-ar-" + secrets.token_hex(3), locale="ar")
    poll(page, "document.querySelector('dialog.ckw-dialog').getAttribute('dir') === 'rtl'")
    dialog = page.locator("dialog.ckw-dialog")
    assert dialog.get_attribute("lang") == "ar"
    arabic = site.app.test_client().get("/widget/texts?locale=ar").json
    assert arabic["title"] != "Secure payment" and arabic["dir"] == "rtl"
    assert page.text_content(f"#{dialog.get_attribute('aria-labelledby')}") == arabic["title"]
    assert page.get_attribute(".ckw-close", "aria-label") == arabic["close"]
    assert page.get_attribute("iframe.ckw-frame", "title") == arabic["frame"]
    frame = page.frame_locator("iframe.ckw-frame")
    frame.locator("#number").wait_for()
    assert frame.locator("html").get_attribute("dir") == "rtl"


def test_widget_payment_declined_then_approved(site, page, shop):
    invoice = "wdg-" + secrets.token_hex(3)
    open_widget(page, shop, **WIDGET_OPTIONS, invoiceId=invoice)
    dialog = page.locator("dialog.ckw-dialog")
    assert dialog.get_attribute("role") == "dialog" and dialog.get_attribute("aria-modal") == "true"
    title_id = dialog.get_attribute("aria-labelledby")
    assert page.text_content(f"#{title_id}") == "Secure payment"
    assert page.evaluate("document.querySelector('dialog.ckw-dialog').contains(document.activeElement)")
    frame = page.frame_locator("iframe.ckw-frame")
    assert frame.locator("#amount").text_content().strip() == "€68.54"  # what the customer confirms
    pay(frame, "4242 4242 4242 4242", cvv="333")
    assert "declined" in frame.locator(".notice").text_content()
    assert calls(page) == []  # a decline the customer can retry is not the end
    frame.locator("#number").fill("4242 4242 4242 4242")
    frame.locator("#cvv").fill("123")
    frame.locator("button.pay").click()
    (kind, result), (settled, same) = wait_calls(page)
    assert (kind, settled) == ("onSuccess", "resolved") and same == result
    fields = verified_fields(result)
    assert (fields["status"], fields["amount"], fields["currency"], fields["invoiceId"]) == \
        ("Completed", "68.54", "EUR", invoice)
    assert site.ledger.count("pbid_test", invoice) == 2
    assert_modal_closed_and_focus_restored(page)


def test_widget_escape_cancels(site, page, shop):
    # Escape on the shop's page (focus on the dialog's close button).
    open_widget(page, shop, **WIDGET_OPTIONS)
    page.frame_locator("iframe.ckw-frame").locator("#number").wait_for()
    page.focus(".ckw-close")
    page.keyboard.press("Escape")
    assert wait_calls(page) == [["onFail", "cancelled", None], ["rejected", "cancelled", None, True]]
    assert_modal_closed_and_focus_restored(page)
    # Escape inside the checkout frame (it tells the widget).
    page.evaluate("window.calls = []")
    page.click("#pay")
    frame = page.frame_locator("iframe.ckw-frame")
    frame.locator("#name").click()
    # Key down only: the frame is gone before a key-up could reach it, and Chromium's
    # DevTools input then waits for an answer from a frame that no longer exists.
    page.keyboard.down("Escape")
    assert wait_calls(page)[0] == ["onFail", "cancelled", None]
    assert_modal_closed_and_focus_restored(page)


def test_closing_the_widget_during_a_payment_reports_it_pending(site, page, shop):
    """The customer pays with the slow card and closes the dialog before the answer: the
    merchant hears "pending" with a signed result, not "cancelled", and the charge that
    went through is still there to be confirmed (status), never a second time."""
    invoice = "wdg-slow-" + secrets.token_hex(3)
    open_widget(page, shop, **WIDGET_OPTIONS, invoiceId=invoice)
    frame = page.frame_locator("iframe.ckw-frame")
    frame.locator("#name").fill("John Doe")
    frame.locator("#number").fill("4000 0000 0000 0408")  # charged, but the answer comes too late
    frame.locator("#expiry").fill("12 / 34")
    frame.locator("#cvv").fill("123")
    frame.locator("button.pay").click(no_wait_after=True)
    page.wait_for_timeout(300)
    page.click(".ckw-close")
    assert page.locator("dialog.ckw-dialog[open]").count() == 0  # the dialog goes at once
    (kind, reason, result), _ = wait_calls(page)
    assert (kind, reason) == ("onFail", "pending")
    fields = verified_fields(result)
    assert (fields["status"], fields["statusCode"], fields["invoiceId"]) == ("Created", "10", invoice)
    assert_modal_closed_and_focus_restored(page)
    page.wait_for_timeout(3500)
    assert site.ledger.count("pbid_test", invoice) == 1


def test_widget_with_a_server_created_checkout_resizes_and_closes(site, page, shop):
    link = link_for(site, description="Server-made")
    open_widget(page, shop, token=link)
    frame_el = page.locator("iframe.ckw-frame")
    frame = page.frame_locator("iframe.ckw-frame")
    assert "Server-made" in frame.locator("main, body").first.text_content()
    poll(page, "document.querySelector('iframe.ckw-frame').style.height !== ''")
    before = frame_el.evaluate("f => f.getBoundingClientRect().height")
    checkout = frame_el.element_handle().content_frame()
    checkout.evaluate("() => { const d = document.createElement('div'); d.style.height = '300px';"
                      " document.body.appendChild(d); }")
    poll(page, f"document.querySelector('iframe.ckw-frame').getBoundingClientRect().height >= {before + 290}")
    # The close button cancels too; the token's checkout can then still be paid in a new modal.
    page.click(".ckw-close")
    assert wait_calls(page)[0] == ["onFail", "cancelled", None]
    assert_modal_closed_and_focus_restored(page)
    page.evaluate("window.calls = []")
    page.click("#pay")
    pay(page.frame_locator("iframe.ckw-frame"), "4242424242424242")
    (kind, result), _ = wait_calls(page)
    assert kind == "onSuccess" and verified_fields(result)["status"] == "Completed"


def test_widget_refuses_options_it_cannot_use(page, shop):
    page.goto(f"{shop}/widget?options={quote(json.dumps({'amount': 1}))}")
    page.click("#pay")
    assert wait_calls(page) == [["onFail", "error", None], ["rejected", "error", None, True]]
    assert page.locator("dialog").count() == 0


def test_widget_on_a_phone_is_full_screen(site, blocking_browser, shop):
    context = blocking_browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        open_widget(page, shop, **WIDGET_OPTIONS)
        box = page.locator("dialog.ckw-dialog").bounding_box()
        assert (round(box["x"]), round(box["y"]), round(box["width"]), round(box["height"])) == (0, 0, 375, 667)
    finally:
        context.close()


def test_demo_store_iframe_and_widget(site, page):
    """The demo store at / pays both embedded ways and shows the verified result."""
    page.goto(site.url + "/")
    page.click("#pay-iframe")
    pay(page.frame_locator("#checkout-frame"), "4242 4242 4242 4242")
    page.wait_for_selector("#verified.demo-ok")
    assert page.text_content("#verified") == "The signature verifies."
    assert re.match(r"Payment complete \(iframe\)", page.text_content("#result-title"))
    page.click("#pay-widget")
    pay(page.frame_locator("iframe.ckw-frame"), "4242 4242 4242 4242")
    poll(page, "document.getElementById('result-title').textContent.includes('(widget)')")
    page.wait_for_selector("#verified.demo-ok")
    assert page.text_content("[data-field='amount']") == "18.50"


def test_focus_goes_to_the_first_error_inside_a_cross_origin_iframe(site, page, shop):
    """Chromium ignores ``autofocus`` in a cross-origin frame: the page's own script moves
    focus to the first field in error, so a keyboard or screen-reader user lands on it."""
    open_in_shop(page, shop, embed_url(link_for(site), shop))
    wait_message(page, "checkout:ready")
    pay(page.frame_locator("#checkout"), "4242 4242 4242 4241")  # fails the Luhn check
    checkout = page.locator("#checkout").element_handle().content_frame()
    checkout.wait_for_selector("#number-error")
    checkout.wait_for_load_state("load")
    assert checkout.evaluate("document.activeElement.id") == "number"


def test_demo_store_iframe_with_3ds_on_the_gateways_origin(site, page):
    """The sandbox runs as its own server here: the demo page must let its frame go to
    the gateway's 3-D Secure page (CSP frame-src) and come back."""
    page.goto(site.url + "/")
    page.click("#pay-iframe")
    frame = page.frame_locator("#checkout-frame")
    pay(frame, "4111 1111 1111 1111")
    frame.locator("#passphrase").fill("4")
    frame.locator("button.pay").click()
    page.wait_for_selector("#verified.demo-ok")
    assert page.text_content("[data-field='status']") == "Completed"


# -- redirect links ----------------------------------------------------------------------------------
def test_redirect_links_from_the_shops_page(site, page, shop):
    """The shop (localhost) links to /payments/redirect/<publicId> on the checkout (127.0.0.1):
    a good signature opens the payment page and pays; a missing or wrong one is refused."""
    from test_redirect_links import SEED_QUERY, signed

    query = {**SEED_QUERY, "invoiceId": "rdr-" + secrets.token_hex(3), "successUrl": f"{shop}/links",
             "failureUrl": f"{shop}/links"}
    base = f"{site.url}/payments/redirect/pbid_test?"
    good = base + signed(query)
    wrong = base + signed({**query, "amount": "0.01"}).replace("amount=0.01", "amount=10.50")
    page.goto(f"{shop}/links?" + urlencode({"good": good, "unsigned": base + urlencode(query), "wrong": wrong}))
    for name in ("unsigned", "wrong"):
        page.click(f"#{name}")
        assert page.text_content("h1") == "This payment link is not valid"
        page.go_back()
    page.click("#good")
    page.wait_for_url(re.compile(re.escape(site.url) + r"/c/"))
    assert page.text_content("#amount").strip() == "€10.50"
    pay(page, "4242 4242 4242 4242")
    page.wait_for_url(re.compile(re.escape(shop) + r"/links\?"))
    fields = verified_fields(dict(parse_qsl(urlsplit(page.url).query)))
    assert (fields["status"], fields["amount"], fields["invoiceId"]) == ("Completed", "10.50", query["invoiceId"])
