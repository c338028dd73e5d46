"""Card rules, checked against the public test suites in ../shared/vectors/.

The vectors come from braintree/credit-card-type 10.3.0 and braintree/card-validator
10.0.4 (see shared/vectors/README.md). Where our rules differ on purpose, or a
vector group is not used, the dicts below name the cases and say why.
"""

from __future__ import annotations

import json
import math
import os
from datetime import date
from pathlib import Path

import flask
import pytest
from flask_babel import Babel

from checkout.cards import (
    BRANDS,
    UPSTREAM_NAMES,
    _pattern_matches,
    card_brand,
    card_lengths,
    card_types,
    cvv_length,
    expiry_valid,
    luhn_valid,
    mask_pan,
    number_valid,
    parse_expiry,
    validate_card,
)

REPO = Path(__file__).resolve().parents[1]
# The shared copy when the checkout sits beside it, else the copy kept in tests/vectors/
# (MIT-licensed, see its README), so that a clone on its own still runs every case.
_SHARED_VECTORS = REPO.parent / "shared" / "vectors" / "card_vectors.json"
VECTORS_PATH = Path(
    os.environ.get("CHECKOUT_VECTORS")
    or (_SHARED_VECTORS if _SHARED_VECTORS.is_file() else Path(__file__).parent / "vectors" / "card_vectors.json")
)
VECTORS: dict | None = (
    json.loads(VECTORS_PATH.read_text()) if VECTORS_PATH.is_file() else None
)
MISSING = (
    f"card vectors not found at {VECTORS_PATH} "
    "(set CHECKOUT_VECTORS to the path of card_vectors.json)"
)

# Upstream type -> our brand; the other upstream types are brands we do not accept.
OURS = UPSTREAM_NAMES

# credit_card_type numbers where card_brand must differ from the reference, and why.
# None: card_brand is a faithful port, so every case agrees.
DIFFERS_ON_PURPOSE: dict[str, str] = {}

# expiration_date cases (value as JSON, today) whose isValid differs on purpose.
# None so far: every input the reference accepts as a complete date, we accept too.
EXPIRY_DIFFERS: dict[tuple[str, str], str] = {}

# card_number cases with options: our number_valid has no options. A maxLength at
# least as long as the number does not change isValid, so those cases are compared;
# the others are skipped for the reason given here.
OPTION_SKIPS = {
    "maxLength": "maxLength rejects numbers longer than it; we have no such option "
    "(the same number without the limit is the maxLength 19 case, compared)",
    "luhnValidateUnionPay": "opts UnionPay into the Luhn check; we keep the default "
    "(UnionPay exempt), compared by the same number's no-option case",
    "skipLuhnValidation": "turns the Luhn check off; we always check it, compared "
    "by the same number's no-option case",
}

# Vector groups not used here, and why. Every other group is compared below.
EXCLUDED_GROUPS = {
    "postal_code": "not a card rule; postal codes are not validated in cards.py",
    "cardholder_name": "not a card rule; the name is validated by the form",
    "parse_date": "the reference's partial-input splitting heuristic (month length "
    "guessed from whether the rest could still become a year); its outcome for "
    "complete input is compared through expiration_date",
    "expiration_month": "per-field partial-input validator with JS type rules (it "
    "refuses JS numbers, which validate_card accepts as ints); month rules are "
    "compared through expiration_date",
    "expiration_year": "per-field partial-input validator with JS type rules, frozen "
    "to 2021; year window rules are compared through expiration_date",
}


def _js(value: object) -> object:
    """Decode the vectors' tags for JS values that JSON cannot hold."""
    if isinstance(value, dict) and set(value) == {"$js"}:
        return {
            "undefined": None,
            "NaN": math.nan,
            "Infinity": math.inf,
            "-Infinity": -math.inf,
        }[value["$js"]]
    return value


def _id(value: object) -> str:
    return value if isinstance(value, str) and value.strip() else repr(value)


def _cases(group: str, keep=lambda case: True, ident=None) -> list:
    """pytest params for one vector group; a single skipped param when missing."""
    if VECTORS is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING))]
    ident = ident or (lambda case: _id(case.get("value", case.get("number"))))
    return [pytest.param(c, id=ident(c)) for c in VECTORS[group] if keep(c)]


def _today(case: dict) -> date:
    return date.fromisoformat(case["today"])


