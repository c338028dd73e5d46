"""Fifty locales, four of them right to left: every catalogue complete and valid by
Babel's checkers, the locale chosen from any way a merchant or a browser writes it, and
each locale's payment page in its language: ``lang``, ``dir``, the amount as Babel
formats it there, no English left, nothing overflowing at 320 px (in Chromium)."""
from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from conftest import base_config, seed_request

from checkout import create_app, i18n, preview

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
OTHERS = [loc for loc in i18n.LOCALES if loc != "en_US"]


@pytest.fixture(scope="module")
def one_client(tmp_path_factory):
    """One app (SQLite) for the per-locale pages: a page's language does not depend on the
    store, and 50 locales x 2 databases x a fresh app each was minutes of CI."""
    return create_app(base_config(tmp_path_factory.mktemp("locales"))).test_client()


def catalogue(locale: str):
    path = TRANSLATIONS / str(Locale.parse(locale)) / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def test_there_are_fifty_locales_four_right_to_left_each_with_its_catalogue():
    assert len(i18n.LOCALES) == len(set(i18n.LOCALES)) == 50
    assert i18n.RTL_LOCALES == {"ar", "fa_IR", "he_IL", "ur_PK"} == {
        loc for loc in i18n.LOCALES if Locale.parse(loc).character_order == "right-to-left"}
    folders = {p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")}
    assert folders == {str(Locale.parse(loc)) for loc in i18n.LOCALES}  # zh_CN's is zh_Hans_CN, as Babel looks


@pytest.mark.parametrize("locale", OTHERS)
def test_the_catalogue_is_complete_and_passes_babels_checks(locale):
    source = read_po((TRANSLATIONS / "messages.pot").open("rb"))
    found = catalogue(locale)
    assert not found.fuzzy
    problems = []
    for message in (m for m in source if m.id):
        translated = found.get(message.id)
        forms = [] if translated is None else (
            list(translated.string) if isinstance(translated.string, tuple) else [translated.string])
        if translated is None or not forms or not all(f.strip() for f in forms):
            problems.append(f"untranslated: {message.id!r}")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif message.pluralizable and len(forms) != found.num_plurals:
            problems.append(f"{message.id!r}: {len(forms)} plural forms, {locale} has {found.num_plurals}")
    for message, errors in found.check():  # Babel's checkers: placeholders, plural forms
        problems += [f"{message.id!r}: {error}" for error in errors]
    assert not problems, f"{locale}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize(("tag", "locale"), [
    ("pt_BR", "pt_BR"), ("pt-BR", "pt_BR"), ("PT-br", "pt_BR"), ("pt", "pt_BR"), ("pt-AO", "pt_PT"),
    ("es", "es_ES"), ("es-MX", "es_419"), ("es-419", "es_419"), ("en-AU", "en_GB"), ("en-us", "en_US"),
    ("zh", "zh_CN"), ("zh-TW", "zh_TW"), ("zh-Hant", "zh_TW"), ("zh-Hant-HK", "zh_HK"), ("zh-Hant-MO", "zh_HK"),
    ("zh-SG", "zh_CN"), ("ar-EG", "ar"), ("AR", "ar"), ("he", "he_IL"), ("iw", "he_IL"), ("fa", "fa_IR"),
    ("ur-PK", "ur_PK"), ("de-AT", "de_DE"), ("fr-CA", "fr_CA"), ("fr-BE", "fr_FR"), ("no", "nb_NO"),
    ("uz-Latn-UZ", "uz_UZ"), ("fil", "fil_PH"), ("ru-BY", "ru_RU"),
    ("xx-YY", None), ("sr", None), ("", None), ("en_US.UTF-8", None), ("<b>", None), ("a" * 40, None),
])
def test_a_locale_is_taken_as_posix_bcp47_or_a_bare_language_in_any_case(tag, locale):
    assert i18n.supported_locale(tag) == locale


