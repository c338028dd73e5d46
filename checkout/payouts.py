"""Payouts (the OMNO payout API): a merchant creates a payout for a customer, the
customer says where to receive the money on one of our hosted forms (``iframeUrls.card``
or ``iframeUrls.apm``), and the gateway pays it out (OdeonPay "Payout to card" or "APM
Payout").

Statuses are the OMNO payout's: ``CREATED`` (waiting for the customer's destination),
``WAITING_FOR_CONFIRMATION`` (the merchant must confirm it first), ``PENDING`` (sent to
the gateway, no final answer yet), ``PROCESSED``, ``REJECTED`` (the gateway declined it,
or the merchant rejected it) and ``FAILED`` (the gateway refused the request: nothing
was paid out).

The records live in their own SQLite table next to the checkouts. A card or account
number is never kept: ``destination`` is masked (first six and last four of a card, the
last four of an account), and the customer's destination goes to the gateway in the
request that receives it. That is why a payout that needs the merchant's confirmation
waits for it *before* the forms accept a destination (``WAITING_FOR_CONFIRMATION`` ->
confirm -> ``CREATED``): after the customer's submission there is nothing left to send
later."""
from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from flask import Flask, current_app

from . import tokens
from .gateway.base import CREATED as GW_CREATED
from .gateway.base import DECLINED as GW_DECLINED
from .gateway.base import PAYOUT_COMPLETED, Outcome
from .i18n import PAYABLE_CURRENCIES, normalize_locale
from .merchants import Merchant
from .sqlite import Database

CREATED = "CREATED"
WAITING_FOR_CONFIRMATION = "WAITING_FOR_CONFIRMATION"
PENDING = "PENDING"
PROCESSED = "PROCESSED"
REJECTED = "REJECTED"
FAILED = "FAILED"
STATUSES = (CREATED, WAITING_FOR_CONFIRMATION, PENDING, PROCESSED, REJECTED, FAILED)
FINAL = (PROCESSED, REJECTED, FAILED)

PAYOUT_SALT = "checkout.payout"
#: Merchant setting (merchants file): payouts wait for ``confirm`` before the customer's forms open.
CONFIRMATION_SETTING = "requirePayoutConfirmation"

SCHEMA = """
CREATE TABLE IF NOT EXISTS payouts (
    id TEXT PRIMARY KEY,
    merchant TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    invoice_id TEXT,
    description TEXT NOT NULL DEFAULT '',
    customer TEXT NOT NULL,
    kyc_verified INTEGER NOT NULL DEFAULT 0,
    locale TEXT,
    success_url TEXT,
    failure_url TEXT,
    request_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    method TEXT,
    payment_type_id INTEGER,
    destination TEXT,
    brand TEXT,
    transaction_id TEXT,
    gateway_status TEXT,
    status_code INTEGER,
    reason_code INTEGER,
    reason TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS payouts_invoice ON payouts (merchant, invoice_id)
    WHERE invoice_id IS NOT NULL;
"""

_UPDATABLE = ("method", "payment_type_id", "destination", "brand", "transaction_id", "gateway_status",
              "status_code", "reason_code", "reason")


