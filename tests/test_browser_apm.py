"""Alternative methods and saved cards on the payment page, in real Chromium, with the
sandbox in-process and as its own server."""
from __future__ import annotations

import re

import pytest
from test_browser_card import landed, pay

pytestmark = pytest.mark.browser


@pytest.fixture(params=["inprocess", "standalone"])
def site(request, tmp_path):
    from conftest import serve_site

    yield from serve_site(tmp_path, request.param, SANDBOX_PENDING_SECONDS=1)


def choose_method(page, name: str) -> None:
    if page.locator("#method-search").is_visible():
        page.fill("#method-search", name[:4])
    page.get_by_label(name, exact=True).check()
    page.click("text=Continue with the chosen method")


@pytest.mark.parametrize("button, kind, status", [("Approve", "success", "Completed"),
                                                  ("Decline", None, "Declined")])
def test_upi_in_india(site, page, button, kind, status):
    page.goto(site.link(invoiceId=f"upi-{button}", currency="INR", amount=500, locale="en_US",
                        data={"countryCode": "IN", "firstName": "John", "lastName": "Doe"},
                        page={"merchantTitle": "Shop"}))
    assert page.get_by_label("UPI", exact=True).count() == 1
    choose_method(page, "UPI")
    # UPI needs a UPI id and an Indian mobile number; the names come from the request's
    # data, so they are not asked at all.
    assert page.locator("#firstName, #lastName, [name=firstName], [name=lastName]").count() == 0
    assert page.locator("main input:not([type=hidden])").evaluate_all("els => els.map(e => e.name)") == \
        ["personId", "phone"]
    page.fill("#personId", "not a upi id")
    page.fill("#phone", "9876543210")
    page.click("button.pay")
    assert page.get_attribute("#personId", "aria-invalid") == "true"
    page.fill("#personId", "customer@okbank")
    page.click("button.pay")
    page.wait_for_selector(f"button:has-text('{button}')")  # the sandbox's APM page
    page.click(f"button:has-text('{button}')")
    if kind:
        assert landed(page, kind)["status"] == status
    else:
        page.wait_for_selector(".notice")
        assert re.search(r"declined", page.text_content(".summary-errors"), re.I)
        assert page.get_by_label("UPI", exact=True).count() == 1  # the customer may try again


def test_apm_pending_then_approved(site, page):
    page.goto(site.link(invoiceId="apm-pending", currency="BRL", amount=50, data={"countryCode": "BR"},
                        page={"merchantTitle": "Shop"}))
    choose_method(page, "APM Test Payment")
    page.fill("#personId", "someone@bank")
    page.click("button.pay")
    page.click("button:has-text('Leave pending')")
    page.wait_for_selector("text=We are confirming your payment")
    result = landed(page, "success")  # the page polls until the sandbox settles it
    assert result["status"] == "Completed"


def test_apm_lands_on_the_merchants_own_site(site, page, merchant_site):
    """The sandbox's APM page sends the customer back through our return URL to the
    merchant's site, a third origin."""
    page.goto(site.link(invoiceId="apm-own-site", currency="BRL", amount=50, data={"countryCode": "BR"},
                        page={"merchantTitle": "Shop"}, **merchant_site.urls))
    choose_method(page, "APM Test Payment")
    page.fill("#personId", "someone@bank")
    page.click("button.pay")
    page.click("button:has-text('Approve')")
    assert merchant_site.landed(page, "success")["status"] == "Completed"


def test_saved_card_pays_in_one_click(site, page):
    page.goto(site.link(invoiceId="first", page={"merchantTitle": "Shop"}))
    assert page.locator("text=Your saved cards").count() == 0
    pay(page, "4242 4242 4242 4242")
    landed(page, "success")
    page.goto(site.link(invoiceId="second", page={"merchantTitle": "Shop"}))
    assert page.get_by_label(re.compile(r"Visa ···· 4242")).is_checked()
    page.click("button.pay-saved")
    result = landed(page, "success")
    assert result["invoiceId"] == "second" and result["status"] == "Completed"


def test_cashier_deposit_with_a_custom_amount(site, page):
    link = site.link(mode="cashier", amount=None, invoiceId="cashier-1", page={"merchantTitle": "Casino"},
                     cashier={"presets": [10, 25, 50], "min": 5, "max": 500})
    page.goto(link)
    assert [t.strip() for t in page.locator(".amounts label").all_text_contents()] == ["$10.00", "$25.00", "$50.00"]
    page.fill("#custom_amount", "1000")
    page.click("text=Continue to payment")
    page.wait_for_selector("#amount-error")
    assert page.text_content("#amount-error").strip() == "Choose an amount from $5.00 to $500.00."
    assert page.get_attribute("#custom_amount", "aria-invalid") == "true"
    page.fill("#custom_amount", "12.34")
    page.click("text=Continue to payment")
    page.wait_for_selector("#number")
    assert page.text_content("#amount").strip() == "$12.34"
    pay(page, "4242 4242 4242 4242")
    result = landed(page, "success")
    assert (result["amount"], result["status"], result["invoiceId"]) == ("12.34", "Completed", "cashier-1")
