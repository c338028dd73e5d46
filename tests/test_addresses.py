"""Addresses by country, the countries to choose from, and phones: the rules
(checkout.addresses, checkout.phones, the card form's sections in checkout.forms) and,
over HTTP with the real sandbox gateway in-process, what the page draws, what the server
refuses and what the gateway is sent. In Chromium: tests/test_browser_addresses.py."""
from __future__ import annotations

from html.parser import HTMLParser

import phonenumbers
import pytest
from conftest import DEMO_AUTH, EXTRA_FIELDS, Forms, follow, seed_request, text
from flask import request, request_started
from werkzeug.datastructures import MultiDict

from checkout import addresses, forms, i18n, phones

ALL_SECTIONS = ("email", "phone", "billing_address", "shipping_address")


class Page(HTMLParser):
    """Every input and select of a page by id (its attributes, a select's options as
    (value, text)), and the error shown for each field (``<p class="error" id="X-error">``)."""

    def __init__(self, html: str):
        super().__init__()
        self.fields: dict[str, dict] = {}
        self.options: dict[str, list[tuple[str, str]]] = {}
        self.errors: dict[str, str] = {}
        self._select: str | None = None
        self._option: str | None = None
        self._error: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v if v is not None else "" for k, v in attrs}
        if tag in ("input", "select") and "id" in a:
            self.fields[a["id"]] = {"tag": tag, **a}
        if tag == "select":
            self._select = a.get("id")
            self.options[self._select] = []
        elif tag == "option" and self._select:
            self._option = a.get("value", "")
            self.options[self._select].append((self._option, ""))
        elif tag == "p" and "error" in a.get("class", "").split() and a.get("id", "").endswith("-error"):
            self._error = a["id"].removesuffix("-error")
            self.errors[self._error] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "option":
            self._option = None
        elif tag == "p":
            self._error = None

    def handle_data(self, data):
        if self._option is not None and self._select:
            value, label = self.options[self._select][-1]
            self.options[self._select][-1] = (value, label + data)
        elif self._error is not None:
            self.errors[self._error] += data


@pytest.fixture
def sent(app):
    """The bodies the sandbox gateway received for card charges (in-process: the
    gateway's requests are this app's own, seen as they arrive)."""
    bodies: list[dict] = []

    def record(sender, **extra):
        if request.endpoint == "sandbox.charge_card":
            bodies.append(request.get_json())

    request_started.connect(record, app)
    yield bodies
    request_started.disconnect(record, app)


def link(client, **data) -> str:
    """A link of the seed's request (``page.fields``: every section) with this ``data``."""
    invoice = data.pop("invoice", "addr")
    body = seed_request(data={"firstName": "John", "lastName": "Doe", **data}, invoiceId=invoice)
    response = client.post("/checkout/link", json=body, auth=DEMO_AUTH)
    assert response.status_code == 200, response.json
    return "/" + response.json["link"]["action"].split("://", 1)[1].split("/", 1)[1]


def card_post(client, path: str, **fields) -> dict:
    """The card form as the page draws it, with the seed's sections filled (EXTRA_FIELDS)
    and then ``fields`` (None: left out, as an unticked checkbox is)."""
    csrf = Forms(text(client.get(path))).form("/card")["fields"]["csrf_token"]
    data = {**EXTRA_FIELDS, "csrf_token": csrf, "name": "Jane Doe", "number": "4242424242424242",
            "expiry": "12 / 39", "cvv": "123", **fields}
    return {k: v for k, v in data.items() if v is not None}


def billing(**values) -> dict:
    return {f"billing_address-{k}": v for k, v in values.items()}


def shipping(**values) -> dict:
    return {f"shipping_address-{k}": v for k, v in values.items()}


# -- the rules, without HTTP ------------------------------------------------------------------
def address_form(app, country: str, locale: str = "en_US", **values) -> forms.AddressForm:
    with app.test_request_context(headers={"Accept-Language": locale.replace("_", "-")}):
        form = forms.AddressForm(MultiDict({"country": country, **values}))
        form.validate()
        for field in form:  # the messages as the page says them
            field.errors = [str(e) for e in field.errors]
        return form