def test_every_vector_group_is_used_or_excluded():
    if VECTORS is None:
        pytest.skip(MISSING)
    used = {"meta", "brands", "credit_card_type", "matches", "card_number", "cvv"}
    used |= {"expiration_date"}
    assert set(VECTORS) == used | set(EXCLUDED_GROUPS)


def test_brand_table_is_the_reference_table():
    if VECTORS is None:
        pytest.skip(MISSING)
    table = VECTORS["brands"]["credit-card-type@10.3.0"]
    assert card_types("") == [brand["type"] for brand in table]
    for brand in table:
        if brand["type"] in OURS:
            ours = OURS[brand["type"]]
            assert card_lengths(ours) == tuple(brand["lengths"])
            assert cvv_length(ours) == brand["code"]["size"]
    assert set(BRANDS) == set(OURS.values())


# --- credit_card_type -----------------------------------------------------------

BRAND_KINDS = ("single_brand", "candidates", "no_match")


@pytest.mark.parametrize(
    "case",
    _cases(
        "credit_card_type",
        lambda c: c["kind"] in BRAND_KINDS,
        lambda c: f"{c['kind']}-{_id(c['number'])}",
    ),
)
def test_card_types_match_reference(case):
    assert card_types(case["number"]) == case["expected_types"]


@pytest.mark.parametrize(
    "case",
    _cases(
        "credit_card_type",
        lambda c: c["kind"] in BRAND_KINDS and c["number"] not in DIFFERS_ON_PURPOSE,
        lambda c: f"{c['kind']}-{_id(c['number'])}",
    ),
)
def test_card_brand_matches_reference(case):
    types = case["expected_types"]
    # One candidate of ours -> our name; ambiguous, none, or not ours -> None.
    expected = OURS.get(types[0]) if len(types) == 1 else None
    assert card_brand(case["number"]) == expected


def test_card_brand_differs_on_purpose():
    if VECTORS is None:
        pytest.skip(MISSING)
    cases = {c["number"]: c for c in VECTORS["credit_card_type"]}
    for number in DIFFERS_ON_PURPOSE:
        types = cases[number]["expected_types"]
        reference = OURS.get(types[0]) if len(types) == 1 else None
        assert card_brand(number) != reference, number


@pytest.mark.parametrize(
    "case",
    _cases(
        "credit_card_type",
        lambda c: c["kind"] in ("first_code", "first_lengths"),
        lambda c: f"{c['kind']}-{_id(c['number'])}",
    ),
)
def test_first_brand_code_and_lengths(case):
    first = case["reference_first"]["type"]
    single = len(case["reference_types"]) == 1
    if first not in OURS:
        assert card_brand(case["number"]) is None  # a brand we do not accept
        return
    ours = OURS[first]
    assert card_brand(case["number"]) == (ours if single else None)
    expected = case["expected_first"]
    if "code" in expected:
        assert cvv_length(ours) == expected["code"]["size"]
    if "lengths" in expected:
        assert card_lengths(ours) == tuple(expected["lengths"])


@pytest.mark.parametrize(
    "case", _cases("matches", ident=lambda c: f"{c['value']!r}-{c['pattern']}")
)
def test_pattern_matches_reference(case):
    pattern = case["pattern"]
    if isinstance(pattern, list):
        pattern = (int(pattern[0]), int(pattern[1]))
    else:
        pattern = int(pattern)
    assert _pattern_matches(case["value"], pattern) is case["expected"]


# --- card_number ----------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("card_number"))
def test_number_valid_matches_reference(case):
    value = _js(case["value"])
    options = case.get("options") or {}
    if options:
        digits = "".join(ch for ch in str(value) if ch.isdigit())
        if set(options) != {"maxLength"} or len(digits) > options["maxLength"]:
            reasons = "; ".join(OPTION_SKIPS[name] for name in options)
            pytest.skip(f"{value!r} with {options}: {reasons}")
    assert number_valid(value) is case["expected"]["isValid"]
    if not options:
        assert card_brand(value) == OURS.get(case["expected"]["card"] or "")


# --- cvv ------------------------------------------------------------------------

VISA = "4242424242424242"
AMEX = "378282246310005"
# Number whose brand we cannot tell, so either code length is accepted.
UNKNOWN = ""


