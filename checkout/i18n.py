"""Locales and money formatting (Babel / Flask-Babel)."""
from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.core import get_global
from babel.numbers import format_currency, get_currency_precision, list_currencies
from flask import Flask, g, request
from flask_babel import Babel, get_translations
from markupsafe import Markup

#: The locales we have pages in: Stripe Checkout's 40 and ten more for the seed's
#: markets and their neighbours (README "Languages"). Their catalogues are under
#: translations/, each in the folder Babel names it (zh_CN: zh_Hans_CN).
LOCALES = (
    "bg_BG", "cs_CZ", "da_DK", "de_DE", "el_GR", "en_US", "en_GB", "es_ES", "es_419", "et_EE", "fi_FI", "fil_PH",
    "fr_FR", "fr_CA", "hr_HR", "hu_HU", "id_ID", "it_IT", "ja_JP", "ko_KR", "lt_LT", "lv_LV", "ms_MY", "mt_MT",
    "nb_NO", "nl_NL", "pl_PL", "pt_PT", "pt_BR", "ro_RO", "ru_RU", "sk_SK", "sl_SI", "sv_SE", "th_TH", "tr_TR",
    "vi_VN", "zh_CN", "zh_HK", "zh_TW", "hi_IN", "bn_IN", "ur_PK", "ar", "fa_IR", "he_IL", "uk_UA", "ka_GE",
    "kk_KZ", "uz_UZ",
)
DEFAULT_LOCALE = "en_US"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
#: Written right to left: CLDR's character order for each (tests/test_locales.py checks it),
#: written out because asking CLDR loads every locale's data, 1 MB each, into every worker.
RTL_LOCALES = frozenset({"ar", "fa_IR", "he_IL", "ur_PK"})
#: Ours by Babel's full name (zh_Hant_TW is zh_TW), and CLDR's English groups by ours.
_PARSED = {loc: Locale.parse(loc) for loc in LOCALES}
_BY_NAME = {str(_PARSED[loc]).lower(): loc for loc in LOCALES} | {"en_001": "en_GB", "en_150": "en_GB"}
def _for_language(language: str) -> str:
    """Our locale for a bare language: the one in CLDR's likely region for it (pt is
    pt_BR, es is es_ES, zh is zh_CN), else the first of ours in that language."""
    ours = [loc for loc in LOCALES if _PARSED[loc].language == language]
    likely = Locale.parse(get_global("likely_subtags").get(language, language))
    return next((loc for loc in ours if _PARSED[loc].territory == likely.territory), ours[0])


#: Bare languages (and the old codes browsers still send) by our locale for them.
_ALIASES = {**{lang: _for_language(lang) for lang in {parsed.language for parsed in _PARSED.values()}},
            "no": "nb_NO", "nn": "nb_NO", "iw": "he_IL", "in": "id_ID", "tl": "fil_PH"}
_OURS = {loc.lower(): loc for loc in LOCALES}
_TAG = re.compile(r"[A-Za-z]{2,8}(?:[_-][A-Za-z0-9]{1,8})*", re.ASCII)


#: ISO 4217 codes a customer can pay in: not the codes for testing or "no currency",
#: precious metals or the IMF's units of account (XAF, XOF, XCD and XPF are money).
NOT_MONEY = frozenset({"XTS", "XXX", "XAU", "XAG", "XPT", "XPD", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU",
                       "XUA"})
PAYABLE_CURRENCIES = frozenset(list_currencies()) - NOT_MONEY


def supported_locale(value: str | None) -> str | None:
    """The locale of ours for a locale or language tag, or None when we have none (no
    error: the browser's languages come next). POSIX (``pt_BR``), BCP 47 (``pt-BR``,
    ``zh-Hant-TW``) or a bare language (``pt``), in any case: Babel's negotiation first
    (the whole tag, then its language through :data:`_ALIASES`), then CLDR's parents
    (``es-MX`` is es_419, ``en-AU`` en_GB, ``pt-AO`` pt_PT, ``zh-Hant-MO`` zh_HK), then
    the tag's language and script (``zh-SG`` is zh_CN), then its language (``de-AT`` is
    de_DE)."""
    if not isinstance(value, str) or len(value) > 35 or not _TAG.fullmatch(value.strip()):
        return None
    tag = value.strip().replace("-", "_")
    found = negotiate_locale([tag, tag.split("_")[0]], LOCALES, sep="_", aliases=_ALIASES)
    found = _OURS.get(found.lower()) if found else None  # Babel answers in the case it was asked in
    if found and (found.lower() == tag.lower() or "_" not in tag):
        return found
    try:
        parsed = Locale.parse(tag)
    except (ValueError, UnknownLocaleError):
        return found
    name = str(parsed)
    for candidate in (name, f"{parsed.language}_{parsed.territory}", get_global("parent_exceptions").get(name)):
        if candidate and candidate.lower() in _BY_NAME:
            return _BY_NAME[candidate.lower()]
    if parsed.script:  # zh-Hant is zh_TW, zh-Hans-SG zh_CN: CLDR's likely region for the script
        same_script = [loc for loc in LOCALES if _PARSED[loc].language == parsed.language
                       and _PARSED[loc].script == parsed.script]
        likely = get_global("likely_subtags").get(f"{parsed.language}_{parsed.script}", "")
        if same_script:
            return next((loc for loc in same_script if likely.endswith(f"_{_PARSED[loc].territory}")),
                        same_script[0])
    return found or _ALIASES.get(parsed.language)


