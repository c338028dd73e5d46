"""The payment forms in real Chromium with static/js/forms.js: one POST however often Pay
is pressed, a visible busy button while the answer is on its way (full page, iframe,
widget) that works again after Back from the back/forward cache, the server's own checks
and messages before anything is sent, and errors that show (a 2px border in the theme's
error colour), whoever found them, the browser or the server."""
from __future__ import annotations

import json
import os
import re
import secrets
from urllib.parse import quote

import pytest
from conftest import CHROMIUM_FLAGS, EXTRA_FIELDS, LiveServer, serve_site
from flask import Flask, request
from flask_babel import force_locale, gettext
from test_cards import VECTORS_PATH

from checkout import cards

VECTORS = VECTORS_PATH  # the shared suite beside the checkout, else the copy in tests/vectors/
SHOP_THEME = {"merchantTitle": "Shop", "formErrorColor": "#DC2F2E"}  # the card form alone
ERROR_RGB = "rgb(220, 47, 46)"  # #DC2F2E
SLOW_CARD = "4000 0000 0000 0408"  # charged, but the sandbox answers after GATEWAY_TIMEOUT (2 s here)
browser_test = pytest.mark.browser


# -- servers and browsers ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The checkout on 127.0.0.1, the sandbox gateway in-process (its timeout 2 s, as the
    other browser tests have it)."""
    yield from serve_site(tmp_path_factory.mktemp("forms"), "inprocess")


@pytest.fixture(scope="module")
def shop(site):
    """The merchant's pages on ``localhost`` (another site): one frames a URL, one opens
    widget.js with a server-created checkout."""
    app = Flask("forms-shop")

    @app.get("/iframe")
    def iframe():
        return (f'<!doctype html><title>Shop</title><iframe id="checkout" title="Payment form" '
                f'src="{request.args["src"]}" style="width:420px;height:900px;border:0"></iframe>')

    @app.get("/widget")
    def widget():
        return (f'<!doctype html><title>Shop</title><button id="pay" type="button">Pay</button>'
                f'<script src="{site.url}/widget.js"></script><script>'
                f'document.getElementById("pay").addEventListener("click", function () {{'
                f'new Checkout().charge({{token: {json.dumps(request.args["token"])}}}).catch(function () {{}}); }});'
                f'</script>')

    server = LiveServer(app)
    yield server.url.replace("127.0.0.1", "localhost")
    server.stop()


@pytest.fixture(scope="module")
def bfcache_browser(browser):
    """Chromium with its back/forward cache on (Playwright turns it off by default)."""
    executable = os.environ.get("CHECKOUT_CHROMIUM", "/usr/bin/chromium")
    b = browser.browser_type.launch(executable_path=executable, args=CHROMIUM_FLAGS,
                                    ignore_default_args=["--disable-back-forward-cache"])
    yield b
    b.close()


# -- helpers -------------------------------------------------------------------------------------
def link(site, **overrides) -> str:
    return site.link(invoiceId="f-" + secrets.token_hex(4), **{"page": SHOP_THEME, **overrides})


def card_posts(page) -> list:
    """Every POST of a card form this page (and its frames) sends, as it is sent."""
    sent = []
    page.on("request", lambda r: sent.append(r) if r.method == "POST" and r.url.split("?")[0].endswith("/card")
            else None)
    return sent


def fill(where, number="4242 4242 4242 4242", expiry="12 / 34", cvv="123") -> None:
    """Fill the card form (a Page or a FrameLocator), and the theme's extra sections."""
    for key, value in EXTRA_FIELDS.items():
        field = where.locator(f"[name='{key}']")
        if field.count() and not field.input_value():
            field.select_option(value) if key.endswith("-country") else field.fill(value)
    where.locator("#name").fill("John Doe")
    where.locator("#number").fill(number)
    where.locator("#expiry").fill(expiry)
    where.locator("#cvv").fill(cvv)


def server_message(site, field: str, number="4242424242424242", month="12", year="34", cvv="123",
                   locale="en_US") -> str:
    """What the server says about ``field`` for these values, in ``locale``."""
    with site.app.test_request_context(), force_locale(locale):
        return str(cards.validate_card(number, month, year, cvv)[field])


BUTTON_STATE = """() => { const b = document.querySelector('button.pay'), s = b.querySelector('.busy-spinner');
    return {busy: b.getAttribute('aria-busy'), disabled: b.disabled, text: b.innerText.trim(),
            spinner: s ? getComputedStyle(s).animationName : null}; }"""
