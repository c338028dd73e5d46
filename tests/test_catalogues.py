"""The message catalogues: every string in the source has a Russian translation that keeps
its placeholders, nothing is fuzzy, and the pages really come out in Russian (and English)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from conftest import SEED_CHECKOUT_REQUEST, follow

REPO = Path(__file__).resolve().parent.parent
TRANSLATIONS = REPO / "translations"
RU_PO = TRANSLATIONS / "ru_RU" / "LC_MESSAGES" / "messages.po"
KEYWORDS = ("_l", "lazy_gettext")  # as in the Makefile's `extract` target
RU_PLURAL_FORMS = 3

# %(name)s, %(num)d, %(n)05.2f ... and the positional %s / %d (but not a literal %%).
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?"
                         r"(?P<conv>[diouxXeEfFgGcrsa%])")
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _forms(value: str | tuple | list | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _placeholders(text: str) -> list[str]:
    """The python-format placeholders of ``text`` as a sorted list (``%(amount)s``, ``%d``)."""
    found = []
    for m in PLACEHOLDER.finditer(text):
        if m.group("conv") == "%":
            continue
        found.append(f"%({m.group('name')}){m.group('conv')}" if m.group("name") is not None
                     else f"%{m.group('conv')}")
    return sorted(found)


def _describe(message: Message) -> str:
    where = ", ".join(f"{path}:{line}" for path, line in message.locations[:3])
    ids = " / ".join(repr(i) for i in _forms(message.id))
    return f"{ids}" + (f"  ({where})" if where else "")


def _entries(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogues() -> None:
    """The app reads the .mo files: compile any that are missing or older than their .po."""
    for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalog = _read(po, locale=po.parent.parent.name)
        fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            os.replace(tmp, mo)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Catalog:
    """The messages as they are in the source right now (a fresh `make extract`, in a temp dir)."""
    pot = tmp_path_factory.mktemp("catalogues") / "messages.pot"
    command = [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg"]
    for keyword in KEYWORDS:
        command += ["-k", keyword]
    command += ["-o", str(pot), "."]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"pybabel extract failed:\n{done.stdout}\n{done.stderr}"
    catalog = _read(pot)
    assert _entries(catalog), "pybabel extract found no messages at all"
    return catalog


@pytest.fixture(scope="module")
def ru() -> Catalog:
    return _read(RU_PO, locale="ru_RU")


def test_every_source_message_has_a_russian_translation(extracted, ru):
    assert ru.num_plurals == RU_PLURAL_FORMS, f"ru_RU Plural-Forms header: {ru.plural_forms!r}"
    problems = []
    for message in _entries(extracted):
        translated = ru.get(message.id, message.context)
        if translated is None:
            problems.append(f"not in the ru_RU catalogue: {_describe(message)}")
        elif message.pluralizable and not translated.pluralizable:
            problems.append(f"ru_RU entry has no msgid_plural: {_describe(message)}")
        elif message.pluralizable and len(_forms(translated.string)) != RU_PLURAL_FORMS:
            problems.append(f"needs {RU_PLURAL_FORMS} plural forms (msgstr[0..2]): {_describe(message)}")
        elif not all(form.strip() for form in _forms(translated.string)) or not _forms(translated.string):
            problems.append(f"no Russian translation: {_describe(message)}")
    assert not problems, (
        f"{len(problems)} message(s) in the source lack a ru_RU translation; run `make update-catalogs`, "
        f"then translate them in {RU_PO.relative_to(REPO)}:\n  " + "\n  ".join(problems))


def test_russian_translations_keep_the_placeholders(ru):
    problems = []
    for message in _entries(ru):
        expected = sorted(set().union(*(_placeholders(i) for i in _forms(message.id))))
        for index, form in enumerate(_forms(message.string)):
            if not form:
                continue  # reported by the test above
            got = sorted(set(_placeholders(form)))
            if got != expected:
                label = f"msgstr[{index}]" if message.pluralizable else "msgstr"
                problems.append(f"{_describe(message)}: {label} {form!r} has {got}, expected {expected}")
    assert not problems, "ru_RU placeholders differ from the msgid:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("locale", ["en_US", "ru_RU"])
def test_no_fuzzy_entries(locale):
    catalog = _read(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", locale=locale)
    assert not catalog.fuzzy, f"{locale}: the header is marked fuzzy"
    fuzzy = [_describe(m) for m in _entries(catalog) if m.fuzzy]
    assert not fuzzy, f"{locale}: fuzzy entries (check them, then drop `#, fuzzy`):\n  " + "\n  ".join(fuzzy)


class _VisibleText(HTMLParser):
    """Text a person sees or hears: text nodes outside <script>/<style>, plus alt, placeholder,
    aria-label and title attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts += [v for k, v in attrs if k in ("alt", "placeholder", "aria-label", "title") and v]

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def _visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def _squash(text: str) -> str:
    return " ".join(text.split())


def _amount(locale: str) -> str:
    return format_currency(Decimal(str(SEED_CHECKOUT_REQUEST["amount"])), SEED_CHECKOUT_REQUEST["currency"],
                           locale=locale)


