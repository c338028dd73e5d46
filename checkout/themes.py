"""Theme presets and the seed's ``page`` overrides, validated against a strict grammar
and turned into CSS custom properties. Nothing reaches CSS that did not match.

Also the designers' lint: every colour parsed to sRGB and each text colour checked
against the background it is drawn on by the WCAG 2.1 contrast ratio."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import textrules

THEMES_DIR = Path(__file__).resolve().parent.parent / "themes"
LOGOS_DIR = THEMES_DIR / "logos"
DEFAULT_THEME = "default"

FOOTER_ICONS = ("secure-connection", "verified-by-visa", "mastercard-secure-code", "mir-accept",
                "american-express", "pci-dss")
FIELDS = ("email", "phone", "shipping_address", "billing_address")

# The 148 CSS named colours (CSS Color 4) and their sRGB values; checked against Chromium's
# computed styles. ``transparent`` and ``currentcolor`` are deliberately not theme colours.
_NAMED = """aliceblue f0f8ff antiquewhite faebd7 aqua 00ffff aquamarine 7fffd4 azure f0ffff beige f5f5dc
bisque ffe4c4 black 000000 blanchedalmond ffebcd blue 0000ff blueviolet 8a2be2 brown a52a2a
burlywood deb887 cadetblue 5f9ea0 chartreuse 7fff00 chocolate d2691e coral ff7f50 cornflowerblue 6495ed
cornsilk fff8dc crimson dc143c cyan 00ffff darkblue 00008b darkcyan 008b8b darkgoldenrod b8860b
darkgray a9a9a9 darkgreen 006400 darkgrey a9a9a9 darkkhaki bdb76b darkmagenta 8b008b
darkolivegreen 556b2f darkorange ff8c00 darkorchid 9932cc darkred 8b0000 darksalmon e9967a
darkseagreen 8fbc8f darkslateblue 483d8b darkslategray 2f4f4f darkslategrey 2f4f4f darkturquoise 00ced1
darkviolet 9400d3 deeppink ff1493 deepskyblue 00bfff dimgray 696969 dimgrey 696969 dodgerblue 1e90ff
firebrick b22222 floralwhite fffaf0 forestgreen 228b22 fuchsia ff00ff gainsboro dcdcdc ghostwhite f8f8ff
gold ffd700 goldenrod daa520 gray 808080 green 008000 greenyellow adff2f grey 808080 honeydew f0fff0
hotpink ff69b4 indianred cd5c5c indigo 4b0082 ivory fffff0 khaki f0e68c lavender e6e6fa
lavenderblush fff0f5 lawngreen 7cfc00 lemonchiffon fffacd lightblue add8e6 lightcoral f08080
lightcyan e0ffff lightgoldenrodyellow fafad2 lightgray d3d3d3 lightgreen 90ee90 lightgrey d3d3d3
lightpink ffb6c1 lightsalmon ffa07a lightseagreen 20b2aa lightskyblue 87cefa lightslategray 778899
lightslategrey 778899 lightsteelblue b0c4de lightyellow ffffe0 lime 00ff00 limegreen 32cd32 linen faf0e6
magenta ff00ff maroon 800000 mediumaquamarine 66cdaa mediumblue 0000cd mediumorchid ba55d3
mediumpurple 9370db mediumseagreen 3cb371 mediumslateblue 7b68ee mediumspringgreen 00fa9a
mediumturquoise 48d1cc mediumvioletred c71585 midnightblue 191970 mintcream f5fffa mistyrose ffe4e1
moccasin ffe4b5 navajowhite ffdead navy 000080 oldlace fdf5e6 olive 808000 olivedrab 6b8e23
orange ffa500 orangered ff4500 orchid da70d6 palegoldenrod eee8aa palegreen 98fb98 paleturquoise afeeee
palevioletred db7093 papayawhip ffefd5 peachpuff ffdab9 peru cd853f pink ffc0cb plum dda0dd
powderblue b0e0e6 purple 800080 rebeccapurple 663399 red ff0000 rosybrown bc8f8f royalblue 4169e1
saddlebrown 8b4513 salmon fa8072 sandybrown f4a460 seagreen 2e8b57 seashell fff5ee sienna a0522d
silver c0c0c0 skyblue 87ceeb slateblue 6a5acd slategray 708090 slategrey 708090 snow fffafa
springgreen 00ff7f steelblue 4682b4 tan d2b48c teal 008080 thistle d8bfd8 tomato ff6347 turquoise 40e0d0
violet ee82ee wheat f5deb3 white ffffff whitesmoke f5f5f5 yellow ffff00 yellowgreen 9acd32"""
_WORDS = _NAMED.split()
NAMED_COLORS: dict[str, tuple[int, int, int]] = {
    name: tuple(bytes.fromhex(rgb)) for name, rgb in zip(_WORDS[::2], _WORDS[1::2], strict=True)}
del _WORDS

# Every grammar is ASCII (re.ASCII): CSS reads only ASCII digits, letters and spaces, so
# "rgb(١٢٣,0,0)" (Arabic-Indic digits) or "hſl(...)" (U+017F, a case variant of s) would
# pass a Unicode \d or re.I and then be dropped by the browser.
_HEX = re.compile(r"#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})", re.ASCII)
_N = r"(\d{1,3}(?:\.\d{1,4})?|\.\d{1,4})"  # unsigned, at most 3 integer digits, no exponent
_C = rf"{_N}(%?)"
# rgb(r, g, b[, a]) / hsl(h, s%, l%[, a]) and the space-separated rgb(r g b[ / a]) / hsl(h s% l%[ / a]);
# rgba and hsla are aliases, as in CSS Color 4.
_S = "[ \t]"  # CSS whitespace inside a colour function (no newlines, no Unicode spaces)
_FUNC = tuple(re.compile(pattern, re.I | re.ASCII) for pattern in (
    rf"(rgba?|hsla?)\({_S}*{_N}(%|deg)?{_S}*,{_S}*{_C}{_S}*,{_S}*{_C}{_S}*(?:,{_S}*{_C}{_S}*)?\)",
    rf"(rgba?|hsla?)\({_S}*{_N}(%|deg)?{_S}+{_C}{_S}+{_C}{_S}*(?:/{_S}*{_C}{_S}*)?\)",
))
# Unquoted family names: identifiers separated by single spaces, none starting with a
# digit, "--" or "-" and a digit (not identifiers, or custom properties' names), and none a
# CSS-wide keyword or "default" (reserved: "inherit" would change what the property means).
_IDENT = r"(?:[A-Za-z_]|-[A-Za-z_])[A-Za-z0-9_-]*"
_FAMILY = re.compile(rf"{_IDENT}(?: {_IDENT})*", re.ASCII)
_RESERVED_FONT_WORDS = frozenset({"inherit", "initial", "unset", "revert", "revert-layer", "default"})
_LENGTH = re.compile(r"(\d{1,3}(?:\.\d{1,3})?|\.\d{1,3})(px|rem|em)", re.ASCII)
_LOGO = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}", re.ASCII)
_LENGTH_MAX = {"px": 48.0, "rem": 3.0, "em": 3.0}

COLOR_KEYS = {
    "leftContainerBackgroundColor": "--left-bg", "priceHeadingColor": "--price-color",
    "backLinkColor": "--back-link", "backLinkHoverColor": "--back-link-hover",
    "payButtonColor": "--pay-bg", "payButtonTextColor": "--pay-text",
    "rightContainerBackgroundColor": "--right-bg", "rightContainerHeadingColor": "--right-heading",
    "formLabelColor": "--label-color", "formErrorColor": "--error-color",
    "formControlBorderColor": "--control-border", "footerColor": "--footer-color",
}
TEXT_LIMITS = {"merchantTitle": 80, "footerText": 300}
PAGE_KEYS = (*COLOR_KEYS, "logo", "merchantTitle", "bodyFont", "payButtonWithPrice",
             "formControlBorderRadius", "footerIcons", "footerText", "fields")

RGBA = tuple[float, float, float, float]  # sRGB channels 0..255, alpha 0..1


class ThemeError(ValueError):
    """A theme value that is not a safe colour, font list, length, known icon or field.

    ``key`` and ``reason`` name the first problem; ``errors`` holds every one found."""

    def __init__(self, key: str, reason: str, errors: dict[str, str] | None = None):
        super().__init__(f"{key}: {reason}")
        self.key, self.reason = key, reason
        self.errors = errors or {key: reason}


# -- colours ----------------------------------------------------------------------------
def parse_color(value) -> RGBA | None:
    """(r, g, b, a) of an allowed colour, or None. Allowed: #rgb, #rgba, #rrggbb,
    #rrggbbaa; rgb()/rgba() with 0-255 numbers or 0-100% percentages (not mixed);
    hsl()/hsla() with a hue of 0-360 (optionally ``deg``) and percentages; an alpha of
    0-1 or 0-100%; the 148 CSS colour names in any case."""
    if not isinstance(value, str) or len(value) > 64 or not value.isascii():  # "\u212aHAKI".lower() is "khaki"
        return None
    value = value.strip()
    if match := _HEX.fullmatch(value):
        digits = match[1]
        if len(digits) <= 4:
            digits = "".join(ch * 2 for ch in digits)
        r, g, b = (int(digits[i:i + 2], 16) for i in (0, 2, 4))
        return (r, g, b, int(digits[6:8], 16) / 255 if len(digits) == 8 else 1.0)
    if value.lower() in NAMED_COLORS:
        return (*NAMED_COLORS[value.lower()], 1.0)
    match = _FUNC[0].fullmatch(value) or _FUNC[1].fullmatch(value)
    if not match:
        return None
    func, n1, unit1, n2, pct2, n3, pct3, na, pcta = match.groups()
    alpha = 1.0 if na is None else float(na) / (100 if pcta else 1)
    if alpha > 1:
        return None
    if func.lower().startswith("rgb"):
        if unit1 == "deg" or len({unit1 or "", pct2, pct3}) != 1:
            return None
        channels = [float(n) * 255 / 100 if pct2 else float(n) for n in (n1, n2, n3)]
        if any(c > 255 for c in channels):
            return None
        return (*channels, alpha)
    hue, sat, light = float(n1), float(n2), float(n3)
    if unit1 == "%" or not (pct2 and pct3) or hue > 360 or sat > 100 or light > 100:
        return None
    return (*_hsl_to_rgb(hue, sat / 100, light / 100), alpha)


def _hsl_to_rgb(hue: float, sat: float, light: float) -> tuple[float, float, float]:
    """CSS Color 4's hslToRgb, channels 0..255."""
    def f(n: int) -> float:
        k = (n + hue / 30) % 12
        return 255 * (light - sat * min(light, 1 - light) * max(-1.0, min(k - 3, 9 - k, 1.0)))
    return f(0), f(8), f(4)