def test_a_german_postcode_is_checked_by_germanys_rule(app):
    refused = address_form(app, "DE", line1="Unter den Linden 1", city="Berlin", postcode="ABC")
    assert refused.postcode.errors == ["Enter a valid postal code for Germany, like 26133."]  # the data's example
    assert not refused.line1.errors and not refused.city.errors
    accepted = address_form(app, "DE", line1="Unter den Linden 1", city="Berlin", postcode="10115")
    assert not any(f.errors for f in accepted)
    assert accepted.cleaned == {"country_code": "DE", "street_address": "Unter den Linden 1", "city": "Berlin",
                                "postal_code": "10115", "country_area": "", "city_area": "", "sorting_code": ""}
    assert addresses.check({"country_code": "DE", "postal_code": "ABC"}).errors["postal_code"] == "invalid"


def test_a_us_address_needs_a_state_chosen_from_the_list(app):
    rules = addresses.rules("US")
    assert "country_area" in rules.required and ("CA", "California") in rules.areas
    with app.test_request_context():
        (state,) = [p for p in forms.address_layout("US") if p.name == "state"]
        assert state.choices == rules.areas and str(state.label) == "State"
        assert str(state.required_message) == "Choose the state."
        (postcode,) = [p for p in forms.address_layout("US") if p.name == "postcode"]
        assert str(postcode.label) == "ZIP code"
    missing = address_form(app, "US", line1="1 Infinite Loop", city="Cupertino", postcode="95014")
    assert missing.state.errors == ["Choose the state."]
    typed = address_form(app, "US", line1="1 Infinite Loop", city="Cupertino", state="california", postcode="95014")
    assert not any(f.errors for f in typed) and typed.cleaned["country_area"] == "CA"
    # The postcode must be the state's: the message gives the state's example.
    elsewhere = address_form(app, "US", line1="1 Main St", city="New York", state="CA", postcode="10001")
    assert elsewhere.postcode.errors == ["Enter a valid ZIP code for United States, like 90000."]
    # Countries without states ask for none, and a state sent for one is not kept.
    assert "country_area" not in addresses.rules("DE").fields
    assert address_form(app, "DE", line1="A 1", city="Berlin", postcode="10115", state="BE").cleaned[
        "country_area"] == ""


def test_no_country_chosen_asks_for_one(app):
    form = address_form(app, "", line1="Wall Street 15", city="London")
    assert form.country.errors == ["Choose a country."]
    assert address_form(app, "AQ", line1="Base 1", city="South Pole").country.errors == ["Choose a country."]
    assert address_form(app, "uk", line1="Wall Street 15", city="London", postcode="sw1a 1aa").cleaned[
        "postal_code"] == "SW1A 1AA"  # "UK" as the seed's example writes it; any case


def test_the_countries_are_iso_countries_sorted_for_the_locale():
    en = addresses.country_names("en_US")
    codes = [code for code, _ in en]
    assert not {"CP", "AQ", "BV", "HM", "EU", "EZ", "UN", "XK", "ZZ", "QO", "XA", "XB"} & set(codes)
    assert {"GB", "US", "DE", "RU", "CI", "AX", "TF"} <= set(codes)
    assert len(codes) == len(set(codes)) == 246  # ISO 3166-1's 249, less the uninhabited three
    names = [name for _, name in en]
    assert names.index("Côte d’Ivoire") < names.index("Croatia") < names.index("Czechia")
    assert names.index("Åland Islands") < names.index("Albania")
    assert names[0] == "Afghanistan"
    ru = [name for _, name in addresses.country_names("ru_RU")]
    assert ru[0] == "Австралия" and ru == sorted(ru, key=addresses.collator().sort_key)
    assert ru.index("Германия") < ru.index("Россия") < ru.index("Япония")
    assert addresses.country_names("ru_RU") is addresses.country_names("ru_RU")  # made once per locale


