"""One text rule for every free-text field, and ASCII-only grammars (issue 11, findings 7,
8 and 10): over HTTP, each text field of ``POST /checkout/link``, ``POST /payments/link``
and ``POST /payouts`` refuses control, bidi and invisible formatting characters, lone
surrogates and noncharacters with a 400 naming the field (a lone surrogate was a 500);
international text passes and is kept as sent; amounts are ASCII digits; a theme colour
with Arabic-Indic digits fails the lint; the customer's forms refuse the same characters
and other scripts' digits in the card fields."""
from __future__ import annotations

import json

import pytest
from conftest import DEMO_AUTH, EXTRA_FIELDS, Forms, base_config, follow, seed_request
from test_pay_http import card_data, text  # the payment page's own form helpers

from checkout import create_app, methods, textrules
from checkout.forms import HIDDEN_CHARACTER

HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
def app(tmp_path):
    """Refusals touch no database: SQLite is enough (the international text's round trip
    below runs on both engines)."""
    app = create_app(base_config(tmp_path))
    yield app
    app.extensions["checkout.store"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def post(client, path: str, body: dict):
    """POST ``body`` as JSON text. ``json.dumps`` writes every non-ASCII character as an
    escape, so a lone surrogate goes as the six characters ``\\ud800``, as a client would
    send it (a Python str holding one cannot be encoded as UTF-8)."""
    return client.post(path, data=json.dumps(body).encode("ascii"), headers=HEADERS, auth=DEMO_AUTH)


# -- the requests and their text fields ---------------------------------------------------
def checkout_body() -> dict:
    return seed_request()


def apm_body() -> dict:
    return {"amount": "10.00", "currency": "USD", "description": "Order 7", "invoiceId": "inv-7",
            "accountId": "john@doe.com", "successUrl": "https://example.com/success",
            "failureUrl": "https://example.com/failure", "data": {"paymentTypeId": 1, "personId": "success@bank"}}


def payout_body() -> dict:
    return {"orderId": "po-7", "amount": "12.30", "currency": "EUR", "description": "Winnings",
            "customer": {"externalUserId": "user-42", "firstName": "John", "lastName": "Doe",
                         "email": "john@doe.com", "phoneNumber": "+49 30 1234567", "documentId": "X1234567",
                         "billing": {"address": "Wall street 65", "city": "Berlin", "state": "BE",
                                     "postalCode": "10115"}}}


REQUESTS = {"/checkout/link": checkout_body, "/payments/link": apm_body, "/payouts": payout_body}
#: (endpoint, the field's path in the body, the error's key when it differs).
FIELDS = [
    *(("/checkout/link", path, None) for path in (
        "description", "invoiceId", "accountId", "data.firstName", "data.lastName", "page.merchantTitle",
        "page.footerText")),
    *(("/payments/link", path, None) for path in ("description", "invoiceId", "accountId", "data.personId")),
    *(("/payouts", path, key) for path, key in (
        ("description", None), ("orderId", None), *((f"customer.{k}", None) for k in (
            "externalUserId", "firstName", "lastName", "email", "phoneNumber", "documentId")),
        *((f"customer.billing.{k}", None) for k in ("address", "city", "state", "postalCode")))),
]


def with_value(body: dict, path: str, insert: str) -> dict:
    """``body`` with ``insert`` put in the middle of the field at ``path`` (its value
    otherwise valid: an email stays an email, a phone number a phone number)."""
    *parents, leaf = path.split(".")
    node = body
    for key in parents:
        node = node[key]
    value = str(node[leaf])
    middle = 2 if "@" in value or value.startswith("+") else len(value) // 2
    node[leaf] = value[:middle] + insert + value[middle:]
    return body


#: Every kind of character the rule refuses, with what the reason says.
REFUSED = {
    "\x00": "control", "\t": "control", "\n": "control", "\r": "control", "\x1b": "control", "\x7f": "control",
    "\x80": "control", "\x85": "control", "\x9f": "control", "\u2028": "control", "\u2029": "control",
    chr(0xD800): "lone surrogate", chr(0xDBFF): "lone surrogate", chr(0xDC00): "lone surrogate",
    chr(0xDFFF): "lone surrogate",  # chr(): ruff reads every surrogate literal as one key
    "\u202a": "bidirectional", "\u202b": "bidirectional", "\u202c": "bidirectional", "\u202d": "bidirectional",
    "\u202e": "bidirectional", "\u2066": "bidirectional", "\u2067": "bidirectional", "\u2068": "bidirectional",
    "\u2069": "bidirectional",
    "\u200b": "invisible", "\u2060": "invisible", "\u2061": "invisible", "\u2064": "invisible",
    "\ufeff": "invisible", "\u00ad": "invisible", "\u180e": "invisible", "\u206f": "invisible",
    "\ufff9": "invisible", "\U000e0041": "invisible", "\u3164": "invisible",
    "\ufdd0": "noncharacter", "\ufdef": "noncharacter", "\ufffe": "noncharacter", "\uffff": "noncharacter",
    "\U0001fffe": "noncharacter", "\U0010ffff": "noncharacter",
}


@pytest.mark.parametrize(("endpoint", "path", "key"), FIELDS)
def test_every_text_field_refuses_every_hidden_character_naming_the_field(client, endpoint, path, key):
    key = key or path
    for char, kind in REFUSED.items():
        response = post(client, endpoint, with_value(REQUESTS[endpoint](), path, char))
        where = f"{endpoint} {path} U+{ord(char):04X}"
        assert response.status_code == 400, (where, response.status_code, response.get_data(as_text=True)[:300])
        errors = response.json["errors"]
        assert key in errors, (where, errors)
        assert kind in errors[key] and f"U+{ord(char):04X}" in errors[key], (where, errors[key])
        assert response.json["message"].startswith(f"{key}: ")


@pytest.mark.parametrize("endpoint", REQUESTS)
def test_a_lone_surrogate_anywhere_is_a_400_never_a_500(client, endpoint):
    """Every string of the body, text field or not (currency, URLs, locale, ip, ...), and a
    key: a lone surrogate is refused or ignored, never a server error."""
    def strings(node, trail=()):
        for k, v in node.items():
            if isinstance(v, dict):
                yield from strings(v, (*trail, k))
            elif isinstance(v, str):
                yield (*trail, k)
    body = REQUESTS[endpoint]()
    for trail in strings(body):
        changed = REQUESTS[endpoint]()
        node = changed
        for k in trail[:-1]:
            node = node[k]
        node[trail[-1]] = node[trail[-1]][:1] + "\ud800"
        response = post(client, endpoint, changed)
        # 400 naming it; 200 where an unknown value is ignored (a locale we have no pages in)
        assert response.status_code in (200, 400), (trail, response.status_code)
        if response.status_code == 200:
            assert trail == ("locale",), trail
    for parent in ("data", "page", "customer"):
        if isinstance(body.get(parent), dict):
            changed = REQUESTS[endpoint]()
            changed[parent]["x\ud800"] = "1"
            assert post(client, endpoint, changed).status_code in (200, 400), parent


@pytest.mark.parametrize("endpoint", REQUESTS)
@pytest.mark.parametrize(("raw", "reason"), [
    (b'{"description": "caf\xe9"}', "must be JSON in UTF-8"),  # Latin-1
    (b'{"description": "\xed\xa0\x80"}', "must be JSON in UTF-8"),  # a surrogate, UTF-8-encoded
    ('{"description": "x"}'.encode("utf-16"), "must be JSON in UTF-8"),
    (b'{"description": ', "must be a JSON object"),
])
def test_a_body_that_is_not_utf8_json_is_a_400(client, endpoint, raw, reason):
    response = client.post(endpoint, data=raw, headers=HEADERS, auth=DEMO_AUTH)
    assert response.status_code == 400
    assert response.json["errors"] == {"body": reason}


# -- international text passes, kept as sent -------------------------------------------
INTERNATIONAL = {
    "Cyrillic": "Оплата заказа №7 — спасибо!",
    "Persian with ZWNJ": "می\u200cخواهم پرداخت کنم",
    "Arabic with ALM and RLM": "دفع الطلب \u061c١٢٣\u200f",
    "Hebrew with RLM": "תשלום עבור הזמנה\u200f (2)",
    "Devanagari with ZWJ and ZWNJ": "क्\u200dष भुगतान क्\u200cष",
    "emoji with ZWJ and VS16": "👩\u200d💻 ❤\ufe0f 🏳\ufe0f\u200d🌈",
    "emoji flag tag sequence": "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Scotland",
    "CJK": "支付订单 注文の支払い 주문 결제",
    "French no-break spaces": "Merci\u202f! 10\u00a0€",
    "decomposed é (not normalised)": "Cafe\u0301 Ole\u0301",
}


def test_the_rule_keeps_international_text():
    for name, value in INTERNATIONAL.items():
        assert textrules.problem(value) is None, name


@pytest.fixture
def both_engines_client(tmp_path, database):
    app = create_app(base_config(tmp_path, DATABASE=database))
    yield app.test_client()
    app.extensions["checkout.store"].engine.dispose()


@pytest.mark.parametrize("name", INTERNATIONAL)
def test_international_text_is_accepted_and_kept_as_sent(both_engines_client, name):
    client, value = both_engines_client, INTERNATIONAL[name]
    invoice = value[:64]
    link = post(client, "/checkout/link", seed_request(description=value, invoiceId=invoice, accountId=value,
                                                       data={"firstName": value},
                                                       page={"merchantTitle": value[:80], "footerText": value}))
    assert link.status_code == 200, link.json
    checkout_id = link.json["model"]["checkoutId"]
    status = client.get(f"/checkout/{checkout_id}", auth=DEMO_AUTH)
    assert status.json["model"]["invoiceId"] == invoice  # byte for byte: no NFC, nothing dropped
    page = client.get("/" + link.json["link"]["action"].split("://", 1)[1].split("/", 1)[1])
    assert page.status_code == 200 and value in page.get_data(as_text=True)

    apm = apm_body()
    apm.update(description=value, invoiceId=invoice)
    assert post(client, "/payments/link", apm).status_code == 200
    payout = payout_body()
    payout["description"] = value
    payout["customer"].update(firstName=value[:100], lastName=value[:100])
    payout["customer"]["billing"]["city"] = value[:100]
    response = post(client, "/payouts", {**payout, "orderId": "po-" + str(abs(hash(name)))})
    assert response.status_code == 200, response.json


# -- amounts -------------------------------------------------------------------------------
@pytest.mark.parametrize(("amount", "kept"), [
    (10, "10.00"), (10.5, "10.50"), ("10", "10.00"), ("10.5", "10.50"), ("10.50", "10.50"), ("0.01", "0.01"),
    ("010.00", "10.00"), (1e2, "100.00"),
])
def test_amounts_accepted(client, amount, kept):
    response = post(client, "/checkout/link", seed_request(amount=amount))
    assert response.status_code == 200, response.json
    checkout = client.get(f"/checkout/{response.json['model']['checkoutId']}", auth=DEMO_AUTH).json["model"]
    assert checkout["amount"] in (kept, float(kept))


@pytest.mark.parametrize("amount", [
    "1_000", "1_0.00",  # Decimal() takes underscores
    "\u0661\u0662\u0663", "\u0661\u0660.\u0665\u0660",  # Arabic-Indic digits
    "\u096a\u0968", "\uff11\uff10",  # Devanagari, fullwidth
    "\u00b2", "1e3", "1E3", "1e-2",  # a superscript; exponents in a string
    " 10", "10 ", "\u00a010", "10\n",  # spaces
    "+5", "-5", "0x10", "Infinity", "inf", "NaN", "snan",
    "1,5", "10.5.0", "10.", ".5", "", "ten",
])
@pytest.mark.parametrize("endpoint", ["/checkout/link", "/payouts"])
def test_amounts_refused(client, endpoint, amount):
    body = REQUESTS[endpoint]()
    body["amount"] = amount
    response = post(client, endpoint, body)
    assert response.status_code == 400
    assert "amount" in response.json["errors"], response.json


def test_cashier_amounts_follow_the_same_grammar(client):
    body = seed_request(mode="cashier", amount=None, cashier={"presets": ["10", "1_000"], "min": "1", "max": "2000"})
    response = post(client, "/checkout/link", body)
    assert response.status_code == 400 and "cashier" in response.json["errors"]


# -- ASCII grammars: themes ------------------------------------------------------------
@pytest.mark.parametrize(("key", "value"), [
    ("payButtonColor", "rgb(\u0661\u0662\u0663,0,0)"),  # finding 8: the button turned transparent
    ("payButtonColor", "rgb(\u0967\u0968\u0969 0 0)"),  # Devanagari digits
    ("payButtonColor", "h\u017fl(0, 50%, 50%)"),  # U+017F: re.I matched it as s
    ("payButtonColor", "\u212ahaki"),  # the Kelvin sign: lower() made it "khaki"
    ("payButtonColor", "#\uff11\uff12\uff13"),  # fullwidth digits
    ("formControlBorderRadius", "\u0666px"),
    ("bodyFont", "Ari\u0430l"),  # a Cyrillic a
])
def test_theme_values_are_ascii(client, key, value):
    response = post(client, "/checkout/link", seed_request(page={key: value}))
    assert response.status_code == 400 and f"page.{key}" in response.json["errors"]


def test_theme_lint_fails_a_colour_with_arabic_indic_digits(app, tmp_path):
    theme = tmp_path / "arabic-digits.json"
    theme.write_text(json.dumps({"payButtonColor": "rgb(\u0661\u0662\u0663,0,0)"}), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["themes", "lint", str(theme)])
    assert result.exit_code == 1, result.output
    assert "payButtonColor: must be a colour" in result.output
    assert "pass" not in result.output.split("payButtonColor:")[0]


def test_theme_text_uses_the_one_rule(client):
    """merchantTitle had a rule of its own (it missed zero-width and invisible characters)."""
    for char in ("\u200b", "\ufeff", "\u2060", "\ud800"):
        response = post(client, "/checkout/link", seed_request(page={"merchantTitle": f"Acme{char}Ltd"}))
        assert response.status_code == 400
        assert response.json["errors"]["page.merchantTitle"] == textrules.problem(f"Acme{char}Ltd")
    assert post(client, "/checkout/link", seed_request(page={"merchantTitle": "Acme\u200dLtd"})).status_code == 200


# -- the customer's forms -----------------------------------------------------------------
def page_path(client, **overrides) -> str:
    response = post(client, "/checkout/link", seed_request(**overrides))
    assert response.status_code == 200, response.json
    return "/" + response.json["link"]["action"].split("://", 1)[1].split("/", 1)[1]


def card_post(client, path: str, **fields):
    """Send the card form (the seed's, with its email, phone and both addresses) with
    ``fields`` changed; the page the post leads to (or the redirect to the merchant)."""
    data = {**card_data(text(client.get(path))), **fields}
    response = client.post(f"{path}/card", data=data)
    assert response.status_code == 303
    return follow(client, response)


def ledger_count(app) -> int:
    return app.extensions["sandbox.ledger"].count("pbid_test", "990022")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("number", "\u0664\u0662\u0664\u0662 \u0664\u0662\u0664\u0662 \u0664\u0662\u0664\u0662 \u0664\u0662\u0664\u0662",
     "This card number is not valid."),
    ("expiry", "\u0661\u0662 / \u0663\u0669", "Enter the expiry date as MM / YY."),  # int() read it as 12/39
    ("expiry", "\u0661\u0662\u0663\u0669", "Enter the expiry date as MM / YY."),
    ("expiry", "\uff11\uff12/\uff13\uff19", "Enter the expiry date as MM / YY."),  # fullwidth
    ("cvv", "\u0661\u0662\u0663", "The security code must be 3 digits."),
    ("cvv", "\u00b9\u00b2\u00b3", "The security code must be 3 digits."),
])
def test_card_form_refuses_other_scripts_digits(app, client, field, value, message):
    page = card_post(client, page_path(client), **{field: value})
    assert page.status_code == 422
    assert message in page.get_data(as_text=True)
    assert ledger_count(app) == 0