class Texts(HTMLParser):
    """A page's visible texts and the texts of its labelling attributes; its lang and dir."""

    def __init__(self, html: str):
        super().__init__()
        self.texts: list[str] = []
        self.root: dict[str, str] = {}
        self.price = ""
        self._in_price = False
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.root = attrs
        if tag in ("script", "style") or (tag == "option" and attrs.get("value")):
            self._skip += 1  # an option with a value: a country's or a state's name, CLDR's or the address data's
        if attrs.get("id") == "amount":
            self._in_price = True
        self.texts += [attrs[a].strip() for a in ("aria-label", "placeholder", "alt", "title") if attrs.get(a)]

    def handle_endtag(self, tag):
        if tag == "p":
            self._in_price = False
        if tag in ("script", "style", "option") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if self._in_price:
            self.price += data
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def english_left(locale: str, texts: list[str]) -> list[str]:
    """The English catalogue's texts among ``texts``, where ``locale`` says them otherwise
    (one the translation keeps as it is, such as a brand name, may stay)."""
    found = catalogue(locale)
    english = {m.id for m in found if m.id and isinstance(m.id, str) and "%(" not in m.id
               and m.string and m.string != m.id and any(ch.isalpha() for ch in m.id)}
    return sorted({t for t in texts if t in english})


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_the_payment_page_in_every_locale(one_client, locale):
    client = one_client
    answer = client.post("/checkout/link", json=seed_request(locale=locale), auth=("pbid_test", "test_secret"))
    assert answer.status_code == 200, answer.json
    page = Texts(client.get("/" + answer.json["link"]["action"].split("/", 3)[3]).get_data(as_text=True))
    assert page.root["lang"] == locale.replace("_", "-")
    assert page.root["dir"] == ("rtl" if locale in i18n.RTL_LOCALES else "ltr")
    assert page.price.strip() == format_currency(Decimal("10.66"), "USD", locale=locale)
    if locale != "en_US":
        assert english_left(locale, page.texts) == []


def test_the_browser_language_decides_when_the_link_names_none(client):
    answer = client.post("/checkout/link", json=seed_request(locale=None), auth=("pbid_test", "test_secret"))
    path = "/" + answer.json["link"]["action"].split("/", 3)[3]
    for accept, lang in (("pt-BR,pt;q=0.9,en;q=0.8", "pt-BR"), ("xx,he;q=0.5", "he-IL"), ("zh-Hant-TW", "zh-TW"),
                         ("xx", "en-US"), ("de-CH;q=0.2, ja;q=0.9", "ja-JP")):
        page = Texts(client.get(path, headers={"Accept-Language": accept}).get_data(as_text=True))
        assert page.root["lang"] == lang, accept


def test_openapi_lists_the_locales(client):
    spec = client.get("/openapi.json").json
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict) and "locale" in node["properties"]:
                found.append(node["properties"]["locale"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert found and all(prop.get("x-locales") == list(i18n.LOCALES) and "enum" not in prop for prop in found)


#: What the page shows as Chromium draws it: its text nodes and labelling attributes (not
#: the options of a country or state list: CLDR's and the address data's names).
TEXTS = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('script, style, option[value]:not([value=""])')) continue;
    if (node.textContent.trim()) found.push(node.textContent.trim());
  }
  for (const el of document.querySelectorAll('[aria-label], [placeholder], [alt], [title]')) {
    for (const name of ['aria-label', 'placeholder', 'alt', 'title']) {
      if (el.getAttribute(name)) found.push(el.getAttribute(name).trim());
    }
  }
  return found;
}"""


@pytest.mark.browser
def test_every_locale_fits_a_320px_phone(site, browser):
    """In Chromium at 320 px, each of the 50: lang and dir, the amount as Babel formats it,
    no English left, no text overflowing its box or the screen."""
    if site.mode != "inprocess":
        pytest.skip("the layout is the same with the sandbox on its own server")
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    problems = []
    for locale in i18n.LOCALES:
        page.goto(site.link(locale=locale, invoiceId=f"fit-{locale}"))
        lang, direction = page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]")
        if lang != locale.replace("_", "-") or direction != ("rtl" if locale in i18n.RTL_LOCALES else "ltr"):
            problems.append(f"{locale}: lang {lang}, dir {direction}")
        amount = page.text_content("#amount").strip()
        if amount != format_currency(Decimal("10.66"), "USD", locale=locale):
            problems.append(f"{locale}: the amount reads {amount!r}")
        if locale != "en_US":
            problems += [f"{locale}: English left: {text!r}" for text in english_left(locale, page.evaluate(TEXTS))]
        problems += [f"{locale}: {found}" for found in page.evaluate(preview.OVERFLOW_JS)]
    context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_the_widgets_own_words_come_from_the_catalogue(one_client, locale):
    client = one_client
    answer = client.get(f"/widget/texts?locale={locale}")
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "*"
    words = answer.json
    assert words["lang"] == locale.replace("_", "-") and words["dir"] == (
        "rtl" if locale in i18n.RTL_LOCALES else "ltr")
    found = catalogue(locale)
    for key, msgid in (("title", "Secure payment"), ("close", "Close"), ("frame", "Payment form")):
        expected = found.get(msgid).string or msgid
        assert words[key] == expected, (locale, key)
    assert words["slow"]
