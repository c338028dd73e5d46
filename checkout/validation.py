"""The one set of request rules the merchant API's bodies share: text, currency,
amount, http(s) URL, email and phone. ``links`` (checkout and APM links), ``payouts``
(the payout request, a cashier's customer data) and ``forms`` (the customer's email and
phone on the payment page) all ask here, so one value gets one answer wherever it is
sent.

Field checks write ``errors[key] = reason`` (the API's English reasons) and return the
clean value, or None; :class:`RequestError` carries every field's reason at once."""
from __future__ import annotations

import ipaddress
import re
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision

from . import textrules, weburl
from .i18n import PAYABLE_CURRENCIES
from .merchants import Merchant

#: The largest amount a request may carry (exclusive): far above any real payment, below
#: what the gateway's numbers and our formatting handle exactly.
AMOUNT_LIMIT = Decimal("1e12")
URL_LIMIT = weburl.URL_LIMIT
EMAIL_LIMIT = 254  # RFC 5321's path limit less the angle brackets
#: Digits, spaces, brackets and dashes, with an optional leading ``+``.
_PHONE = re.compile(r"\+?[0-9 ()-]{7,24}")
#: E.164: a number with its country code has at most 15 digits; the shortest in use
#: (e.g. Niue's +683 and four digits) have 7.
PHONE_DIGITS = (7, 15)
#: ``\s`` is Unicode's here on purpose: it refuses (not accepts) every kind of space. The
#: parts may be non-ASCII (internationalised addresses, RFC 6531: ``имя@почта.рф``);
#: their characters are held to :mod:`checkout.textrules` as every text is.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
#: An amount as text: ASCII digits, then optionally ``.`` and more digits. No sign,
#: exponent, underscore, spaces or other digits (``Decimal`` takes "1_000", " 10",
#: "1e3" and "١٢٣": the merchant must mean the digits we read).
_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
AMOUNT_TEXT_REASON = 'must be a number, or a string of the digits 0-9 with an optional ".", like "10.50"'