def test_the_pages_sort_with_the_whole_tables_keys():
    """The collator the pages sort with holds only the characters they sort (not the
    whole DUCET, some 11 MB a worker): every locale's countries and a few countries'
    states in the order and with the keys the whole table gives."""
    full = addresses.collator().sort_key
    for locale in i18n.LOCALES:
        names = [name for _, name in addresses.country_names(locale)]
        key = addresses.sort_key_for(names)
        assert [key(n) for n in names] == [full(n) for n in names] and names == sorted(names, key=full), locale
    for country, language in (("JP", "ja"), ("JP", "en"), ("CN", "zh"), ("RU", "ru"), ("IN", "en"), ("BR", "pt")):
        names = [name for _, name in addresses.rules(country, language).areas]
        assert names and names == sorted(names, key=full), (country, language)


def test_the_customers_country_comes_first(app):
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        first, *rest = forms.country_choices({"locale": "ru_RU"})
        assert first == ("RU", "Россия") and ("RU", "Россия") not in rest
        assert [name for _, name in rest] == sorted((name for _, name in rest), key=addresses.collator().sort_key)
    with app.test_request_context():
        assert forms.country_choices({"locale": "en_US", "data": {"countryCode": "UK"}})[0] == ("GB", "United Kingdom")
        assert forms.country_choices({"locale": "en_US"})[0] == ("US", "United States")
        phone = forms.phone_choices({"locale": "en_US", "data": {"countryCode": "GB"}})
        assert phone[0] == forms.PhoneCountry("GB", "United Kingdom +44") and phone[0].example == "0121 234 5678"
        assert "AQ" not in {c.code for c in phone}


def test_postcode_patterns_for_the_browser():
    pattern = addresses.browser_pattern(addresses.rules("GB").postal_regex)
    assert addresses.browser_pattern(r"[A-C]\d X") == r"\s*(?:[A-Ca-c]\d [Xx])\s*"
    assert "[Ss][Ww]" in pattern  # "sw1a 1aa" passes in the browser as on the server


def test_phone_numbers_by_country():
    assert phones.e164("+44 20 7946 0958", "US") == "+442079460958"  # typed with + : that country wins
    assert phones.e164("020 7946 0958", "GB") == "+442079460958"
    assert phones.e164("020 7946 0958", None) is None  # no country to read it in
    assert phones.e164("+44 1632 960909", "GB") is None  # a drama number, no line
    assert phones.e164("+44 20 7946 0958 ext 1", "GB") is None and phones.e164("++44 20 7946 0958", "GB") is None
    assert phones.example("GB") == "0121 234 5678" and phones.calling_code("GB") == 44
    assert phones.region_of("+7 912 345-67-89") == "RU"
    # the calling codes come from libphonenumber's index, not each region's metadata: the same
    for region in (*phonenumbers.SUPPORTED_REGIONS, "001", "ZZ", "AQ", "gb", ""):
        assert phones.calling_code(region) == (phonenumbers.country_code_for_region(region) or None), region


# -- over HTTP ----------------------------------------------------------------------------------
def test_the_phone_is_sent_to_the_gateway_as_e164(app, client, sent):
    path = link(client, countryCode="GB")
    response = client.post(f"{path}/card", data=card_post(client, path, phone="+44 20 7946 0958",
                                                         phone_country="GB", same_as_billing="y"))
    assert response.status_code == 303 and "example.com/success" in response.headers["Location"]
    (body,) = sent
    assert body["data"]["phone"] == "+442079460958"
    # Typed as at home, with the country beside it.
    path = link(client, countryCode="GB", invoice="addr-national")
    client.post(f"{path}/card", data=card_post(client, path, phone="020 7946 0958", phone_country="GB"))
    assert sent[-1]["data"]["phone"] == "+442079460958"