@pytest.mark.parametrize("field", ["name", "billing_address-line1", "billing_address-city", "email",
                                   "billing_address-postcode"])
@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\x00", "\x85"])
def test_card_form_text_fields_follow_the_one_rule(app, client, field, char):
    value = {"name": "Jane Doe", "email": "john@doe.com", **EXTRA_FIELDS}[field]
    page = card_post(client, page_path(client), **{field: value[:2] + char + value[2:]})
    assert page.status_code == 422
    with app.test_request_context():
        assert str(HIDDEN_CHARACTER) in page.get_data(as_text=True)
    assert ledger_count(app) == 0


def test_card_form_refuses_a_postcode_in_arabic_indic_digits(app, client):
    """The address data's postcode patterns use ``\\d``: "١٠١١٧" passed as a German one."""
    page = card_post(client, page_path(client), **{"billing_address-country": "DE", "billing_address-city": "Berlin",
                                                   "billing_address-postcode": "\u0661\u0660\u0661\u0661\u0667"})
    assert page.status_code == 422
    assert "Enter a valid postal code for Germany" in page.get_data(as_text=True)
    assert ledger_count(app) == 0


def test_card_form_keeps_international_names(app, client):
    done = card_post(client, page_path(client), name="Zo\u0308e Mu\u0308ller", expiry="12 / 39",
                     **{"billing_address-line1": "می\u200cخواهم 15"})
    assert done.headers["Location"].startswith("https://example.com/success")
    assert ledger_count(app) == 1


