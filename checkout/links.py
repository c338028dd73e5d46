"""Checkout requests: validation of the seed's Checkout body and the signed link made
from it. Shared by the merchant API and the ``flask link create`` command."""
from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from typing import NamedTuple

from flask import current_app, url_for

from . import methods, payouts, themes, tokens, validation
from .i18n import PAYABLE_CURRENCIES, supported_locale
from .merchants import Merchant
from .urls import public_base
from .validation import RequestError  # links.RequestError: the name the views catch

URL_FIELDS = ("successUrl", "failureUrl", "pendingUrl", "cancelUrl")
REQUIRED_URLS = ("successUrl", "failureUrl")
_DATA_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")


def _cashier(body: dict, currency: str | None, errors: dict) -> dict | None:
    """The cashier's options: ``presets`` (amounts to pick from), ``min`` and ``max`` (the
    custom amount's limits) and ``payouts`` (offer a withdraw tab)."""
    options = body.get("cashier", {})
    if not isinstance(options, dict):
        errors["cashier"] = "must be an object"
        return None
    local: dict[str, str] = {}
    presets = options.get("presets", [])
    if not isinstance(presets, list) or len(presets) > 8:
        local["cashier.presets"] = "must be a list of at most 8 amounts"
        presets = []
    amounts = [validation.amount(v, currency, local) for v in presets]
    smallest = min((a for a in amounts if a), key=Decimal, default="1")  # no min: the smallest preset
    low = validation.amount(options.get("min", smallest), currency, local)
    high = validation.amount(options.get("max", "10000"), currency, local)
    for key in [k for k in local if k == "amount"]:
        local["cashier"] = "presets, min and max must be amounts in the currency: " + local.pop(key)
    if not local and currency and Decimal(low) > Decimal(high):
        local["cashier.min"] = "must not be greater than max"
    if not local and any(not Decimal(low) <= Decimal(a) <= Decimal(high) for a in amounts):
        local["cashier.presets"] = "must be between min and max"
    if not isinstance(options.get("payouts", False), bool):
        local["cashier.payouts"] = "must be true or false"
    errors.update(local)
    if local or not currency:
        return None
    return {"presets": amounts, "min": low, "max": high, "payouts": options.get("payouts", False)}


