"""A customer paying by card in real Chromium, with the sandbox gateway in-process and
as its own server on another origin. Every path ends on the merchant's URL with a
signature that ``results.verify`` accepts."""
from __future__ import annotations

import re
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import EXTRA_FIELDS

from checkout import results, tokens
from checkout import store as st

pytestmark = pytest.mark.browser
SECRET = "test_secret"


def fill_card(page, number: str, cvv: str = "123", expiry: str = "12 / 34", name: str = "John Doe") -> None:
    """Fill the card fields, and the sections the theme's ``fields`` adds where empty (and
    shown: "the same as billing" hides the shipping address)."""
    for key, value in EXTRA_FIELDS.items():
        selector = f"[name='{key}']"
        if page.locator(selector).count() and page.is_visible(selector) and not page.input_value(selector):
            if key.endswith("-country"):
                page.select_option(selector, value)
            else:
                page.fill(selector, value)
    page.fill("#name", name)
    page.fill("#number", number)
    page.fill("#expiry", expiry)
    page.fill("#cvv", cvv)


def landed(page, kind: str) -> dict:
    """Wait for the merchant's ``kind`` URL; check its signature; return its fields."""
    page.wait_for_url(re.compile(rf"/demo/result/{kind}\?"))
    query = urlsplit(page.url).query
    assert results.verify(query, SECRET), page.url
    assert page.text_content("#verified").strip() == "The signature verifies."
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


def pay(page, number: str, cvv: str = "123") -> None:
    fill_card(page, number, cvv)
    page.click("button.pay")


def test_approved_card(site, page):
    page.goto(site.link())
    assert page.title().startswith("Payment")
    assert page.text_content("#amount").strip() == "$10.66"
    pay(page, "4242 4242 4242 4242")
    result = landed(page, "success")
    assert result["status"] == "Completed" and result["statusCode"] == "4"
    assert (result["amount"], result["currency"], result["invoiceId"]) == ("10.66", "USD", "990022")
    assert site.ledger.count("pbid_test", "990022") == 1


def test_declined_then_approved(site, page):
    link = site.link()
    page.goto(link)
    pay(page, "4242424242424242", cvv="333")
    page.wait_for_selector(".notice")
    assert "Your card was declined: Insufficient Funds." in page.text_content(".summary-errors")
    assert "You can try 2 more times." in page.text_content(".summary-errors")
    # What the customer typed is kept, except the card number and CVV (never echoed back).
    assert page.input_value("#name") == "John Doe"
    assert page.input_value("#expiry") == "12 / 34"
    assert page.input_value("#number") == "" and page.input_value("#cvv") == ""
    assert "4242" not in page.content()
    page.fill("#number", "4242424242424242")
    page.fill("#cvv", "123")
    page.click("button.pay")
    result = landed(page, "success")
    assert result["status"] == "Completed"
    assert site.ledger.count("pbid_test", "990022") == 2  # one declined, one approved


def test_three_declines_go_to_failure_url(site, page):
    page.goto(site.link())
    for attempt in range(3):
        pay(page, "4242424242424242", cvv="333")
        if attempt < 2:
            page.wait_for_selector(".notice")
    result = landed(page, "failure")
    assert result["status"] == "Declined" and result["statusCode"] == "99"
    assert result["reason"] == "Insufficient Funds" and result["reasonCode"] == "5051"


@pytest.mark.parametrize("passphrase, kind", [("4", "success"), ("wrong", "failure")])
def test_advanced_3ds(site, page, passphrase, kind):
    page.goto(site.link(invoiceId=f"3ds-{kind}"))
    pay(page, "4111111111111111")
    page.wait_for_selector("#passphrase")
    gateway_origin = site.app.config["GATEWAY_URL"] if site.mode == "standalone" else site.url
    assert page.url.startswith(gateway_origin + ("/" if site.mode == "standalone" else "/sandbox/") + "acs")
    page.fill("#passphrase", passphrase)
    page.click("button.pay")
    if kind == "success":
        result = landed(page, "success")
        assert result["status"] == "Completed"
    else:
        page.wait_for_selector(".notice")
        assert "3-D Secure authentication failed" in page.text_content(".summary-errors")


