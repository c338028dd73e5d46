"""The embedded test gateway: the OdeonPay HTTP API, its test cards, an ACS page, a
Redirect 3-D Secure page, APM pages, payouts and saved cards. A real implementation with
its own ledger, not a mock.

In sandbox mode the app mounts this blueprint under ``/sandbox`` and its client reaches
it in-process; it also runs as its own server on another origin, as a real gateway is:
``flask --app checkout.gateway.sandbox run --port 5001``.

Test cards (the seed's Testing section): 4242424242424242 no 3-DS; 4111111111111111
Advanced 3-DS; 4200000000000000 Redirect 3-DS; CVV 333 declines, any other approves;
passphrase ``4`` passes 3-D Secure. Trouble cards (ours, for the "gateway trouble"
paths): 4000000000000408 is charged but answers too late (a timeout),
4000000000000507 is charged but answers 502, 4000000000000606 is charged but answers
with a body that is not JSON, 4000000000000705 answers 503 and charges nothing.

Alternative payment methods (``payments/link``, the method in ``data.paymentTypeId``,
any row of :mod:`checkout.methods` that takes payments): the currency must be one the
method takes and the method's fields must be valid (the same checks as the checkout's
forms). The answer is ``Created`` with ``link.action`` = this sandbox's APM page
``/apm/<reference>`` (``/sandbox/apm/...`` in-process), where the customer approves,
declines or leaves the payment pending; the page then sends them to the request's
``successUrl``, ``failureUrl`` or ``pendingUrl`` (the Link request's names). A payment
left pending becomes ``Completed`` when its status is asked ``SANDBOX_PENDING_SECONDS``
(default 5) after. APM Test Payment (type 1) settles at once, without the page, for the
testing credentials the seed gives its test APMs: ``personId`` ``success@bank``
(``Completed``, ``link.action`` = successUrl) and ``failure@bank`` (``Declined``,
``link.action`` = failureUrl); any other personId goes to the page. Crypto methods (BTC
10100 and the USDT rows) also answer a deposit ``address`` (Bitcoin testnet ``tb1...``,
or a fresh 0x address for USDT: never send real funds), the exact ``cryptoAmount`` of
the ``asset`` on its ``network`` at the sandbox's fixed rates (``RATES_USD``), and
``expiresAt`` (ISO 8601 UTC, ``SANDBOX_QUOTE_SECONDS`` = 900 after: the OMS seed's
quote window); the payment settles when its status is asked ``SANDBOX_PENDING_SECONDS``
after, or from the APM page, and is ``Declined`` ("Quote expired") if neither happened
before ``expiresAt``.

Payouts: ``payments/payout`` (to the card behind a token), ``payments/payout/card`` and
``payments/apm/payout``. Cards, per the seed's "Cards for Card Payout Operation tests":
4242424242424242 ``PayoutCompleted``; 4111111111111111 ``Declined``; 4200000000000000
``Created``, which (here, where no acquiring bank answers) becomes ``PayoutCompleted``
``SANDBOX_PENDING_SECONDS`` later; any other valid card number ``PayoutCompleted``.
APM Test Payout (type 2) by the seed's testing credentials: ``success@bank``
``PayoutCompleted``, ``failure@bank`` ``Declined``, at once; every other payout method
(and other personIds on type 2) is ``Created`` and becomes ``PayoutCompleted``
``SANDBOX_PENDING_SECONDS`` later, as the seed says an APM payout is asynchronous.

Saved cards: an approved card payment that carried ``accountId`` returns a token
(``sbx-<transaction id>``), stored with the card's masked PAN, brand and expiry. The
seed's recurring-payments document describes them on another API (``GET
transaction/customer/{customerId}/cards``, ``cardToken`` on ``transaction/create``);
here they follow OdeonPay's style instead — JSON POSTs with Basic auth and
Content-HMAC: ``payments/customer/cards`` (``{"accountId"}`` -> ``{"success", "cards":
[{token, maskedPan, brand, expiryMonth, expiryYear}]}``, one entry per card, its latest
token) and ``payments/charge/token`` (``cardToken``, amount, currency, invoiceId,
accountId, description, optional ``cvv``; answered like a card payment, no 3-D Secure:
the customer already authenticated the card). A token charge is approved, except that a
``cvv`` when sent must have the card's length (3 digits, 4 for Amex) and ``333``
declines (Insufficient Funds), as for cards. ``accountId``, when sent, must be the
token's; ``payments/payout`` always requires it (the seed marks it required).

Refunds: ``payments/refund`` (``transactionId``, optional ``amount``: by default what is
left) refunds a ``Completed`` card payment (card or token charge) fully or in parts;
``payments/apm/refund`` a ``Completed`` APM payment. A refund is a transaction of its
own (operation 2 Refund) that names its payment (``paymentTransactionId``), with the
payment's currency, invoiceId, accountId and card. What is left is the payment's amount
less its ``RefundCompleted`` refunds (declined and waiting ones do not count); asking
for more, or refunding anything but a completed payment of this merchant, is refused
(``success`` false and a message, no transaction). Card refunds follow the seed's "Cards
for Refund Operation tests" by the payment's card: 4242424242424242 ``RefundCompleted``;
4111111111111111 ``Declined``; 4200000000000000 ``Created``, which (no acquiring bank
answers here) becomes ``RefundCompleted`` ``SANDBOX_PENDING_SECONDS`` later; any other
card ``RefundCompleted``. APM refunds are asynchronous, as the seed says: ``Created``,
then ``RefundCompleted`` ``SANDBOX_PENDING_SECONDS`` later. A waiting refund that would
by then exceed what is left (other refunds completed meanwhile) is ``Declined`` instead.

``payments/list`` (``date`` ``YYYY-MM-DD``, ``timezone`` one of the seed's Timezones
dictionary, ``TIMEZONES``; UTC when not given): the merchant's transactions created on
that day there, in the seed's List fields (``created`` and ``completed`` in ms; a
transaction is "completed" when it reached a final status: Completed, RefundCompleted,
PayoutCompleted or Declined). ``payments/balance`` (GET, or POST): the seed's Balance,
one balance "The balance" per currency the merchant has transactions in: ``total`` =
completed payments - completed refunds - completed payouts; ``pending`` = payments
still Created or AwaitingAuthentication; ``hold`` 0; ``fee`` = the sandbox's fixed fee,
``FEE_RATE`` (2.9 %) of each completed payment plus ``FEE_FIXED`` (0.30), each rounded
to the currency's minor unit (fees are not given back by refunds); ``pendingFee`` the
same on pending payments; ``available`` = total - hold - fee.

Notifications (the seed's Notifications, sent to "the Back Office address"): every time
a transaction reaches a final status (payment Completed or Declined, refund
RefundCompleted or Declined, payout PayoutCompleted or Declined) the ledger records, in
the same database transaction, a notice (table ``notices``) with the seed's fields for
its kind, as the exact JSON bytes to send. The address is the merchant's
``gatewayNotificationUrl`` in the merchants file; when the sandbox is mounted in the
checkout app and the merchant names none, the checkout's own
``/gateway/notifications/<publicId>``, delivered in-process (no network); no address,
no notice. :func:`deliver_notices` sends the due ones (POST, ``Content-HMAC`` of the
body with the merchant's gateway secret); one is delivered when answered 2xx with JSON
``{"code": 0}``, else tried again ("repeated 5 times": at most ``NOTIFY_ATTEMPTS`` = 6
attempts) after the delays of ``SANDBOX_NOTIFY_SCHEDULE`` (default ``5s,30s,2m,10m,1h``;
units ms, s, m, h; the last delay repeats if it names fewer), then ``failed``. It first
settles the transactions whose time has come (what asking their status would do), so
that a refund or payout left ``Created`` is notified without anyone asking. The sandbox
as its own server runs it every second in a daemon thread (not when ``TESTING``); in
the checkout app, the checkout's worker calls it.

Status codes are the seed's dictionary; operation types its 1 Payment, 2 Refund and 3
CardPayout, plus 4 ApmPayout (ours: the seed's dictionary has no APM payout). Reason
codes other than 0, 5051 and 5206 are the sandbox's own: 5001 declined by the payer at
the APM page, 5002 payout declined, 5003 quote expired, 5004 3-D Secure not completed in
time (the customer left the bank's page: ``SANDBOX_3DS_SECONDS`` after the charge, 600
by default, it is ``Declined``, as issuers expire an authentication nobody finished),
5005 refund declined (the 4111 card), 5006 a waiting refund that would exceed what is
left."""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
import weakref
import zoneinfo
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