def valid_color(value: str) -> bool:
    return parse_color(value) is not None


def composite(fg: RGBA, bg: RGBA) -> RGBA:
    """``fg`` painted over an opaque ``bg`` (source-over), as an opaque colour."""
    a = fg[3]
    return (*(fg[i] * a + bg[i] * (1 - a) for i in range(3)), 1.0)


def _linear(channel: float) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: RGBA) -> float:
    """WCAG 2.1 relative luminance of an (opaque) sRGB colour."""
    r, g, b = (_linear(c) for c in color[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg: RGBA, bg: RGBA) -> float:
    """WCAG 2.1 contrast ratio, 1 to 21; a translucent ``fg`` is composited over ``bg``."""
    lighter, darker = sorted((relative_luminance(composite(fg, bg)), relative_luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


WHITE: RGBA = (255.0, 255.0, 255.0, 1.0)
TEXT, LARGE_OR_UI = 4.5, 3.0
# (foreground key, background key, required ratio, what the page draws in that colour).
# The pay button text is 16px bold: not "large" (18.66px bold / 24px) by WCAG, so 4.5:1.
# Title and description are normal text in --price-color, so the price's 3:1 is not enough.
CONTRAST_RULES = (
    ("priceHeadingColor", "leftContainerBackgroundColor", TEXT, "merchant title, description, price"),
    ("backLinkColor", "leftContainerBackgroundColor", TEXT, "back link"),
    ("backLinkHoverColor", "leftContainerBackgroundColor", TEXT, "back link, hovered"),
    ("payButtonTextColor", "payButtonColor", TEXT, "pay button text"),
    ("rightContainerHeadingColor", "rightContainerBackgroundColor", TEXT, "headings and body text"),
    ("formLabelColor", "rightContainerBackgroundColor", TEXT, "labels and hints"),
    ("formErrorColor", "rightContainerBackgroundColor", TEXT, "error messages"),
    ("footerColor", "rightContainerBackgroundColor", TEXT, "footer text"),
    ("formControlBorderColor", "rightContainerBackgroundColor", LARGE_OR_UI, "input borders (non-text)"),
)
INPUT_BACKGROUND = WHITE  # inputs are white with #1a1f36 text in every theme (static/css)


@dataclass(frozen=True)
class Pair:
    """One colour drawn on another. ``ratio`` is the contrast ratio rounded to two
    decimals, except that a failing ratio is never shown rounded up to its minimum
    (4.499 shows as 4.49, not 4.50); ``passed`` compares the exact ratio."""

    foreground: str
    background: str
    fg_value: str
    bg_value: str
    ratio: float
    required: float
    passed: bool
    drawn: str = ""

    def line(self, width: int = 0) -> str:
        left = f"{self.foreground} {self.fg_value} on {self.background} {self.bg_value}"
        return (f"{left:<{width}}  {self.ratio:5.2f}:1  needs {self.required:g}:1  "
                f"{'pass' if self.passed else 'FAIL'}")


def contrast_pairs(theme) -> list[Pair]:
    """Every text colour (and the input border) against the background it is drawn on.

    Backgrounds stack as the page paints them: the right container over the white
    canvas, the left container and the pay button over the right container; translucent
    foregrounds are composited over their background, the input border over the white
    input it surrounds. A pair whose colours are missing or invalid is left out."""
    values = theme.values if isinstance(theme, Theme) else dict(theme)
    colors = {key: parse_color(values.get(key)) for key in COLOR_KEYS}
    right = colors["rightContainerBackgroundColor"]
    painted: dict[str, RGBA] = {}
    if right:
        painted["rightContainerBackgroundColor"] = composite(right, WHITE)
        for key in ("leftContainerBackgroundColor", "payButtonColor"):
            if colors[key]:
                painted[key] = composite(colors[key], painted["rightContainerBackgroundColor"])
    pairs = []
    for fg_key, bg_key, required, drawn in CONTRAST_RULES:
        fg, bg = colors[fg_key], painted.get(bg_key)
        if fg is None or bg is None:
            continue
        if fg_key == "formControlBorderColor":
            fg = composite(fg, INPUT_BACKGROUND)
        exact = contrast_ratio(fg, bg)
        passed = exact >= required
        shown = round(exact, 2)
        if not passed and shown >= required:
            shown = math.floor(exact * 100) / 100
        pairs.append(Pair(fg_key, bg_key, values[fg_key], values[bg_key], shown, required, passed, drawn))
    return pairs


# -- the grammar ------------------------------------------------------------------------
def _check(key: str, value):
    """The value, normalised, or ThemeError."""
    if key in COLOR_KEYS:
        if not valid_color(value):
            raise ThemeError(key, "must be a colour: #rgb, #rrggbb, rgb(), hsl() or a CSS colour name")
        return value.strip()
    if key == "bodyFont":
        if not isinstance(value, str) or len(value) > 200:
            raise ThemeError(key, "must be a font list of at most 200 characters")
        families = [f.strip() for f in value.split(",")]
        if not all(_FAMILY.fullmatch(f) for f in families):
            raise ThemeError(key, "must be font names (letters, digits, spaces, hyphens) separated by commas; "
                                  "no name may start with a digit or --")
        if reserved := next((w for f in families for w in f.split(" ") if w.lower() in _RESERVED_FONT_WORDS), None):
            raise ThemeError(key, f"{reserved!r} is a CSS keyword, not a font name")
        return ", ".join(families)
    if key == "formControlBorderRadius":
        if (type(value) is int and value == 0) or (isinstance(value, str) and value.strip() == "0"):
            return "0"
        match = _LENGTH.fullmatch(value.strip()) if isinstance(value, str) else None
        if not match or float(match[1]) > _LENGTH_MAX[match[2]]:
            raise ThemeError(key, "must be a length from 0 to 48px (or 3rem / 3em)")
        return value.strip()
    if key == "payButtonWithPrice":
        if not isinstance(value, bool):
            raise ThemeError(key, "must be true or false")
        return value
    if key in TEXT_LIMITS:
        if not isinstance(value, str) or len(value) > TEXT_LIMITS[key]:
            raise ThemeError(key, f"must be text of at most {TEXT_LIMITS[key]} characters")
        if reason := textrules.problem(value):  # the one text rule of every free text
            raise ThemeError(key, reason)
        return value.strip()
    if key == "logo":
        if not isinstance(value, str) or not _LOGO.fullmatch(value):
            raise ThemeError(key, "must be a logo identifier (a-z, 0-9, - and _)")
        return value
    if key in ("footerIcons", "fields"):
        known = FOOTER_ICONS if key == "footerIcons" else FIELDS
        if not isinstance(value, list) or len(value) > 20 or not all(isinstance(v, str) for v in value):
            raise ThemeError(key, "must be a list of names")
        unknown = [v for v in value if v not in known]
        if unknown:
            raise ThemeError(key, f"unknown {'icon' if key == 'footerIcons' else 'field'} {unknown[0][:40]!r}; "
                                  f"known: {', '.join(known)}")
        return list(dict.fromkeys(value))
    raise ThemeError(key if len(key) <= 64 else key[:61] + "...", "is not a page setting")


def check_page(page) -> tuple[dict, dict[str, str]]:
    """(the valid values, normalised; {key: reason} for every invalid one)."""
    if page is None:
        return {}, {}
    if not isinstance(page, dict):
        return {}, {"page": "must be an object"}
    values, errors = {}, {}
    for key, value in page.items():
        try:
            values[key] = _check(str(key), value)
        except ThemeError as exc:
            errors[exc.key] = exc.reason
    return values, errors


def validate_page(page) -> dict:
    """The ``page`` object, every value checked; raises ThemeError (with every problem
    in ``errors``) when any is bad."""
    values, errors = check_page(page)
    if errors:
        key, reason = next(iter(errors.items()))
        raise ThemeError(key, reason, errors)
    return values


@dataclass(frozen=True)
class Theme:
    name: str
    values: dict = field(default_factory=dict)

    @property
    def css_vars(self) -> dict[str, str]:
        out = {var: self.values[key] for key, var in COLOR_KEYS.items() if key in self.values}
        if "bodyFont" in self.values:
            out["--body-font"] = self.values["bodyFont"]
        if "formControlBorderRadius" in self.values:
            out["--control-radius"] = self.values["formControlBorderRadius"]
        return out

    @property
    def logo_file(self) -> str | None:
        logo = self.values.get("logo")
        return logo_file(logo) if logo else None

    def get(self, key: str, default=None):
        return self.values.get(key, default)


def logo_file(identifier: str) -> str | None:
    """File name under themes/logos/ for a logo identifier, or None when there is none."""
    if not isinstance(identifier, str) or not _LOGO.fullmatch(identifier):
        return None
    for ext in ("svg", "png", "webp"):
        if (LOGOS_DIR / f"{identifier}.{ext}").is_file():
            return f"{identifier}.{ext}"
    return None


# -- presets ----------------------------------------------------------------------------
_PRESET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}", re.ASCII)


def preset_path(name: str) -> Path | None:
    """themes/<name>.json when ``name`` is a preset, else None."""
    if not isinstance(name, str) or not _PRESET_NAME.fullmatch(name):
        return None
    path = THEMES_DIR / f"{name}.json"
    return path if path.is_file() else None


@lru_cache(maxsize=64)
def _preset(name: str) -> tuple:
    path = preset_path(name)
    if path is None:
        raise ThemeError("theme", f"unknown theme {name!r}")
    try:
        values = validate_page(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ThemeError) as exc:  # JSONDecodeError is a ValueError
        raise ThemeError("theme", f"preset {name!r} is invalid ({exc}); run `flask themes lint {name}`") from None
    return tuple(values.items())


def presets() -> list[str]:
    return sorted(p.stem for p in THEMES_DIR.glob("*.json") if _PRESET_NAME.fullmatch(p.stem))


def resolve(name: str | None, page: dict | None) -> Theme:
    """The default theme, then the preset ``name``, then ``page`` overrides."""
    values = dict(_preset(DEFAULT_THEME))
    if name and name != DEFAULT_THEME:
        values.update(_preset(name))
    values.update(validate_page(page))
    return Theme(name=name or DEFAULT_THEME, values=values)


# -- the lint ---------------------------------------------------------------------------
@dataclass
class Lint:
    """A theme's problems: invalid values, other problems (an unknown logo), and every
    contrast pair. ``ok`` only when there are no problems and every pair passes."""

    name: str
    source: str
    errors: dict[str, str]
    problems: dict[str, str]
    pairs: list[Pair]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # pairs with an invalid colour

    def with_source(self, source: str) -> Lint:
        self.source = source
        return self

    @property
    def failed_pairs(self) -> list[Pair]:
        return [p for p in self.pairs if not p.passed]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.problems and not self.failed_pairs

    @property
    def worst(self) -> Pair | None:
        """The pair nearest to (or furthest below) its minimum."""
        return min(self.pairs, key=lambda p: p.ratio / p.required, default=None)

    def report(self) -> list[str]:
        lines = [f"{self.name} ({self.source})"]
        lines += [f"  {key}: {reason}" for key, reason in {**self.errors, **self.problems}.items()]
        width = max((len(f"{p.foreground} {p.fg_value} on {p.background} {p.bg_value}") for p in self.pairs),
                    default=0)
        lines += ["  " + p.line(width) for p in self.pairs]
        lines += [f"  {fg} on {bg}: not checked (invalid value)" for fg, bg in self.skipped]
        if self.ok:
            worst = self.worst
            lines.append(f"  ok: {len(self.pairs)} pairs pass"
                         + (f"; lowest {worst.ratio:.2f}:1 ({worst.foreground}, needs {worst.required:g}:1)"
                            if worst else ""))
        else:
            parts = []
            if self.errors:
                parts.append(f"{len(self.errors)} invalid value{'s' * (len(self.errors) != 1)}")
            if self.problems:
                parts.append(f"{len(self.problems)} other problem{'s' * (len(self.problems) != 1)}")
            if self.failed_pairs:
                parts.append(f"{len(self.failed_pairs)} of {len(self.pairs)} pairs below their minimum")
            lines.append("  FAIL: " + ", ".join(parts))
        return lines


def lint_page(page, name: str = "page", source: str = "") -> Lint:
    """Lint a ``page`` object (any subset of the keys; the rest from the default theme)."""
    values, errors = check_page(page)
    try:
        base = dict(_preset(DEFAULT_THEME))
    except ThemeError:  # linting a broken default: check it on its own
        base = {}
    merged = {**base, **values}
    problems = {}
    logo = merged.get("logo")
    if logo and logo_file(logo) is None:
        problems["logo"] = (f"no file {logo}.svg, .png or .webp under themes/logos/: "
                            "the page shows no logo")
    pairs = [p for p in contrast_pairs(merged) if p.foreground not in errors and p.background not in errors]
    skipped = [(fg, bg) for fg, bg, _, _ in CONTRAST_RULES if fg in errors or bg in errors]
    return Lint(name, source, errors, problems, pairs, skipped)


def lint_file(path: Path | str, name: str | None = None) -> Lint:
    """Lint a theme file: a JSON object of page keys."""
    path = Path(path)
    name = name or path.stem
    try:
        page = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return Lint(name, str(path), {"file": f"not a readable JSON file ({exc})"}, {}, [])
    return lint_page(page, name, str(path))


def lint_preset(name: str) -> Lint:
    path = preset_path(name)
    if path is None:
        raise ThemeError("theme", f"unknown theme {name!r}")
    return lint_file(path, name).with_source(f"themes/{name}.json")