def normalize_locale(value: str | None) -> str:
    """One of :data:`LOCALES`; anything we have no pages in falls back to en_US."""
    return supported_locale(value) or DEFAULT_LOCALE


def browser_locale(accept) -> str | None:
    """The first language of an Accept-Language header (by quality, then the order
    given) that we have pages in (:func:`supported_locale`): ``xx,pt-PT;q=0.9`` is
    pt_PT. None when none fits."""
    for tag, quality in accept or ():
        if quality > 0 and tag != "*" and (locale := supported_locale(tag)):
            return locale
    return None


def select_locale() -> str:
    """The checkout's ``locale`` (when it is one we have), else the browser's
    Accept-Language, else en_US. Worked out once per request and checkout locale (a page
    asks a dozen times: ``lang``, ``dir``, amounts, Flask-Babel)."""
    asked = g.get("locale")
    kept = g.get("_selected_locale")
    if kept is not None and kept[0] == asked:
        return kept[1]
    locale = supported_locale(asked) or \
        (browser_locale(request.accept_languages) if request else None) or DEFAULT_LOCALE
    g._selected_locale = (asked, locale)
    return locale


def current_lang() -> str:
    """The page's ``lang``: its locale as a BCP 47 tag (``pt-BR``, ``zh-TW``, ``ar``)."""
    return select_locale().replace("_", "-")


def text_direction() -> str:
    """The page's ``dir``: ``rtl`` for Arabic, Persian, Hebrew and Urdu, else ``ltr``."""
    return "rtl" if select_locale() in RTL_LOCALES else "ltr"


def format_amount(amount, currency: str, locale: str | None = None) -> str:
    return _formatted_amount(str(amount), currency, locale or select_locale())


@lru_cache(maxsize=4096)
def _formatted_amount(amount: str, currency: str, locale: str) -> str:
    """Babel's format_currency looks up the locale's patterns on every call (about 0.1 ms);
    a page shows its amount twice and a checkout's amount is seen many times."""
    return format_currency(Decimal(amount), currency, locale=locale)


def amount_ltr(amount, currency: str) -> Markup:
    """:func:`format_amount` as HTML that reads left to right in any page (``<bdi
    dir="ltr">``): in an Arabic or Hebrew sentence "US$" would otherwise come apart
    ("$US") and the digits change sides with the text around them."""
    return Markup('<bdi dir="ltr">{0}</bdi>').format(format_amount(amount, currency))


def clock(seconds: int) -> str:
    """Time left as a countdown shows it (``4:05``, ``1:02:03``): what countdown.js counts."""
    hours, rest = divmod(max(int(seconds), 0), 3600)
    return (f"{hours}:{rest // 60:02d}" if hours else f"{rest // 60}") + f":{rest % 60:02d}"


def currency_digits(currency: str) -> int:
    return get_currency_precision(currency)


def _translations():
    """This request's catalogue, looked up once: Flask-Babel's ``get_translations`` walks
    its context locals on every call (about 13 µs; a page makes a hundred calls). It fixes
    a request's locale at its first lookup too, so keeping its answer changes nothing."""
    found = g.get("_translations")
    if found is None:
        found = g._translations = get_translations()
    return found


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.install_gettext_callables(
        lambda message: _translations().ugettext(message),
        lambda singular, plural, n: _translations().ungettext(singular, plural, n), newstyle=True)
    app.jinja_env.globals["format_amount"] = format_amount
    app.jinja_env.globals["amount_ltr"] = amount_ltr
    app.jinja_env.globals["clock"] = clock
    app.jinja_env.globals["current_locale"] = select_locale
    app.jinja_env.globals["current_lang"] = current_lang
    app.jinja_env.globals["text_direction"] = text_direction
