"""Flask-WTF forms. CSRF is bound to the checkout, not to a cookie session: the token is
signed for this checkout id and purpose, so it keeps working inside a third-party
iframe where the browser refuses our cookies."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, FormField, StringField, ValidationError
from wtforms.csrf.core import CSRF
from wtforms.validators import InputRequired, Length, StopValidation

from . import addresses, cards, phones, textrules, tokens, validation
from .methods import Field

CSRF_MAX_AGE = 24 * 3600
#: What a customer is told of a typed text the one text rule refuses (a pasted control,
#: bidi or invisible formatting character: :mod:`checkout.textrules`).
HIDDEN_CHARACTER = _l("This contains a hidden or control character that cannot be used. Please type it again.")


def plain_text(form, field) -> None:
    """A WTForms validator: the field's text follows the one text rule (the field's
    other checks are not run then: one message says what to fix)."""
    if field.data and textrules.refused(field.data):
        raise StopValidation(HIDDEN_CHARACTER)


def csrf_token(context: str) -> str:
    """A form's CSRF token for ``context`` (``"<checkout id>:<purpose>"``): what
    :class:`CheckoutCSRF` puts in the page and takes back."""
    return tokens.sign(context, tokens.CSRF_SALT, current_app)


class CheckoutCSRF(CSRF):
    """A CSRF token signed for (checkout id, form purpose). ``csrf_context`` is
    ``"<checkout id>:<purpose>"``."""

    def setup_form(self, form):
        self.context = form.meta.csrf_context
        return super().setup_form(form)

    def generate_csrf_token(self, csrf_token_field) -> str:
        return csrf_token(self.context)

    def validate_csrf_token(self, form, field) -> None:
        try:
            value = tokens.load(field.data or "", tokens.CSRF_SALT, CSRF_MAX_AGE, current_app)
        except tokens.TokenError:
            value = None
        if value != self.context:
            raise ValidationError(_l("This form has expired. Please try again."))


class CheckoutForm(FlaskForm):
    class Meta:
        csrf_class = CheckoutCSRF
        csrf_field_name = "csrf_token"


class MethodForm(CheckoutForm):
    """An alternative payment method chosen on the payment page; its own fields are
    checked by :func:`checkout.methods.validate_fields`."""

    paymentTypeId = StringField(_l("Payment method"), validators=[InputRequired(_l("Choose a payment method."))])


class AmountForm(CheckoutForm):
    """The cashier's amount: one of the merchant's presets or the customer's own."""

    amount = StringField(_l("Amount"))
    custom_amount = StringField(_l("Other amount"))


class SavedCardForm(CheckoutForm):
    """Pay with a card the gateway saved for this customer (a token); the CVV again
    only when the merchant asks for it."""

    card = StringField(_l("Saved card"), validators=[InputRequired(_l("Choose a saved card."))])
    saved_cvv = StringField(_l("Security code"))


class CardForm(CheckoutForm):
    """Cardholder name, number, expiry (one ``MM / YY`` field) and CVV. The number and
    CVV are never echoed back into a page."""

    name = StringField(_l("Name on card"), validators=[
        InputRequired(_l("Enter the name on the card.")),
        Length(max=100, message=_l("The name is too long.")), plain_text])
    number = StringField(_l("Card number"))
    expiry = StringField(_l("Expiry date"))
    cvv = StringField(_l("Security code"))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        parsed = cards.parse_expiry(self.expiry.data or "")
        month, year = parsed if parsed else ("", "")
        errors = cards.validate_card(self.number.data or "", month, year, self.cvv.data or "")
        if not parsed and "expiry" not in errors:
            errors["expiry"] = _l("Enter the expiry date as MM / YY.")
        for key, message in errors.items():
            getattr(self, key).errors = list(getattr(self, key).errors) + [message]
        return ok and not errors

    @property
    def pan(self) -> str:
        return "".join(ch for ch in self.number.data or "" if ch in "0123456789")

    @property
    def expiry_month_year(self) -> tuple[int, int]:
        return cards.parse_expiry(self.expiry.data or "")

    def forget_card_data(self) -> None:
        """Never render a card number or CVV back into a page."""
        self.number.data = self.number.raw_data = None
        self.cvv.data = self.cvv.raw_data = None


# -- the optional sections of the seed's ``page.fields`` ------------------------------
def _email(form, field) -> None:
    if not validation.email_valid(field.data):
        raise ValidationError(_l("Enter an email address like name@example.com."))