def validate_checkout(body, merchant: Merchant, limit_age: int) -> dict:
    """The checkout payload for a token; raises RequestError with every field's problem."""
    if not isinstance(body, dict):
        raise RequestError({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    currency = validation.currency(body.get("currency"), errors)
    mode = body.get("mode", "payment")
    if mode not in ("payment", "cashier"):
        errors["mode"] = "must be \"payment\" or \"cashier\""
    cashier = _cashier(body, currency, errors) if mode == "cashier" else None
    if cashier is not None and body.get("amount") is None:
        amount = cashier["presets"][0] if cashier["presets"] else cashier["min"]
    else:
        amount = validation.amount(body.get("amount"), currency, errors)
    payload: dict = {"m": merchant.public_id, "currency": currency, "amount": amount}
    if cashier is not None:
        payload.update(mode="cashier", cashier=cashier)
    payload["description"] = validation.text(body.get("description"), "description", errors, 255) or ""
    for key, limit in (("invoiceId", 64), ("accountId", 255)):
        value = validation.text(body.get(key), key, errors, limit, numbers=True)
        if value:
            payload[key] = value
    for key in (*URL_FIELDS, "notificationUrl"):  # notificationUrl: this checkout's, not the merchant's
        value = body.get(key)
        if value in (None, ""):
            if key in REQUIRED_URLS:
                errors[key] = "is required"
            continue
        url = validation.http_url(value, merchant, key, errors)
        if url and key == "notificationUrl" and current_app.config["MODE"] == "production":
            if problem := validation.public_endpoint_error(url):
                errors[key], url = problem, None
        if url:
            payload[key] = url
    # en_US or ru_RU (or a tag of those languages: "ru", "en-GB"); absent or another
    # ("de_DE"): the customer's browser decides (Accept-Language), else en_US.
    if locale := supported_locale(body.get("locale")):
        payload["locale"] = locale
    if body.get("ip") not in (None, ""):
        try:
            payload["ip"] = str(ipaddress.ip_address(str(body["ip"])))
        except ValueError:
            errors["ip"] = "must be an IPv4 or IPv6 address"
    data = body.get("data")
    if data is not None:
        if not isinstance(data, dict) or len(data) > 40:
            errors["data"] = "must be an object of at most 40 fields"
        else:
            for key, value in data.items():
                if not _DATA_KEY.fullmatch(str(key)):
                    errors[f"data.{key}"] = "is not a valid field name"
                else:  # the one text rule, as every free text of the request
                    validation.text_value(value, f"data.{key}", errors, 255)
            if not any(k.startswith("data") for k in errors):
                payload["data"] = {k: str(v) for k, v in data.items()}
    theme = body.get("theme")
    try:
        page = themes.validate_page(body.get("page"))
        if theme is not None:
            if not isinstance(theme, str):
                raise themes.ThemeError("theme", "must be a theme name")
            themes.resolve(theme, None)
            payload["theme"] = theme
    except themes.ThemeError as exc:
        for key, reason in exc.errors.items():
            errors[key if key in ("page", "theme") else f"page.{key}"] = reason
    else:
        if page:
            payload["page"] = page
    ttl = body.get("expiresIn")
    if ttl is not None:
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 60 <= ttl <= limit_age:
            errors["expiresIn"] = f"must be whole seconds from 60 to {limit_age}"
        else:
            payload["ttl"] = ttl
    if cashier is not None and cashier["payouts"] and "data" not in errors and "accountId" not in errors:
        # The withdraw tab makes a payout for this customer from ``data``: refuse now what
        # the payout would refuse then (a customer cannot fix the merchant's data).
        data = payload.get("data") or {}
        errors.update(payouts.customer_data_errors(data, payload.get("accountId") or data.get("personId") or "-",
                                                   "accountId" if payload.get("accountId") else "data.personId"))
    if errors:
        raise RequestError(errors)
    return payload


def link_for(token: str) -> str:
    return public_base() + url_for("pay.page", token=token)


class Link(NamedTuple):
    """A link made for a merchant: its URL and the checkout's payload (with ``cid`` and ``exp``)."""

    url: str
    payload: dict


def checkout_link(body, merchant: Merchant) -> Link:
    """Validate ``body`` and make the checkout link (raises RequestError)."""
    payload = tokens.stamp_checkout(validate_checkout(body, merchant, current_app.config["TOKEN_LIMIT_AGE"]))
    return Link(link_for(tokens.sign_stamped(payload)), payload)


def create_link(body, merchant: Merchant) -> str:
    """Validate ``body`` and return the checkout link (raises RequestError)."""
    return checkout_link(body, merchant).url


# -- APM links (POST /payments/link) ----------------------------------------------------
APM_MODE = "apm"


def validate_apm_link(body, merchant: Merchant, limit_age: int) -> dict:
    """The seed's Link request: a checkout for the alternative payment method
    ``data.paymentTypeId``. The payload is a checkout's with ``mode: "apm"`` and
    ``paymentTypeId`` (an int; taken out of ``data``)."""
    if not isinstance(body, dict):
        raise RequestError({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    data = body.get("data")
    type_id = data.get("paymentTypeId") if isinstance(data, dict) else None
    if type_id is None:
        errors["data.paymentTypeId"] = "is required"
    elif isinstance(type_id, bool) or not isinstance(type_id, int) or not 0 < type_id < 2**31:
        errors["data.paymentTypeId"] = "must be a positive integer"
    else:
        errors.update(_method_errors(methods.method(type_id), type_id, body.get("currency")))
    rest = {k: v for k, v in body.items() if k != "mode"}
    if isinstance(data, dict):
        rest["data"] = {k: v for k, v in data.items() if k != "paymentTypeId"} or None
    if body.get("mode", APM_MODE) != APM_MODE:
        errors["mode"] = f"must be \"{APM_MODE}\""
    try:
        payload = validate_checkout({k: v for k, v in rest.items() if v is not None}, merchant, limit_age)
    except RequestError as exc:
        raise RequestError({**exc.errors, **errors}) from None
    if errors:
        raise RequestError(errors)
    return {**payload, "mode": APM_MODE, "paymentTypeId": type_id}


def _method_errors(m: methods.Method | None, type_id: int, currency) -> dict[str, str]:
    """Why the catalogue's method ``type_id`` cannot take this Link (none: it can). A
    crypto method takes the price in an ISO 4217 currency and the gateway quotes it in the
    asset (the OMS seed's quote): the seed's BTC example priced in ``"currency": "BTC"``
    is refused with that said, as amounts, results and pages here are ISO 4217 money."""
    if m is None:
        return {"data.paymentTypeId": f"{type_id} is not a payment method of the APM catalogue"}
    if not m.payin:
        return {"data.paymentTypeId": f"{m.name} ({type_id}) is a payout method: it takes no payments"}
    code = currency.upper() if isinstance(currency, str) else None
    if methods.is_crypto(m) and code in {x.asset for x in methods.catalogue() if x.asset}:
        return {"currency": f"must be an ISO 4217 currency code, e.g. USD: {m.name} ({type_id}) takes the "
                            f"price in such a currency and the gateway quotes it in {m.asset}"}
    if m.currencies and code in PAYABLE_CURRENCIES and code not in m.currencies:
        return {"currency": f"{m.name} ({type_id}) takes {', '.join(m.currencies)}, not {code}"}
    return {}


def direct_link_for(token: str) -> str:
    """The direct link (``/d/<token>``): straight to the payment method, no page of ours
    unless the method needs fields the request's ``data`` lacks (or is crypto)."""
    return public_base() + url_for("direct.page", token=token)


def apm_link(body, merchant: Merchant) -> Link:
    """Validate a Link request and make its direct link (raises RequestError)."""
    payload = tokens.stamp_checkout(validate_apm_link(body, merchant, current_app.config["TOKEN_LIMIT_AGE"]))
    return Link(direct_link_for(tokens.sign_stamped(payload)), payload)


def create_apm_link(body, merchant: Merchant) -> str:
    """Validate a Link request and return its direct link (raises RequestError)."""
    return apm_link(body, merchant).url
