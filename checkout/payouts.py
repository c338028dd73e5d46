"""Payouts (the OMNO payout API): a merchant creates a payout for a customer, the
customer says where to receive the money on one of our hosted forms (``iframeUrls.card``
or ``iframeUrls.apm``), and the gateway pays it out (OdeonPay "Payout to card" or "APM
Payout").

Statuses are the OMNO payout's: ``CREATED`` (waiting for the customer's destination),
``WAITING_FOR_CONFIRMATION`` (the merchant must confirm it first), ``PENDING`` (sent to
the gateway, no final answer yet), ``PROCESSED``, ``REJECTED`` (the gateway declined it,
or the merchant rejected it) and ``FAILED`` (the gateway refused the request: nothing
was paid out).

The records live in the store's payouts table (``checkout.store``). A card or account
number is never kept: ``destination`` is masked (first six and last four of a card, the
last four of an account), and the customer's destination goes to the gateway in the
request that receives it. That is why a payout that needs the merchant's confirmation
waits for it *before* the forms accept a destination (``WAITING_FOR_CONFIRMATION`` ->
confirm -> ``CREATED``): after the customer's submission there is nothing left to send
later."""
from __future__ import annotations

import re
import time
from datetime import date

from flask import Flask, current_app

from . import tokens, validation
from .gateway.base import CREATED as GW_CREATED
from .gateway.base import DECLINED as GW_DECLINED
from .gateway.base import PAYOUT_COMPLETED, Outcome
from .i18n import normalize_locale
from .merchants import Merchant
from .store import PAYOUT_FINAL, PAYOUT_STATUSES, Payout, PayoutStore
from .store import iso as iso
from .validation import RequestError

# The statuses are the store's (its Payout record says which are final), named here.
CREATED, WAITING_FOR_CONFIRMATION, PENDING, PROCESSED, REJECTED, FAILED = STATUSES = PAYOUT_STATUSES
FINAL = PAYOUT_FINAL

PAYOUT_SALT = "checkout.payout"
#: Merchant setting (merchants file): payouts wait for ``confirm`` before the customer's forms open.
CONFIRMATION_SETTING = "requirePayoutConfirmation"


def store(app: Flask | None = None) -> PayoutStore:
    return (app or current_app).extensions["checkout.payouts"]


# -- tokens ----------------------------------------------------------------------------
def sign_token(payout: Payout, expires: int, app: Flask | None = None) -> str:
    """The customer's token for this payout's pages, valid until ``expires`` (Unix
    seconds). Its own salt: a checkout token is no payout token, nor the other way round."""
    return tokens.sign({"pid": payout.id, "m": payout.merchant, "exp": int(expires)}, PAYOUT_SALT, app)


def load_token(token: str, app: Flask | None = None, *, allow_expired: bool = False) -> dict:
    """The token's payload; raises ``tokens.TokenExpired`` / ``tokens.TokenError``."""
    app = app or current_app
    payload = tokens.load(token, PAYOUT_SALT, app.config["TOKEN_LIMIT_AGE"], app)
    if not isinstance(payload, dict) or not isinstance(payload.get("pid"), str) or "exp" not in payload:
        raise tokens.TokenError("the link is not valid")
    if not allow_expired and time.time() > payload["exp"]:
        raise tokens.TokenExpired("the link has expired")
    return payload


# -- the create request ----------------------------------------------------------------
#: The payout API's old name of the one request error of :mod:`checkout.validation`.
PayoutRequestError = RequestError


