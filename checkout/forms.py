"""Flask-WTF forms. CSRF is bound to the checkout, not to a cookie session: the token is
signed for this checkout id and purpose, so it keeps working inside a third-party
iframe where the browser refuses our cookies."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, ValidationError
from wtforms.csrf.core import CSRF
from wtforms.validators import InputRequired, Length

from . import cards, tokens

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