#: The busy state, reported from inside the page the moment the button is disabled (the
#: page's scripts cannot be asked while its POST is on its way: Playwright waits for the
#: navigation first); then the page tries to send again: a click and a submit.
WATCH_BUSY = f"""() => {{ const b = document.querySelector('button.pay');
    new MutationObserver(() => {{ if (!b.disabled) return; window.reportBusy(({BUTTON_STATE})());
        b.click(); b.form.requestSubmit(); }}).observe(b, {{attributes: true, attributeFilter: ['disabled']}}); }}"""
BUSY = {"busy": "true", "disabled": True, "text": "Processing…", "spinner": "spin"}


def busy_state(where) -> dict:
    """The Pay button's state in a Page or Frame."""
    return where.evaluate(f"({BUTTON_STATE})()")


def watch_busy(page) -> list[dict]:
    """What WATCH_BUSY reports, each with how many card POSTs had been answered by then,
    and the card POSTs in the end."""
    reports, answered = [], []
    page.on("requestfinished", lambda r: answered.append(r) if r.method == "POST" else None)
    page.expose_binding("reportBusy", lambda source, state: reports.append({**state, "answered": len(answered)}))
    return reports


def frame_of(page, selector: str):
    return page.wait_for_selector(selector).content_frame()


def assert_marked(page, field: str, message: str) -> None:
    """Marked as the server marks it."""
    assert page.text_content(f"#{field}-error").strip() == message
    assert page.get_attribute(f"#{field}", "aria-invalid") == "true"
    assert page.get_attribute(f"#{field}", "aria-describedby") == f"{field}-error"
    assert page.locator(f".field.has-error:has(#{field}) p.error#{field}-error").count() == 1


def assert_unmarked(page, field: str) -> None:
    assert page.locator(f"#{field}-error").count() == 0
    assert page.get_attribute(f"#{field}", "aria-invalid") is None
    assert page.locator(f".field.has-error:has(#{field})").count() == 0


def border(page, selector: str) -> tuple[str, str]:
    return tuple(page.eval_on_selector(selector, "el => [getComputedStyle(el).borderTopColor, "
                                                 "getComputedStyle(el).borderTopWidth]"))


# -- one POST, a busy button ---------------------------------------------------------------------
@browser_test
@pytest.mark.parametrize("how", ["double click", "Enter twice"])
def test_pay_pressed_twice_sends_one_post(site, page, how):
    invoice = "twice-" + secrets.token_hex(3)
    page.goto(site.link(invoiceId=invoice, page=SHOP_THEME))
    posts = card_posts(page)
    fill(page)
    if how == "double click":
        page.dblclick("button.pay", no_wait_after=True)
    else:
        page.focus("#cvv")
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/demo/result/success\?"))
    assert page.text_content("#verified").strip() == "The signature verifies."
    assert len(posts) == 1, [r.url for r in posts]
    assert site.ledger.count("pbid_test", invoice) == 1


@browser_test
@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_busy_while_a_slow_card_is_charging(site, page, motion):
    page.emulate_media(reduced_motion=motion)
    reports = watch_busy(page)
    page.goto(link(site))
    posts = card_posts(page)
    fill(page, SLOW_CARD)
    page.evaluate(WATCH_BUSY)
    page.click("button.pay", no_wait_after=True)
    page.wait_for_selector("text=We are confirming your payment", timeout=20_000)
    # Busy while the POST was in flight (none answered yet), the spinner still when asked.
    assert reports == [{**BUSY, "spinner": "spin" if motion == "no-preference" else "none", "answered": 0}]
    assert len(posts) == 1  # the click and the submit while busy sent nothing


@browser_test
@pytest.mark.parametrize("where", ["iframe", "widget"])
def test_busy_inside_an_iframe_and_the_widget(site, page, shop, where):
    reports = watch_busy(page)
    if where == "iframe":
        src = f"{link(site)}?embed=1&origin={quote(shop, safe='')}"
        page.goto(f"{shop}/iframe?src={quote(src, safe='')}")
        selector = "#checkout"
    else:
        page.goto(f"{shop}/widget?token={quote(link(site), safe='')}")
        page.click("#pay")
        selector = "iframe.ckw-frame"
    frame = page.frame_locator(selector)
    posts = card_posts(page)
    fill(frame, SLOW_CARD)
    frame_of(page, selector).evaluate(WATCH_BUSY)
    frame.locator("button.pay").dblclick(no_wait_after=True)
    frame.locator("text=We are confirming your payment").wait_for(timeout=20_000)
    assert reports == [{**BUSY, "answered": 0}]
    assert len(posts) == 1