def test_advanced_3ds_without_javascript(site, browser):
    """Scripts off: the bank page (to the ACS) and the way back each show a Continue button."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(site.link(invoiceId="3ds-noscript"))
        pay(page, "4111111111111111")
        page.wait_for_selector("form.bank button:has-text('Continue to your bank')")
        page.click("form.bank button.pay")  # Continue: posts PaReq, MD, TermUrl to the ACS
        page.fill("#passphrase", "4")
        page.click("button.pay")
        page.wait_for_selector("form[data-autopost] button:has-text('Continue')")
        page.click("button.pay")  # Continue: posts PaRes and MD to our TermUrl
        assert landed(page, "success")["status"] == "Completed"
    finally:
        context.close()


def test_redirect_3ds(site, page):
    page.goto(site.link(invoiceId="redirect-3ds"))
    pay(page, "4200000000000000")
    page.wait_for_selector("#passphrase")
    assert "/redirect/" in page.url
    page.fill("#passphrase", "4")
    page.click("button.pay")
    result = landed(page, "success")
    assert result["status"] == "Completed" and result["invoiceId"] == "redirect-3ds"


def test_expired_link(site, page):
    link = site.link()
    token = link.rsplit("/", 1)[1]
    with site.app.app_context():
        payload = tokens.load_checkout(token)
        expired = tokens.sign_checkout({**payload, "exp": int(time.time()) - 1})
    response = page.goto(f"{site.url}/c/{expired}")
    assert response.status == 410
    assert page.text_content("h1") == "This payment link has expired"


def test_tampered_link(site, page):
    link = site.link()
    token = link.rsplit("/", 1)[1]
    middle = len(token) // 2
    forged = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    response = page.goto(f"{site.url}/c/{forged}")
    assert response.status == 404
    assert page.text_content("h1") == "This payment link is not valid"
    assert page.locator("form").count() == 0


def test_same_form_submitted_twice_at_once(site, page):
    """Two submissions race: one charge at the gateway, and both end well (each a 303:
    post/redirect/get)."""
    page.goto(site.link(invoiceId="double-submit"))
    fill_card(page, "4242424242424242")
    statuses = page.evaluate("""async () => {
        const form = document.querySelector('form[data-card-form]');
        const send = () => fetch(form.action, {method: 'POST', body: new FormData(form), redirect: 'manual'});
        const answers = await Promise.all([send(), send()]);
        return answers.map(a => a.type === 'opaqueredirect' ? 303 : a.status);
    }""")
    assert statuses == [303, 303], statuses
    assert site.ledger.count("pbid_test", "double-submit") == 1
    page.reload()
    assert page.text_content("h1") == "This payment is complete"
    page.click("text=Return to the merchant")
    assert landed(page, "success")["status"] == "Completed"


def test_gateway_timeout_is_pending_then_settled(site, page):
    """The charge goes through but its answer never comes in time: the customer sees
    the calm confirming page, the checkout is pending, and the status settles it."""
    link = site.link(invoiceId="timeout")
    page.goto(link)
    pay(page, "4000000000000408")
    page.wait_for_selector("text=We are confirming your payment", timeout=20_000)
    cid = tokens.load_checkout(link.rsplit("/", 1)[1], site.app)["cid"]
    assert site.app.extensions["checkout.store"].get(cid).state in (st.PENDING, st.COMPLETED)
    result = landed(page, "success")  # the page checks the status by itself
    assert result["status"] == "Completed"
    assert site.ledger.count("pbid_test", "timeout") == 1


def test_cancel_returns_to_cancel_url(site, page):
    page.goto(site.link(invoiceId="cancel"))
    page.click("text=Cancel and return to the merchant")
    result = landed(page, "cancel")
    assert result["status"] == "Cancelled" and result["invoiceId"] == "cancel"
    assert site.ledger.count("pbid_test", "cancel") == 0


def test_card_input_formats_and_shows_brand(site, page):
    page.goto(site.link())
    page.type("#number", "378282246310005")
    assert page.input_value("#number") == "3782 822463 10005"
    assert page.text_content("[data-card-brand]").strip() == "American Express"
    assert page.get_attribute("#cvv", "maxlength") == "4"
    page.type("#expiry", "4")
    assert page.input_value("#expiry").startswith("04")


def test_wrong_number_keeps_other_fields(site, page):
    page.goto(site.link())
    pay(page, "4242424242424241")
    page.wait_for_selector("#number-error")
    assert page.text_content("#number-error").strip() == "This card number is not valid."
    assert page.get_attribute("#number", "aria-invalid") == "true"
    assert page.input_value("#name") == "John Doe" and page.input_value("#expiry") == "12 / 34"


def test_page_in_russian(site, page):
    page.goto(site.link(locale="ru_RU"))
    assert page.get_attribute("html", "lang") == "ru-RU"
    assert page.text_content("#amount").replace("\xa0", " ").replace("\u202f", " ").strip() == "10,66 $"


def test_concurrent_requests_smoke(site):
    """Guard for the live-server fixture itself: it serves requests in parallel."""
    import httpx

    done = []

    def get():
        done.append(httpx.get(site.link(), timeout=10).status_code)

    threads = [threading.Thread(target=get) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert done == [200] * 4



@pytest.mark.parametrize("number", ["4111111111111111", "4200000000000000"])
def test_3ds_lands_on_the_merchants_own_site(site, page, merchant_site, number):
    """The ACS posts back to our TermUrl (or return URL), which sends the customer on to
    the merchant's site: a third origin, as with every real merchant."""
    page.goto(site.link(invoiceId=f"own-site-{number[:4]}", **merchant_site.urls))
    pay(page, number)
    page.fill("#passphrase", "4")
    page.click("button.pay")
    assert merchant_site.landed(page, "success")["status"] == "Completed"
