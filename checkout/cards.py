"""Card number, brand, expiry and security-code rules.

Brand detection is a faithful port of braintree/credit-card-type 10.3.0, the prefix
rules most card forms on the web use, so that the brand we show while the customer
types agrees with what they see elsewhere. The whole upstream table is kept (brands
we do not accept included): dropping them would change which of *our* brands wins,
e.g. "4312" is ambiguous between Visa and Elo upstream and must stay ambiguous here.

Nothing in this module logs or keeps a card number; ``mask_pan`` is the only form
that may be stored.
"""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l

#: Our brands as people write them (pages, notifications' ``cardType``).
BRAND_NAMES = {"visa": "Visa", "mastercard": "Mastercard", "maestro": "Maestro", "mir": "Mir",
               "amex": "American Express", "discover": "Discover", "jcb": "JCB",
               "unionpay": "UnionPay", "diners": "Diners Club"}

# A pattern is an IIN prefix (int) or an inclusive range of prefixes (min, max).
Pattern = int | tuple[int, int]

# (type, patterns, lengths, security code size) in upstream test order: the order
# decides ties between equally strong matches, so it must not be changed.
# fmt: off
_CARD_TYPES: tuple[tuple[str, tuple[Pattern, ...], tuple[int, ...], int], ...] = (
    ("visa", (4,), (16, 18, 19), 3),
    (
        "mastercard",
        ((51, 55), (2221, 2229), (223, 229), (23, 26), (270, 271), 2720),
        (16,),
        3,
    ),
    ("american-express", (34, 37), (15,), 4),
    ("diners-club", ((300, 305), 36, 38, 39), (14, 16, 19), 3),
    ("discover", (6011, (644, 649), 65), (16, 19), 3),
    (
        "troy",
        (
            9792, 650052, (650082, 650083), 650092, 650161, 650170, 650173, 650175,
            650268, 650271, (650273, 650274), (650456, 650457), 650836,
            (650846, 650850), 650923, 650987, 650990, 654997, 657366, 657998, 658758,
            (658767, 658768), (65083700, 65083704), (65085800, 65085804),
            (65085900, 65085901), 65086000, (65086100, 65086105),
            (65086200, 65086203), (65875000, 65875003), 65875009,
            (65875101, 65875104), 65875200, 65875501, 65875601, 65875900,
            (65876000, 65876002), (65876100, 65876103), 65876110,
            (65876115, 65876116), (65876200, 65876201), 65876500,
            (65876504, 65876505), (65876600, 65876602), (65877100, 65877101),
            (65877600, 65877602), 65877700, (65877801, 65877802),
            (65878200, 65878202), (65878300, 65878311), (65878400, 65878405),
            (65878500, 65878505), (65878600, 65878601), 65879800, 65880800,
            65880900,
        ),
        (16,),
        3,
    ),
    ("jcb", (2131, 1800, (3528, 3589)), (16, 17, 18, 19), 3),
    (
        "unionpay",
        (
            620, (62100, 62182), (62184, 62187), (62185, 62197), (62200, 62205),
            (622010, 622999), 622018, (62207, 62209), (623, 626), 6270, 6272, 6276,
            (627700, 627779), (627781, 627799), (6282, 6289), 6291, 6292, 810,
            (8110, 8131), (8132, 8151), (8152, 8163), (8164, 8171),
        ),
        (14, 15, 16, 17, 18, 19),
        3,
    ),
    ("naranja", (589562, 402918, 527572), (16,), 3),
    (
        "verve",
        (
            (506099, 506127), 506129, (506133, 506150), (506158, 506163), 506166,
            506168, 506170, 506173, (506176, 506180), 506184, (506187, 506188),
            506191, 506195, 506197, 507865, 507866, (507868, 507877),
            (507880, 507888), 507900, 507941,
        ),
        (16, 18, 19),
        3,
    ),
    (
        "maestro",
        (
            493698, (500000, 504174), (504176, 506698), (506779, 508999), (56, 59),
            63, 67, 6,
        ),
        (12, 13, 14, 15, 16, 17, 18, 19),
        3,
    ),
    (
        "elo",
        (
            401178, 401179, 438935, 457631, 457632, 431274, 451416, 457393, 504175,
            (506699, 506778), (509000, 509999), 627780, 636297, 636368,
            (650031, 650033), (650035, 650051), (650405, 650439), (650485, 650538),
            (650541, 650598), (650700, 650718), (650720, 650727), (650901, 650978),
            (651652, 651679), (655000, 655019), (655021, 655058),
        ),
        (16,),
        3,
    ),
    ("mir", ((2200, 2204),), (16, 17, 18, 19), 3),
    (
        "hiper",
        (637095, 63737423, 63743358, 637568, 637599, 637609, 637612),
        (16,),
        3,
    ),
    ("hipercard", (606282,), (16,), 3),
)
# fmt: on

