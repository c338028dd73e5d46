"""Flask-WTF forms. CSRF is bound to the checkout, not to a cookie session: the token is
signed for this checkout id and purpose, so it keeps working inside a third-party
iframe where the browser refuses our cookies."""
from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, FormField, StringField, ValidationError
from wtforms.csrf.core import CSRF
from wtforms.validators import InputRequired, Length

from . import cards, tokens, validation
from .methods import Field

CSRF_MAX_AGE = 24 * 3600


class CheckoutCSRF(CSRF):
    """A CSRF token signed for (checkout id, form purpose). ``csrf_context`` is
    ``"<checkout id>:<purpose>"``."""

    def setup_form(self, form):
        self.context = form.meta.csrf_context
        return super().setup_form(form)

    def generate_csrf_token(self, csrf_token_field) -> str:
        return tokens.sign(self.context, tokens.CSRF_SALT, current_app)

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
        Length(max=100, message=_l("The name is too long."))])
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
        return "".join(ch for ch in self.number.data or "" if ch.isdigit())

    @property
    def expiry_month_year(self) -> tuple[int, int]:
        return cards.parse_expiry(self.expiry.data or "")

    def forget_card_data(self) -> None:
        """Never render a card number or CVV back into a page."""
        self.number.data = self.number.raw_data = None
        self.cvv.data = self.cvv.raw_data = None


# -- the optional sections of the seed's ``page.fields`` ------------------------------
#: Country codes people send that are not ISO 3166 (the seed's own example says "UK").
_COUNTRY_ALIASES = {"UK": "GB"}


def _email(form, field) -> None:
    if not validation.email_valid(field.data):
        raise ValidationError(_l("Enter an email address like name@example.com."))


def _phone(form, field) -> None:
    if not validation.phone_valid(field.data):
        raise ValidationError(_l("Enter a phone number with its country code, like +44 20 7946 0958."))


def countries(locale: str | None = None) -> list[tuple[str, str]]:
    """(ISO 3166 code, name in the customer's language), sorted by name."""
    return _countries(str(locale or get_locale() or "en_US"))


@lru_cache(maxsize=8)
def _countries(locale: str) -> list[tuple[str, str]]:
    names = Locale.parse(locale).territories
    return sorted(((code, name) for code, name in names.items() if len(code) == 2 and code.isalpha()
                   and code not in ("EU", "EZ", "UN", "QO", "ZZ", "XA", "XB", "XK")),
                  key=lambda item: item[1])


def country_code(value: str | None) -> str:
    code = (value or "").strip().upper()
    return _COUNTRY_ALIASES.get(code, code)


def _country(form, field) -> None:
    if country_code(field.data) not in dict(countries()):
        raise ValidationError(_l("Choose a country."))


class AddressForm(Form):
    line1 = StringField(_l("Address"), validators=[InputRequired(_l("Enter the street address.")),
                                                   Length(max=200, message=_l("The address is too long."))])
    city = StringField(_l("City"), validators=[InputRequired(_l("Enter the city.")),
                                               Length(max=100, message=_l("The city is too long."))])
    postcode = StringField(_l("Postal code"), validators=[
        InputRequired(_l("Enter the postal code.")), Length(max=16, message=_l("The postal code is too long."))])
    country = StringField(_l("Country"), validators=[InputRequired(_l("Choose a country.")), _country])


FIELD_FACTORIES = {
    "email": lambda: StringField(_l("Email"), validators=[InputRequired(_l("Enter your email address.")), _email]),
    "phone": lambda: StringField(_l("Phone"), validators=[InputRequired(_l("Enter your phone number.")), _phone]),
    "billing_address": lambda: FormField(AddressForm, label=_l("Billing address")),
    "shipping_address": lambda: FormField(AddressForm, label=_l("Shipping address")),
}


@lru_cache(maxsize=32)
def card_form_class(fields: tuple[str, ...] = ()) -> type[CardForm]:
    """The card form with the extra sections a theme's ``fields`` asks for."""
    if not fields:
        return CardForm
    attrs = {name: FIELD_FACTORIES[name]() for name in fields if name in FIELD_FACTORIES}
    return type("CardFormWith_" + "_".join(fields), (CardForm,), attrs)


def prefill(fields: tuple[str, ...], payload: dict) -> dict:
    """Initial values for the extra sections from the request's ``data`` (and accountId)."""
    data = payload.get("data") or {}
    account = payload.get("accountId") or ""
    address = {"line1": data.get("address", ""), "city": data.get("city", ""),
               "postcode": data.get("postcode", ""), "country": country_code(data.get("countryCode"))}
    values = {"email": data.get("email") or (account if validation.email_valid(account) else ""),
              "phone": data.get("phone", ""), "billing_address": address, "shipping_address": address}
    return {name: values[name] for name in fields if name in values}


def extra_data(form: CardForm, fields: tuple[str, ...]) -> dict:
    """The extra sections as the gateway's ``data``: billing in the seed's flat keys,
    shipping as its own object."""
    out: dict = {}
    if "email" in fields:
        out["email"] = form.email.data.strip()
    if "phone" in fields:
        out["phone"] = form.phone.data.strip()
    for name, target in (("billing_address", None), ("shipping_address", "shipping")):
        if name in fields:
            sub = getattr(form, name)
            values = {"address": sub.line1.data.strip(), "city": sub.city.data.strip(),
                      "postcode": sub.postcode.data.strip(), "countryCode": country_code(sub.country.data)}
            if target:
                out[target] = values
            else:
                out.update(values)
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