import httpx
from babel.numbers import get_currency_precision, list_currencies
from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import assets, i18n, security, textrules, weburl
from .. import config as config_module
from .. import methods as apm
from ..cards import card_brand, cvv_length, luhn_valid, mask_pan
from ..merchants import load_registry
from ..paths import STATIC, TEMPLATES
from ..signatures import content_hmac, hmac_matches
from ..sqlite import Database
from ..urls import DEFAULT_BASE
from .base import AWAITING_AUTHENTICATION, COMPLETED, CREATED, DECLINED, PAYOUT_COMPLETED, REFUND_COMPLETED
from .client import ThreadedWSGITransport

bp = Blueprint("sandbox", __name__)
log = logging.getLogger(__name__)

ADVANCED_3DS = "4111111111111111"
REDIRECT_3DS = "4200000000000000"
DECLINE_CVV = "333"
PASSPHRASE = "4"
SLOW_CARD, BAD_GATEWAY_CARD, NOT_JSON_CARD, UNAVAILABLE_CARD = (
    "4000000000000408", "4000000000000507", "4000000000000606", "4000000000000705")
INSUFFICIENT_FUNDS = (5051, "Insufficient Funds")
AUTH_FAILED = (5206, "3-D Secure authentication failed")
APPROVED = (0, "Approved")
DECLINED_BY_PAYER = (5001, "Declined by the payer")
PAYOUT_DECLINED = (5002, "Payout declined")
QUOTE_EXPIRED = (5003, "Quote expired")
AUTH_TIMED_OUT = (5004, "3-D Secure not completed in time")
REFUND_DECLINED = (5005, "Refund declined")
REFUND_EXCEEDS = (5006, "Refund exceeds the amount left")
TEST_SUCCESS, TEST_FAILURE = "success@bank", "failure@bank"
PAYMENT, REFUND, CARD_PAYOUT, APM_PAYOUT = 1, 2, 3, 4
OPERATIONS = {PAYMENT: "Payment", REFUND: "Refund", CARD_PAYOUT: "CardPayout", APM_PAYOUT: "ApmPayout"}
#: Statuses a transaction never leaves: reaching one makes a notice.
FINAL_CODES = (COMPLETED, REFUND_COMPLETED, PAYOUT_COMPLETED, DECLINED)
#: Payout test cards (masked, as stored) -> the payout's status.
PAYOUT_CARDS = {"424242******4242": PAYOUT_COMPLETED, "411111******1111": DECLINED,
                "420000******0000": CREATED}
#: Refund test cards (the payment's card, masked) -> the refund's status.
REFUND_CARDS = {"424242******4242": REFUND_COMPLETED, "411111******1111": DECLINED,
                "420000******0000": CREATED}
#: The seed's Timezones dictionary: the names ``payments/list`` takes.
TIMEZONES = ("Pacific/Samoa", "US/Hawaii", "US/Alaska", "America/Los_Angeles", "US/Arizona",
             "America/Mexico_City", "US/East-Indiana", "Atlantic/Bermuda", "America/Santiago",
             "America/Noronha", "Atlantic/Azores", "Europe/London", "Europe/Paris", "Europe/Riga",
             "Europe/Moscow", "Asia/Tbilisi", "Asia/Yekaterinburg", "Asia/Omsk", "Asia/Tomsk", "Singapore",
             "Asia/Chita", "Asia/Vladivostok", "Australia/Sydney")
#: The sandbox's fee on a payment (``payments/balance``): this share plus a fixed amount.
FEE_RATE, FEE_FIXED = Decimal("0.029"), Decimal("0.30")
#: The seed's card types as the List and the notifications name them.
CARD_TYPES = {"visa": "Visa", "mastercard": "Mastercard", "amex": "Amex", "maestro": "Maestro", "mir": "Mir",
              "discover": "Discover", "jcb": "JCB", "unionpay": "UnionPay", "diners": "Diners"}
#: "repeated 5 times": the first attempt and five more.
NOTIFY_ATTEMPTS = 6
NOTIFY_TIMEOUT = 10.0
#: How long a notice being sent stays claimed (longer than a send can take).
NOTIFY_LEASE = 60.0
DEFAULT_NOTIFY_SCHEDULE = "5s,30s,2m,10m,1h"
#: The sandbox's fixed rates for crypto quotes: USD per unit (fictitious, stable).
RATES_USD = {"BTC": Decimal("65000"), "USDT": Decimal("1"), "USD": Decimal("1"), "EUR": Decimal("1.08"),
             "GBP": Decimal("1.27"), "CHF": Decimal("1.12"), "CAD": Decimal("0.73"), "AUD": Decimal("0.66"),
             "JPY": Decimal("0.0067"), "RUB": Decimal("0.011"), "BRL": Decimal("0.18"),
             "INR": Decimal("0.012"), "VND": Decimal("0.00004"), "THB": Decimal("0.028"),
             "IDR": Decimal("0.000062"), "KRW": Decimal("0.00073"), "PKR": Decimal("0.0036"),
             "PLN": Decimal("0.25"), "TRY": Decimal("0.031"), "KZT": Decimal("0.0021"),
             "UAH": Decimal("0.024"), "GEL": Decimal("0.37")}
ASSET_DECIMALS = {"BTC": 8, "USDT": 6}

SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    invoice_id TEXT,
    account_id TEXT,
    name TEXT,
    description TEXT,
    masked_pan TEXT,
    approve INTEGER NOT NULL,
    scheme TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    reason_code INTEGER,
    reason TEXT,
    pa_req TEXT,
    pa_res TEXT,
    link_reference TEXT,
    success_url TEXT,
    failure_url TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_invoice ON transactions (merchant, invoice_id);