def _locale() -> str:
    return str(get_locale() or "en_US")


def countries(locale: str | None = None) -> tuple[tuple[str, str], ...]:
    """(ISO 3166-1 code, name in the customer's language), sorted by name with the
    Unicode Collation Algorithm (see :func:`checkout.addresses.country_names`)."""
    return addresses.country_names(str(locale or _locale()))


def country_code(value: str | None) -> str:
    """An ISO 3166 code as people send it, upper-cased ("UK" is GB)."""
    return addresses.country_code(value)


def customer_country(payload: dict) -> str | None:
    """The customer's country: the request's ``data.countryCode``, else the territory of
    the checkout's locale (ru_RU is RU)."""
    data = payload.get("data") or {}
    return addresses.customer_country(data.get("countryCode"), payload.get("locale") or _locale())


def country_choices(payload: dict) -> tuple[tuple[str, str], ...]:
    """The countries of an address select: the customer's first, then the rest by name."""
    return addresses.countries_first(_locale(), customer_country(payload))


@dataclass(frozen=True, slots=True)
class PhoneCountry:
    """A country of the phone's country select: its code, "United Kingdom +44", and its
    example number as its people write it."""

    code: str
    label: str

    @property
    def example(self) -> str:
        """Asked for when needed (the page has none of them: address.js asks for the
        chosen country's), not for the whole list: each loads its region's metadata."""
        return phones.example(self.code) or ""


def phone_choices(payload: dict) -> tuple[PhoneCountry, ...]:
    """The phone's countries (those with a calling code), the customer's first."""
    return _phone_choices(_locale(), customer_country(payload))


@lru_cache(maxsize=64)  # every locale of i18n.LOCALES
def _phone_countries(locale: str) -> dict[str, PhoneCountry]:
    return {code: PhoneCountry(code, f"{name} +{phones.calling_code(code)}")
            for code, name in addresses.country_names(locale) if phones.calling_code(code)}


@lru_cache(maxsize=1024)
def _phone_choices(locale: str, first: str | None) -> tuple[PhoneCountry, ...]:
    # The locale's PhoneCountry objects in this order, not new ones for each (locale, first):
    # a few kilobytes an entry instead of some sixty.
    countries = _phone_countries(locale)
    return tuple(countries[code] for code, _ in addresses.countries_first(locale, first) if code in countries)


def calling_region(code: str | None) -> str | None:
    """``code`` when it is a country of the phone's select (None otherwise)."""
    code = country_code(code)
    return code if addresses.is_country(code) and phones.calling_code(code) else None


def phone_region(form) -> str | None:
    """The country chosen beside the phone number (None: none, or not one we list)."""
    field = getattr(form, "phone_country", None)
    return calling_region(field.data if field is not None else None)


def phone_message(region: str | None) -> str:
    """What to say of a phone number that is not one of ``region`` (the browser says it
    too)."""
    region = calling_region(region)
    if region:
        return _l("Enter a valid phone number for %(country)s, like %(example)s.",
                  country=addresses.country_name(region, _locale()), example=phones.example(region) or "")
    return _l("Enter a phone number with its country code, like +44 20 7946 0958.")


def phone_hint(region: str | None) -> str | None:
    """The hint under the phone number before any error: the chosen country's example."""
    region = calling_region(region)
    example = phones.example(region) if region else None
    return _l("For example, %(example)s", example=example) if example else None


def _phone(form, field) -> None:
    if phones.e164(field.data, phone_region(form)) is None:
        raise ValidationError(phone_message(phone_region(form)))


# -- addresses ----------------------------------------------------------------------------
#: The address data's field names (checkout.addresses) as the address form's.
ADDRESS_FIELDS = {"street_address": "line1", "city_area": "city_area", "city": "city", "country_area": "state",
                  "postal_code": "postcode", "sorting_code": "sorting_code"}
#: HTML autofill tokens (after the section, ``billing`` or ``shipping``).
ADDRESS_AUTOCOMPLETE = {"street_address": "address-line1", "city_area": "address-level3", "city": "address-level2",
                        "country_area": "address-level1", "postal_code": "postal-code"}