#: Upstream (braintree credit-card-type) type -> our brand name, for the brands we accept.
UPSTREAM_NAMES: dict[str, str] = {
    "visa": "visa",
    "mastercard": "mastercard",
    "maestro": "maestro",
    "mir": "mir",
    "american-express": "amex",
    "discover": "discover",
    "jcb": "jcb",
    "unionpay": "unionpay",
    "diners-club": "diners",
}

_LENGTHS: dict[str, tuple[int, ...]] = {
    UPSTREAM_NAMES[t]: lengths for t, _, lengths, _ in _CARD_TYPES if t in UPSTREAM_NAMES
}

BRANDS: tuple[str, ...] = tuple(UPSTREAM_NAMES.values())

# ASCII grammars (re.ASCII): a Unicode \d reads "١٢/٣٠" (Arabic-Indic digits) as 12/30,
# as int() does; the card input's script types ASCII digits only.
_SEPARATORS = re.compile(r"[\s-]+", re.ASCII)
_DIGITS = re.compile(r"[0-9]*", re.ASCII)

# Cards are issued for at most this many years ahead (card-validator's maxElapsedYear).
MAX_YEARS_AHEAD = 19


def _digits(number: object) -> str | None:
    """The digits of a typed card number (spaces and dashes removed), else None."""
    if isinstance(number, bool):
        return None
    if isinstance(number, int):
        number = str(number) if number >= 0 else "-"
    if not isinstance(number, str):
        return None
    digits = _SEPARATORS.sub("", number)
    return digits if _DIGITS.fullmatch(digits) else None


#: A pattern as text: an IIN prefix (``high`` None), or the lowest and highest prefixes of
#: a range (as many digits each, as in every range of the table).
PatternText = tuple[str, str | None]


def _pattern_text(pattern: Pattern) -> PatternText:
    return (str(pattern[0]), str(pattern[1])) if isinstance(pattern, tuple) else (str(pattern), None)


def _fits(digits: str, low: str, high: str | None) -> bool:
    """Upstream ``matches`` on a pattern as text (:func:`_pattern_text`). A range's ends
    and the digits typed are compared as text: for digit strings of one length that is
    comparing their numbers, without making them numbers."""
    if high is None:
        return low[: len(digits)] == digits[: len(low)]
    head = digits[: len(low)]
    return bool(head) and low[: len(head)] <= head <= high[: len(head)]


def _pattern_matches(digits: str, pattern: Pattern) -> bool:
    """Upstream ``matches``: ``digits``, possibly partial, fits ``pattern``."""
    return _fits(digits, *_pattern_text(pattern))


def _pattern_length(pattern: Pattern) -> int:
    return len(str(pattern[0] if isinstance(pattern, tuple) else pattern))


#: The table's patterns as text with their lengths, worked out once (a card number's
#: brand is asked several times per payment: the form, the security code, the claim).
_PATTERNS: tuple[tuple[str, tuple[tuple[str, str | None, int], ...]], ...] = tuple(
    (card_type, tuple((*_pattern_text(p), _pattern_length(p)) for p in patterns))
    for card_type, patterns, _lengths, _code in _CARD_TYPES
)


