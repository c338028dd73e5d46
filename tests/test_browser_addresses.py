"""Addresses and phones on the card form in real Chromium: the country's own fields once
it is chosen (address.js), "the same as billing" hiding the shipping address with and
without JavaScript, and the postcode patterns as a browser compiles them. The rules
themselves, over HTTP: tests/test_addresses.py."""
from __future__ import annotations

import json

import pytest
from test_browser_card import fill_card, landed

from checkout import addresses, phones

pytestmark = pytest.mark.browser
SHIPPING_FIELDS = ("#shipping_address-country", "#shipping_address-line1", "#shipping_address-city")


def choose_country(page, kind: str, code: str) -> None:
    """Choose an address's country and, with scripts on, wait for its fields."""
    page.select_option(f"#{kind}_address-country", code)
    if page.locator(f"fieldset[data-address={kind}][data-address-live]").count():
        page.wait_for_selector(f"fieldset[data-address={kind}][data-country={code}]:not([aria-busy])")


def test_choosing_the_united_states_shows_its_states(site, page):
    page.goto(site.link(invoiceId="us-address"))
    assert page.locator("input#billing_address-state").count() == 1  # no country yet: a state as text
    page.fill("#billing_address-line1", "1 Infinite Loop")
    page.fill("#billing_address-city", "Cupertino")
    choose_country(page, "billing", "US")
    state = page.locator("select#billing_address-state")
    assert state.is_visible() and state.get_attribute("required") is not None
    assert state.get_attribute("data-msg-required") == "Choose the state."
    assert "California" in state.locator("option").all_text_contents()
    assert page.text_content("label[for=billing_address-postcode]").strip() == "ZIP code"
    assert page.get_attribute("#billing_address-postcode", "data-msg-pattern") == (
        "Enter a valid ZIP code for United States, like 95014.")
    # What was typed stays.
    assert page.input_value("#billing_address-line1") == "1 Infinite Loop"
    assert page.input_value("#billing_address-city") == "Cupertino"
    # Germany: no state; its postcode before its city, as Germans write them.
    choose_country(page, "billing", "DE")
    assert page.locator("#billing_address-state").count() == 0
    ids = page.eval_on_selector_all("[data-address=billing] [data-address-fields] [name]", "els => els.map(e => e.id)")
    assert ids == ["billing_address-line1", "billing_address-postcode", "billing_address-city"]
    choose_country(page, "billing", "US")
    page.select_option("#billing_address-state", "CA")
    page.fill("#billing_address-postcode", "95014")
    fill_card(page, "4242424242424242")
    page.click("button.pay")
    assert landed(page, "success")["status"] == "Completed"


def test_the_browser_checks_the_postcode_as_the_server_does(site, page):
    page.goto(site.link(invoiceId="us-postcode"))
    fill_card(page, "4242424242424242")
    choose_country(page, "billing", "US")
    page.select_option("#billing_address-state", "CA")
    page.fill("#billing_address-postcode", "ABC")
    page.click("button.pay")
    error = page.wait_for_selector("#billing_address-postcode-error")
    assert error.text_content() == "Enter a valid ZIP code for United States, like 95014."
    assert page.get_attribute("#billing_address-postcode", "aria-invalid") == "true"
    assert "/c/" in page.url  # nothing was sent


@pytest.mark.parametrize("scripts", [True, False], ids=["javascript", "no-javascript"])
def test_same_as_billing_hides_the_shipping_address(site, browser, scripts):
    context = browser.new_context(locale="en-US", java_script_enabled=scripts)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(site.link(invoiceId=f"same-{scripts}"))
        assert page.is_checked("#same_as_billing")
        assert not any(page.is_visible(s) for s in SHIPPING_FIELDS)  # computed: display none
        page.uncheck("#same_as_billing")
        assert all(page.is_visible(s) for s in SHIPPING_FIELDS)
        page.check("#same_as_billing")
        assert not any(page.is_visible(s) for s in SHIPPING_FIELDS)
        fill_card(page, "4242424242424242")  # the billing address only
        page.click("button.pay")
        assert landed(page, "success")["status"] == "Completed"
    finally:
        context.close()


def test_without_javascript_the_answer_draws_the_chosen_country(site, browser):
    """No script swaps the fields: the server checks the posted country and the page it
    answers with draws that country's fields, with what was typed."""
    context = browser.new_context(locale="en-US", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(site.link(invoiceId="noscript-us"))
        page.fill("#billing_address-line1", "1 Infinite Loop")
        page.fill("#billing_address-city", "Cupertino")
        page.select_option("#billing_address-country", "US")
        page.fill("#billing_address-postcode", "95014")
        fill_card(page, "4242424242424242")
        page.click("button.pay")
        page.wait_for_selector("select#billing_address-state[aria-invalid=true]")
        assert page.text_content("#billing_address-state-error") == "Choose the state."
        assert page.input_value("#billing_address-line1") == "1 Infinite Loop"
        page.select_option("#billing_address-state", "CA")
        page.fill("#number", "4242424242424242")
        page.fill("#cvv", "123")
        page.click("button.pay")
        assert landed(page, "success")["status"] == "Completed"
    finally:
        context.close()


def test_the_phone_hint_follows_its_country(site, page):
    page.goto(site.link(invoiceId="phone-hint"))
    assert page.text_content("#phone-hint") == "For example, (201) 555-0123"  # en_US: the United States
    page.select_option("#phone_country", "GB")
    # The example is asked for (/phone-example/GB), not carried by every option.
    page.wait_for_function("document.querySelector('#phone-hint').textContent === 'For example, 0121 234 5678'")
    assert page.get_attribute("#phone", "data-msg-pattern") == (
        "Enter a valid phone number for United Kingdom, like 0121 234 5678.")


def test_every_postcode_pattern_compiles_in_the_browser(page):
    """Each country's pattern as the browser reads a ``pattern`` attribute (anchored, the
    ``v`` flag) compiles, takes the data's examples in either case, and refuses junk."""
    cases = {code: [addresses.browser_pattern(r.postal_regex), r.postal_example]
             for code, _ in addresses.country_names("en_US")
             if (r := addresses.rules(code)).postal_regex and r.postal_example}
    assert len(cases) > 150
    page.set_content("<!doctype html><title>patterns</title>")
    failures = page.evaluate("""cases => Object.entries(cases).flatMap(([code, [pattern, example]]) => {
        let re;
        try { re = new RegExp('^(?:' + pattern + ')$', 'v'); } catch (e) { return [code + ': ' + e.message]; }
        const bad = [example, example.toLowerCase(), ' ' + example + ' '].filter(v => !re.test(v));
        if (re.test('!!')) bad.push('!!');
        return bad.length ? [code + ': ' + JSON.stringify(bad)] : [];
    })""", cases)
    assert failures == [], json.dumps(failures)
    phone = page.evaluate("p => ['+44 20 7946 0958', '(030) 1234-567'].every(v => new RegExp('^(?:' + p + ')$', 'v')"
                          ".test(v)) && !new RegExp('^(?:' + p + ')$', 'v').test('call me')",
                          phones.BROWSER_PATTERN)
    assert phone