def test_method_fields_follow_the_one_rule(app):
    test_method = methods.method(1)
    with app.test_request_context():
        assert methods.validate_fields(test_method, {"personId": "success@bank"}) == {}
        assert methods.validate_fields(test_method, {"personId": "succ\u202eess@bank"}) == {
            "personId": methods.HIDDEN_CHARACTER}
        names = next(m for m in methods.catalogue() if any(f.validator == "name" for f in m.fields_for(payout=False)))
        field = next(f for f in names.fields_for(payout=False) if f.validator == "name")
        values = {f.name: "x" for f in names.fields_for(payout=False)}
        errors = methods.validate_fields(names, {**values, field.name: "می\u200cخواهم"})
        assert field.name not in errors  # ZWNJ: isprintable() refused it before


@pytest.mark.parametrize("type_id", ["\u0661", " 1", "1_0", "\u00b9", "+1", "1.0"])
def test_payment_type_ids_are_ascii_digits(type_id):
    assert methods.method(type_id) is None
    assert methods.method("1") is methods.method(1) is not None



@pytest.mark.parametrize(("typed", "accepted"), [
    ("20", True), ("20.50", True), ("20,50", True), ("1 00", True), ("1\u00a000", True),  # group separators
    ("2_0", False), ("\u0662\u0660", False), ("2e1", False), ("\uff12\uff10", False), ("+20", False),
])
def test_cashier_custom_amount_is_ascii_digits(client, typed, accepted):
    """The customer's own amount on the cashier: ``Decimal()`` read "2_0" and "٢٠" as 20."""
    path = page_path(client, mode="cashier", amount=None, page=None,
                     cashier={"presets": [10, 25], "min": 5, "max": 500})
    form = Forms(text(client.get(path))).form("/amount")
    answer = client.post(form["action"], data={**form["fields"], "custom_amount": typed})
    assert answer.status_code == 303
    shown = follow(client, answer)
    if accepted:
        assert shown.status_code == 200 and "Other amount" not in text(shown), typed  # on to the deposit
    else:
        assert shown.status_code == 422, (typed, shown.status_code)


def test_payout_card_form_name_follows_the_one_rule(app, client):
    answer = post(client, "/payouts", {**payout_body(), "kycVerified": True}).json
    path = "/" + answer["iframeUrls"]["card"].split("://", 1)[1].split("/", 1)[1]
    fields = Forms(text(client.get(path))).forms[0]["fields"]
    sent = client.post(path, data={**fields, "name": "John\u202eDoe", "number": "4242424242424242"})
    shown = follow(client, sent)
    assert shown.status_code == 422
    with app.test_request_context():
        assert str(HIDDEN_CHARACTER) in text(shown)
    assert client.get(f"/payouts/{answer['payoutId']}", auth=DEMO_AUTH).json["status"] == "CREATED"