def test_the_payment_page_in_russian(client, make_link, ru):
    response = client.get(make_link(locale="ru_RU"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = _visible_text(html)
    assert '<html lang="ru-RU" dir="ltr"' in html
    pay = ru.get("Pay %(amount)s").string % {"amount": _amount("ru_RU")}
    assert CYRILLIC.search(pay)
    assert _squash(pay) in text, f"pay button {pay!r} not on the page:\n{text}"
    for msgid in ("Pay with card", "Name on card", "Card number", "Expiry date", "Security code"):
        russian = ru.get(msgid).string
        assert russian in text, f"{russian!r} ({msgid!r}) not on the ru_RU page"
        assert msgid not in text, f"untranslated {msgid!r} on the ru_RU page"


def test_the_payment_page_in_english_has_no_russian(client, make_link):
    response = client.get(make_link(locale="en_US"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = _visible_text(html)
    assert '<html lang="en-US" dir="ltr"' in html
    assert _squash(f"Pay {_amount('en_US')}") in text
    assert "Card number" in text
    assert not CYRILLIC.search(text), f"Cyrillic on the en_US page: {CYRILLIC.findall(text)}\n{text}"


# -- which language a page is in -----------------------------------------------------------
def _token(path: str) -> str:
    return path.rsplit("/c/", 1)[1]


@pytest.mark.parametrize(("accept", "lang"), [
    ("en-GB,ru;q=0.9", "en-GB"),  # quality order first: en-GB before ru
    ("ru-RU,ru;q=0.9,en-US;q=0.8", "ru-RU"),
    ("xx-XX,ru;q=0.8,en;q=0.5", "ru-RU"),  # no pages in xx: the next language the browser takes
    ("ru;q=0.5,en-GB;q=0.9", "en-GB"), ("de-AT,fr;q=0.9", "de-DE"),
    ("xx,yy;q=0.9", "en-US"), ("ru;q=0", "en-US"),  # nothing we have (q=0 is "not this"): en_US
])
def test_a_link_without_a_locale_follows_the_browser(client, make_link, accept, lang):
    response = client.get(make_link(locale=None), headers={"Accept-Language": accept})
    assert response.status_code == 200
    assert f'<html lang="{lang}"' in response.get_data(as_text=True)


@pytest.mark.parametrize("locale", ["sr_RS", "xx", "xx-YY"])
def test_a_locale_we_have_no_pages_in_leaves_it_to_the_browser(app, client, make_link, locale):
    from checkout import tokens

    path = make_link(locale=locale)
    with app.app_context():
        assert "locale" not in tokens.load_checkout(_token(path))  # stored as absent, not as en_US
    russian = client.get(path, headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert '<html lang="ru-RU"' in russian.get_data(as_text=True)
    english = client.get(path)
    assert '<html lang="en-US"' in english.get_data(as_text=True)


def test_the_checkout_locale_wins_over_the_browser(app, client, make_link):
    from checkout import tokens

    for locale, stored, accept, lang in (("ru_RU", "ru_RU", "en-US", "ru-RU"), ("en_US", "en_US", "ru", "en-US"),
                                         ("ru-RU", "ru_RU", "en", "ru-RU"), ("en_GB", "en_GB", "ru", "en-GB"),
                                         ("pt", "pt_BR", "ru", "pt-BR"), ("AR-eg", "ar", "en", "ar")):
        path = make_link(locale=locale)
        with app.app_context():
            assert tokens.load_checkout(_token(path))["locale"] == stored
        html = client.get(path, headers={"Accept-Language": accept}).get_data(as_text=True)
        assert f'<html lang="{lang}"' in html, locale


def test_an_expired_link_says_so_in_the_links_language(app, client, make_link, monkeypatch, ru):
    import time

    path = make_link(locale="ru_RU")
    page = client.get(path)
    later = time.time() + app.config["TOKEN_MAX_AGE"] + 10
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.post(f"{path}/card", data={"name": "Jane Doe"}, headers={"Accept-Language": "en-US"})
    assert response.status_code == 410 and page.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="ru-RU"' in html
    assert ru.get("This payment link has expired").string in _visible_text(html)
    assert "expired" not in html


def test_choosing_no_other_method_is_answered_in_the_page_language(client, make_link, ru):
    """The browser's own "please select one" bubble would speak the browser's language:
    the methods form leaves checking to the server, which answers in the page's."""
    path = make_link(locale="ru_RU")
    html = client.get(path, headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]*/apm[^"]*)"[^>]*>(.*?)</form>', html, re.S)
    assert form, "no other methods on the page"
    assert re.search(r'<form [^>]*action="[^"]*/apm[^"]*"[^>]*\bnovalidate\b', html)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form[2])[1]
    posted = client.post(form[1], data={"csrf_token": token}, headers={"Accept-Language": "en-US"})
    assert posted.status_code == 303  # post/redirect/get: the page shows what was wrong
    response = follow(client, posted)
    assert response.status_code == 422
    text = _visible_text(response.get_data(as_text=True))
    assert ru.get("Choose a payment method.").string in text
    assert "Choose a payment method." not in text
    # Said by the list it is about, which gets the focus.
    body = response.get_data(as_text=True)
    methods = body[body.index('class="methods"'):]
    assert 'id="method-error"' in methods
    assert re.search(r'<input type="radio"[^>]*aria-describedby="method-error" aria-invalid="true" autofocus>', methods)


@pytest.mark.parametrize(("kind", "msgid"), [("success", "Payment complete"), ("failure", "Payment declined"),
                                             ("pending", "Payment being confirmed"), ("cancel", "Payment cancelled"),
                                             ("nonsense", "Payment result")])
def test_the_demo_result_page_is_in_the_customers_language(client, ru, kind, msgid):
    response = client.get(f"/demo/result/{kind}", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    heading = ru.get(msgid).string
    assert f"<title>{heading}</title>" in html and f"<h1>{heading}</h1>" in html  # not the raw kind
    text = _visible_text(html)
    assert ru.get("Back to the store").string in text
    assert "Back to the store" not in text and kind not in text