#: What the address data calls a city or a part of one: the label, and what to say when
#: it is missing.
PLACE_WORDS = {
    "city": (_l("City"), _l("Enter the city.")),
    "post_town": (_l("Town or city"), _l("Enter the town or city.")),
    "district": (_l("District"), _l("Enter the district.")),
    "suburb": (_l("Suburb"), _l("Enter the suburb.")),
    "neighborhood": (_l("Neighborhood"), _l("Enter the neighborhood.")),
    "townland": (_l("Townland"), _l("Enter the townland.")),
    "village_township": (_l("Village or township"), _l("Enter the village or township.")),
}
#: What it calls a country's first division: the label, what to say when none is chosen
#: from the list, and when none is typed (where the data lists none).
AREA_WORDS = {
    "state": (_l("State"), _l("Choose the state."), _l("Enter the state.")),
    "province": (_l("Province"), _l("Choose the province."), _l("Enter the province.")),
    "do_si": (_l("Province"), _l("Choose the province."), _l("Enter the province.")),
    "oblast": (_l("Region"), _l("Choose the region."), _l("Enter the region.")),
    "island": (_l("Island"), _l("Choose the island."), _l("Enter the island.")),
    "department": (_l("Department"), _l("Choose the department."), _l("Enter the department.")),
    "parish": (_l("Parish"), _l("Choose the parish."), _l("Enter the parish.")),
    "county": (_l("County"), _l("Choose the county."), _l("Enter the county.")),
    "prefecture": (_l("Prefecture"), _l("Choose the prefecture."), _l("Enter the prefecture.")),
    "district": (_l("District"), _l("Choose the district."), _l("Enter the district.")),
    "emirate": (_l("Emirate"), _l("Choose the emirate."), _l("Enter the emirate.")),
    "area": (_l("Area"), _l("Choose the area."), _l("Enter the area.")),
    "unknown": (_l("State or region"), _l("Choose the state or region."), _l("Enter the state or region.")),
}
#: What it calls a postcode: the label, and what to say when it is missing.
POSTAL_WORDS = {
    "postal": (_l("Postal code"), _l("Enter the postal code.")),
    "zip": (_l("ZIP code"), _l("Enter the ZIP code.")),
    "eircode": (_l("Eircode"), _l("Enter the Eircode.")),
    "pin": (_l("PIN code"), _l("Enter the PIN code.")),
}
TOO_LONG = _l("This is too long.")


def postal_message(kind: str, country: str, example: str | None) -> str:
    """What to say of a postcode that is not one of ``country`` (its name), with the
    data's example."""
    if kind == "zip":
        return _l("Enter a valid ZIP code for %(country)s, like %(example)s.", country=country, example=example)
    if kind == "eircode":
        return _l("Enter a valid Eircode, like %(example)s.", example=example)
    if kind == "pin":
        return _l("Enter a valid PIN code for %(country)s, like %(example)s.", country=country, example=example)
    return _l("Enter a valid postal code for %(country)s, like %(example)s.", country=country, example=example)


@dataclass(frozen=True)
class Place:
    """One field of an address in one country, as the page draws it: the address form's
    field ``name``, its label, autofill token (None: none fits), the message when it is
    missing (None: optional), the states to choose from, the browser's ``pattern`` with
    its message, ``inputmode`` and ``maxlength``; ``wide``: a row of its own."""

    name: str
    label: str
    autocomplete: str | None
    required_message: str | None
    choices: tuple[tuple[str, str], ...] = ()
    pattern: str | None = None
    pattern_message: str | None = None
    inputmode: str | None = None
    maxlength: int = 100
    wide: bool = False


def _place(rules: addresses.Rules, name: str, country_name: str) -> Place:
    required = name in rules.required
    autocomplete = ADDRESS_AUTOCOMPLETE.get(name)
    if name == "street_address":
        return Place("line1", _l("Address"), autocomplete, _l("Enter the street address.") if required else None,
                     maxlength=200, wide=True)
    if name in ("city", "city_area"):
        label, missing = PLACE_WORDS.get(rules.city_kind if name == "city" else rules.city_area_kind,
                                         PLACE_WORDS["city" if name == "city" else "suburb"])
        return Place(ADDRESS_FIELDS[name], label, autocomplete, missing if required else None)
    if name == "country_area":
        label, choose, enter = AREA_WORDS.get(rules.area_kind, AREA_WORDS["province"])
        return Place("state", label, autocomplete, (choose if rules.areas else enter) if required else None,
                     choices=rules.areas)
    if name == "postal_code":
        label, missing = POSTAL_WORDS.get(rules.postal_kind, POSTAL_WORDS["postal"])
        regex = rules.postal_regex
        digits_only = bool(regex) and not re.search(r"[A-Za-z]", re.sub(r"\\.", "", regex))
        return Place("postcode", label, autocomplete, missing if required else None,
                     pattern=addresses.browser_pattern(regex) if regex else None,
                     pattern_message=postal_message(rules.postal_kind, country_name, rules.postal_example)
                     if regex else None, inputmode="numeric" if digits_only else None, maxlength=16)
    return Place("sorting_code", _l("Sorting code"), None, _l("Enter the sorting code.") if required else None,
                 maxlength=16)