_COUNTRY = re.compile(r"[A-Z]{2}", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_CUSTOMER_TEXT = {"externalUserId": 128, "firstName": 100, "lastName": 100, "email": 254, "phoneNumber": 32,
                  "dateOfBirth": 10, "documentId": 64}
_BILLING_TEXT = {"address": 200, "city": 100, "state": 100, "countryCode": 2, "postalCode": 16}
#: What a payout needs of the customer (the seed marks every field required; we ask for
#: what the forms and the gateway use and check the rest when it is sent).
CUSTOMER_REQUIRED = ("externalUserId", "firstName", "lastName")


def _customer(body: dict, errors: dict, required: tuple[str, ...] = CUSTOMER_REQUIRED) -> dict:
    customer = body.get("customer")
    if not isinstance(customer, dict):
        errors["customer"] = "is required: an object with externalUserId, firstName, lastName, ..."
        return {}
    out: dict = {}
    for key, limit in _CUSTOMER_TEXT.items():
        value = validation.text(customer.get(key), f"customer.{key}", errors, limit,
                                required=key in required, numbers=True)
        if value:
            out[key] = value
    if out.get("email") and not validation.email_valid(out["email"]):
        errors["customer.email"] = "must be an email address"
    if out.get("phoneNumber") and not validation.phone_valid(out["phoneNumber"]):
        errors["customer.phoneNumber"] = "must be a phone number"
    if out.get("dateOfBirth"):
        try:
            if not _DATE.fullmatch(out["dateOfBirth"]):  # fromisoformat also takes 19900101, 1990-W01-1
                raise ValueError
            born = date.fromisoformat(out["dateOfBirth"])
            if not date(1900, 1, 1) <= born <= date.today():
                raise ValueError
        except ValueError:
            errors["customer.dateOfBirth"] = "must be a date YYYY-MM-DD in the past"
    billing = customer.get("billing")
    if billing is not None:
        if not isinstance(billing, dict):
            errors["customer.billing"] = "must be an object"
        else:
            values = {}
            for key, limit in _BILLING_TEXT.items():
                value = validation.text(billing.get(key), f"customer.billing.{key}", errors, limit, numbers=True)
                if value:
                    # ASCII before upper-casing: "ß".upper() is "SS" (South Sudan).
                    values[key] = value.upper() if key == "countryCode" and value.isascii() else value
            if values.get("countryCode") and not _COUNTRY.fullmatch(values["countryCode"]):
                errors["customer.billing.countryCode"] = "must be an ISO 3166-1 alpha-2 code, e.g. DE"
            if values:
                out["billing"] = values
    return out


def _kyc(body: dict, errors: dict) -> bool:
    """``kycVerified``: top level (the seed) or in ``customer``; absent means not verified."""
    customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
    for key, source in (("kycVerified", body), ("customer.kycVerified", customer)):
        value = source.get("kycVerified")
        if value is not None:
            if not isinstance(value, bool):
                errors[key] = "must be true or false"
                return False
            return value
    return False


def validate_request(body, merchant: Merchant, limit_age: int, default_age: int,
                     customer_required: tuple[str, ...] = CUSTOMER_REQUIRED) -> dict:
    """The create-payout request (the OMNO seed's body, with OdeonPay's names accepted
    too) as the fields of a payout record plus ``ttl``; raises PayoutRequestError.
    ``customer_required``: the customer fields that must be there (a cashier's withdrawal
    may know no names: its forms ask for them)."""
    if not isinstance(body, dict):
        raise PayoutRequestError({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    currency = validation.currency(body.get("currency"), errors, example="EUR")
    # OdeonPay's name, or the OMNO seed's ``value``; absent, "amount is required".
    key = "value" if "amount" not in body and body.get("value") is not None else "amount"
    amount = validation.amount(body.get(key), currency, errors, key)
    ids = {}
    for key in ("orderId", "externalId", "invoiceId"):
        value = validation.text(body.get(key), key, errors, 64, numbers=True)
        if value:
            ids[key] = value
    if len(set(ids.values())) > 1:
        errors[next(iter(ids))] = "orderId, externalId and invoiceId name the same id: send one"
    out = {"amount": amount, "currency": currency, "invoice_id": next(iter(ids.values()), None),
           "description": validation.text(body.get("description"), "description", errors, 255, numbers=True) or "",
           "customer": _customer(body, errors, customer_required), "kyc_verified": _kyc(body, errors),
           "locale": normalize_locale(body["locale"]) if isinstance(body.get("locale"), str) and body["locale"]
           else None}
    for key, column in (("successUrl", "success_url"), ("failureUrl", "failure_url")):
        value = body.get(key)
        out[column] = None
        if value not in (None, ""):
            out[column] = validation.http_url(value, merchant, key, errors)
    ttl = body.get("expiresIn", default_age)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 60 <= ttl <= limit_age:
        errors["expiresIn"] = f"must be whole seconds from 60 to {limit_age}"
    out["ttl"] = ttl
    if errors:
        raise PayoutRequestError(errors)
    return out


#: A checkout's ``data`` keys (the seed's Link and payout ``data`` names) and the payout
#: customer record's field each fills, for a withdrawal from the cashier.
DATA_CUSTOMER = {"firstName": "firstName", "lastName": "lastName", "email": "email", "phone": "phoneNumber",
                 "birthDate": "dateOfBirth", "dateOfBirth": "dateOfBirth", "documentId": "documentId"}
DATA_BILLING = {"address": "address", "city": "city", "state": "state", "countryCode": "countryCode",
                "postcode": "postalCode", "postalCode": "postalCode"}


def customer_from_data(data: dict, external_id: str) -> dict:
    """The payout's customer record from a checkout's ``data``: what the merchant told us
    of the customer (names, email, phone, birth date, document, billing address)."""
    customer = {"externalUserId": external_id,
                **{to: str(data[key]) for key, to in DATA_CUSTOMER.items() if data.get(key)}}
    billing = {to: str(data[key]) for key, to in DATA_BILLING.items() if data.get(key)}
    if billing:
        customer["billing"] = billing
    return customer


CASHIER_REQUIRED = ("externalUserId",)


def customer_data_errors(data: dict, external_id: str, external_key: str = "accountId") -> dict[str, str]:
    """What a payout would refuse in :func:`customer_from_data`, by ``data`` key (and
    ``external_key`` for the external user id): checked when a cashier link is made."""
    errors: dict[str, str] = {}
    _customer({"customer": customer_from_data(data, external_id)}, errors, CASHIER_REQUIRED)
    names = {"customer.externalUserId": external_key,
             **{f"customer.{to}": f"data.{key}" for key, to in DATA_CUSTOMER.items() if data.get(key)},
             **{f"customer.billing.{to}": f"data.{key}" for key, to in DATA_BILLING.items() if data.get(key)}}
    return {names.get(key, key): reason for key, reason in errors.items()}


def needs_confirmation(merchant: Merchant) -> bool:
    return bool(merchant.extra.get(CONFIRMATION_SETTING))


# -- the gateway's answer --------------------------------------------------------------
def status_for(outcome: Outcome) -> str:
    """The OMNO status for a gateway answer: 7 PayoutCompleted -> PROCESSED, 10 Created ->
    PENDING, 99 Declined -> REJECTED; a request refused before any transaction was made
    (no transaction id) -> FAILED; anything else not final -> PENDING."""
    if outcome.status_code == PAYOUT_COMPLETED:
        return PROCESSED
    if outcome.status_code == GW_DECLINED or outcome.kind == "declined":
        return REJECTED if outcome.transaction_id else FAILED
    if outcome.status_code == GW_CREATED:
        return PENDING
    return PROCESSED if outcome.kind == "completed" else PENDING


def outcome_fields(outcome: Outcome) -> dict:
    fields = {"gateway_status": outcome.status, "status_code": outcome.status_code,
              "reason_code": outcome.reason_code, "reason": outcome.reason or outcome.message}
    if outcome.transaction_id:
        fields["transaction_id"] = outcome.transaction_id
    return fields


def is_payout(outcome: Outcome) -> bool:
    """A transaction the gateway made for a payout (not a payment on the same invoice)."""
    operation = outcome.raw.get("operationTypeCode") if outcome.raw else None
    if operation is not None:
        return operation in (3, 4)  # the seed's 3 CardPayout; 4 ApmPayout (the sandbox's)
    return outcome.status_code == PAYOUT_COMPLETED


def mask_account(value: str) -> str:
    """An account, wallet or IBAN for display: its last four characters (an IBAN keeps
    its country code too). Never the whole value."""
    compact = re.sub(r"[\s\-]", "", value or "")
    if len(compact) < 8:  # too short to show four characters of it
        return "*" * max(len(compact) - 2, 0) + compact[-2:] if len(compact) > 4 else "*" * len(compact)
    head = compact[:2] if re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", compact) else ""
    return head + "*" * (len(compact) - 4 - len(head)) + compact[-4:]