def test_a_phone_not_of_its_country_is_refused_with_its_example(app, client, sent):
    path = link(client, countryCode="GB")
    page = Page(text(client.get(path)))
    assert page.fields["phone_country"]["tag"] == "select"
    assert [o for o in page.options["phone_country"] if o[0] == "GB"] == [("GB", "United Kingdom +44")]
    assert page.options["phone_country"][0] == ("GB", "United Kingdom +44")  # the customer's country first
    html = text(client.get(path))
    assert '<p class="hint" id="phone-hint"' in html and "For example, 0121 234 5678" in html  # before any error
    phone = page.fields["phone"]
    assert phone["type"] == "tel" and "required" in phone and phone["aria-describedby"] == "phone-hint"
    answer = follow(client, client.post(f"{path}/card", data=card_post(client, path, phone="12345",
                                                                        phone_country="GB")))
    refused = Page(text(answer))
    assert refused.errors["phone"] == "Enter a valid phone number for United Kingdom, like 0121 234 5678."
    assert refused.errors["phone"] == phone["data-msg-pattern"]  # what the browser says before sending
    assert refused.fields["phone"]["aria-invalid"] == "true"
    assert refused.fields["phone"]["aria-describedby"] == "phone-error"
    assert sent == []


def test_same_as_billing_sends_the_billing_address_as_shipping(app, client, sent):
    path = link(client, countryCode="US", state="California")
    page = Page(text(client.get(path)))
    assert "checked" in page.fields["same_as_billing"]  # ticked by default
    assert page.fields["billing_address-state"]["tag"] == "select"  # the prefilled country's fields
    assert ("CA", "California") in page.options["billing_address-state"]
    data = card_post(client, path, same_as_billing="y",
                     **billing(country="US", line1="1 Infinite Loop", city="Cupertino", state="CA",
                               postcode="95014"),
                     **shipping(country="", line1="", city="", postcode=""))  # hidden, not checked
    response = client.post(f"{path}/card", data=data)
    assert response.status_code == 303 and "example.com/success" in response.headers["Location"]
    (body,) = sent
    address = {"address": "1 Infinite Loop", "city": "Cupertino", "postcode": "95014", "countryCode": "US",
               "state": "CA"}
    assert {k: body["data"][k] for k in address} == address  # billing: the seed's flat keys
    assert body["data"]["shipping"] == address
    assert body["data"]["firstName"] == "John"  # the request's own data goes on as it was


def test_a_shipping_address_of_its_own_is_checked_and_sent(app, client, sent):
    path = link(client)
    own = shipping(country="DE", line1="Unter den Linden 1", city="Berlin", postcode="ABC")
    answer = follow(client, client.post(f"{path}/card", data=card_post(client, path, same_as_billing=None, **own)))
    assert Page(text(answer)).errors["shipping_address-postcode"] == \
        "Enter a valid postal code for Germany, like 26133."
    assert sent == []
    data = card_post(client, path, same_as_billing=None, **{**own, "shipping_address-postcode": "10115"})
    assert client.post(f"{path}/card", data=data).status_code == 303
    (body,) = sent
    assert body["data"]["shipping"] == {"address": "Unter den Linden 1", "city": "Berlin", "postcode": "10115",
                                        "countryCode": "DE", "state": ""}
    assert (body["data"]["address"], body["data"]["postcode"], body["data"]["countryCode"]) == (
        "Wall Street 15", "SW1A 1AA", "GB")
    assert "state" not in body["data"]  # billing's state only when there is one


def test_without_scripts_the_errors_page_draws_the_posted_country(app, client):
    """Nothing swapped the fields (no script): the form was sent with the fields drawn
    before the country was chosen. The server checks it by the posted country, and the
    page that says what is wrong draws that country's fields."""
    path = link(client)
    first = Page(text(client.get(path)))
    assert first.fields["billing_address-state"]["tag"] == "input"  # no country yet: a state as text
    assert "required" not in first.fields["billing_address-state"]
    data = card_post(client, path, same_as_billing="y",
                     **billing(country="US", line1="1 Main St", city="Springfield", state="", postcode="ABC"))
    answer = Page(text(follow(client, client.post(f"{path}/card", data=data))))
    state = answer.fields["billing_address-state"]
    assert state["tag"] == "select" and "required" in state and state["aria-invalid"] == "true"
    assert answer.errors["billing_address-state"] == "Choose the state." == state["data-msg-required"]
    postcode = answer.fields["billing_address-postcode"]
    assert answer.errors["billing_address-postcode"] == "Enter a valid ZIP code for United States, like 95014."
    assert postcode["aria-describedby"] == "billing_address-postcode-error"
    assert postcode["value"] == "ABC" and answer.fields["billing_address-line1"]["value"] == "1 Main St"