def card_types(digits: str) -> list[str]:
    """Upstream ``creditCardType(digits)``: the candidate types, in table order.

    ``digits`` must already be digits only. Each type matches via its *first* matching
    pattern; that pattern's length is the match strength once that many digits are
    typed. Only when every candidate has a strength is the strongest one returned
    alone (the first wins ties); otherwise all candidates are.
    """
    if not digits:
        return [t for t, *_ in _CARD_TYPES]
    # (type, strength); strength 0 until as many digits as the pattern has are typed.
    candidates: list[tuple[str, int]] = []
    typed = len(digits)
    for card_type, patterns in _PATTERNS:
        for low, high, size in patterns:
            if _fits(digits, low, high):
                candidates.append((card_type, size if typed >= size else 0))
                break
    if candidates and all(strength for _, strength in candidates):
        best = candidates[0]
        for candidate in candidates[1:]:
            if candidate[1] > best[1]:
                best = candidate
        return [best[0]]
    return [card_type for card_type, _ in candidates]


def _detected_type(number: object) -> str | None:
    """The single upstream type the number points to, ours or not; None if not one."""
    digits = _digits(number)
    if digits is None:
        return None
    types = card_types(digits)
    return types[0] if len(types) == 1 else None


def card_brand(number: object) -> str | None:
    """Our brand for a complete or partial card number, or None.

    None when nothing fits, when the prefix is still ambiguous, or when the number
    belongs to a brand we do not accept (Elo, Verve, ...).
    """
    return UPSTREAM_NAMES.get(_detected_type(number) or "")


def card_lengths(brand: str) -> tuple[int, ...]:
    """The number lengths a brand issues (empty for brands we do not know)."""
    return _LENGTHS.get(brand, ())


def cvv_length(brand: str | None) -> int:
    return 4 if brand == "amex" else 3


def luhn_valid(number: object) -> bool:
    digits = _digits(number)
    if not digits:
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def number_valid(number: object) -> bool:
    """Known brand, a length that brand issues, and Luhn (UnionPay is exempt from Luhn:
    some UnionPay ranges are issued without a check digit, as upstream assumes)."""
    digits = _digits(number)
    return bool(digits) and _valid_for(digits, card_brand(digits))


def _valid_for(digits: str, brand: str | None) -> bool:
    """:func:`number_valid` for the digits of a number whose brand is known already."""
    if brand is None or len(digits) not in _LENGTHS[brand]:
        return False
    return brand == "unionpay" or luhn_valid(digits)


def mask_pan(number: object) -> str:
    """First six and last four digits, the rest as ``*``: the most we may keep.

    Anything that is not a digit is dropped. Inputs too short to be a card number
    keep only their last four digits, so the mask never reveals a whole short number.
    """
    digits = re.sub(r"\D", "", str(number), flags=re.ASCII) if isinstance(number, (str, int)) else ""
    if len(digits) >= 12:
        return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]
    keep = 4 if len(digits) > 4 else 0
    return "*" * (len(digits) - keep) + digits[len(digits) - keep :]


def _full_year(year: int, today: date) -> int:
    """A two-digit year in the century that puts it nearest to today."""
    if year >= 100:
        return year
    full = today.year // 100 * 100 + year
    if full < today.year - 50:
        full += 100
    elif full > today.year + 50:
        full -= 100
    return full


_EXPIRY_SEPARATED = re.compile(r"\s*(\d{1,2})\s*(?:/\s*|\s+)(\d{2}|\d{4})\s*", re.ASCII)
_EXPIRY_DIGITS = re.compile(r"\s*(\d{3,6})\s*", re.ASCII)
_EXPIRY_ISO = re.compile(r"\s*(\d{4})-(\d{1,2})\s*", re.ASCII)


