"""The long ``<option>`` lists of the card form, rendered once and kept.

A payment page with a billing and a shipping address and a phone number draws three
lists of about 250 countries: through Jinja that was over a third of a page's render
time. The lists depend only on the locale's names (and the customer's country first) and
on which one is selected, so each (list, selected) pair is rendered once per process and
kept (a few hundred kilobytes for every locale in use). Names and values are escaped
here, as Jinja's autoescaping would: the text is Babel's and phonenumbers', never a
merchant's or a customer's."""
from __future__ import annotations

from functools import lru_cache

from flask import Flask
from markupsafe import Markup


@lru_cache(maxsize=1024)
def country_options(countries: tuple[tuple[str, str], ...], selected: str | None) -> Markup:
    """``<option>`` elements for (code, name) pairs, ``selected`` (a code) marked."""
    return Markup("\n").join(
        Markup('<option value="{0}"{1}>{2}</option>').format(code, Markup(" selected") if code == selected else "",
                                                             name)
        for code, name in countries)


@lru_cache(maxsize=1024)
def phone_options(choices: tuple, selected: str | None) -> Markup:
    """``<option>`` elements of the phone's country select (``forms.PhoneCountry``: code,
    label), ``selected`` (a code) marked. Each country's example number is not in the
    page: address.js asks for it (``/phone-example/<country>``) when the country changes."""
    return Markup("\n").join(
        Markup('<option value="{0}"{1}>{2}</option>').format(
            c.code, Markup(" selected") if c.code == selected else "", c.label)
        for c in choices)


def init_app(app: Flask) -> None:
    app.add_template_global(country_options)
    app.add_template_global(phone_options)