def test_the_browsers_messages_are_the_servers(app, client):
    """Each required field says as ``data-msg-required`` what the server says when it is
    missing, and the postcode as ``data-msg-pattern`` what it says when it is wrong."""
    path = link(client, countryCode="US")
    blank = {f"billing_address-{k}": "" for k in ("line1", "city", "state", "postcode")}
    answer = Page(text(follow(client, client.post(f"{path}/card", data=card_post(
        client, path, same_as_billing="y", **{**blank, "billing_address-country": "US", "email": "",
                                               "phone": ""})))))
    for name in ("billing_address-line1", "billing_address-city", "billing_address-state",
                 "billing_address-postcode", "email", "phone"):
        assert answer.errors[name] == answer.fields[name]["data-msg-required"], name
    fragment = Page(text(client.get("/address-fields/billing/US?locale=en_US")))
    answer = Page(text(follow(client, client.post(f"{path}/card", data=card_post(
        client, path, same_as_billing="y", **billing(country="US", line1="1 Main St", city="Cupertino",
                                                     state="", postcode="9501"))))))
    assert answer.errors["billing_address-postcode"] == fragment.fields["billing_address-postcode"][
        "data-msg-pattern"]
    assert fragment.fields["billing_address-postcode"]["pattern"] == addresses.browser_pattern(
        addresses.rules("US").postal_regex)


def test_the_fields_fragment(app, client):
    us = client.get("/address-fields/shipping/US?locale=en_US")
    assert us.status_code == 200 and us.headers["Cache-Control"] == "public, max-age=3600"
    page = Page(text(us))
    assert list(page.fields) == ["shipping_address-line1", "shipping_address-city", "shipping_address-state",
                                 "shipping_address-postcode"]
    assert not any("value" in f for f in page.fields.values())  # nobody's values: the same for everyone
    assert page.fields["shipping_address-postcode"]["autocomplete"] == "shipping postal-code"
    de = Page(text(client.get("/address-fields/billing/DE?locale=en_US")))
    assert list(de.fields) == ["billing_address-line1", "billing_address-postcode", "billing_address-city"]
    ru = text(client.get("/address-fields/billing/RU?locale=ru_RU"))
    assert "Москва" in ru and "Moscow" not in ru  # the states as the customer reads them
    assert "Moskva" in text(client.get("/address-fields/billing/RU?locale=en_US"))
    assert Page(text(client.get("/address-fields/billing/XX"))).fields["billing_address-state"]["tag"] == "input"
    assert client.get("/address-fields/home/US").status_code == 404


def test_prefilled_from_the_requests_data(app, client):
    path = link(client, countryCode="UK", address="Wall Street 15", city="London", postcode="SW1A 1AA",
                phone="441632960909")
    html = text(client.get(path))
    page = Page(html)
    assert page.fields["billing_address-line1"]["value"] == "Wall Street 15"
    assert page.fields["shipping_address-postcode"]["value"] == "SW1A 1AA"
    assert page.options["billing_address-country"][:2] == [("", "Choose…"), ("GB", "United Kingdom")]
    assert '<option value="GB" selected>' in html
    assert "checked" in page.fields["same_as_billing"]
    assert page.fields["phone"]["value"] == "441632960909"  # as sent; read in the country beside it
    assert '<option value="GB" selected>United Kingdom +44</option>' in html
    assert "For example, 0121 234 5678" in html  # the chosen country's example, in the page
    assert "data-example=" not in html  # the others' are asked for when the country changes


def test_a_countrys_example_phone_number_is_asked_for(client):
    answer = client.get("/phone-example/FR")
    assert answer.status_code == 200 and answer.json == {"example": "01 23 45 67 89"}
    assert "public" in answer.headers["Cache-Control"]
    assert client.get("/phone-example/ZZ").json == {"example": None}
    assert client.get("/phone-example/%3Cscript%3E").json == {"example": None}
    us = text(client.get(link(client, countryCode="US", state="california", invoice="addr-us")))
    assert '<option value="CA" selected>California</option>' in us  # a state named as people write it
