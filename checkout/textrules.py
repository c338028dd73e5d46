"""The one rule for the characters of a free text: what the merchant API's text fields
(description, ids, ``data`` values, a payout's customer), a theme's ``merchantTitle``
and ``footerText`` and the customer's typed fields (name on card, address lines, a
method's fields) may hold. Pure: no Flask, no gettext; callers say it in their words.

Refused, as they break, reorder or hide text (Trojan Source, CVE-2021-42574) or cannot
be stored or encoded at all:

- control characters: C0 (NUL, TAB, CR, LF ...), DEL, C1 (U+0080-U+009F), and the line
  and paragraph separators U+2028/U+2029 (a one-line text has no line breaks);
- lone surrogates (U+D800-U+DFFF): JSON's ``"\\ud800"`` decodes to one, and no UTF-8
  encoder (the database's, a page's) can write it;
- bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which
  reorder what is drawn after them;
- invisible formatting characters (Unicode category Cf): zero width space U+200B, word
  joiner and invisible operators U+2060-U+2064, the deprecated U+206A-U+206F, the byte
  order mark U+FEFF, the soft hyphen U+00AD, the Mongolian vowel separator U+180E,
  interlinear annotation U+FFF9-U+FFFB, tag characters outside an emoji flag ... and the
  blank Hangul fillers U+3164 and U+FFA0 (letters that draw nothing, a favourite of
  look-alike names);
- noncharacters (U+FDD0-U+FDEF and the last two code points of every plane).

Kept, as real text needs them: ZWNJ U+200C and ZWJ U+200D (Persian, Indic scripts, emoji
sequences); the marks LRM U+200E, RLM U+200F and ALM U+061C, which set the direction of
the neutral characters next to them and nothing further (they open no scope, so cannot
reorder text beyond their own value, unlike the embeddings and overrides); the visible
Arabic, Syriac and Kaithi number signs (U+0600-U+0605, U+06DD, U+070F, U+0890, U+0891,
U+08E2, U+110BD, U+110CD); variation selectors; emoji tag sequences (the flags of
Scotland, England and Wales: U+1F3F4, tags, U+E007F); private-use characters; spaces
other than U+0020 (the no-break spaces French and Russian typography use).

Text is kept as sent, not normalised (NFC): ids such as ``invoiceId`` come back to the
merchant in results, signatures and notifications and must match their records byte for
byte, and browsers draw composed and decomposed forms alike."""
from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

#: Format characters (category Cf) that real text needs: see the module's docstring.
KEPT_FORMAT = frozenset("\u200c\u200d\u200e\u200f\u061c\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f"
                        "\u0890\u0891\u08e2\U000110bd\U000110cd")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Letters (category Lo) that draw nothing at all.
BLANK_LETTERS = frozenset("\u3164\uffa0")
#: An emoji tag sequence: the black flag, tag letters and digits, the cancel tag.
_EMOJI_TAG_SEQUENCE = re.compile("\U0001F3F4[\U000E0020-\U000E007E]{1,32}\U000E007F")

CONTROL, SURROGATE, BIDI, INVISIBLE, NONCHARACTER = "control", "surrogate", "bidi", "invisible", "noncharacter"
#: What each kind of refused character is, in the API's English.
REASONS = {
    CONTROL: "must not contain control characters or line breaks",
    SURROGATE: "must be valid Unicode text: it contains a lone surrogate",
    BIDI: "must not contain bidirectional embedding, override or isolate characters",
    INVISIBLE: "must not contain invisible formatting characters",
    NONCHARACTER: "must not contain Unicode noncharacters",
}


class Refused(NamedTuple):
    """The first character a text may not hold: where (0-based), which, and its kind."""

    index: int
    char: str
    kind: str

    @property
    def code_point(self) -> str:
        return f"U+{ord(self.char):04X}"


def kind_of(char: str) -> str | None:
    """The kind of refused character ``char`` is (:data:`REASONS`' keys), or None when a
    text may hold it. A tag character is refused here: :func:`refused` keeps it inside an
    emoji tag sequence."""
    code = ord(char)
    category = unicodedata.category(char)
    if category == "Cc" or category in ("Zl", "Zp"):
        return CONTROL
    if category == "Cs":
        return SURROGATE
    if char in BIDI_CONTROLS:
        return BIDI
    if (category == "Cf" and char not in KEPT_FORMAT) or char in BLANK_LETTERS:
        return INVISIBLE
    if 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE:
        return NONCHARACTER
    return None


def refused(value: str) -> Refused | None:
    """The first character of ``value`` a text may not hold, or None when it may be kept."""
    if value.isascii():  # the common case: only C0 and DEL can be wrong
        if value.isprintable():
            return None
    elif "\U000E007F" in value:  # emoji flags: their tags are text, stray tags are not
        value = _EMOJI_TAG_SEQUENCE.sub(lambda m: "\U0001F3F4" + "x" * (len(m[0]) - 1), value)
    for index, char in enumerate(value):
        kind = kind_of(char)
        if kind:
            return Refused(index, char, kind)
    return None


def problem(value: str) -> str | None:
    """Why ``value`` cannot be kept as text (the API's English, naming the character and
    where it is), or None when it can."""
    found = refused(value)
    if found is None:
        return None
    return f"{REASONS[found.kind]} ({found.code_point} at character {found.index + 1})"


def ascii_digits(value: object) -> bool:
    """``value`` is a non-empty string of the digits 0-9 only. ``str.isdigit`` also takes
    "²" and "١٢٣" (Arabic-Indic), which ``int()`` reads as 123."""
    return isinstance(value, str) and value.isascii() and value.isdigit()
