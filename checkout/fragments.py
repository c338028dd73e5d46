"""Parts of pages rendered once and kept: the long ``<option>`` lists of the card form,
and whole forms (:class:`Kept`).

A payment page with a billing and a shipping address and a phone number draws three
lists of about 250 countries: through Jinja that was over a third of a page's render
time. The lists depend only on the locale's names (and the customer's country first) and
on which one is selected, so each (list, selected) pair is rendered once per process and
kept (a few hundred kilobytes for every locale in use). Names and values are escaped
here, as Jinja's autoescaping would: the text is Babel's and phonenumbers', never a
merchant's or a customer's."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import lru_cache

from flask import Flask
from markupsafe import Markup, escape


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


class Kept:
    """Rendered HTML kept by a key (the last ``size`` keys used), with the strings that
    change with every request put back in each time: a form's CSRF token, a URL that
    carries the link's token. The key must hold everything else the HTML is drawn from
    (the locale, the values shown, the notice, ...): what is kept for one key is what a
    render for that key would give, but for those strings.

    ``render`` draws it when the key is not kept (with the request's own strings, which
    are then swapped for markers). A marker is a NUL: a character no page of ours has
    (the text rules refuse it in everything a merchant or customer sends)."""

    def __init__(self, size: int):
        self.size = size
        self._kept: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, key: Hashable, render: Callable[[], str], **per_request: str) -> Markup:
        with self._lock:
            html = self._kept.get(key)
            if html is not None:
                self._kept.move_to_end(key)
        if html is None:
            html = str(render())
            for name, value in per_request.items():
                html = html.replace(str(escape(value)), _marker(name))
            with self._lock:
                self._kept[key] = html
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        for name, value in per_request.items():
            html = html.replace(_marker(name), str(escape(value)))
        return Markup(html)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


def _marker(name: str) -> str:
    return f"\x00{name}\x00"


def frozen(value) -> Hashable:
    """A form's data (dicts and lists of strings, numbers, booleans, None) as a key."""
    if isinstance(value, dict):
        return tuple(sorted((k, frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    return value


def init_app(app: Flask) -> None:
    app.add_template_global(country_options)
    app.add_template_global(phone_options)