def address_layout(country: str | None) -> tuple[Place, ...]:
    """The fields of an address in ``country`` (an ISO code; none or another: the fields
    asked before a country is chosen), in the country's order, for the current locale."""
    return _address_layout(country_code(country), _locale())


@lru_cache(maxsize=512)
def _address_layout(country: str, locale: str) -> tuple[Place, ...]:
    rules = addresses.rules(country, locale.split("_")[0])
    name = dict(addresses.country_names(locale)).get(country, country)
    return tuple(_place(rules, field, name) for field in rules.fields)


class AddressForm(Form):
    """An address. Which fields a country's addresses have, which it requires and what
    its postcodes look like is the country's (:mod:`checkout.addresses`): the form
    declares them all, :meth:`validate` checks those of the posted country, and
    ``cleaned`` keeps the address it found (the state as the data's key)."""

    country = StringField(_l("Country"))
    line1 = StringField(_l("Address"), validators=[
        Length(max=200, message=_l("The address is too long.")), plain_text])
    city_area = StringField(_l("Suburb"), validators=[Length(max=100, message=TOO_LONG), plain_text])
    city = StringField(_l("City"), validators=[Length(max=100, message=_l("The city is too long.")), plain_text])
    state = StringField(_l("State or region"), validators=[Length(max=100, message=TOO_LONG), plain_text])
    postcode = StringField(_l("Postal code"), validators=[
        Length(max=16, message=_l("The postal code is too long.")), plain_text])
    sorting_code = StringField(_l("Sorting code"), validators=[Length(max=16, message=TOO_LONG), plain_text])

    def values(self) -> dict[str, str]:
        """What was typed, in the address data's names."""
        return {"country_code": self.country.data or "",
                **{name: getattr(self, attr).data or "" for name, attr in ADDRESS_FIELDS.items()}}

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        checked = addresses.check(self.values())
        self.cleaned = checked.cleaned
        if checked.cleaned["country_area"]:  # drawn as the state chosen in the list
            self.state.data = checked.cleaned["country_area"]
        for name, code in checked.errors.items():
            field = self.country if name == "country_code" else getattr(self, ADDRESS_FIELDS[name])
            if not field.errors:  # a length error says enough
                field.errors = [*field.errors, address_message(name, code, checked)]
        self._errors = None
        return ok and not checked.errors


def address_message(name: str, code: str, checked: addresses.Checked) -> str:
    """What to say of an address field in error (``code``: required or invalid)."""
    if name == "country_code":
        return _l("Choose a country.")
    country = checked.cleaned["country_code"]
    rules = addresses.rules(country)
    if name == "postal_code" and code == "invalid":
        return postal_message(rules.postal_kind, addresses.country_name(country, _locale()), checked.postal_example)
    if name == "country_area" and code == "invalid":
        return AREA_WORDS.get(rules.area_kind, AREA_WORDS["province"])[1]
    place = next((p for p in address_layout(country) if p.name == ADDRESS_FIELDS[name]), None)
    return place.required_message if place is not None and place.required_message else _l("Check this field.")