@dataclass(frozen=True)
class Payout:
    id: str
    merchant: str
    amount: str
    currency: str
    invoice_id: str | None
    description: str
    customer: dict
    kyc_verified: bool
    locale: str | None
    success_url: str | None
    failure_url: str | None
    status: str
    method: str | None
    payment_type_id: int | None
    destination: str | None
    brand: str | None
    transaction_id: str | None
    gateway_status: str | None
    status_code: int | None
    reason_code: int | None
    reason: str | None
    created_at: float
    updated_at: float
    request_hash: str = field(default="", repr=False)

    @property
    def invoice(self) -> str:
        """What the gateway knows this payout by: the merchant's order id, or ours."""
        return self.invoice_id or self.id

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def country(self) -> str | None:
        billing = self.customer.get("billing") or {}
        return billing.get("countryCode") or None

    @property
    def full_name(self) -> str:
        c = self.customer
        return " ".join(p for p in (c.get("firstName"), c.get("lastName")) if p)

    def as_json(self) -> dict:
        """The merchant API's view of the payout (``GET /payouts/<id>``)."""
        return {
            "payoutId": self.id, "status": self.status, "amount": float(Decimal(self.amount)),
            "currency": self.currency, "orderId": self.invoice_id, "description": self.description or None,
            "kycVerified": self.kyc_verified, "customer": self.customer,
            "method": self.method, "paymentTypeId": self.payment_type_id, "destination": self.destination,
            "brand": self.brand, "transactionId": self.transaction_id, "gatewayStatus": self.gateway_status,
            "statusCode": self.status_code, "reasonCode": self.reason_code, "reason": self.reason,
            "createdAt": iso(self.created_at), "updatedAt": iso(self.updated_at),
        }


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _row(row) -> Payout | None:
    if row is None:
        return None
    values = dict(row)
    values["customer"] = json.loads(values["customer"])
    values["kyc_verified"] = bool(values["kyc_verified"])
    return Payout(**values)


class PayoutStore:
    """The payouts table. Every status change is a compare-and-set on the current status,
    so two submissions (or a submission and the merchant's reject) never both win."""

    def __init__(self, path: str):
        self.db = Database(path, SCHEMA)

    def create(self, *, merchant: str, amount: str, currency: str, invoice_id: str | None, description: str,
               customer: dict, kyc_verified: bool, locale: str | None, success_url: str | None,
               failure_url: str | None, request_hash: str, status: str) -> tuple[Payout, bool]:
        """(the payout, created). An ``invoice_id`` this merchant already used gives back
        that payout, not a new one (``created`` False)."""
        now = time.time()
        pid = "po_" + uuid.uuid4().hex
        with self.db.tx() as db:
            if invoice_id is not None:
                known = db.execute("SELECT * FROM payouts WHERE merchant = ? AND invoice_id = ?",
                                   (merchant, invoice_id)).fetchone()
                if known is not None:
                    return _row(known), False
            db.execute(
                "INSERT INTO payouts (id, merchant, amount, currency, invoice_id, description, customer,"
                " kyc_verified, locale, success_url, failure_url, request_hash, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (pid, merchant, amount, currency, invoice_id, description,
                 json.dumps(customer, separators=(",", ":"), ensure_ascii=False), int(kyc_verified), locale,
                 success_url, failure_url, request_hash, status, now, now))
        return self.get(pid), True

    def get(self, pid: str) -> Payout | None:
        with self.db.tx() as db:
            return _row(db.execute("SELECT * FROM payouts WHERE id = ?", (pid,)).fetchone())

    def transition(self, pid: str, from_statuses: tuple[str, ...], to: str, **fields) -> bool:
        """Move to ``to`` only from one of ``from_statuses``; True when this call did it."""
        unknown = set(fields) - set(_UPDATABLE)
        if unknown:
            raise ValueError(f"not payout columns: {sorted(unknown)}")
        sets = ", ".join(["status = ?", "updated_at = ?", *(f"{k} = ?" for k in fields)])
        marks = ", ".join("?" * len(from_statuses))
        with self.db.tx() as db:
            cur = db.execute(f"UPDATE payouts SET {sets} WHERE id = ? AND status IN ({marks})",
                             [to, time.time(), *fields.values(), pid, *from_statuses])
            return cur.rowcount == 1

    def note(self, pid: str, status: str, **fields) -> bool:
        """Record what the gateway said while the status stays ``status``."""
        return self.transition(pid, (status,), status, **fields)


def store(app: Flask | None = None) -> PayoutStore:
    return (app or current_app).extensions["checkout.payouts"]


def init_app(app: Flask) -> None:
    app.extensions["checkout.payouts"] = PayoutStore(app.config["DATABASE"])


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
class PayoutRequestError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors

    @property
    def message(self) -> str:
        key, reason = next(iter(self.errors.items()))
        more = len(self.errors) - 1
        return f"{key}: {reason}" + (f" (and {more} more)" if more else "")