@browser_test
def test_back_from_the_bfcache_gives_a_working_button(site, bfcache_browser):
    context = bfcache_browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(link(site))
        label = page.inner_text("button.pay").strip()
        page.evaluate("window.leftHere = true")  # survives only if the page itself comes back
        fill(page)
        page.click("button.pay")
        page.wait_for_url(re.compile(r"/demo/result/success\?"))
        page.go_back(wait_until="commit")  # a page from the cache fires no load event
        page.wait_for_function("document.readyState === 'complete'")
        assert page.evaluate("window.leftHere === true"), "not restored from the back/forward cache"
        assert busy_state(page) == {"busy": None, "disabled": False, "text": label, "spinner": None}
        with page.expect_request(lambda r: r.method == "POST" and "/card" in r.url):
            page.click("button.pay")  # it sends again (the server says the payment is complete)
    finally:
        context.close()


@browser_test
def test_without_scripts_the_form_posts_as_before(site, browser):
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    page = context.new_page()
    try:
        page.goto(link(site))
        fill(page, "4242 4242 4242 4241")
        page.click("button.pay")
        page.wait_for_selector("#number-error")  # the server's answer: the number is not echoed
        assert page.input_value("#number") == ""
        assert_marked(page, "number", server_message(site, "number", number="4242424242424241"))
        assert page.text_content("#form-summary").strip() == "Please check the highlighted fields."
        assert border(page, "#number") == (ERROR_RGB, "2px")
        assert border(page, "#name")[1] == "1px"
    finally:
        context.close()


# -- checks before sending -----------------------------------------------------------------------
@browser_test
def test_expired_card_is_flagged_before_sending_and_cleared_when_corrected(site, page):
    page.goto(link(site))
    posts = card_posts(page)
    fill(page, expiry="01 / 20")
    page.click("button.pay")
    message = server_message(site, "expiry", month="01", year="20")
    assert message == "This card has expired."
    assert_marked(page, "expiry", message)
    assert page.text_content("#form-summary").strip() == "Please check the highlighted fields."
    assert page.evaluate("document.activeElement.id") == "expiry"
    assert border(page, "#expiry") == (ERROR_RGB, "2px")
    assert page.eval_on_selector("#expiry", "el => getComputedStyle(el).outlineWidth") == "3px"  # focus ring
    for other in ("name", "number", "cvv"):
        assert_unmarked(page, other)
    page.fill("#expiry", "12 / 34")
    assert_unmarked(page, "expiry")
    assert page.text_content("#form-summary").strip() == ""
    assert posts == []
    page.click("button.pay")
    page.wait_for_url(re.compile(r"/demo/result/success\?"))
    assert len(posts) == 1


@browser_test
@pytest.mark.parametrize("number, cvv, field, values", [
    ("4242 4242 4242 4241", "123", "number", {"number": "4242424242424241"}),  # Luhn
    ("3782 822463 10005", "123", "cvv", {"number": "378282246310005"}),  # American Express: 4 digits
    ("", "123", "number", {"number": ""}),
    ("4242 4242 4242 4242", "12", "cvv", {"cvv": "12"}),
])
def test_card_errors_are_flagged_before_sending(site, page, number, cvv, field, values):
    page.goto(link(site))
    posts = card_posts(page)
    fill(page, number=number, cvv=cvv)
    page.click("button.pay")
    message = server_message(site, field, **values)
    assert_marked(page, field, message)
    assert page.evaluate("document.activeElement.id") == field
    page.wait_for_timeout(200)
    assert posts == []
    page.fill("#number", "3782 822463 10005" if field == "cvv" and cvv == "123" else "4242 4242 4242 4242")
    if field == "cvv":
        page.fill("#cvv", "1234" if cvv == "123" else "123")
    assert_unmarked(page, field)


@browser_test
def test_required_and_email_checks_use_the_server_messages(site, page):
    """The seed's theme adds email, phone and addresses: InputRequired's message comes from
    the form field itself, the email format from forms.py's message."""
    page.goto(site.link(invoiceId="f-" + secrets.token_hex(4), page={**SHOP_THEME, "fields": ["email"]}))
    posts = card_posts(page)
    fill(page)
    page.fill("#email", "")
    page.fill("#name", "")
    page.click("button.pay")
    assert_marked(page, "email", "Enter your email address.")
    assert_marked(page, "name", "Enter the name on the card.")
    assert page.evaluate("document.activeElement.id") == "email"  # the first in the page
    page.fill("#email", "john@localhost")  # HTML's email type takes it; the server does not
    page.locator("#email").blur()
    assert_marked(page, "email", "Enter an email address like name@example.com.")
    page.fill("#email", "john@doe.com")
    assert_unmarked(page, "email")
    assert posts == []


