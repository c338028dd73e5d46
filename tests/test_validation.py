"""The one set of request rules (checkout.validation), where its callers meet: the
checkout link, the payout request and the payment page's form give one value one answer."""
from __future__ import annotations

import pytest
from conftest import base_config
from werkzeug.datastructures import MultiDict

from checkout import create_app, links, payouts, validation
from checkout.forms import card_form_class
from checkout.merchants import DEMO_MERCHANT, Merchant

CUSTOMER = {"externalUserId": "user-42", "firstName": "John", "lastName": "Doe"}
PAYOUT = {"amount": 5, "currency": "EUR", "customer": CUSTOMER}
CHECKOUT = {"amount": 5, "currency": "EUR", "successUrl": "https://shop.example/ok",
            "failureUrl": "https://shop.example/no"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(base_config(tmp_path_factory.mktemp("validation")))


def payout_errors(body: dict) -> dict[str, str]:
    try:
        payouts.validate_request(body, DEMO_MERCHANT, 7 * 24 * 3600, 3600)
    except validation.RequestError as exc:
        return exc.errors
    return {}


def checkout_errors(body: dict, merchant: Merchant = DEMO_MERCHANT) -> dict[str, str]:
    try:
        links.validate_checkout(body, merchant, 7 * 24 * 3600)
    except validation.RequestError as exc:
        return exc.errors
    return {}


def form_accepts_phone(app, phone: str) -> bool:
    """The payment page's phone field (a theme's ``page.fields: ["phone"]``)."""
    with app.test_request_context(method="POST"):
        form = card_form_class(("phone",))(MultiDict({"phone": phone}), meta={"csrf": False})
        form.validate()
        return not form.phone.errors


def test_the_old_names_are_the_one_error():
    assert links.RequestError is payouts.PayoutRequestError is validation.RequestError
    error = validation.RequestError({"amount": "is required", "currency": "must be an ISO 4217 currency code"})
    assert error.message == "amount: is required (and 1 more)"
    assert validation.RequestError({"amount": "is required"}).message == "amount: is required"


PHONES = [
    ("+44 20 7946 0958", True),
    ("(030) 1234-567", True),
    ("+1 234 567 890 123 45", True),  # 15 digits: the most E.164 allows
    ("+683 4002", True),  # Niue: 7 digits with its country code, the shortest in use
    ("123456", False),  # six digits: the payout rule once took it, the page never did
    ("+1 234 567 890 123 456", False),  # 16 digits: more than E.164 allows
    ("1234567890123456789012", False),
    ("+44 20 7946 0958 ext 1", False),
    ("phone", False),
    ("++44 20 7946 0958", False),
]


@pytest.mark.parametrize(("phone", "valid"), PHONES)
def test_one_phone_rule_for_every_caller(app, phone, valid):
    assert validation.phone_valid(phone) is valid
    # the payout request's customer.phoneNumber
    refused = payout_errors({**PAYOUT, "customer": {**CUSTOMER, "phoneNumber": phone}})
    assert ("customer.phoneNumber" not in refused) is valid
    # a cashier link whose withdrawals fill the payout's phone from data.phone
    cashier = {**CHECKOUT, "mode": "cashier", "accountId": "user-42", "cashier": {"payouts": True},
               "data": {"phone": phone}}
    assert ("data.phone" not in checkout_errors(cashier)) is valid
    # the payment page's phone field never takes what this rule refuses; it is stricter
    # still (a number of the chosen country, by libphonenumber: see tests/test_addresses.py)
    if not valid:
        assert not form_accepts_phone(app, phone)


@pytest.mark.parametrize(("email", "valid"), [
    ("john@doe.com", True), (" john@doe.com ", True), ("a.b+c@mail.example.co.uk", True),
    ("john@doe", False), ("john@@doe.com", False), ("john doe@doe.com", False), ("@doe.com", False),
    ("x" * 65 + "@doe.com", False), ("john@" + "d" * 250 + ".com", False),
])
def test_one_email_rule(email, valid):
    assert validation.email_valid(email) is valid
    refused = payout_errors({**PAYOUT, "customer": {**CUSTOMER, "email": email}})
    assert ("customer.email" not in refused) is valid or len(email.strip()) > 254


@pytest.mark.parametrize(("value", "currency", "kept", "reason"), [
    ("10.5", "USD", "10.50", None),
    (10.66, "USD", "10.66", None),
    ("10.666", "USD", None, "USD allows at most 2 decimals"),
    ("1000", "JPY", "1000", None),
    ("1000.0", "JPY", "1000", None),  # a zero decimal is no decimal
    ("1000.5", "JPY", None, "JPY allows no decimals"),
    ("10.125", "BHD", "10.125", None),  # the dinar has three
    ("10.1255", "BHD", None, "BHD allows at most 3 decimals"),
    ("0", "USD", None, "must be greater than 0"),
    (-1, "USD", None, "must be greater than 0"),
    ("-1", "USD", None, validation.AMOUNT_TEXT_REASON),  # a string: digits only (the text rules' table has more)
    (float("nan"), "USD", None, "must be greater than 0"),
    ("NaN", "USD", None, validation.AMOUNT_TEXT_REASON),
    (1e12, "USD", None, "is too large"),
    ("1000000000000", "USD", None, "is too large"),
    ("1e12", "USD", None, validation.AMOUNT_TEXT_REASON),
    ("ten", "USD", None, validation.AMOUNT_TEXT_REASON),
    (True, "USD", None, "must be a number"),
    (None, "USD", None, "is required"),
])
def test_amounts_by_the_currency_precision(value, currency, kept, reason):
    errors: dict[str, str] = {}
    assert validation.amount(value, currency, errors) == kept
    assert errors == ({"amount": reason} if reason else {})
    # both requests answer the same
    body = {"amount": value, "currency": currency}
    assert checkout_errors({**CHECKOUT, **body}).get("amount") == reason
    assert payout_errors({**PAYOUT, **body}).get("amount") == reason


def test_a_payout_amount_may_be_the_seeds_value():
    body = {k: v for k, v in PAYOUT.items() if k != "amount"}
    assert payout_errors({**body, "value": "1.234"}) == {"value": "EUR allows at most 2 decimals"}
    assert payout_errors(body) == {"amount": "is required"}


def test_currency():
    errors: dict[str, str] = {}
    assert validation.currency("eur", errors) == "EUR" and not errors
    for value in ("XTS", "EURO", "", None, 978):  # a testing code, not a code, a number
        errors = {}
        assert validation.currency(value, errors, example="EUR") is None
        assert errors == {"currency": "must be an ISO 4217 currency code, e.g. EUR"}


SHOP = Merchant("pbid_shop", "secret", redirect_hosts=("shop.example", "*.shop.example"))


@pytest.mark.parametrize(("url", "reason"), [
    ("https://shop.example/ok", None),
    ("http://pay.shop.example:8080/ok?order=1#top", None),
    ("ftp://shop.example/ok", "must be an http(s) URL"),
    ("javascript:alert(1)", "must be an http(s) URL"),
    ("//shop.example/ok", "must be an http(s) URL"),
    ("https:///ok", "must be an http(s) URL"),
    ("http://[::1", "must be an http(s) URL"),
    ("https://shop.example:port/ok", "must be an http(s) URL"),
    ("https://user:pass@shop.example/ok", "must be a plain http(s) URL"),
    ("https://user@shop.example/ok", "must be a plain http(s) URL"),
    ("https://shop.example/o k", "must be a plain http(s) URL"),
    ("https://shop.example/ok\t", "must be a plain http(s) URL"),
    ("https://shop.example/ok\n", "must be a plain http(s) URL"),
    ("https://evil.example/ok", "host evil.example is not one of the merchant's redirect hosts"),
    ("https://shop.example.evil/ok", "host shop.example.evil is not one of the merchant's redirect hosts"),
    ("https://shop.example/" + "x" * 2000, "must be a URL of at most 2000 characters"),
    (42, "must be a URL of at most 2000 characters"),
])
def test_url_rules(url, reason):
    assert validation.http_url_error(url, SHOP) == reason
    # the checkout's and the payout's redirect URLs answer the same
    assert checkout_errors({**CHECKOUT, "successUrl": url}, SHOP).get("successUrl") == reason
    try:
        payouts.validate_request({**PAYOUT, "successUrl": url}, SHOP, 7 * 24 * 3600, 3600)
        refused = None
    except validation.RequestError as exc:
        refused = exc.errors.get("successUrl")
    assert refused == reason


def test_any_host_without_redirect_hosts():
    assert validation.http_url_error("https://anywhere.example/ok", DEMO_MERCHANT) is None


@pytest.mark.parametrize(("value", "numbers", "kept", "reason"), [
    ("  Order 7  ", False, "Order 7", None),
    ("", False, None, None),
    ("   ", False, None, None),
    (None, False, None, None),
    (990022, True, "990022", None),
    (990022, False, None, "must be a string"),
    (True, True, None, "must be a string"),
    (["a"], True, None, "must be a string"),
    ("x" * 11, False, None, "must be at most 10 characters"),
    ("  " + "x" * 10 + "  ", False, "x" * 10, None),  # the limit is on what is kept
    ("a\x00b", False, None, "must not contain control characters or line breaks (U+0000 at character 2)"),
])
def test_text(value, numbers, kept, reason):
    errors: dict[str, str] = {}
    assert validation.text(value, "name", errors, 10, numbers=numbers) == kept
    assert errors == ({"name": reason} if reason else {})


def test_required_text():
    errors: dict[str, str] = {}
    assert validation.text("  ", "customer.firstName", errors, 100, required=True) is None
    assert errors == {"customer.firstName": "is required"}
    assert payout_errors({**PAYOUT, "customer": {**CUSTOMER, "firstName": " "}}) == {
        "customer.firstName": "is required"}
