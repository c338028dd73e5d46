"""Phone numbers by country (Google's libphonenumber, through ``phonenumbers``): the
calling code and an example number of a country, and a number typed on a page read
with the customer's chosen country and written as E.164 for the gateway."""
from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

#: How people type a number: digits, spaces, brackets and dashes, an optional leading
#: ``+`` (no letters, no extension: a payment's contact number is one to call back).
TYPED = re.compile(r"\+?[0-9 ()-]{2,30}")
#: The same as an HTML ``pattern`` (anchored by the browser, compiled with the ``v``
#: flag, spaces around allowed as the server strips them): a first, loose check.
BROWSER_PATTERN = r"\s*\+?[0-9 \(\)\-]{2,30}\s*"


#: Each region's calling code from libphonenumber's index of them (what
#: ``country_code_for_region`` answers, without loading the region's metadata: the
#: phone's country list asks for every country's, and all of it is some 3.6 MB).
_CALLING_CODES = {region: code for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
                  for region in regions if region in phonenumbers.SUPPORTED_REGIONS}


def calling_code(region: str) -> int | None:
    """The country calling code of ``region`` (GB: 44); None where there is none."""
    return _CALLING_CODES.get(region)


@lru_cache(maxsize=512)
def example(region: str) -> str | None:
    """The country's example number as its people write it (GB: "0121 234 5678"): the
    national format, the one typed beside a country chosen in a list."""
    number = phonenumbers.example_number(region) or phonenumbers.example_number_for_type(
        region, phonenumbers.PhoneNumberType.MOBILE)
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL) if number else None


def _parsed(text: str | None, region: str | None) -> phonenumbers.PhoneNumber | None:
    """A valid number typed as :data:`TYPED` says, read in ``region`` unless it starts
    with ``+``."""
    value = (text or "").strip()
    if not TYPED.fullmatch(value):
        return None
    try:
        number = phonenumbers.parse(value, None if value.startswith("+") else region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def e164(text: str | None, region: str | None) -> str | None:
    """The number as E.164 ("+44 20 7946 0958" is "+442079460958"), read in ``region``
    when typed without its country code (a number typed with ``+`` wins); None when it is
    not a valid number."""
    number = _parsed(text, region)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if number else None


def region_of(text: str | None, region: str | None = None) -> str | None:
    """The country a valid number belongs to (None when it is not one)."""
    number = _parsed(text, region)
    return phonenumbers.region_code_for_number(number) if number else None