@browser_test
def test_server_errors_show_and_go_when_the_field_is_fixed(site, page):
    """A submission that bypasses the script is checked by the server, which marks the
    field; the browser clears that mark once the field is valid."""
    page.goto(link(site))
    fill(page, "4242 4242 4242 4241")
    with page.expect_navigation():
        page.eval_on_selector("form[data-card-form]", "form => HTMLFormElement.prototype.submit.call(form)")
    assert_marked(page, "number", "This card number is not valid.")
    assert page.text_content("#form-summary").strip() == "Please check the highlighted fields."
    assert border(page, "#number") == (ERROR_RGB, "2px")
    page.fill("#number", "4242 4242 4242")  # not valid yet: the mark stays
    assert page.get_attribute("#number", "aria-invalid") == "true"
    page.fill("#number", "4242 4242 4242 4242")
    assert_unmarked(page, "number")
    assert border(page, "#number")[1] == "1px"
    assert page.text_content("#form-summary").strip() == ""


@browser_test
def test_messages_in_russian(site, page):
    page.goto(link(site, locale="ru_RU"))
    posts = card_posts(page)
    fill(page, number="4242 4242 4242 4241", expiry="01 / 20")
    page.click("button.pay")
    number = server_message(site, "number", number="4242424242424241", locale="ru_RU")
    expiry = server_message(site, "expiry", month="01", year="20", locale="ru_RU")
    assert (number, expiry) == ("Номер карты указан неверно.", "Срок действия карты истёк.")
    assert_marked(page, "number", number)
    assert_marked(page, "expiry", expiry)
    assert page.text_content("#form-summary").strip() == "Пожалуйста, проверьте выделенные поля."
    assert posts == []
    with site.app.test_request_context(), force_locale("ru_RU"):
        busy = gettext("Processing…")  # the catalogue's Russian ("Обрабатываем…") once merged
    assert page.get_attribute("html", "data-busy-text") == busy


@browser_test
def test_browser_card_rules_agree_with_the_server(site, page):
    """cards.py's brand and number rules, ported to forms.js, on every number of the public
    suite (../shared/vectors) and on the prefixes of our test cards."""
    vectors = json.loads(VECTORS.read_text())
    numbers = sorted({c["number"] for c in vectors["credit_card_type"] if isinstance(c["number"], str)} |
                     {c["value"] for c in vectors["card_number"] if isinstance(c["value"], str)} |
                     {"4242424242424242"[:n] for n in range(1, 17)} | {"4312", "431274", "6", "62", "2200"})
    page.goto(link(site))
    got = page.evaluate("ns => ns.map(n => [checkoutCards.brand(n), checkoutCards.numberValid(n)])", numbers)
    expected = [[cards.card_brand(n), cards.number_valid(n)] for n in numbers]
    assert [(n, g) for n, g, e in zip(numbers, got, expected, strict=True) if g != e] == []
    assert sum(valid for _, valid in expected) > 10  # the suite has valid numbers of several brands


@browser_test
def test_the_form_carries_the_servers_messages(site, page):
    """The messages forms.js shows are the server's own (same msgids, same language)."""
    for locale in ("en_US", "ru_RU"):
        page.goto(link(site, locale=locale))
        got = json.loads(page.get_attribute("form[data-card-form]", "data-messages"))
        cases = {"number-required": ("number", {"number": ""}),
                 "number-invalid": ("number", {"number": "4242424242424241"}),
                 "number-brand": ("number", {"number": "4011780000000000"}),  # Elo
                 "expiry-format": ("expiry", {"month": "13"}), "expiry-expired": ("expiry", {"year": "20"}),
                 "expiry-invalid": ("expiry", {"year": "60"}), "cvv-required": ("cvv", {"cvv": ""}),
                 "cvv-3": ("cvv", {"cvv": "1234"}), "cvv-4": ("cvv", {"number": "378282246310005"}),
                 "cvv-any": ("cvv", {"number": "4011780000000000", "cvv": "12"})}
        for key, (field, values) in cases.items():
            assert got[key] == server_message(site, field, locale=locale, **values), (locale, key)