class ShippingField(FormField):
    """The shipping address: not checked when the customer says it is the billing one
    (the page hides it then, and the billing address is sent as the shipping one)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.type = "FormField"  # what it is to code that walks a form's sections (drafts, focus)

    def validate(self, form, extra_validators=()) -> bool:
        same = getattr(form, "same_as_billing", None)
        if same is not None and same.data:
            return True
        return super().validate(form, extra_validators)


FIELD_FACTORIES = {
    "email": lambda: StringField(_l("Email"), validators=[InputRequired(_l("Enter your email address.")), plain_text,
                                                          _email]),
    "phone": lambda: StringField(_l("Phone"), validators=[InputRequired(_l("Enter your phone number.")), _phone]),
    "billing_address": lambda: FormField(AddressForm, label=_l("Billing address")),
    "shipping_address": lambda: ShippingField(AddressForm, label=_l("Shipping address")),
}


@lru_cache(maxsize=32)
def card_form_class(fields: tuple[str, ...] = ()) -> type[CardForm]:
    """The card form with the extra sections a theme's ``fields`` asks for: the phone
    with its country, both addresses with "the same as billing"."""
    if not fields:
        return CardForm
    attrs = {name: FIELD_FACTORIES[name]() for name in fields if name in FIELD_FACTORIES}
    if "phone" in attrs:
        attrs["phone_country"] = StringField(_l("Country calling code"))
    if "billing_address" in attrs and "shipping_address" in attrs:
        attrs["same_as_billing"] = BooleanField(_l("Shipping address is the same as billing"), default=True)
    return type("CardFormWith_" + "_".join(fields), (CardForm,), attrs)


def _address_from(data: dict) -> dict:
    """An address section's initial values from the seed's keys (address, city,
    postcode, state, countryCode)."""
    country = country_code(data.get("countryCode"))
    country = country if addresses.is_country(country) else ""
    return {"line1": data.get("address") or "", "city": data.get("city") or "",
            "postcode": data.get("postcode") or "", "state": addresses.area_key(country, data.get("state")),
            "country": country}


def prefill(fields: tuple[str, ...], payload: dict) -> dict:
    """Initial values for the extra sections from the request's ``data`` (and accountId):
    both addresses from its flat keys ("the same as billing" ticked), the phone's country
    from the number, else the customer's country."""
    data = payload.get("data") or {}
    account = payload.get("accountId") or ""
    address = _address_from(data)
    phone = str(data.get("phone") or "")
    home = customer_country(payload)
    values = {"email": data.get("email") or (account if validation.email_valid(account) else ""),
              "phone": phone, "billing_address": address, "shipping_address": address}
    out = {name: values[name] for name in fields if name in values}
    if "phone" in fields:
        out["phone_country"] = phones.region_of(phone, home) or home or ""
    if "billing_address" in fields and "shipping_address" in fields:
        out["same_as_billing"] = True
    return out


def _gateway_address(cleaned: dict) -> dict:
    """An address in the seed's keys. The seed has none for a city area (a district, a
    neighbourhood) or a sorting code (CEDEX): they go where a letter writes them, after
    the street and after the city."""
    street = ", ".join(part for part in (cleaned["street_address"], cleaned["city_area"]) if part)
    city = " ".join(part for part in (cleaned["city"], cleaned["sorting_code"]) if part)
    return {"address": street, "city": city, "postcode": cleaned["postal_code"],
            "countryCode": cleaned["country_code"], "state": cleaned["country_area"]}


def extra_data(form: CardForm, fields: tuple[str, ...]) -> dict:
    """The extra sections as the gateway's ``data`` (of a validated form): billing in the
    seed's flat keys (``state`` when there is one), shipping as its own object (the
    billing address when the customer said so), the phone as E.164."""
    out: dict = {}
    if "email" in fields:
        out["email"] = form.email.data.strip()
    if "phone" in fields:
        out["phone"] = phones.e164(form.phone.data, phone_region(form)) or form.phone.data.strip()
    billing = _gateway_address(form.billing_address.cleaned) if "billing_address" in fields else None
    if billing is not None:
        out.update({k: v for k, v in billing.items() if v or k != "state"})
    if "shipping_address" in fields:
        same = billing is not None and form.same_as_billing.data
        out["shipping"] = dict(billing) if same else _gateway_address(form.shipping_address.cleaned)
    return out


#: Browser autofill tokens for the fields methods ask for (HTML's autocomplete names).
METHOD_AUTOCOMPLETE = {"firstName": "given-name", "lastName": "family-name", "phone": "tel", "email": "email"}
METHOD_INPUTMODE = {"tel": "tel", "email": "email"}


def fields_form(checkout_id: str, fields: list[Field], purpose: str, **kwargs) -> CheckoutForm:
    """A form of just these method fields, its CSRF token signed for this checkout and
    ``purpose``."""
    attrs = {f.name: StringField(f.label) for f in fields}
    form_class = type("MethodFieldsForm", (CheckoutForm,), attrs)
    return form_class(meta={"csrf_context": f"{checkout_id}:{purpose}"}, **kwargs)


def field_inputs(form: CheckoutForm, fields: list[Field]) -> list[tuple]:
    """(form field, input attributes) of each asked field, for the ``input`` macro."""
    return [(form[f.name], {"autocomplete": METHOD_AUTOCOMPLETE.get(f.name, "off"), "type": f.kind,
                            "inputmode": METHOD_INPUTMODE.get(f.kind)}) for f in fields]
