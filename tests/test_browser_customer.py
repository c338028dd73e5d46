"""The customer's side under real conditions, in Chromium: Refresh and Back after a form
was sent, leaving the bank's page and coming back, the per-address limit in sandbox
mode, the link's last minutes and its expiry, with scripts and without. The sandbox
gateway is served for real (in-process, and as its own server on another origin)."""
from __future__ import annotations

import re
import time

import pytest
from test_browser_card import fill_card, landed, pay

from checkout import tokens

pytestmark = pytest.mark.browser
ADVANCED_3DS = "4111 1111 1111 1111"
APPROVED = "4242 4242 4242 4242"


def completed(site, invoice: str) -> int:
    """Completed transactions at the sandbox gateway for this invoice."""
    return sum(1 for row in site.ledger.for_invoice("pbid_test", invoice) if row["status_code"] == 4)


@pytest.fixture(params=[True, False], ids=["scripts", "no-scripts"])
def customer(request, browser):
    """A page in a browser context with scripts on, then off."""
    context = browser.new_context(java_script_enabled=request.param)
    page = context.new_page()
    page.scripts = request.param
    yield page
    context.close()


def decline(page) -> None:
    pay(page, "4242424242424242", cvv="333")
    page.wait_for_selector(".notice")


def test_reload_after_a_decline_sends_nothing_again(site, customer):
    page = customer
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(site.link(invoiceId="reload-decline"))
    decline(page)
    assert "You can try 2 more times." in page.text_content(".summary-errors")
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.reload()
    page.wait_for_selector(".notice")
    assert "You can try 2 more times." in page.text_content(".summary-errors")  # not "1 more time"
    assert page.input_value("#name") == "John Doe" and page.input_value("#number") == ""
    assert posts == [] and dialogs == []  # no "Confirm Form Resubmission", no new POST
    assert len(site.ledger.for_invoice("pbid_test", "reload-decline")) == 1


def test_back_after_success_shows_where_the_checkout_stands(site, customer):
    page = customer
    link = site.link(invoiceId="back-success")
    page.goto(link)
    pay(page, APPROVED)
    landed(page, "success")
    page.go_back()
    page.wait_for_selector("h1")
    assert page.text_content("h1").strip() == "This payment is complete"
    assert completed(site, "back-success") == 1


def test_back_from_the_bank_then_another_card_pays_once(site, customer):
    page = customer
    page.goto(site.link(invoiceId="bank-back"))
    pay(page, ADVANCED_3DS)
    if not page.scripts:  # without scripts the bank page waits for Continue
        page.click("form.bank button")
    page.wait_for_selector("#passphrase")
    page.go_back()  # the customer leaves the bank's page
    page.wait_for_selector("text=Use another card")
    assert page.is_visible("text=Continue to your bank")
    # With scripts the bank page made its history entry the payment page's; without, it
    # is the bank page itself, which without scripts never goes on by itself.
    assert ("/bank" not in page.url) if page.scripts else page.url.endswith("/bank")
    page.click("text=Use another card")
    page.wait_for_selector("#number")
    pay(page, APPROVED)
    landed(page, "success")
    assert completed(site, "bank-back") == 1


def test_back_from_the_bank_then_continue_to_the_bank(site, customer):
    page = customer
    page.goto(site.link(invoiceId="bank-resume"))
    pay(page, ADVANCED_3DS)
    if not page.scripts:
        page.click("form.bank button")
    page.wait_for_selector("#passphrase")
    page.go_back()
    page.click("text=Continue to your bank")
    page.wait_for_selector("#passphrase")
    page.fill("#passphrase", "4")
    page.click("button.pay")
    if not page.scripts:  # the bank's own hand-back needs Continue too
        page.click("button:has-text('Continue')")
    landed(page, "success")
    assert completed(site, "bank-resume") == 1


def test_ten_declines_from_loopback_leave_the_eleventh_allowed(site, page):
    declines = 0
    for n in range(4):
        page.goto(site.link(invoiceId=f"loopback-{n}"))
        for _ in range(3 if declines < 9 else 10 - declines):
            if declines == 10:
                break
            pay(page, "4242424242424242", cvv="333")
            declines += 1
            if declines % 3:
                page.wait_for_selector(".notice")
            else:
                landed(page, "failure")
    page.goto(site.link(invoiceId="loopback-11"))
    pay(page, APPROVED)
    landed(page, "success")


def expiring_link(site, seconds: float, **overrides) -> str:
    """A link of the merchant API whose expiry is ``seconds`` from now (the API's
    shortest is a minute: the token is signed again with an earlier ``exp``)."""
    link = site.link(**overrides)
    base, token = link.rsplit("/c/", 1)
    with site.app.app_context():
        payload = tokens.load_checkout(token)
        payload["exp"] = int(time.time() + seconds)
        return f"{base}/c/{tokens.sign_checkout(payload)}"


def test_the_last_minutes_count_down_and_the_expired_page_leads_back(site, customer):
    page = customer
    page.goto(expiring_link(site, 6, invoiceId="expiring"))
    notice = page.locator("#link-expiry")
    assert "This payment link expires soon. Time left:" in notice.text_content()
    timer = page.locator("[data-countdown]")
    assert re.fullmatch(r"0:0[0-6]", timer.text_content().strip())
    if page.scripts:  # the countdown runs, and at zero the page goes to the expired page itself
        first = timer.text_content()
        page.wait_for_function("(t) => document.querySelector('[data-countdown]').textContent !== t", arg=first)
    else:
        page.wait_for_timeout(7_000)
        page.reload()
    page.wait_for_selector("h1:has-text('This payment link has expired')")
    assert "Merchant #1" in page.content()
    page.click("text=Return to the merchant")
    result = landed(page, "cancel")
    assert (result["status"], result["statusCode"], result["invoiceId"]) == ("Expired", "0", "expiring")


def test_the_test_mode_mark_in_russian(site, page):
    page.goto(site.link(invoiceId="mark-ru", locale="ru_RU"))
    mark = page.locator("aside.test-mode")
    assert mark.text_content().strip() == "Тестовый режим: реальные деньги не списываются"
    assert mark.is_visible()
    fill_card(page, APPROVED)