_CURRENCIES = PAYABLE_CURRENCIES
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
_PHONE = re.compile(r"\+?[0-9 ()-]{6,24}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_CUSTOMER_TEXT = {"externalUserId": 128, "firstName": 100, "lastName": 100, "email": 254, "phoneNumber": 32,
                  "dateOfBirth": 10, "documentId": 64}
_BILLING_TEXT = {"address": 200, "city": 100, "state": 100, "countryCode": 2, "postalCode": 16}
#: What a payout needs of the customer (the seed marks every field required; we ask for
#: what the forms and the gateway use and check the rest when it is sent).
CUSTOMER_REQUIRED = ("externalUserId", "firstName", "lastName")


def _text(value, key: str, limit: int, errors: dict) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors[key] = "must be a string"
    elif len(value.strip()) > limit:
        errors[key] = f"must be at most {limit} characters"
    elif any(ord(ch) < 32 for ch in value):
        errors[key] = "must not contain control characters"
    else:
        return value.strip() or None
    return None


def _amount(body: dict, currency: str | None, errors: dict) -> str | None:
    key = "amount" if "amount" in body else "value"  # OdeonPay's name, or the OMNO seed's
    value = body.get(key)
    if value is None:
        errors["amount"] = "is required"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        errors[key] = "must be a number"
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        errors[key] = "must be a number"
        return None
    if not amount.is_finite() or amount <= 0:
        errors[key] = "must be greater than 0"
    elif amount >= Decimal("1e12"):
        errors[key] = "is too large"
    elif currency:
        step = Decimal(1).scaleb(-get_currency_precision(currency))
        if amount != amount.quantize(step):
            errors[key] = f"{currency} allows at most {get_currency_precision(currency)} decimals"
        else:
            return format(amount.quantize(step), "f")
    return None


def _customer(body: dict, errors: dict, required: tuple[str, ...] = CUSTOMER_REQUIRED) -> dict:
    customer = body.get("customer")
    if not isinstance(customer, dict):
        errors["customer"] = "is required: an object with externalUserId, firstName, lastName, ..."
        return {}
    out: dict = {}
    for key, limit in _CUSTOMER_TEXT.items():
        value = _text(customer.get(key), f"customer.{key}", limit, errors)
        if value:
            out[key] = value
        elif key in required and f"customer.{key}" not in errors:
            errors[f"customer.{key}"] = "is required"
    if out.get("email") and not _EMAIL.fullmatch(out["email"]):
        errors["customer.email"] = "must be an email address"
    if out.get("phoneNumber") and not _PHONE.fullmatch(out["phoneNumber"]):
        errors["customer.phoneNumber"] = "must be a phone number"
    if out.get("dateOfBirth"):
        try:
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
                value = _text(billing.get(key), f"customer.billing.{key}", limit, errors)
                if value:
                    values[key] = value.upper() if key == "countryCode" else value
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
    from .links import http_url_error  # the checkout's URL rules (redirect hosts)

    if not isinstance(body, dict):
        raise PayoutRequestError({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    currency = body.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or currency.upper() not in _CURRENCIES:
        errors["currency"] = "must be an ISO 4217 currency code, e.g. EUR"
        currency = None
    else:
        currency = currency.upper()
    amount = _amount(body, currency, errors)
    ids = {}
    for key in ("orderId", "externalId", "invoiceId"):
        value = _text(body.get(key), key, 64, errors)
        if value:
            ids[key] = value
    if len(set(ids.values())) > 1:
        errors[next(iter(ids))] = "orderId, externalId and invoiceId name the same id: send one"
    out = {"amount": amount, "currency": currency, "invoice_id": next(iter(ids.values()), None),
           "description": _text(body.get("description"), "description", 255, errors) or "",
           "customer": _customer(body, errors, customer_required), "kyc_verified": _kyc(body, errors),
           "locale": normalize_locale(body["locale"]) if isinstance(body.get("locale"), str) and body["locale"]
           else None}
    for key, column in (("successUrl", "success_url"), ("failureUrl", "failure_url")):
        value = body.get(key)
        out[column] = None
        if value not in (None, ""):
            problem = http_url_error(value, merchant)
            if problem:
                errors[key] = problem
            else:
                out[column] = value
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