def parse_expiry(text: object, today: date | None = None) -> tuple[int, int] | None:
    """(month, four-digit year) from what a customer types in one "MM / YY" field.

    Accepts "12/30", "12 / 30", "12/2030", "12 30", "1/30", digits only ("1230",
    "130", "122030", "12030": the length tells where the month ends) and the ISO-like
    "2030-12" some autofill produces. The month is not range-checked here.
    Returns None for anything else, including partial input.
    """
    if not isinstance(text, str):
        return None
    today = today or date.today()
    if m := _EXPIRY_SEPARATED.fullmatch(text):
        month, year = m.group(1), m.group(2)
    elif m := _EXPIRY_ISO.fullmatch(text):
        year, month = m.group(1), m.group(2)
    elif m := _EXPIRY_DIGITS.fullmatch(text):
        digits = m.group(1)
        split = 2 if len(digits) % 2 == 0 else 1
        month, year = digits[:split], digits[split:]
    else:
        return None
    return int(month), _full_year(int(year), today)


def expiry_valid(month: int, year: int, today: date | None = None) -> bool:
    """Month 1..12, not past (a card is good through the end of its expiry month)
    and at most ``MAX_YEARS_AHEAD`` years ahead."""
    if isinstance(month, bool) or isinstance(year, bool):
        return False
    if not isinstance(month, int) or not isinstance(year, int):
        return False
    today = today or date.today()
    if not 1 <= month <= 12:
        return False
    if (year, month) < (today.year, today.month):
        return False
    return year <= today.year + MAX_YEARS_AHEAD


def _field_int(value: object, sizes: tuple[int, ...]) -> int | None:
    """An int from an int or a digit string of one of ``sizes`` characters."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value) if value >= 0 else ""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) not in sizes or not _DIGITS.fullmatch(value):
        return None
    return int(value)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_card(
    number: object,
    exp_month: object,
    exp_year: object,
    cvv: object,
    today: date | None = None,
) -> dict[str, object]:
    """Field errors for a card form ("number", "expiry", "cvv"); empty when valid.

    Each field is checked on its own, so a wrong number never hides an expiry or
    security-code error. Messages are lazy strings: render them inside a request.
    """
    today = today or date.today()
    errors: dict[str, object] = {}
    digits = _digits(number)
    detected = _detected_type(number)  # once: the number's and the security code's checks
    brand = UPSTREAM_NAMES.get(detected or "")

    if _blank(number):
        errors["number"] = _l("Enter your card number.")
    elif not (digits and _valid_for(digits, brand)):
        if detected and detected not in UPSTREAM_NAMES:
            errors["number"] = _l("We do not accept this card brand.")
        else:
            errors["number"] = _l("This card number is not valid.")

    if _blank(exp_month) and _blank(exp_year):
        errors["expiry"] = _l("Enter the expiry date as MM / YY.")
    else:
        month = _field_int(exp_month, (1, 2))
        year = _field_int(exp_year, (2, 4))
        if month is None or year is None:
            errors["expiry"] = _l("Enter the expiry date as MM / YY.")
        else:
            year = _full_year(year, today)
            if not 1 <= month <= 12:
                errors["expiry"] = _l("Enter the expiry date as MM / YY.")
            elif (year, month) < (today.year, today.month):
                errors["expiry"] = _l("This card has expired.")
            elif not expiry_valid(month, year, today):
                errors["expiry"] = _l("This expiry date is not valid.")

    sizes = (cvv_length(brand),) if brand else (3, 4)
    code = cvv.strip() if isinstance(cvv, str) else None
    if _blank(cvv):
        errors["cvv"] = _l("Enter the security code.")
    elif code is None or len(code) not in sizes or not _DIGITS.fullmatch(code):
        if brand:
            errors["cvv"] = _l("The security code must be %(n)s digits.", n=sizes[0])
        else:
            errors["cvv"] = _l("The security code must be 3 or 4 digits.")
    return errors
