"""Locales and money formatting (Babel / Flask-Babel)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from babel.numbers import format_currency, get_currency_precision
from flask import Flask, g, request
from flask_babel import Babel

LOCALES = ("en_US", "ru_RU")
DEFAULT_LOCALE = "en_US"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def normalize_locale(value: str | None) -> str:
    """``en_US`` or ``ru_RU``; anything else falls back to en_US ("ru", "ru-RU" are ru_RU)."""
    value = (value or "").replace("-", "_")
    for locale in LOCALES:
        if value.lower() in (locale.lower(), locale[:2]):
            return locale
    return DEFAULT_LOCALE


def select_locale() -> str:
    """The checkout's ``locale``, else the browser's Accept-Language, else en_US."""
    if g.get("locale"):
        return g.locale
    best = request.accept_languages.best_match(["en_US", "en", "ru_RU", "ru"]) if request else None
    return normalize_locale(best)


def format_amount(amount, currency: str, locale: str | None = None) -> str:
    locale = locale or select_locale()
    return format_currency(Decimal(str(amount)), currency, locale=locale)


def currency_digits(currency: str) -> int:
    return get_currency_precision(currency)


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.globals["format_amount"] = format_amount
    app.jinja_env.globals["current_locale"] = select_locale
