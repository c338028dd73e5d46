"""Theme presets and the seed's ``page`` overrides, validated against a strict grammar
and turned into CSS custom properties. Nothing reaches CSS that did not match."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

THEMES_DIR = Path(__file__).resolve().parent.parent / "themes"
LOGOS_DIR = THEMES_DIR / "logos"
DEFAULT_THEME = "default"

FOOTER_ICONS = ("secure-connection", "verified-by-visa", "mastercard-secure-code", "mir-accept",
                "american-express", "pci-dss")
FIELDS = ("email", "phone", "shipping_address", "billing_address")

NAMED_COLORS = frozenset("""aliceblue antiquewhite aqua aquamarine azure beige bisque black
blanchedalmond blue blueviolet brown burlywood cadetblue chartreuse chocolate coral
cornflowerblue cornsilk crimson cyan darkblue darkcyan darkgoldenrod darkgray darkgreen darkgrey
darkkhaki darkmagenta darkolivegreen darkorange darkorchid darkred darksalmon darkseagreen
darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink deepskyblue dimgray
dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite gold goldenrod
gray green greenyellow grey honeydew hotpink indianred indigo ivory khaki lavender lavenderblush
lawngreen lemonchiffon lightblue lightcoral lightcyan lightgoldenrodyellow lightgray lightgreen
lightgrey lightpink lightsalmon lightseagreen lightskyblue lightslategray lightslategrey
lightsteelblue lightyellow lime limegreen linen magenta maroon mediumaquamarine mediumblue
mediumorchid mediumpurple mediumseagreen mediumslateblue mediumspringgreen mediumturquoise
mediumvioletred midnightblue mintcream mistyrose moccasin navajowhite navy oldlace olive
olivedrab orange orangered orchid palegoldenrod palegreen paleturquoise palevioletred papayawhip
peachpuff peru pink plum powderblue purple rebeccapurple red rosybrown royalblue saddlebrown
salmon sandybrown seagreen seashell sienna silver skyblue slateblue slategray slategrey snow
springgreen steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow
yellowgreen""".split())

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_NUM = r"\s*(?:\d{1,3}(?:\.\d{1,4})?%?)\s*"
_ALPHA = r"(?:\s*[,/]\s*(?:0|1|0?\.\d{1,4}|\d{1,3}%))?"
_RGB = re.compile(rf"rgba?\({_NUM},{_NUM},{_NUM}{_ALPHA}\s*\)", re.I)
_HSL = re.compile(rf"hsla?\(\s*\d{{1,3}}(?:\.\d{{1,4}})?(?:deg)?\s*,{_NUM},{_NUM}{_ALPHA}\s*\)", re.I)
_FAMILY = re.compile(r"[A-Za-z_-][A-Za-z0-9_-]*(?: [A-Za-z_-][A-Za-z0-9_-]*)*")
_LENGTH = re.compile(r"(\d{1,3}(?:\.\d{1,3})?)(px|rem|em)")
_LOGO = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
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


class ThemeError(ValueError):
    """A theme value that is not a safe colour, font list, length, known icon or field."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key, self.reason = key, reason


def valid_color(value: str) -> bool:
    return bool(_HEX.fullmatch(value) or _RGB.fullmatch(value) or _HSL.fullmatch(value)
                or value.lower() in NAMED_COLORS)


def _check(key: str, value):
    """The value, normalised, or ThemeError."""
    if key in COLOR_KEYS:
        if not isinstance(value, str) or len(value) > 64 or not valid_color(value.strip()):
            raise ThemeError(key, "must be a colour: #rgb, #rrggbb, rgb(), hsl() or a CSS colour name")
        return value.strip()
    if key == "bodyFont":
        if not isinstance(value, str) or len(value) > 200:
            raise ThemeError(key, "must be a font list of at most 200 characters")
        families = [f.strip() for f in value.split(",")]
        if not families or not all(_FAMILY.fullmatch(f) for f in families):
            raise ThemeError(key, "must be font names (letters, digits, spaces, hyphens) separated by commas")
        return ", ".join(families)
    if key == "formControlBorderRadius":
        match = _LENGTH.fullmatch(value.strip()) if isinstance(value, str) else None
        if value == 0 or value == "0":
            return "0"
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
        return value.strip()
    if key == "logo":
        if not isinstance(value, str) or not _LOGO.fullmatch(value):
            raise ThemeError(key, "must be a logo identifier (a-z, 0-9, - and _)")
        return value
    if key in ("footerIcons", "fields"):
        known = FOOTER_ICONS if key == "footerIcons" else FIELDS
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ThemeError(key, "must be a list of names")
        unknown = [v for v in value if v not in known]
        if unknown:
            raise ThemeError(key, f"unknown {'icon' if key == 'footerIcons' else 'field'} {unknown[0]!r}; "
                                  f"known: {', '.join(known)}")
        return list(dict.fromkeys(value))
    raise ThemeError(key, "is not a page setting")


def validate_page(page) -> dict:
    """The ``page`` object, every value checked; raises ThemeError on the first bad one."""
    if page is None:
        return {}
    if not isinstance(page, dict):
        raise ThemeError("page", "must be an object")
    return {key: _check(key, value) for key, value in page.items()}


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
    for ext in ("svg", "png", "webp"):
        if (LOGOS_DIR / f"{identifier}.{ext}").is_file():
            return f"{identifier}.{ext}"
    return None


@lru_cache(maxsize=64)
def _preset(name: str) -> tuple:
    path = THEMES_DIR / f"{name}.json"
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name) or not path.is_file():
        raise ThemeError("theme", f"unknown theme {name!r}")
    return tuple(validate_page(json.loads(path.read_text(encoding="utf-8"))).items())


def presets() -> list[str]:
    return sorted(p.stem for p in THEMES_DIR.glob("*.json"))


def resolve(name: str | None, page: dict | None) -> Theme:
    """The default theme, then the preset ``name``, then ``page`` overrides."""
    values = dict(_preset(DEFAULT_THEME))
    if name and name != DEFAULT_THEME:
        values.update(_preset(name))
    values.update(validate_page(page))
    return Theme(name=name or DEFAULT_THEME, values=values)
