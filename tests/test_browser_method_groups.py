"""The payment page's alternative methods in their groups, in real Chromium: the search
box filters across the groups and hides the empty ones, and the radios are chosen by
keyboard across the groups of the one form."""
from __future__ import annotations

import pytest
from test_a11y import AXE, violations

pytestmark = pytest.mark.browser

INDIA = {"countryCode": "IN", "firstName": "John", "lastName": "Doe", "phone": "9876543210"}


@pytest.fixture
def site(tmp_path):
    """The app with the sandbox in-process (the gateway's own server changes nothing here)."""
    from conftest import serve_site

    yield from serve_site(tmp_path, "inprocess")


def visible_groups(page) -> list[str]:
    return page.locator("[data-method-group]:visible legend").all_text_contents()


def visible_methods(page) -> list[str]:
    return [t.strip() for t in page.locator("[data-method-name]:visible label").all_text_contents()]


def search(page, query: str) -> None:
    page.fill("#method-search", query)


def test_the_search_filters_across_groups_and_hides_empty_ones(site, page):
    page.goto(site.link(invoiceId="groups-search", currency="INR", amount=500, data=INDIA))
    assert visible_groups(page) == ["Wallets and payment apps", "Banks and bank transfers", "QR code payments",
                                    "Cards", "Test methods"]
    assert len(visible_methods(page)) == 58 and visible_methods(page)[0] == "UPI"
    assert page.text_content("[data-method-count]").strip() == ""

    search(page, "upi")  # a wallet and a QR code: the banks, cards and tests hide
    assert visible_groups(page) == ["Wallets and payment apps", "QR code payments"]
    assert visible_methods(page) == ["UPI", "UPI QR"]
    assert page.text_content("[data-method-count]").strip() == "Matching methods: 2 of 58"

    search(page, "Federal Bank LTD")  # the seed's own name finds its display name
    assert visible_groups(page) == ["Banks and bank transfers"]
    assert visible_methods(page) == ["Federal Bank (bank transfer)"]

    search(page, "  HDFC ")  # case and spaces aside
    assert visible_methods(page) == ["HDFC Bank"]

    search(page, "no such bank")
    assert visible_groups(page) == [] and visible_methods(page) == []
    assert page.text_content("[data-method-count]").strip() == "No payment method matches your search."

    search(page, "")
    assert len(visible_groups(page)) == 5 and len(visible_methods(page)) == 58
    assert page.text_content("[data-method-count]").strip() == ""


def test_accents_aside_in_brazil(site, page):
    page.goto(site.link(invoiceId="groups-br", currency="BRL", amount=50, data={"countryCode": "BR"}))
    assert visible_methods(page)[:3] == ["Pix", "Boleto", "Boleto Flash Itaú"]
    search(page, "itau")
    assert visible_methods(page) == ["Boleto Flash Itaú", "Itaú Boleto", "Itaú"]
    search(page, "Itaú")
    assert visible_methods(page) == ["Boleto Flash Itaú", "Itaú Boleto", "Itaú"]


def test_a_method_is_chosen_by_keyboard_across_groups(site, page):
    page.goto(site.link(invoiceId="groups-keys", currency="INR", amount=500, data=INDIA))
    search(page, "kotak")
    page.focus("#method-search")
    page.keyboard.press("Tab")  # into the radios: the one that shows
    assert page.evaluate("document.activeElement.id") == "method-2027"
    page.keyboard.press("Space")
    assert page.is_checked("#method-2027")

    search(page, "")
    last_wallet = page.locator("[data-method-group=wallets] input[type=radio]").last
    last_wallet.focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")  # from the wallets' last to the banks' first
    assert page.evaluate("document.activeElement.id") == "method-2025"
    assert page.is_checked("#method-2025") and not page.is_checked("#method-2027")

    page.keyboard.press("Tab")  # on to the form's button
    assert page.evaluate("document.activeElement.className") == "pay-alt"
    page.keyboard.press("Enter")
    page.wait_for_selector("button:has-text('Approve')")  # the sandbox's page for State Bank of India
    assert site.ledger.find(invoice_id="groups-keys")["payment_type_id"] == 2025


def test_the_grouped_list_has_no_axe_violations(site, browser):
    """The nested fieldsets, the scrolling box and the search box, to axe's default rules,
    before and after a search that hides groups (axe's script is inline: the page's CSP
    is bypassed for it, as the preview's accessibility run does)."""
    if not AXE.is_file():
        pytest.skip(f"{AXE} is missing: run `make axe`")
    source = AXE.read_text(encoding="utf-8")
    context = browser.new_context(locale="en-US", bypass_csp=True)
    try:
        page = context.new_page()
        # The default theme (the seed's example theme has contrast problems of its own).
        page.goto(site.link(invoiceId="groups-axe", currency="INR", amount=500, data=INDIA, page=None))
        assert violations(page, source) == []
        search(page, "bank")
        assert visible_groups(page) == ["Banks and bank transfers"]
        assert violations(page, source) == []
    finally:
        context.close()