def _cvv_number(max_length: object) -> str:
    if max_length in (None, 3):
        return VISA
    if max_length == 4:
        return AMEX
    assert sorted(max_length) == [3, 4]
    return UNKNOWN


@pytest.mark.parametrize("case", _cases("cvv"))
def test_cvv_matches_reference(case):
    number = _cvv_number(case.get("maxLength"))
    errors = validate_card(number, 12, 2040, _js(case["value"]), today=date(2026, 6, 1))
    assert ("cvv" not in errors) is case["expected"]["isValid"]


@pytest.mark.parametrize(
    ("number", "accepted"),
    [(VISA, {3}), (AMEX, {4}), ("5555555555554444", {3}), (UNKNOWN, {3, 4})],
)
def test_cvv_length_by_brand(number, accepted):
    for n in range(7):
        errors = validate_card(number, 12, 2040, "7" * n, today=date(2026, 6, 1))
        assert ("cvv" not in errors) is (n in accepted), n


# --- expiration_date --------------------------------------------------------------


def _our_expiry(value: object, today: date) -> tuple[bool, tuple[int, int] | None]:
    if isinstance(value, dict):  # the reference's {month, year} object form
        month, year = value.get("month"), value.get("year")
        errors = validate_card(VISA, month, year, "123", today=today)
        return "expiry" not in errors, None
    parsed = parse_expiry(value, today=today)
    return parsed is not None and expiry_valid(*parsed, today=today), parsed


def _expiry_key(case: dict) -> tuple[str, str]:
    return json.dumps(case["value"]), case["today"]


@pytest.mark.parametrize(
    "case",
    _cases(
        "expiration_date",
        ident=lambda c: f"{c['today']}-{_id(c['value'])}-{c.get('maxElapsedYear', '')}",
    ),
)
def test_expiry_matches_reference(case):
    """isValid only: the reference's isPotentiallyValid is about partial input, which
    a submitted form does not have; partial input is invalid in both."""
    if "maxElapsedYear" in case:
        pytest.skip(
            f"maxElapsedYear={case['maxElapsedYear']}: our window is fixed at 19 years"
        )
    today = _today(case)
    value = _js(case["value"])
    valid, parsed = _our_expiry(value, today)
    expected = case["expected"]
    if _expiry_key(case) in EXPIRY_DIFFERS:
        assert valid is not expected["isValid"]
        return
    assert valid is expected["isValid"]
    if valid and parsed is not None:
        year = int(expected["year"])
        year += today.year // 100 * 100 if year < 100 else 0
        assert parsed == (int(expected["month"]), year)


# --- plain unit tests -------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("4242424242424242", True),
        ("4242 4242 4242 4242", True),
        ("4242-4242-4242-4242", True),
        (4242424242424242, True),
        ("79927398713", True),
        ("79927398710", False),
        ("4242424242424241", False),
        ("0", True),
        ("", False),
        ("42a2", False),
        (None, False),
        (True, False),
    ],
)
def test_luhn(number, ok):
    assert luhn_valid(number) is ok


@pytest.mark.parametrize("prefix", [2221, 2222, 2300, 2599, 2700, 2719, 2720])
def test_mastercard_2_series(prefix):
    assert card_brand(str(prefix)) == "mastercard"
    assert card_brand(f"{prefix}000000000000") == "mastercard"


@pytest.mark.parametrize("prefix", ["2220", "2721", "2730", "2800"])
def test_outside_mastercard_2_series(prefix):
    assert card_brand(prefix) != "mastercard"


@pytest.mark.parametrize("prefix", ["2200", "2201", "2202", "2203", "2204"])
def test_mir(prefix):
    assert card_brand(prefix) == "mir"
    assert card_brand(prefix + "000000000000") == "mir"
    assert card_brand("2205") is None


@pytest.mark.parametrize(
    "number", ["4242424242424242", "4111111111111111", "4200000000000000"]
)
def test_seed_test_cards(number):
    assert card_brand(number) == "visa"
    assert number_valid(number)
    assert validate_card(number, 12, 2030, "123", today=date(2026, 6, 1)) == {}


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("378282246310005", "amex"),
        ("30569309025904", "diners"),
        ("6011111111111117", "discover"),
        ("3530111333300000", "jcb"),
        ("6304000000000000", "maestro"),
        ("5555555555554444", "mastercard"),
        ("6212345000000001", "unionpay"),  # fails Luhn: UnionPay is exempt
    ],
)
def test_number_valid_brands(number, brand):
    assert card_brand(number) == brand
    assert number_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424241",  # Luhn
        "424242424242424",  # length
        "6277809990229178",  # Elo: not ours
        "0000000000000000",
        "4242 4242 4242 424x",
        4242424242424242.0,
        None,
        True,
        ["4242424242424242"],
    ],
)
def test_number_invalid(number):
    assert not number_valid(number)


