"""Locales and money formatting (Babel / Flask-Babel)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from babel.numbers import format_currency, get_currency_precision, list_currencies
from flask import Flask, g, request
from flask_babel import Babel

LOCALES = ("en_US", "ru_RU")
DEFAULT_LOCALE = "en_US"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


#: ISO 4217 codes a customer can pay in: not the codes for testing or "no currency",
#: precious metals or the IMF's units of account (XAF, XOF, XCD and XPF are money).
NOT_MONEY = frozenset({"XTS", "XXX", "XAU", "XAG", "XPT", "XPD", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU",
                       "XUA"})
PAYABLE_CURRENCIES = frozenset(list_currencies()) - NOT_MONEY

def supported_locale(value: str | None) -> str | None:
    """``en_US`` or ``ru_RU`` for a locale or language tag we have pages in, by the whole
    tag or else its primary language ("ru", "ru-RU", "ru_BY" are ru_RU; "en-GB" is
    en_US); None for any other ("de_DE")."""
    if not isinstance(value, str):
        return None
    value = value.strip().replace("-", "_").lower()
    for locale in LOCALES:
        if value == locale.lower():
            return locale
    primary = value.split("_", 1)[0]
    for locale in LOCALES:
        if primary == locale[:2].lower():
            return locale
    return None


def normalize_locale(value: str | None) -> str:
    """``en_US`` or ``ru_RU``; anything else falls back to en_US ("ru", "ru-RU" are ru_RU)."""
    return supported_locale(value) or DEFAULT_LOCALE


def browser_locale(accept) -> str | None:
    """The first language of an Accept-Language header (by quality, then the order
    given) that we have pages in, by its whole tag or else its primary language:
    ``en-GB,ru;q=0.9`` is English. None when none fits."""
    for tag, quality in accept or ():
        if quality > 0 and tag != "*" and (locale := supported_locale(tag)):
            return locale
    return None


def select_locale() -> str:
    """The checkout's ``locale`` (when it is one we have), else the browser's
    Accept-Language, else en_US."""
    if locale := supported_locale(g.get("locale")):
        return locale
    return (browser_locale(request.accept_languages) if request else None) or DEFAULT_LOCALE


def format_amount(amount, currency: str, locale: str | None = None) -> str:
    locale = locale or select_locale()
    return format_currency(Decimal(str(amount)), currency, locale=locale)


def clock(seconds: int) -> str:
    """Time left as a countdown shows it (``4:05``, ``1:02:03``): what countdown.js counts."""
    hours, rest = divmod(max(int(seconds), 0), 3600)
    return (f"{hours}:{rest // 60:02d}" if hours else f"{rest // 60}") + f":{rest % 60:02d}"


def currency_digits(currency: str) -> int:
    return get_currency_precision(currency)


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.globals["format_amount"] = format_amount
    app.jinja_env.globals["clock"] = clock
    app.jinja_env.globals["current_locale"] = select_locale