CREATE INDEX IF NOT EXISTS transactions_link ON transactions (link_reference);
CREATE TABLE IF NOT EXISTS card_tokens (
    token TEXT PRIMARY KEY,
    merchant TEXT NOT NULL,
    account_id TEXT NOT NULL,
    transaction_id INTEGER NOT NULL,
    masked_pan TEXT NOT NULL,
    brand TEXT,
    expiry_month INTEGER,
    expiry_year INTEGER,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS card_tokens_account ON card_tokens (merchant, account_id);
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant TEXT NOT NULL,
    transaction_id INTEGER NOT NULL,
    url TEXT NOT NULL,
    local INTEGER NOT NULL DEFAULT 0,  -- 1: the checkout app's own address, delivered in-process
    body TEXT NOT NULL,  -- the exact JSON sent (ASCII)
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | failed
    last_status INTEGER,  -- the HTTP status of the last attempt (NULL: no answer)
    last_error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS notices_due ON notices (state, next_at);
CREATE INDEX IF NOT EXISTS notices_transaction ON notices (transaction_id);
"""
#: Columns added to ``transactions`` after its first release: a ledger made before
#: gains them on start (``ALTER TABLE ... ADD COLUMN``).
COLUMNS = {
    "operation": "INTEGER NOT NULL DEFAULT 1",  # PAYMENT, REFUND, CARD_PAYOUT, APM_PAYOUT
    "payment_type_id": "INTEGER",  # APM type id (pay-ins and APM payouts)
    "person_id": "TEXT",
    "pending_url": "TEXT",
    "cancel_url": "TEXT",
    "settle_to": "INTEGER",  # the status a Created transaction takes at due_at
    "due_at": "REAL",
    "card_token": "TEXT",  # the saved card a token charge or payout used
    "address": "TEXT",  # crypto: deposit address, exact amount, asset, network, quote expiry
    "crypto_amount": "TEXT",
    "asset": "TEXT",
    "network": "TEXT",
    "expires_at": "REAL",
    "payment_transaction_id": "INTEGER",  # a refund's payment
    "expiry_month": "INTEGER",  # a card payment's card expiry (notifications' cardExpDate)
    "expiry_year": "INTEGER",
    "completed_at": "REAL",  # when it reached a final status (the List's ``completed``)
}
STATUS = {AWAITING_AUTHENTICATION: "AwaitingAuthentication", COMPLETED: "Completed",
          REFUND_COMPLETED: "RefundCompleted", PAYOUT_COMPLETED: "PayoutCompleted", CREATED: "Created",
          DECLINED: "Declined"}
#: The same statuses as the sandbox's pages say them to a person, in the page's language
#: (no page shows a refund).
STATUS_TEXT = {AWAITING_AUTHENTICATION: _l("awaiting authentication"), COMPLETED: _l("completed"),
               PAYOUT_COMPLETED: _l("payout completed"), CREATED: _l("created"), DECLINED: _l("declined")}


class Ledger:
    """The sandbox's own record of transactions (SQLite), and of the notices it owes.

    ``address(merchant)`` -> ``(url, local)`` or None: where a merchant's notices go
    (``local``: the checkout app's own address, delivered in-process). Without it, the
    ledger records no notices."""

    def __init__(self, path: str, address: Callable[[str], tuple[str, bool] | None] | None = None):
        self.path = path
        self.tx = Database(path, SCHEMA).tx
        self._address = address
        self._migrate()

    def _migrate(self) -> None:
        with self.tx() as db:
            have = {r["name"] for r in db.execute("PRAGMA table_info(transactions)")}
            for name, kind in COLUMNS.items():
                if name not in have:
                    db.execute(f"ALTER TABLE transactions ADD COLUMN {name} {kind}")

    def insert(self, **row) -> int:
        with self.tx() as db:
            return self._insert(db, row)

    def _insert(self, db: sqlite3.Connection, row: dict) -> int:
        row["created_at"] = time.time()
        final = row.get("status_code") in FINAL_CODES
        if final:
            row.setdefault("completed_at", row["created_at"])
        cur = db.execute(f"INSERT INTO transactions ({', '.join(row)}) VALUES "
                         f"({', '.join('?' * len(row))})", list(row.values()))
        if final:
            self._notice(db, cur.lastrowid)
        return cur.lastrowid

    def get(self, merchant: str, **where) -> sqlite3.Row | None:
        clause = " AND ".join(f"{k} = ?" for k in where)
        with self.tx() as db:
            return db.execute(f"SELECT * FROM transactions WHERE merchant = ? AND {clause}",
                              [merchant, *where.values()]).fetchone()

    def find(self, **where) -> sqlite3.Row | None:
        clause = " AND ".join(f"{k} = ?" for k in where)
        with self.tx() as db:
            return db.execute(f"SELECT * FROM transactions WHERE {clause}", list(where.values())).fetchone()

    def for_invoice(self, merchant: str, invoice_id: str) -> list[sqlite3.Row]:
        with self.tx() as db:
            return db.execute("SELECT * FROM transactions WHERE merchant = ? AND invoice_id = ?"
                              " ORDER BY id", (merchant, invoice_id)).fetchall()

    def count(self, merchant: str | None = None, invoice_id: str | None = None) -> int:
        with self.tx() as db:
            if merchant is None:
                return db.execute("SELECT COUNT(*) FROM transactions").fetchone()[0]
            return db.execute("SELECT COUNT(*) FROM transactions WHERE merchant = ? AND invoice_id = ?",
                              (merchant, invoice_id)).fetchone()[0]

    def settle(self, tid: int, from_code: int, to_code: int, reason: tuple[int, str],
               **fields) -> bool:
        with self.tx() as db:
            return self._settle(db, tid, from_code, to_code, reason, **fields)

    def _settle(self, db: sqlite3.Connection, tid: int, from_code: int, to_code: int,
                reason: tuple[int, str], **fields) -> bool:
        final = to_code in FINAL_CODES
        if final:
            fields.setdefault("completed_at", time.time())
        sets = ", ".join(["status_code = ?", "reason_code = ?", "reason = ?"] + [f"{k} = ?" for k in fields])
        cur = db.execute(f"UPDATE transactions SET {sets} WHERE id = ? AND status_code = ?",
                         [to_code, reason[0], reason[1], *fields.values(), tid, from_code])
        if cur.rowcount != 1:
            return False
        if final:
            self._notice(db, tid)
        return True

    def update(self, tid: int, **fields) -> None:
        with self.tx() as db:
            db.execute(f"UPDATE transactions SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                       [*fields.values(), tid])

    def advance(self, row: sqlite3.Row, now: float | None = None) -> sqlite3.Row:
        """Status over time: a ``Created`` transaction takes ``settle_to`` once ``due_at``
        has passed, or is declined when its quote expired first (a refund: declined if
        what is left no longer covers it); one awaiting 3-D Secure is declined once
        nobody finished it within ``SANDBOX_3DS_SECONDS``."""
        now = time.time() if now is None else now
        if row["status_code"] == AWAITING_AUTHENTICATION:
            if now < row["created_at"] + _setting("SANDBOX_3DS_SECONDS", 600):
                return row
            self.settle(row["id"], AWAITING_AUTHENTICATION, DECLINED, AUTH_TIMED_OUT)
            return self.find(id=row["id"])
        if row["status_code"] != CREATED:
            return row
        if row["due_at"] is not None and now >= row["due_at"]:
            to = row["settle_to"] or COMPLETED
            if row["operation"] == REFUND and to == REFUND_COMPLETED:
                self._settle_refund(row["id"])
            else:
                self.settle(row["id"], CREATED, to, APPROVED if to != DECLINED else DECLINED_BY_PAYER)
        elif row["expires_at"] is not None and now >= row["expires_at"]:
            self.settle(row["id"], CREATED, DECLINED, QUOTE_EXPIRED)
        else:
            return row
        return self.find(id=row["id"])

    def advance_due(self, now: float | None = None) -> int:
        """Advance every waiting transaction whose time has come (what asking each one's
        status would do); how many changed."""
        now = time.time() if now is None else now
        with self.tx() as db:
            rows = db.execute(
                "SELECT * FROM transactions WHERE (status_code = ? AND created_at + ? <= ?) OR (status_code = ?"
                " AND ((due_at IS NOT NULL AND due_at <= ?) OR (expires_at IS NOT NULL AND expires_at <= ?)))"
                " ORDER BY id", (AWAITING_AUTHENTICATION, _setting("SANDBOX_3DS_SECONDS", 600), now, CREATED,
                                 now, now)).fetchall()
        return sum(self.advance(r, now)["status_code"] != r["status_code"] for r in rows)

    # -- refunds --------------------------------------------------------------------
    @staticmethod
    def _refunded(db: sqlite3.Connection, payment_id: int) -> Decimal:
        rows = db.execute("SELECT amount FROM transactions WHERE payment_transaction_id = ? AND operation = ?"
                          " AND status_code = ?", (payment_id, REFUND, REFUND_COMPLETED)).fetchall()
        return sum((Decimal(r["amount"]) for r in rows), Decimal(0))

    def left(self, payment_id: int) -> Decimal:
        """What is left to refund of a payment: its amount less its completed refunds."""
        with self.tx() as db:
            payment = db.execute("SELECT amount FROM transactions WHERE id = ?", (payment_id,)).fetchone()
            return Decimal(payment["amount"]) - self._refunded(db, payment_id)

    def refund(self, payment: sqlite3.Row, amount: Decimal | None, code: int, reason: tuple[int, str],
               scheme: str) -> int | str:
        """Record a refund of ``payment`` (all that is left when ``amount`` is None) with
        the status ``code``; the refund's id, or why it is refused. The check of what is
        left and the insert are one database transaction: two refunds at once cannot
        both take the last of it."""
        with self.tx() as db:
            left = Decimal(payment["amount"]) - self._refunded(db, payment["id"])
            if left <= 0:
                return "The payment is already refunded in full"
            amount = left if amount is None else amount
            if amount > left:
                return f"The refund amount exceeds what is left to refund ({format(left.normalize(), 'f')})"
            row = dict(merchant=payment["merchant"], amount=str(amount), currency=payment["currency"],
                       invoice_id=payment["invoice_id"], account_id=payment["account_id"], name=payment["name"],
                       description=payment["description"], masked_pan=payment["masked_pan"],
                       approve=int(code != DECLINED), scheme=scheme, operation=REFUND,
                       payment_transaction_id=payment["id"], payment_type_id=payment["payment_type_id"],
                       status_code=code, reason_code=reason[0], reason=reason[1])
            if code == CREATED:  # processed later: status over time
                row.update(due_at=time.time() + _setting("SANDBOX_PENDING_SECONDS", 5), settle_to=REFUND_COMPLETED)
            return self._insert(db, row)

    def _settle_refund(self, tid: int) -> None:
        """A waiting refund completes, unless what is left no longer covers it."""
        with self.tx() as db:
            row = db.execute("SELECT * FROM transactions WHERE id = ?", (tid,)).fetchone()
            payment = db.execute("SELECT amount FROM transactions WHERE id = ?",
                                 (row["payment_transaction_id"],)).fetchone()
            left = Decimal(payment["amount"]) - self._refunded(db, row["payment_transaction_id"])
            if Decimal(row["amount"]) <= left:
                self._settle(db, tid, CREATED, REFUND_COMPLETED, APPROVED)
            else:
                self._settle(db, tid, CREATED, DECLINED, REFUND_EXCEEDS)

    # -- the List and the Balance ---------------------------------------------------
    def created_between(self, merchant: str, start: float, end: float) -> list[sqlite3.Row]:
        with self.tx() as db:
            return db.execute("SELECT * FROM transactions WHERE merchant = ? AND created_at >= ? AND created_at < ?"
                              " ORDER BY id", (merchant, start, end)).fetchall()

    def waiting(self, merchant: str) -> list[sqlite3.Row]:
        with self.tx() as db:
            return db.execute("SELECT * FROM transactions WHERE merchant = ? AND status_code IN (?, ?) ORDER BY id",
                              (merchant, AWAITING_AUTHENTICATION, CREATED)).fetchall()

    def of_merchant(self, merchant: str) -> list[sqlite3.Row]:
        with self.tx() as db:
            return db.execute("SELECT * FROM transactions WHERE merchant = ? ORDER BY id", (merchant,)).fetchall()

    # -- notices ----------------------------------------------------------------------
    def _notice(self, db: sqlite3.Connection, tid: int) -> None:
        """Record the notification a transaction that just became final owes its merchant."""
        if self._address is None:
            return
        row = db.execute("SELECT * FROM transactions WHERE id = ?", (tid,)).fetchone()
        target = self._address(row["merchant"])
        if not target:
            return
        url, local = target
        body = json.dumps(notice_body(row), separators=(",", ":"))
        now = time.time()
        db.execute("INSERT INTO notices (merchant, transaction_id, url, local, body, attempts, next_at, state,"
                   " created_at) VALUES (?, ?, ?, ?, ?, 0, ?, 'pending', ?)",
                   (row["merchant"], tid, url, int(local), body, now, now))

    def notices(self, transaction_id: int | None = None) -> list[sqlite3.Row]:
        with self.tx() as db:
            if transaction_id is None:
                return db.execute("SELECT * FROM notices ORDER BY id").fetchall()
            return db.execute("SELECT * FROM notices WHERE transaction_id = ? ORDER BY id",
                              (transaction_id,)).fetchall()

    def due_notices(self, now: float) -> list[sqlite3.Row]:
        with self.tx() as db:
            return db.execute("SELECT * FROM notices WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, id",
                              (now,)).fetchall()

    def claim_notice(self, notice: sqlite3.Row, now: float) -> bool:
        """Take a due notice for one attempt (compare-and-set on its attempts): no other
        thread or process sends it until the attempt is recorded or the lease ends."""
        with self.tx() as db:
            cur = db.execute("UPDATE notices SET next_at = ? WHERE id = ? AND state = 'pending' AND attempts = ?"
                             " AND next_at <= ?", (now + NOTIFY_LEASE, notice["id"], notice["attempts"], now))
            return cur.rowcount == 1

    def record_attempt(self, notice_id: int, state: str, next_at: float, status: int | None,
                       error: str | None) -> None:
        with self.tx() as db:
            db.execute("UPDATE notices SET attempts = attempts + 1, state = ?, next_at = ?, last_status = ?,"
                       " last_error = ? WHERE id = ?", (state, next_at, status, error, notice_id))

    # -- saved cards ----------------------------------------------------------------
    def save_card(self, token: str, **row) -> None:
        row["created_at"] = time.time()
        with self.tx() as db:
            db.execute(f"INSERT OR REPLACE INTO card_tokens (token, {', '.join(row)}) VALUES "
                       f"(?, {', '.join('?' * len(row))})", [token, *row.values()])

    _CARDS = ("SELECT c.*, t.name AS holder FROM card_tokens c JOIN transactions t ON t.id = c.transaction_id"
              f" WHERE t.status_code = {COMPLETED} AND c.merchant = ?")

    def card(self, merchant: str, token: str) -> sqlite3.Row | None:
        """A usable saved card: its payment was approved."""
        with self.tx() as db:
            return db.execute(self._CARDS + " AND c.token = ?", (merchant, token)).fetchone()

    def cards(self, merchant: str, account_id: str) -> list[sqlite3.Row]:
        """A customer's saved cards, one per card (its latest token), newest first."""
        with self.tx() as db:
            rows = db.execute(self._CARDS + " AND c.account_id = ? ORDER BY c.created_at DESC, c.token DESC",
                              (merchant, account_id)).fetchall()
        seen, out = set(), []
        for r in rows:
            key = (r["masked_pan"], r["expiry_month"], r["expiry_year"])
            if key not in seen:
                seen.add(key)
                out.append(r)
        return out


def ledger() -> Ledger:
    return current_app.extensions["sandbox.ledger"]


def _model(row: sqlite3.Row) -> dict:
    amount = Decimal(row["amount"])
    card_payment = row["operation"] == PAYMENT and row["masked_pan"] and row["account_id"]
    model = {
        "transactionId": row["id"], "amount": float(amount), "currency": row["currency"],
        "invoiceId": row["invoice_id"], "accountId": row["account_id"],
        "description": row["description"], "name": row["name"],
        "token": (row["card_token"] or f"sbx-{row['id']:06d}")
        if card_payment and row["status_code"] == COMPLETED else None,
        "statusCode": row["status_code"], "status": STATUS[row["status_code"]],
        "reasonCode": row["reason_code"], "reason": row["reason"],
        "operationTypeCode": row["operation"], "operationType": OPERATIONS[row["operation"]],
    }
    if row["operation"] == REFUND:
        model["paymentTransactionId"] = row["payment_transaction_id"]
    if row["payment_type_id"] is not None:
        model["paymentTypeId"] = row["payment_type_id"]
    if row["address"]:
        model.update(address=row["address"], cryptoAmount=row["crypto_amount"], asset=row["asset"],
                     network=row["network"], expiresAt=_iso(row["expires_at"]))
    return model


def _card_fields(row: sqlite3.Row) -> dict:
    """cardFirstSix, cardLastFour and cardType of a transaction's card (None without one)."""
    pan = row["masked_pan"] or ""
    if not pan:
        return {"cardFirstSix": None, "cardLastFour": None, "cardType": None}
    brand = card_brand(pan[:6])
    return {"cardFirstSix": pan[:6], "cardLastFour": pan[-4:], "cardType": CARD_TYPES.get(brand or "", brand)}


def _exp_date(row: sqlite3.Row) -> str | None:
    month, year = row["expiry_month"], row["expiry_year"]
    if not month or not year:
        return None
    return f"{int(month):02d}/{int(year) + 2000 if int(year) < 100 else int(year)}"


def notice_body(row: sqlite3.Row) -> dict:
    """The seed's notification for a transaction in a final status: Payment, Refund or
    Payout Success / Failure, by its operation and status."""
    failed = row["status_code"] == DECLINED
    body = {"transactionId": row["id"], "amount": float(Decimal(row["amount"])), "currency": row["currency"],
            "dateTime": _iso(row["completed_at"] or row["created_at"]), "invoiceId": row["invoice_id"],
            "accountId": row["account_id"], "operationTypeCode": row["operation"],
            "operationType": OPERATIONS[row["operation"]], "status": STATUS[row["status_code"]],
            "statusCode": row["status_code"]}
    if row["operation"] == REFUND:
        body = {"paymentTransactionId": row["payment_transaction_id"], **body}
    elif row["operation"] == PAYMENT:
        body.update(_card_fields(row), cardExpDate=_exp_date(row), name=row["name"] or None)
        if row["payment_type_id"] is not None:
            body["paymentTypeId"] = row["payment_type_id"]
        token = _model(row)["token"]
        if token:
            body["token"] = token
    if failed:
        body.update(reason=row["reason"], reasonCode=row["reason_code"])
    return body


def _ms(ts: float | None) -> int | None:
    return None if ts is None else int(round(ts * 1000))


def _list_entry(row: sqlite3.Row) -> dict:
    """A transaction as the seed's List names its fields."""
    card = _card_fields(row)
    return {"id": row["id"], "statusId": row["status_code"], "status": STATUS[row["status_code"]],
            "currency": row["currency"], "amount": float(Decimal(row["amount"])),
            "description": row["description"], "invoiceId": row["invoice_id"], "accountId": row["account_id"],
            "created": _ms(row["created_at"]), "operationTypeId": row["operation"],
            "operationType": OPERATIONS[row["operation"]], "reasonId": row["reason_code"], "reason": row["reason"],
            "cardType": card["cardType"], "cardFirstSix": card["cardFirstSix"],
            "cardLastFour": card["cardLastFour"],
            "completed": _ms(row["completed_at"]) if row["status_code"] in FINAL_CODES else None,
            "paymentTransactionId": row["payment_transaction_id"]}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fail(message: str, status: int = 400):
    response = jsonify({"success": False, "message": message})
    response.status_code = status  # a bare Response: abort() keeps this status
    return response


def _merchant() -> str:
    """The authenticated merchant's publicId; aborts 401 otherwise. Verifies
    ``Content-HMAC`` when present (and requires it when the merchant says so)."""
    auth = request.authorization
    registry = current_app.extensions["checkout.merchants"]
    merchant = auth and registry.authenticate(auth.username or "", auth.password or "")
    if not merchant:
        response = jsonify({"success": False, "message": "Unauthorized"})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Basic realm="sandbox"'
        abort(response)
    given = request.headers.get("Content-HMAC")
    if (given or merchant.require_hmac) and not hmac_matches(request.get_data(), merchant.secret, given):
        abort(_fail("Invalid Content-HMAC", 400))
    return merchant.public_id


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(_fail("The body must be a JSON object"))
    return data


def _trouble(pan: str):
    """The trouble cards' misbehaviour after the charge is recorded."""
    if pan == SLOW_CARD:
        slow = current_app.config.get("SANDBOX_SLOW_SECONDS")
        time.sleep(float(slow) if slow else float(current_app.config.get("GATEWAY_TIMEOUT", 15)) + 2)
        return None
    if pan == BAD_GATEWAY_CARD:
        return "<html><body>502 Bad Gateway</body></html>", 502, {"Content-Type": "text/html"}
    if pan == NOT_JSON_CARD:
        return "<html><body>Service temporarily unavailable</body></html>", 200, {"Content-Type": "text/html"}
    return None


@bp.post("/test")
def test():
    _merchant()
    return jsonify({"success": True, "message": "Test message success"})


@bp.post("/payments/charge/card")
def charge_card():
    merchant = _merchant()
    body = _body()
    card = body.get("card") if isinstance(body.get("card"), dict) else {}
    pan = "".join(ch for ch in str(card.get("pan", "")) if ch in "0123456789")
    cvv = str(card.get("cvv", ""))
    try:
        amount = Decimal(str(body.get("amount")))
        if amount <= 0 or not amount.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        return _fail("Invalid Amount value")
    currency = str(body.get("currency") or "")
    if len(currency) != 3 or not currency.isalpha():
        return _fail("Invalid Currency value")
    if not 12 <= len(pan) <= 19 or not textrules.ascii_digits(cvv):
        return _fail("Invalid card data")
    if pan == UNAVAILABLE_CARD:
        return "Service Unavailable", 503
    scheme = {ADVANCED_3DS: "advanced", REDIRECT_3DS: "redirect"}.get(pan, "none")
    approve = cvv != DECLINE_CVV
    row = dict(merchant=merchant, amount=str(amount), currency=currency.upper(),
               invoice_id=body.get("invoiceId"), account_id=body.get("accountId"),
               name=str(body.get("name") or ""), description=str(body.get("description") or ""),
               masked_pan=f"{pan[:6]}{'*' * (len(pan) - 10)}{pan[-4:]}", approve=int(approve),
               scheme=scheme, expiry_month=_int_or_none(card.get("expiryMonth")),
               expiry_year=_int_or_none(card.get("expiryYear")))
    if scheme == "none":
        code, reason = (COMPLETED, (0, "Approved")) if approve else (DECLINED, INSUFFICIENT_FUNDS)
        tid = ledger().insert(**row, status_code=code, reason_code=reason[0], reason=reason[1])
        _save_card(merchant, tid, row, pan, card)
        trouble = _trouble(pan)
        if trouble:
            return trouble
        model = _model(ledger().find(id=tid))
        return jsonify({"success": approve, "message": None if approve else reason[1], "model": model})
    if scheme == "advanced":
        pa_req = secrets.token_urlsafe(48)
        tid = ledger().insert(**row, status_code=AWAITING_AUTHENTICATION, pa_req=pa_req)
        _save_card(merchant, tid, row, pan, card)
        return jsonify({"success": False, "message": "Requires 3DS authentication", "threeDsModel": {
            "transactionId": tid, "method": "post", "paReq": pa_req,
            "acsUrl": url_for("sandbox.acs", _external=True),
            "statusCode": AWAITING_AUTHENTICATION, "status": STATUS[AWAITING_AUTHENTICATION]}})
    reference = secrets.token_hex(16)
    tid = ledger().insert(**row, status_code=AWAITING_AUTHENTICATION, link_reference=reference,
                          success_url=body.get("successRedirectUrl"),
                          failure_url=body.get("failureRedirectUrl"))
    _save_card(merchant, tid, row, pan, card)
    return jsonify({"success": False, "message": "Requires 3DS authentication", "threeDsRedirectModel": {
        "url": url_for("sandbox.redirect_3ds", link_reference=reference, _external=True),
        "transactionId": tid, "statusCode": AWAITING_AUTHENTICATION,
        "status": STATUS[AWAITING_AUTHENTICATION]}})


def _save_card(merchant: str, tid: int, row: dict, pan: str, card: dict) -> None:
    """Keep the card behind the token a payment with ``accountId`` returns once approved
    (masked PAN, brand, expiry: never the number or the CVV)."""
    if not row["account_id"]:
        return
    ledger().save_card(f"sbx-{tid:06d}", merchant=merchant, account_id=str(row["account_id"]),
                       transaction_id=tid, masked_pan=row["masked_pan"], brand=card_brand(pan),
                       expiry_month=row["expiry_month"], expiry_year=row["expiry_year"])


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _finish_3ds(row: sqlite3.Row, passed: bool) -> None:
    """Settle an authenticated transaction: passphrase and CVV decide."""
    if not passed:
        ledger().settle(row["id"], AWAITING_AUTHENTICATION, DECLINED, AUTH_FAILED)
    elif row["approve"]:
        ledger().settle(row["id"], AWAITING_AUTHENTICATION, COMPLETED, (0, "Approved"))
    else:
        ledger().settle(row["id"], AWAITING_AUTHENTICATION, DECLINED, INSUFFICIENT_FUNDS)


@bp.post("/payments/post3ds")
def post3ds():
    merchant = _merchant()
    body = _body()
    row = ledger().get(merchant, id=body.get("transactionId"))
    if row is None:
        return _fail("Transaction not found")
    if row["scheme"] != "advanced":
        return _fail("The transaction does not await 3-D Secure")
    row = ledger().advance(row)  # an authentication finished too late does not count
    if row["status_code"] == AWAITING_AUTHENTICATION:
        pa_res = str(body.get("paRes") or "")
        if not row["pa_res"] or not secrets.compare_digest(pa_res, row["pa_res"]):
            ledger().settle(row["id"], AWAITING_AUTHENTICATION, DECLINED, AUTH_FAILED)
        else:
            _finish_3ds(row, passed=pa_res.startswith("Y."))
    model = _model(ledger().find(id=row["id"]))
    return jsonify({"success": model["statusCode"] == COMPLETED,
                    "message": None if model["statusCode"] == COMPLETED else model["reason"], "model": model})


@bp.post("/payments/status")
def status():
    merchant = _merchant()
    row = ledger().get(merchant, id=_body().get("transactionId"))
    if row is None:
        return _fail("Transaction not found")
    return jsonify({"success": True, "message": None, "model": _model(ledger().advance(row))})


@bp.post("/payments/status/invoice")
def status_invoice():
    merchant = _merchant()
    invoice = _body().get("invoiceId")
    if not invoice:
        return _fail("invoiceId is required")
    rows = ledger().for_invoice(merchant, str(invoice))
    return jsonify({"success": True, "message": None,
                    "transactions": [_model(ledger().advance(r)) for r in rows]})


# -- refunds, the List, the Balance ----------------------------------------------------
def _refund(apm_refund: bool):
    """payments/refund and payments/apm/refund (see the module docstring)."""
    merchant = _merchant()
    body = _body()
    tid = body.get("transactionId")
    if isinstance(tid, bool) or not (isinstance(tid, int) or textrules.ascii_digits(tid)):
        return _fail("transactionId is required")
    payment = ledger().get(merchant, id=int(tid))
    if payment is None:
        return _fail("Transaction not found")
    payment = ledger().advance(payment)
    if payment["operation"] != PAYMENT:
        return _fail("Only a payment can be refunded")
    if (payment["scheme"] == "apm") != apm_refund:
        return _fail("Not an APM payment: refund it with payments/refund" if apm_refund
                     else "An APM payment: refund it with payments/apm/refund")
    if payment["status_code"] != COMPLETED:
        return _fail("Only a completed payment can be refunded")
    amount = None
    if body.get("amount") is not None:
        try:
            amount = Decimal(str(body["amount"]))
            if amount <= 0 or not amount.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            return _fail("Invalid Amount value")
    if apm_refund:
        code, reason = CREATED, APPROVED
    else:
        code = REFUND_CARDS.get(payment["masked_pan"] or "", REFUND_COMPLETED)
        reason = REFUND_DECLINED if code == DECLINED else APPROVED
    refund = ledger().refund(payment, amount, code, reason, scheme="apm-refund" if apm_refund else "refund")
    if isinstance(refund, str):
        return _fail(refund)
    model = _model(ledger().find(id=refund))
    ok = code != DECLINED
    return jsonify({"model": model, "success": ok, "message": None if ok else reason[1]})


@bp.post("/payments/refund")
def refund():
    """The seed's Refund: a completed card payment, in full or in part."""
    return _refund(apm_refund=False)


@bp.post("/payments/apm/refund")
def apm_refund():
    """The seed's APM Refund: asynchronous, ``Created`` first."""
    return _refund(apm_refund=True)


@bp.post("/payments/list")
def list_transactions():
    """The seed's List: the merchant's transactions created on ``date`` in ``timezone``."""
    merchant = _merchant()
    body = _body()
    raw = body.get("date")
    try:
        if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        return _fail("Invalid date: the format is YYYY-MM-DD")
    name = body.get("timezone")
    if name in (None, ""):
        tz = UTC
    elif name in TIMEZONES:
        tz = zoneinfo.ZoneInfo(name)
    else:
        return _fail("Invalid timezone")
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=tz)
    rows = [ledger().advance(r) for r in ledger().created_between(merchant, start.timestamp(), end.timestamp())]
    return jsonify({"success": True, "message": None, "transactions": [_list_entry(r) for r in rows]})


def _exponent(currency: str) -> Decimal:
    places = ASSET_DECIMALS.get(currency)
    if places is None:
        places = get_currency_precision(currency) if currency in list_currencies() else 2
    return Decimal(1).scaleb(-places)


def _fee(amount: Decimal, exponent: Decimal) -> Decimal:
    return (amount * FEE_RATE + FEE_FIXED).quantize(exponent, rounding=ROUND_HALF_UP)


@bp.route("/payments/balance", methods=["GET", "POST"])
def balance():
    """The seed's Balance, from the ledger (see the module docstring)."""
    merchant = _merchant()
    for row in ledger().waiting(merchant):
        ledger().advance(row)
    sums: dict[str, dict[str, Decimal]] = {}
    for row in ledger().of_merchant(merchant):
        exponent = _exponent(row["currency"])
        s = sums.setdefault(row["currency"], dict.fromkeys(("total", "pending", "fee", "pendingFee"), Decimal(0)))
        amount = Decimal(row["amount"])
        operation, code = row["operation"], row["status_code"]
        if operation == PAYMENT and code == COMPLETED:
            s["total"] += amount
            s["fee"] += _fee(amount, exponent)
        elif operation == PAYMENT and code in (CREATED, AWAITING_AUTHENTICATION):
            s["pending"] += amount
            s["pendingFee"] += _fee(amount, exponent)
        elif (operation == REFUND and code == REFUND_COMPLETED) or (
                operation in (CARD_PAYOUT, APM_PAYOUT) and code == PAYOUT_COMPLETED):
            s["total"] -= amount
    currencies = []
    for currency in sorted(sums):
        s, exponent = sums[currency], _exponent(currency)
        hold = Decimal(0)
        values = {**s, "hold": hold, "available": s["total"] - hold - s["fee"]}
        currencies.append({"currency": currency, **{k: float(values[k].quantize(exponent, rounding=ROUND_HALF_UP))
                                                     for k in ("total", "pending", "hold", "fee", "pendingFee",
                                                               "available")}})
    return jsonify({"success": True, "message": None,
                    "balances": [{"name": "The balance", "currencies": currencies}]})


# -- alternative payment methods, payouts, saved cards ------------------------------------
_CURRENCY = re.compile(r"^[A-Z]{3,5}$")


def _setting(name: str, default: float) -> float:
    value = current_app.config.get(name)
    return float(default if value in (None, "") else value)


def _money(body: dict) -> tuple[Decimal, str]:
    """The request's amount and currency; aborts with the gateway's message if invalid."""
    try:
        amount = Decimal(str(body.get("amount")))
        if amount <= 0 or not amount.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        abort(_fail("Invalid Amount value"))
    currency = str(body.get("currency") or "").upper()
    if not _CURRENCY.match(currency):
        abort(_fail("Invalid Currency value"))
    return amount, currency


def _method(data: dict, payout: bool) -> apm.Method:
    """The APM of ``data.paymentTypeId``, checked for the direction and its fields."""
    m = apm.method(data.get("paymentTypeId"))
    if m is None:
        abort(_fail("Invalid paymentTypeId"))
    if not (m.payout if payout else m.payin):
        abort(_fail(f"The method {m.type_id} does not support {'payouts' if payout else 'payments'}"))
    return m


def _check_fields(m: apm.Method, currency: str, values: dict, payout: bool) -> None:
    if m.currencies and currency not in m.currencies:
        abort(_fail(f"Currency {currency} is not available for the method {m.type_id}"))
    errors = apm.validate_fields(m, values, payout=payout)
    if errors:
        response = jsonify({"success": False, "message": "Invalid data: " + ", ".join(errors),
                            "errors": {k: str(v) for k, v in errors.items()}})
        response.status_code = 400
        abort(response)


def _data(body: dict) -> dict:
    data = body.get("data")
    return data if isinstance(data, dict) else {}


def _text(value) -> str | None:
    return None if value is None else str(value)


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if (top >> i) & 1 else 0
    return chk


def _testnet_address() -> str:
    """A fresh Bitcoin testnet P2WPKH address (BIP 173 bech32, checksum included)."""
    program, acc, bits, data = secrets.token_bytes(20), 0, 0, [0]  # witness version 0
    for byte in program:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    hrp = "tb"
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _bech32_polymod(expanded + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + checksum)


def _quote(m: apm.Method, amount: Decimal, currency: str) -> dict:
    """Deposit address, exact amount and quote expiry for a crypto pay-in."""
    asset = m.asset
    if currency == asset:
        crypto = amount
    elif currency in RATES_USD:
        crypto = amount * RATES_USD[currency] / RATES_USD[asset]
    else:
        abort(_fail(f"No quote for {currency} in {asset}"))
    crypto = crypto.quantize(Decimal(1).scaleb(-ASSET_DECIMALS[asset]), rounding=ROUND_UP)
    address = _testnet_address() if asset == "BTC" else "0x" + secrets.token_hex(20)
    now = time.time()
    return dict(address=address, crypto_amount=format(crypto, "f"), asset=asset, network=m.network,
                expires_at=now + _setting("SANDBOX_QUOTE_SECONDS", 900),
                due_at=now + _setting("SANDBOX_PENDING_SECONDS", 5), settle_to=COMPLETED)


@bp.post("/payments/link")
def link():
    """The seed's Link: an APM payment, answered with the page the customer goes to."""
    merchant = _merchant()
    body = _body()
    amount, currency = _money(body)
    data = _data(body)
    m = _method(data, payout=False)
    _check_fields(m, currency, {**data, "name": body.get("name")}, payout=False)
    person = _text(data.get("personId"))
    row = dict(merchant=merchant, amount=str(amount), currency=currency, invoice_id=_text(body.get("invoiceId")),
               account_id=_text(body.get("accountId")), name=str(body.get("name") or ""),
               description=str(body.get("description") or ""), approve=1, scheme="apm",
               operation=PAYMENT, payment_type_id=m.type_id, person_id=person,
               success_url=_text(body.get("successUrl")), failure_url=_text(body.get("failureUrl")),
               pending_url=_text(body.get("pendingUrl")), cancel_url=_text(body.get("cancelUrl")))
    if m.test and person in (TEST_SUCCESS, TEST_FAILURE):
        code, reason = (COMPLETED, APPROVED) if person == TEST_SUCCESS else (DECLINED, DECLINED_BY_PAYER)
        tid = ledger().insert(**row, status_code=code, reason_code=reason[0], reason=reason[1])
        target = row["success_url"] if code == COMPLETED else row["failure_url"]
        action = target if _http_url(target) else None
    else:
        if apm.is_crypto(m):
            row.update(_quote(m, amount, currency))
        reference = secrets.token_hex(16)
        tid = ledger().insert(**row, status_code=CREATED, reason_code=APPROVED[0], reason=APPROVED[1],
                              link_reference=reference)
        action = url_for("sandbox.apm_page", reference=reference, _external=True)
    model = _model(ledger().find(id=tid))
    ok = model["statusCode"] != DECLINED
    answer = {"success": ok, "message": None if ok else model["reason"], "model": model}
    if action:
        answer["link"] = {"method": "get", "action": action}
    return jsonify(answer)


def _payout_card_fate(masked_pan: str) -> tuple[int, tuple[int, str]]:
    code = PAYOUT_CARDS.get(masked_pan, PAYOUT_COMPLETED)
    return code, PAYOUT_DECLINED if code == DECLINED else APPROVED


def _insert_payout(row: dict, code: int, reason: tuple[int, str]):
    if code == CREATED:  # processed later: status over time
        row.update(due_at=time.time() + _setting("SANDBOX_PENDING_SECONDS", 5), settle_to=PAYOUT_COMPLETED)
    tid = ledger().insert(**row, approve=int(code != DECLINED), status_code=code,
                          reason_code=reason[0], reason=reason[1])
    model = _model(ledger().find(id=tid))
    ok = code != DECLINED
    return jsonify({"success": ok, "message": None if ok else reason[1], "model": model})


@bp.post("/payments/payout")
def payout_token():
    """The seed's "Payout via token": to the card behind a token of this customer."""
    merchant = _merchant()
    body = _body()
    amount, currency = _money(body)
    account = _text(body.get("accountId"))
    if not account:
        return _fail("accountId is required")
    card = ledger().card(merchant, str(body.get("token") or ""))
    if card is None or card["account_id"] != account:
        return _fail("Invalid token")
    code, reason = _payout_card_fate(card["masked_pan"])
    return _insert_payout(dict(
        merchant=merchant, amount=str(amount), currency=currency, invoice_id=_text(body.get("invoiceId")),
        account_id=account, name=card["holder"] or "", description="", masked_pan=card["masked_pan"],
        scheme="payout", operation=CARD_PAYOUT, card_token=card["token"]), code, reason)


@bp.post("/payments/payout/card")
def payout_card():
    """The seed's "Payout to card"."""
    merchant = _merchant()
    body = _body()
    amount, currency = _money(body)
    pan = "".join(ch for ch in str(body.get("pan") or "") if ch in "0123456789")
    if not 12 <= len(pan) <= 19 or not luhn_valid(pan):
        return _fail("Invalid card data")
    name = str(body.get("name") or "").strip()
    if not name:
        return _fail("Invalid name")
    masked = mask_pan(pan)
    code, reason = _payout_card_fate(masked)
    return _insert_payout(dict(
        merchant=merchant, amount=str(amount), currency=currency, invoice_id=_text(body.get("invoiceId")),
        account_id=_text(body.get("accountId")), name=name, description="", masked_pan=masked,
        scheme="payout", operation=CARD_PAYOUT), code, reason)


@bp.post("/payments/apm/payout")
def apm_payout():
    """The seed's "APM Payout": asynchronous, ``Created`` first (but type 2's testing
    credentials, which answer at once)."""
    merchant = _merchant()
    body = _body()
    amount, currency = _money(body)
    data = _data(body)
    m = _method(data, payout=True)
    _check_fields(m, currency, {**data, "name": body.get("name")}, payout=True)
    person = _text(data.get("personId"))
    if m.test and person == TEST_SUCCESS:
        code, reason = PAYOUT_COMPLETED, APPROVED
    elif m.test and person == TEST_FAILURE:
        code, reason = DECLINED, PAYOUT_DECLINED
    else:
        code, reason = CREATED, APPROVED
    return _insert_payout(dict(
        merchant=merchant, amount=str(amount), currency=currency, invoice_id=_text(body.get("invoiceId")),
        account_id=_text(body.get("accountId")), name=str(body.get("name") or ""),
        description=str(body.get("description") or ""), scheme="payout", operation=APM_PAYOUT,
        payment_type_id=m.type_id, person_id=person), code, reason)


@bp.post("/payments/customer/cards")
def customer_cards():
    """A customer's saved cards (ours; see the module docstring)."""
    merchant = _merchant()
    account = _text(_body().get("accountId"))
    if not account:
        return _fail("accountId is required")
    cards = [{"token": c["token"], "maskedPan": c["masked_pan"], "brand": c["brand"],
              "expiryMonth": c["expiry_month"], "expiryYear": c["expiry_year"]}
             for c in ledger().cards(merchant, account)]
    return jsonify({"success": True, "message": None, "cards": cards})


@bp.post("/payments/charge/token")
def charge_token():
    """Pay with a saved card (ours; see the module docstring)."""
    merchant = _merchant()
    body = _body()
    amount, currency = _money(body)
    card = ledger().card(merchant, str(body.get("cardToken") or ""))
    account = _text(body.get("accountId"))
    if card is None or (account and card["account_id"] != account):
        return _fail("Invalid token")
    cvv = body.get("cvv")
    if cvv is not None and not (textrules.ascii_digits(str(cvv)) and len(str(cvv)) == cvv_length(card["brand"])):
        return _fail("Invalid card data")
    approve = str(cvv) != DECLINE_CVV
    code, reason = (COMPLETED, APPROVED) if approve else (DECLINED, INSUFFICIENT_FUNDS)
    tid = ledger().insert(
        merchant=merchant, amount=str(amount), currency=currency, invoice_id=_text(body.get("invoiceId")),
        account_id=card["account_id"], name=str(body.get("name") or card["holder"] or ""),
        description=str(body.get("description") or ""), masked_pan=card["masked_pan"], approve=int(approve),
        scheme="token", operation=PAYMENT, card_token=card["token"], status_code=code,
        reason_code=reason[0], reason=reason[1], expiry_month=card["expiry_month"],
        expiry_year=card["expiry_year"])
    model = _model(ledger().find(id=tid))
    return jsonify({"success": approve, "message": None if approve else reason[1], "model": model})


# -- browser-facing pages --------------------------------------------------------------
def _page_setup() -> None:
    security.nonce()
    security.allow_form_action_anywhere()  # back to the merchant's TermUrl, then on to its own pages
    security.no_store()
    security.allow_framing(["*"])  # an issuer's page is shown inside the merchant's checkout frame


@bp.route("/acs", methods=["GET", "POST"])
def acs():
    """The issuer's page: the merchant posts PaReq, MD and TermUrl here."""
    pa_req, md, term_url = (request.form.get(k, "") for k in ("PaReq", "MD", "TermUrl"))
    row = ledger().find(id=md) if textrules.ascii_digits(md) else None
    if request.method == "GET" or row is None or row["pa_req"] != pa_req or not _http_url(term_url):
        return render_template("sandbox/message.html", title=_("3-D Secure"),
                               message=_("This 3-D Secure request is not valid.")), 400
    _page_setup()
    return render_template("sandbox/passphrase.html", action=url_for("sandbox.acs_submit"),
                           hidden={"PaReq": pa_req, "MD": md, "TermUrl": term_url}, row=row)


@bp.post("/acs/submit")
def acs_submit():
    pa_req, md, term_url = (request.form.get(k, "") for k in ("PaReq", "MD", "TermUrl"))
    row = ledger().find(id=md) if textrules.ascii_digits(md) else None
    if row is None or row["pa_req"] != pa_req or not _http_url(term_url):
        abort(400)
    passed = request.form.get("passphrase", "").strip() == PASSPHRASE
    pa_res = ("Y." if passed else "N.") + secrets.token_urlsafe(32)
    ledger().update(row["id"], pa_res=pa_res)
    _page_setup()
    return render_template("autopost.html", action=term_url, fields={"PaRes": pa_res, "MD": md},
                           title=_("Returning to the merchant"),
                           message=_("Returning you to the merchant…"))


@bp.route("/redirect/", methods=["GET", "POST"])
def redirect_3ds():
    """Redirect 3-D Secure: the customer is sent here, then back to the merchant's URL."""
    reference = request.values.get("link_reference", "")
    row = ledger().find(link_reference=reference, scheme="redirect") if reference else None
    if row is None:
        return render_template("sandbox/message.html", title=_("3-D Secure"),
                               message=_("This 3-D Secure request is not valid.")), 400
    if request.method == "GET":
        _page_setup()
        return render_template("sandbox/passphrase.html", hidden={"link_reference": reference},
                               action=url_for("sandbox.redirect_3ds"), row=row)
    row = ledger().advance(row)
    if row["status_code"] == AWAITING_AUTHENTICATION:
        _finish_3ds(row, request.form.get("passphrase", "").strip() == PASSPHRASE)
    row = ledger().find(id=row["id"])
    target = row["success_url"] if row["status_code"] == COMPLETED else row["failure_url"]
    if not _http_url(target):
        return render_template("sandbox/message.html", title=_("3-D Secure"),
                               message=_("This payment is final: %(status)s.",
                                         status=STATUS_TEXT[row["status_code"]]))
    return redirect(target, code=303)


def _amount_text(amount: str, currency: str) -> str:
    if currency in list_currencies():
        return i18n.format_amount(amount, currency)
    return f"{Decimal(amount).normalize():f} {currency}"


@bp.route("/apm/<reference>", methods=["GET", "POST"])
def apm_page(reference: str):
    """The payment method's page: the customer approves, declines or leaves it pending,
    then goes to the merchant's success, failure or pending URL."""
    row = ledger().find(link_reference=reference, scheme="apm") if reference else None
    if row is None:
        return render_template("sandbox/message.html", title=_("Payment method"),
                               message=_("This payment request is not valid.")), 404
    row = ledger().advance(row)
    m = apm.method(row["payment_type_id"])
    _page_setup()
    if request.method == "POST" and row["status_code"] == CREATED:
        decision = request.form.get("decision")
        if decision == "approve":
            ledger().settle(row["id"], CREATED, COMPLETED, APPROVED)
        elif decision == "decline":
            ledger().settle(row["id"], CREATED, DECLINED, DECLINED_BY_PAYER)
        elif decision == "pending":
            if row["due_at"] is None:
                ledger().update(row["id"], due_at=time.time() + _setting("SANDBOX_PENDING_SECONDS", 5),
                                settle_to=COMPLETED)
        else:
            abort(400)
        row = ledger().find(id=row["id"])
    if request.method == "POST":
        target = {COMPLETED: row["success_url"], DECLINED: row["failure_url"]}.get(
            row["status_code"], row["pending_url"])
        if _http_url(target):
            return redirect(target, code=303)
    final = row["status_code"] != CREATED
    return render_template(
        "sandbox/apm.html", row=row, method=m, final=final, status=STATUS_TEXT[row["status_code"]],
        amount=_amount_text(row["amount"], row["currency"]),
        pending_after=int(_setting("SANDBOX_PENDING_SECONDS", 5)),
        expires=_iso(row["expires_at"]) if row["expires_at"] else None,
        expires_text=format_datetime(datetime.fromtimestamp(row["expires_at"], UTC), "long")
        if row["expires_at"] else None,
        action=url_for("sandbox.apm_page", reference=reference))


def _http_url(url: str | None) -> bool:
    return weburl.parse(url) is not None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_schedule(text: str) -> list[float]:
    """``"5s,30s,2m,10m,1h"`` -> ``[5, 30, 120, 600, 3600]`` (seconds; a bare number is
    seconds). Raises ValueError on anything else."""
    delays = []
    for part in str(text).split(","):
        m = _DURATION.fullmatch(part.strip())
        if not m:
            raise ValueError(f"SANDBOX_NOTIFY_SCHEDULE: {part.strip()!r} is not a delay such as 30s, 2m or 1h")
        delays.append(float(m[1]) * _UNITS[m[2] or "s"])
    return delays


def notice_address(app: Flask, merchant_id: str) -> tuple[str, bool] | None:
    """Where ``merchant_id``'s notices go: its ``gatewayNotificationUrl`` (over HTTP), or,
    when the sandbox is mounted in the checkout app, the checkout's own
    ``/gateway/notifications/<publicId>`` (in-process); else None (no notices)."""
    merchant = app.extensions["checkout.merchants"].get(merchant_id)
    if merchant is None:
        return None
    url = getattr(merchant, "gateway_notification_url", "") or merchant.extra.get("gatewayNotificationUrl")
    if url:
        return (str(url), False) if _http_url(str(url)) else None
    if "pay" in app.blueprints:
        base = (app.config.get("PUBLIC_URL") or DEFAULT_BASE).rstrip("/")
        return f"{base}/gateway/notifications/{quote(merchant.public_id, safe='')}", True
    return None


def _confirmed(response: httpx.Response) -> bool:
    """The seed's notification confirmation: HTTP 2xx with JSON ``{"code": 0}``."""
    if not 200 <= response.status_code < 300:
        return False
    try:
        data = response.json()
    except ValueError:
        return False
    code = data.get("code") if isinstance(data, dict) else None
    return isinstance(code, int) and not isinstance(code, bool) and code == 0


def deliver_notices(app: Flask, now: float | None = None) -> int:
    """Send every due notice of ``app``'s sandbox ledger, one attempt each; how many were
    delivered. Settles the transactions whose time has come first (their notices are
    then due too). ``now``: the time to act at (tests pass a later one)."""
    ledger_ = app.extensions.get("sandbox.ledger")
    if ledger_ is None:
        return 0
    now = time.time() if now is None else now
    delivered = 0
    with app.app_context():
        ledger_.advance_due(now)
        schedule = parse_schedule(app.config.get("SANDBOX_NOTIFY_SCHEDULE") or DEFAULT_NOTIFY_SCHEDULE)
        registry = app.extensions["checkout.merchants"]
        clients: dict[bool, httpx.Client] = {}
        try:
            for notice in ledger_.due_notices(now):
                if not ledger_.claim_notice(notice, now):
                    continue  # another worker has it
                attempt = notice["attempts"] + 1
                merchant = registry.get(notice["merchant"])
                status, error = None, None
                if merchant is None:
                    ok, error = False, "unknown merchant"
                else:
                    local = bool(notice["local"])
                    if local not in clients:
                        clients[local] = httpx.Client(
                            transport=ThreadedWSGITransport(app=app) if local else None,
                            timeout=NOTIFY_TIMEOUT, follow_redirects=False)
                    body = notice["body"].encode()
                    try:
                        response = clients[local].post(notice["url"], content=body, headers={
                            "Content-Type": "application/json",
                            "Content-HMAC": content_hmac(body, merchant.gateway_credentials[1])})
                        status, ok = response.status_code, _confirmed(response)
                        if not ok:
                            error = f"not confirmed: HTTP {status} {response.text[:200]!r}"
                    except httpx.HTTPError as exc:
                        ok, error = False, f"{type(exc).__name__}: {exc}"[:300]
                if ok:
                    ledger_.record_attempt(notice["id"], "delivered", now, status, None)
                    delivered += 1
                elif attempt >= NOTIFY_ATTEMPTS:
                    ledger_.record_attempt(notice["id"], "failed", now, status, error)
                    log.warning("sandbox notice %s to %s failed after %d attempts: %s",
                                notice["id"], notice["url"], attempt, error)
                else:
                    delay = schedule[min(attempt, len(schedule)) - 1] if schedule else 0.0
                    ledger_.record_attempt(notice["id"], "pending", now + delay, status, error)
        finally:
            for client in clients.values():
                client.close()
    return delivered


def _notifier(app: Flask, interval: float = 1.0) -> None:
    """The standalone sandbox's notice sender: deliver_notices every ``interval``
    seconds while the app lives (it holds only a weak reference to it)."""
    ref = weakref.ref(app)
    del app

    def run() -> None:
        while True:
            time.sleep(interval)
            target = ref()
            if target is None:
                return
            try:
                deliver_notices(target)
            except Exception:  # keep sending: a locked or vanished ledger must not end it
                log.exception("sandbox: delivering notices failed")
            del target

    threading.Thread(target=run, name="sandbox-notices", daemon=True).start()


def init_ledger(app: Flask) -> None:
    path = app.config.get("SANDBOX_DATABASE") or str(Path(app.instance_path) / "sandbox.sqlite3")
    for key, default in (("SANDBOX_PENDING_SECONDS", 5.0), ("SANDBOX_QUOTE_SECONDS", 900.0),
                         ("SANDBOX_3DS_SECONDS", 600.0)):
        if app.config.get(key) in (None, ""):
            app.config[key] = float(os.environ.get(f"CHECKOUT_{key}") or default)
    if app.config.get("SANDBOX_NOTIFY_SCHEDULE") in (None, ""):
        app.config["SANDBOX_NOTIFY_SCHEDULE"] = (os.environ.get("CHECKOUT_SANDBOX_NOTIFY_SCHEDULE")
                                                 or DEFAULT_NOTIFY_SCHEDULE)
    parse_schedule(app.config["SANDBOX_NOTIFY_SCHEDULE"])  # a bad schedule stops the start, not a notice
    ref = weakref.ref(app)  # the ledger lives in the app's extensions: no cycle through it

    def address(merchant_id: str) -> tuple[str, bool] | None:
        target = ref()
        return notice_address(target, merchant_id) if target is not None else None

    app.extensions["sandbox.ledger"] = Ledger(path, address=address)


def create_app(config: dict | None = None) -> Flask:
    """The sandbox as its own server (another origin, as a real gateway is)."""

    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=str(STATIC),
                instance_path=str(Path.cwd() / "instance"))
    app.config.update(config_module.load(config))
    app.extensions["checkout.merchants"] = load_registry(app.config["MERCHANTS_FILE"], "sandbox")
    init_ledger(app)
    i18n.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    app.register_blueprint(bp)
    if not app.config.get("TESTING"):
        _notifier(app)
    return app