def test_card_brand_ignores_separators_only():
    assert card_brand("4242 4242-4242") == "visa"
    assert card_brand("4242.4242") is None
    assert card_brand("x") is None
    assert card_brand("") is None
    assert card_brand(None) is None


def test_mask_pan():
    assert mask_pan("4242424242424242") == "424242******4242"
    assert mask_pan("4242 4242 4242 4242") == "424242******4242"
    assert mask_pan("378282246310005") == "378282*****0005"
    assert mask_pan(4111111111111111) == "411111******1111"
    assert mask_pan("12345678") == "****5678"
    assert mask_pan("123") == "***"


def test_validate_card_errors_are_independent():
    today = date(2026, 6, 1)
    assert set(validate_card("4242424242424241", 12, 2030, "123", today)) == {"number"}
    assert set(validate_card("4242424242424241", 13, 2030, "12", today)) == {
        "number",
        "expiry",
        "cvv",
    }
    assert set(validate_card(VISA, 5, 2026, "123", today)) == {"expiry"}
    assert set(validate_card(VISA, "06", "26", "123", today)) == set()
    assert set(validate_card(VISA, "6", "2026", "1234", today)) == {"cvv"}
    assert set(validate_card("", "", "", "", today)) == {"number", "expiry", "cvv"}


def test_validate_card_messages_render():
    app = flask.Flask(__name__)
    Babel(app)
    today = date(2026, 6, 1)
    with app.app_context():
        errors = validate_card("", None, None, None, today)
        assert str(errors["number"]) == "Enter your card number."
        assert str(errors["expiry"]) == "Enter the expiry date as MM / YY."
        assert str(errors["cvv"]) == "Enter the security code."
        errors = validate_card(AMEX, 1, 2026, "123", today)
        assert str(errors["expiry"]) == "This card has expired."
        assert str(errors["cvv"]) == "The security code must be 4 digits."
        errors = validate_card("4242424242424241", 1, 2027, "12", today)
        assert str(errors["number"]) == "This card number is not valid."
        assert str(errors["cvv"]) == "The security code must be 3 digits."
        errors = validate_card("6277809990229178", 1, 2027, "123", today)
        assert str(errors["number"]) == "We do not accept this card brand."


def test_expiry_boundaries():
    june = date(2026, 6, 15)
    assert expiry_valid(6, 2026, today=june)
    assert not expiry_valid(5, 2026, today=june)
    assert expiry_valid(6, 2045, today=june)
    assert not expiry_valid(1, 2046, today=june)
    assert not expiry_valid(0, 2027, today=june)
    assert not expiry_valid(13, 2027, today=june)
    # December rollover: valid through the last day of the month.
    assert expiry_valid(12, 2026, today=date(2026, 12, 31))
    assert not expiry_valid(12, 2026, today=date(2027, 1, 1))
    assert expiry_valid(1, 2027, today=date(2027, 1, 1))
    assert expiry_valid(date.today().month, date.today().year)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("12/30", (12, 2030)),
        ("12 / 30", (12, 2030)),
        ("12/2030", (12, 2030)),
        ("1230", (12, 2030)),
        ("12 30", (12, 2030)),
        ("1/30", (1, 2030)),
        ("01/30", (1, 2030)),
        (" 04 / 27 ", (4, 2027)),
        ("427", (4, 2027)),
        ("042027", (4, 2027)),
        ("2030-12", (12, 2030)),
        ("", None),
        ("12", None),
        ("12/", None),
        ("12/3", None),
        ("12/203", None),
        ("12//30", None),
        ("12/30/30", None),
        ("ab/cd", None),
        ("1234567", None),
        (None, None),
        (1230, None),
    ],
)
def test_parse_expiry(text, parsed):
    assert parse_expiry(text, today=date(2026, 6, 1)) == parsed