class RequestError(ValueError):
    """A request the API refuses: ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors

    @property
    def message(self) -> str:
        """The first problem, and how many more there are (the API's ``message``)."""
        key, reason = next(iter(self.errors.items()))
        more = len(self.errors) - 1
        return f"{key}: {reason}" + (f" (and {more} more)" if more else "")


def text(value: object, key: str, errors: dict[str, str], limit: int, *, required: bool = False,
         numbers: bool = False) -> str | None:
    """A one-line text, stripped; None when absent or blank (``required``: an error
    then). ``numbers``: a JSON number is taken as its text (ids merchants send either
    way). The limit applies to what is kept, the stripped text. Its characters follow
    the one text rule (:func:`checkout.textrules.problem`: no control, bidi or invisible
    formatting characters, no lone surrogates), checked on the whole value as sent."""
    if numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if value is not None and not isinstance(value, str):
        errors[key] = "must be a string"
        return None
    if value and (reason := textrules.problem(value)):
        errors[key] = reason
        return None
    stripped = (value or "").strip()
    if not stripped:
        if required:
            errors[key] = "is required"
        return None
    if len(stripped) > limit:
        errors[key] = f"must be at most {limit} characters"
        return None
    return stripped


def text_value(value: object, key: str, errors: dict[str, str], limit: int) -> str | None:
    """A free value of ``data``: a string or a JSON number (taken as its text), at most
    ``limit`` characters, kept as sent (not stripped; blank is a value too) under the one
    text rule; None with ``errors[key]`` set otherwise."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or len(str(value)) > limit:
        errors[key] = f"must be a string of at most {limit} characters"
        return None
    if reason := textrules.problem(str(value)):
        errors[key] = reason
        return None
    return str(value)


def currency(value: object, errors: dict[str, str], example: str = "USD") -> str | None:
    """An ISO 4217 code a customer can pay in, upper-cased; ``example`` goes into the reason."""
    # ASCII first: "uſd".upper() is "USD" (U+017F, the long s, upper-cases to S).
    if not isinstance(value, str) or len(value) != 3 or not value.isascii() or value.upper() not in PAYABLE_CURRENCIES:
        errors["currency"] = f"must be an ISO 4217 currency code, e.g. {example}"
        return None
    return value.upper()


def amount(value: object, currency: str | None, errors: dict[str, str], key: str = "amount") -> str | None:
    """A positive amount as a plain decimal string with the currency's digits (``"10.50"``,
    ``"1000"`` for JPY). More decimals than the currency has are refused, not rounded:
    the merchant meant some amount, and it is not for us to guess which. Without a
    valid ``currency`` only the number itself is checked (None is returned).

    A JSON number, or a string of ASCII digits with at most one ``.`` (:data:`_AMOUNT`):
    no sign, exponent, underscore, spaces, ``Infinity``/``NaN`` or other scripts' digits
    in a string (the seed sends numbers or ``"10.66"``; ``"1e3"`` is refused rather than
    read as 1000, as a string is the merchant's exact digits)."""
    if value is None:
        errors[key] = "is required"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        errors[key] = "must be a number"
        return None
    if isinstance(value, str) and not amount_text(value):
        errors[key] = AMOUNT_TEXT_REASON
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors[key] = "must be a number"
        return None
    if not number.is_finite() or number <= 0:
        errors[key] = "must be greater than 0"
    elif number >= AMOUNT_LIMIT:
        errors[key] = "is too large"
    elif currency:
        digits = get_currency_precision(currency)
        step = Decimal(1).scaleb(-digits)
        if number != number.quantize(step):
            errors[key] = (f"{currency} allows no decimals" if digits == 0
                           else f"{currency} allows at most {digits} decimals")
        else:
            return format(number.quantize(step), "f")
    return None


def amount_text(value: str) -> bool:
    """``value`` is an amount as :func:`amount` reads text: ASCII digits with at most one
    ``.`` and its decimals (no sign, exponent, underscore, spaces or other digits)."""
    return bool(_AMOUNT.fullmatch(value))


def http_url_error(value: object, merchant: Merchant) -> str | None:
    """Why ``value`` cannot be a redirect URL for ``merchant`` (None: it can): the one URL
    rule (:func:`checkout.weburl.problem`: absolute http(s), no credentials, no spaces or
    control characters, read as a browser reads it), on the merchant's redirect hosts
    when it names some."""
    reason = weburl.problem(value)
    if reason:
        return reason
    url = weburl.parse(value)
    if not merchant.redirect_host_allowed(url.href):
        return f"host {url.host} is not one of the merchant's redirect hosts"
    return None


def http_url(value: object, merchant: Merchant, key: str, errors: dict[str, str]) -> str | None:
    """The URL to keep for ``value`` (its serialised form, as the browser will read it),
    or None with ``errors[key]`` set (see :func:`http_url_error`)."""
    reason = http_url_error(value, merchant)
    if reason:
        errors[key] = reason
        return None
    return weburl.parse(value).href


def public_endpoint_error(url: str) -> str | None:
    """Why our server must not POST to ``url`` (None: it may): in production a URL a
    request names is https, and not a name or address of this host or its private network
    (a merchant's API key must not reach the operator's internal services). A host name
    is not resolved here: one that resolves to a private address is the operator's
    network policy to stop (an egress proxy or firewall)."""
    parsed = weburl.parse(url)
    if parsed is None or parsed.scheme != "https":
        return "must be an https URL"
    host = parsed.host
    if host == "localhost" or host.endswith(".localhost"):
        return "must not be on this host"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if not address.is_global:
        return "must not be a loopback, private or link-local address"
    return None


def email_valid(value: str) -> bool:
    """An address a mailbox can have: ``local@domain.tld``, at most 254 characters."""
    value = value.strip()
    return len(value) <= EMAIL_LIMIT and bool(_EMAIL.fullmatch(value))


def phone_valid(value: str) -> bool:
    """A phone number with its country code as people write it (``+44 20 7946 0958``,
    ``(030) 1234-567``): digits, spaces, brackets and dashes, 7 to 15 digits."""
    value = value.strip()
    low, high = PHONE_DIGITS
    return bool(_PHONE.fullmatch(value)) and low <= sum(ch in "0123456789" for ch in value) <= high
