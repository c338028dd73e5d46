"""State that must be shared and durable: which checkout is paid or in flight (so a link
is never charged twice), the tries to pay (card-testing limits), the 3-D Secure context,
idempotency keys, payouts, and the outbox of notifications to the merchant.

SQLAlchemy Core on one engine per app: SQLite (WAL) by default, embedded; PostgreSQL
(psycopg 3) when several servers share one database. The tables are declared once here;
``checkout/migrations`` (Alembic) creates and changes them, never this module.

Every claim is a compare-and-set (``UPDATE ... WHERE state IN (...)``, this call won when
it changed one row), atomic on both engines: on SQLite each write transaction begins
``IMMEDIATE`` (it takes the file's write lock before it reads), on PostgreSQL the
concurrent UPDATE waits for the row and re-checks its WHERE on the winner's version.
A try to pay is counted against its limits and reserved in the claim's own transaction
(:meth:`Store.reserve`): on PostgreSQL behind an advisory lock per limit.

The outbox: a store made with ``notices`` (see :mod:`checkout.flows.notify`) asks it, inside
the transaction of every state change that moves a row, what the merchant must be told,
and writes that notification in the same transaction: a crash can lose neither without
the other. A notification is unique per (subject, key), so a state reached twice (two
servers recording one answer) is told once.

No card number or CVV ever comes here: only the whitelisted columns can be written, and a
masked PAN (first six, last four) is the most that is kept; a try is counted by the card's
keyed fingerprint (:mod:`checkout.fingerprints`), never by its number."""
from __future__ import annotations

import functools
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import (
    DOUBLE_PRECISION,
    REAL,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL

from . import config

OPEN = "open"
PROCESSING = "processing"
AWAITING_3DS = "awaiting_3ds"
COMPLETED = "completed"
DECLINED = "declined"
PENDING = "pending"
CANCELLED = "cancelled"
EXPIRED = "expired"
STATES = (OPEN, PROCESSING, AWAITING_3DS, COMPLETED, DECLINED, PENDING, CANCELLED, EXPIRED)

#: A notification's states: waiting for a (next) delivery, confirmed by the merchant, or
#: given up after the last try of the schedule.
NOTIFY_PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
NOTIFICATION_STATES = (NOTIFY_PENDING, DELIVERED, FAILED)

#: What became of a try to pay (an ``attempts`` row): in flight (it may still become a
#: decline), completed, declined, released (it never reached the gateway: the merchant's
#: Payment Check said no, or the gateway could not be asked first; not counted), or ended
#: otherwise (left at the bank, no trace at the gateway, a quote that expired).
TRY_RESERVED = "reserved"
TRY_COMPLETED = "completed"
TRY_DECLINED = "declined"
TRY_RELEASED = "released"
TRY_ENDED = "ended"
ATTEMPT_OUTCOMES = (TRY_RESERVED, TRY_COMPLETED, TRY_DECLINED, TRY_RELEASED, TRY_ENDED)
#: The outcomes an attempts limit counts (approvals too: card testers look for them).
ATTEMPTED = (TRY_RESERVED, TRY_COMPLETED, TRY_DECLINED, TRY_ENDED)
#: The outcomes a declines limit counts: a try still in flight may become a decline, so
#: simultaneous tries cannot all pass a count taken before their answers.
DECLINING = (TRY_RESERVED, TRY_DECLINED)

#: The payout statuses (the OMNO payout API's); ``checkout.payouts`` names them one by one.
PAYOUT_STATUSES = ("CREATED", "WAITING_FOR_CONFIRMATION", "PENDING", "PROCESSED", "REJECTED", "FAILED")
PAYOUT_FINAL = ("PROCESSED", "REJECTED", "FAILED")

# -- the tables ------------------------------------------------------------------------
#: Unix seconds. REAL on SQLite (as the schema always was); on PostgreSQL, whose REAL is
#: single precision (about two minutes at today's timestamps), DOUBLE PRECISION.
Seconds = REAL().with_variant(DOUBLE_PRECISION(), "postgresql")

metadata = MetaData()

checkouts = Table(
    "checkouts", metadata,
    Column("id", Text, primary_key=True),
    Column("merchant", Text, nullable=False),
    Column("invoice_id", Text),
    Column("amount", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("state", Text, nullable=False, server_default=text("'open'")),
    Column("transaction_id", Text),
    Column("seen_transactions", Text, nullable=False, server_default=text("''")),
    Column("status", Text),
    Column("status_code", Integer),
    Column("reason", Text),
    Column("reason_code", Integer),
    Column("masked_pan", Text),
    Column("brand", Text),
    Column("declines", Integer, nullable=False, server_default=text("0")),
    Column("charges", Integer, nullable=False, server_default=text("0")),
    Column("created_at", Seconds, nullable=False),
    Column("updated_at", Seconds, nullable=False),
    # 0002: what the worker and the merchant API need without the customer's link.
    Column("payload", Text),  # the token's payload (JSON): amount, URLs, data, expiry
    Column("expires_at", Seconds),
    Column("parent_id", Text),  # a crypto quote's checkout: the checkout it pays
    Column("expiry", Text),  # MM/YYYY of the card of the latest attempt (notifications)
    Column("holder", Text),
    Column("saved_token", Text),  # the gateway's token of an approved card with accountId
    Column("check_at", Seconds),  # when the worker next asks the gateway about it
    Column("checks", Integer, nullable=False, server_default=text("0")),
    Column("draft", Text),  # the last form sent and what was wrong with it (JSON; never a card number or CVV)
    Column("bank", Text),  # the bank's step of the 3-D Secure under way, to resume it (JSON)
    Column("abandoned", Text, nullable=False, server_default=text("''")),  # transactions left at the bank
)
Index("checkouts_state", checkouts.c.state, checkouts.c.check_at)
Index("checkouts_invoice", checkouts.c.merchant, checkouts.c.invoice_id)

#: One try to pay (a card, a saved card, a method, a crypto quote, a direct link), reserved
#: before the gateway is asked (:meth:`Store.reserve`) and given its outcome when the
#: checkout's payment ends: what the card-testing limits count (0004; it replaced the
#: ``declines`` table, whose rows became declined attempts that know only their address).
attempts = Table(
    "attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Seconds, nullable=False),
    Column("checkout_id", Text),
    Column("merchant", Text),
    Column("unsigned", Integer, nullable=False, server_default=text("0")),  # the checkout's options were not signed
    Column("ip", Text),  # the client's address as counted (IPv6: its /64)
    Column("fingerprint", Text),  # the card's keyed HMAC (never its number), or the saved card's
    Column("kind", Text),  # card, saved, method, crypto, direct
    Column("outcome", Text, nullable=False),  # see ATTEMPT_OUTCOMES
    Index("attempts_checkout", "checkout_id", "at"),
    Index("attempts_ip", "ip", "at"),
    Index("attempts_fingerprint", "fingerprint", "at"),
    Index("attempts_merchant", "merchant", "unsigned", "at"),
)

threeds = Table(
    "threeds", metadata,
    Column("md", Text, primary_key=True),
    Column("checkout_id", Text, primary_key=True),
    Column("created_at", Seconds, nullable=False),
    Column("used_at", Seconds),
)

idempotency = Table(
    "idempotency", metadata,
    Column("merchant", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("body_hash", Text, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", Seconds, nullable=False),
)

payouts = Table(
    "payouts", metadata,
    Column("id", Text, primary_key=True),
    Column("merchant", Text, nullable=False),
    Column("amount", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("invoice_id", Text),
    Column("description", Text, nullable=False, server_default=text("''")),
    Column("customer", Text, nullable=False),
    Column("kyc_verified", Integer, nullable=False, server_default=text("0")),
    Column("locale", Text),
    Column("success_url", Text),
    Column("failure_url", Text),
    Column("request_hash", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("method", Text),
    Column("payment_type_id", Integer),
    Column("destination", Text),
    Column("brand", Text),
    Column("transaction_id", Text),
    Column("gateway_status", Text),
    Column("status_code", Integer),
    Column("reason_code", Integer),
    Column("reason", Text),
    Column("created_at", Seconds, nullable=False),
    Column("updated_at", Seconds, nullable=False),
    Column("draft", Text),  # the last form sent and what was wrong with it (JSON; never a card number)
)
#: One payout per merchant order id (payouts without one are not limited).
_PAYOUT_INVOICE_WHERE = payouts.c.invoice_id.is_not(None)
Index("payouts_invoice", payouts.c.merchant, payouts.c.invoice_id, unique=True,
      sqlite_where=_PAYOUT_INVOICE_WHERE, postgresql_where=_PAYOUT_INVOICE_WHERE)

notifications = Table(
    "notifications", metadata,
    Column("id", Text, primary_key=True),  # ntf_<hex>: also the body's notificationId and webhook-id
    Column("merchant", Text, nullable=False),
    Column("subject", Text, nullable=False),  # the checkout's or payout's id
    Column("event", Text, nullable=False),
    Column("key", Text, nullable=False),  # one notification per (subject, key)
    Column("url", Text, nullable=False),
    Column("body", Text, nullable=False),  # the exact JSON sent, every time
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("round", Integer, nullable=False, server_default=text("0")),  # tries since made or resent
    Column("next_at", Seconds, nullable=False),
    Column("lease_until", Seconds),  # a worker is delivering it until then
    Column("leased_by", Text),
    Column("created_at", Seconds, nullable=False),
    Column("updated_at", Seconds, nullable=False),
    Column("delivered_at", Seconds),
)
Index("notifications_key", notifications.c.subject, notifications.c.key, unique=True)
Index("notifications_due", notifications.c.state, notifications.c.next_at)
Index("notifications_merchant", notifications.c.merchant, notifications.c.state, notifications.c.created_at)

notification_attempts = Table(
    "notification_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notification_id", Text, nullable=False),
    Column("at", Seconds, nullable=False),
    Column("http_status", Integer),
    Column("answer", Text),  # the first 200 characters of the answer
    Column("error", Text),  # why it did not count (timeout, refused, wrong body)
    Column("worker", Text),
    Index("notification_attempts_of", "notification_id", "at"),
)

#: The only checkout columns a caller may write (no place for a card number or CVV).
_FIELDS = ("transaction_id", "status", "status_code", "reason", "reason_code", "masked_pan", "brand",
           "expiry", "holder", "saved_token", "bank")
_ATTEMPT_FIELDS = ("transaction_id", "status", "status_code", "reason", "reason_code", "saved_token", "bank")
#: The only payout columns a status change may write.
_PAYOUT_FIELDS = ("method", "payment_type_id", "destination", "brand", "transaction_id", "gateway_status",
                  "status_code", "reason_code", "reason")


# -- engines ---------------------------------------------------------------------------
#: Execution option of :func:`reader`: on SQLite such a transaction begins DEFERRED.
_READ_OPTION = "checkout_read"


def make_engine(database: str | URL) -> Engine:
    """The engine for DATABASE (a path or a URL, see :func:`checkout.config.database_url`).

    SQLite: WAL (readers never wait for the writer), a 30 s busy timeout, and SQLAlchemy's
    documented pysqlite recipe for transactions: the driver's own BEGIN is switched off
    and each transaction is begun by us, ``BEGIN IMMEDIATE`` for writes, so that two
    processes cannot both read "open" and then both write "processing".
    PostgreSQL: psycopg 3, connections checked before use (a restarted server or a
    balancer that dropped an idle connection costs a reconnect, not an error)."""
    url = config.database_url(database)
    if url.get_backend_name() == "sqlite":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


#: How long a new connection keeps trying to switch a file to WAL while others do too.
WAL_SWITCH_SECONDS = 30.0


def _sqlite_connect(dbapi_connection, connection_record) -> None:
    dbapi_connection.isolation_level = None  # the driver emits no BEGIN: _sqlite_begin does
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    # Switching a new file to WAL needs the file to itself, and SQLite answers "database
    # is locked" at once, without its busy timeout, while another process (several
    # workers starting on one new file) holds it: try again for a while.
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    deferred = connection.get_execution_options().get(_READ_OPTION)
    connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def reader(engine: Engine) -> Engine:
    """The same engine (and pool) for transactions that only read: on SQLite they begin
    DEFERRED, so readers neither wait for a writer nor hold one up."""
    return engine.execution_options(**{_READ_OPTION: True})


def _as_engine(database: str | URL | Engine) -> Engine:
    return database if isinstance(database, Engine) else make_engine(database)


def _insert(engine: Engine, table: Table):
    """INSERT with ``on_conflict_do_nothing`` / ``on_conflict_do_update`` for this engine."""
    return (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(table)


#: An integer as text, in ASCII digits.
_INTEGER = re.compile(r"-?[0-9]+")


def _typed(table: Table, fields: dict[str, Any]) -> dict[str, Any]:
    """Values as the column's type wants them: SQLite's column affinity made a gateway's
    numeric transaction id text, and a status code given as "4" an integer; PostgreSQL
    would refuse either, so do the same conversion here for both engines."""
    out = {}
    for key, value in fields.items():
        if value is not None and not isinstance(value, bool):
            if isinstance(table.c[key].type, Text):
                value = str(value)
            elif isinstance(table.c[key].type, Integer) and isinstance(value, str) \
                    and _INTEGER.fullmatch(value):  # ASCII: int() also reads "١٢٣"
                value = int(value)
        out[key] = value
    return out


def unsaved_checkout(checkout_id: str, merchant: str, invoice_id: str | None, amount: str, currency: str,
                     payload: dict | None = None) -> Checkout:
    """A checkout as :meth:`Store.ensure` would make it (open, nothing tried), not stored:
    what a page shows before anything happened, without writing."""
    now = time.time()
    return Checkout(
        id=checkout_id, merchant=merchant, invoice_id=invoice_id, amount=amount, currency=currency, state=OPEN,
        transaction_id=None, seen_transactions="", status=None, status_code=None, reason=None, reason_code=None,
        masked_pan=None, brand=None, declines=0, charges=0, created_at=now, updated_at=now,
        payload=json.dumps(payload, separators=(",", ":"), ensure_ascii=False) if payload is not None else None,
        expires_at=float(payload["exp"]) if payload and payload.get("exp") is not None else None,
        parent_id=(payload or {}).get("parent"))


#: The one read of every page view and payment, built once: SQLAlchemy then neither
#: builds the statement nor works out its cache key again (half the time of a read).
_CHECKOUT_BY_ID = select(checkouts).where(checkouts.c.id == bindparam("checkout_id"))


class _Tables:
    """One engine's transactions: writes (SQLite: BEGIN IMMEDIATE) and reads."""

    def __init__(self, database: str | URL | Engine):
        self.engine = _as_engine(database)
        self._reader = reader(self.engine)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._reader.connect() as connection:
            yield connection

    def ping(self) -> None:
        """``SELECT 1`` on the database (for /readyz); SQLAlchemy's error when it does not answer."""
        with self._read() as connection:
            connection.execute(select(literal(1)))


# -- checkouts -------------------------------------------------------------------------
@dataclass(frozen=True)
class Checkout:
    id: str
    merchant: str
    invoice_id: str | None
    amount: str
    currency: str
    state: str
    transaction_id: str | None
    seen_transactions: str
    status: str | None
    status_code: int | None
    reason: str | None
    reason_code: int | None
    masked_pan: str | None
    brand: str | None
    declines: int
    charges: int
    created_at: float
    updated_at: float
    payload: str | None = None
    expires_at: float | None = None
    parent_id: str | None = None
    expiry: str | None = None
    holder: str | None = None
    saved_token: str | None = None
    check_at: float | None = None
    checks: int = 0
    draft: str | None = None
    bank: str | None = None
    abandoned: str = ""

    @property
    def transactions(self) -> list[str]:
        return [t for t in self.seen_transactions.split(",") if t]

    @property
    def abandoned_transactions(self) -> list[str]:
        """Transactions of 3-D Secure authentications the customer left for another card,
        until the gateway says each is final."""
        return [t for t in self.abandoned.split(",") if t]

    @property
    def form_draft(self) -> dict | None:
        """The last form the customer sent and what was wrong with it (see ``keep_draft``)."""
        return json.loads(self.draft) if self.draft else None

    @property
    def bank_step(self) -> dict | None:
        """How to take the customer to the bank again while its 3-D Secure waits:
        ``{"url", "fields"}`` (a form posted to the ACS) or ``{"url"}`` (a page)."""
        return json.loads(self.bank) if self.bank else None

    @property
    def data(self) -> dict | None:
        """The token's payload as it was when the checkout was first seen (None for a
        checkout recorded before the payloads were kept)."""
        return json.loads(self.payload) if self.payload else None


@dataclass(frozen=True)
class Outbound:
    """A notification to write with the state change that causes it (see ``notices``)."""

    id: str
    merchant: str
    subject: str
    event: str
    key: str
    url: str
    body: str


#: What a store asks, inside a state change's transaction, about the row it moved: the
#: notification the change causes, or None.
CheckoutNotices = Callable[[Checkout], "Outbound | None"]
PayoutNotices = Callable[["Payout"], "Outbound | None"]


@functools.cache
def _new_notification(dialect: str):
    """The outbox's INSERT (once per subject and key) for one dialect, built once: its
    values are the execution's parameters."""
    insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert_of(notifications).on_conflict_do_nothing(
        index_elements=[notifications.c.subject, notifications.c.key])


def _outbox(db: Connection, engine: Engine, out: Outbound | None) -> None:
    """Write ``out`` in the caller's transaction (once per subject and key)."""
    if out is None:
        return
    now = time.time()
    db.execute(_new_notification(engine.dialect.name), {
        "id": out.id, "merchant": out.merchant, "subject": out.subject, "event": out.event, "key": out.key,
        "url": out.url, "body": out.body, "state": NOTIFY_PENDING, "next_at": now, "created_at": now,
        "updated_at": now})


def _writable(fields: dict[str, Any]) -> None:
    """Refuse any column outside the whitelist (a ``pan=`` or ``cvv=`` is a bug, loudly)."""
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise ValueError(f"not checkout columns that may be written: {sorted(unknown)}")


def _seen(values: dict[str, Any], fields: dict[str, Any]) -> None:
    """Append a new transaction id to ``seen_transactions`` (one SQL expression on both engines)."""
    if fields.get("transaction_id"):
        values["seen_transactions"] = checkouts.c.seen_transactions + f"{fields['transaction_id']},"


def _one_of(column: Column, values: Iterable[str]):
    """``column`` is one of ``values`` (constants of this module), as ORs of equalities:
    unlike IN, nothing to expand at each execution of a statement built once."""
    return or_(*(column == value for value in values))


@dataclass(frozen=True)
class Move:
    """The SET of a move (see ``Store._moves``): plain column values, text appended to
    columns (``column = column || text``), and counters raised by one."""

    values: dict[str, Any]
    appends: dict[str, str] = field(default_factory=dict)
    counts: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        return self.values["state"]

    def parameters(self, checkout_id: str, max_declines: int | None) -> dict[str, Any]:
        """The execution's parameters of :func:`_move_statement`."""
        found = {**self.values, "move_id": checkout_id, **{f"append_{k}": v for k, v in self.appends.items()}}
        if max_declines is not None:
            found["move_max_declines"] = max_declines
        return found


@functools.lru_cache(maxsize=256)
def _move_statement(from_states: tuple[str, ...], capped: bool, appends: tuple[str, ...],
                    counts: tuple[str, ...]):
    """The compare-and-set ``UPDATE ... RETURNING`` of a move, built once per shape: its
    plain SET columns are the execution's parameters (:meth:`Move.parameters`), so
    SQLAlchemy neither builds the statement nor works out its cache key again."""
    c = checkouts.c
    statement = update(checkouts).where(c.id == bindparam("move_id"), _one_of(c.state, from_states))
    if capped:
        statement = statement.where(c.declines < bindparam("move_max_declines"))
    computed = {column: c[column] + bindparam(f"append_{column}", type_=Text()) for column in appends}
    computed.update({column: c[column] + 1 for column in counts})
    if computed:
        statement = statement.values(computed)
    return statement.returning(*checkouts.c)


def _moved_row(db: Connection, checkout_id: str, from_states: tuple[str, ...], max_declines: int | None,
               move: Move) -> Checkout | None:
    """The compare-and-set alone, in ``db``'s transaction: the row as ``move`` moved it,
    or None when it was in none of ``from_states`` (or, with ``max_declines``, had as
    many declines)."""
    statement = _move_statement(tuple(from_states), max_declines is not None, tuple(move.appends), move.counts)
    row = db.execute(statement, move.parameters(checkout_id, max_declines)).mappings().first()
    return Checkout(**row) if row is not None else None


# -- tries to pay ----------------------------------------------------------------------------
#: A payment under way: its try has no outcome yet.
_IN_FLIGHT = (PROCESSING, AWAITING_3DS, PENDING)
#: The outcome of a try whose checkout reaches this state (any other state out of flight: ended).
_TRY_BY_STATE = {COMPLETED: TRY_COMPLETED, DECLINED: TRY_DECLINED}


#: :func:`_end_try`'s statement, built once.
_END_TRY = (update(attempts).where(attempts.c.checkout_id == bindparam("try_checkout"),
                                   attempts.c.outcome == TRY_RESERVED)
            .values(outcome=bindparam("try_outcome")))
#: A new try's INSERT, built once: its values are the execution's parameters.
_NEW_TRY = insert(attempts)


def _end_try(db: Connection, checkout_id: str, outcome: str) -> int:
    """Give the checkout's try in flight (at most one: the claim is single) its outcome;
    how many rows it changed."""
    return db.execute(_END_TRY, {"try_checkout": checkout_id, "try_outcome": outcome}).rowcount


@functools.lru_cache(maxsize=64)
def _newest_tries(columns: tuple[str, ...], outcomes: tuple[str, ...]):
    """When the newest tries matching ``columns`` (parameters ``match_<column>``) with one
    of ``outcomes`` since ``since`` were made, newest first, at most ``most``: a quota's
    count (:meth:`Store.reserve`), built once per shape."""
    a = attempts.c
    return (select(a.at).where(*(a[column] == bindparam(f"match_{column}") for column in columns),
                               _one_of(a.outcome, outcomes), a.at > bindparam("since"))
            .order_by(a.at.desc()).limit(bindparam("most")))


#: PostgreSQL's transaction-level advisory lock on a quota's ``lock_key``, built once.
_LOCK_QUOTA = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("lock_key", type_=Text()), 0)))
@dataclass(frozen=True)
class Try:
    """A try to pay as the limits count it (see :meth:`Store.reserve`)."""

    checkout_id: str
    merchant: str
    kind: str
    ip: str | None = None
    fingerprint: str | None = None
    unsigned: bool = False


@dataclass(frozen=True)
class Quota:
    """At most ``limit`` tries whose columns match ``match`` (column, value) and whose
    outcome is one of ``outcomes`` within the last ``window`` seconds. ``name`` says which
    limit it is (the caller's word, given back when it stops a try)."""

    name: str
    match: tuple[tuple[str, Any], ...]
    limit: int
    window: float
    outcomes: tuple[str, ...] = ATTEMPTED

    @property
    def lock_key(self) -> str:
        """What PostgreSQL's advisory lock for this count is taken on (never the limit:
        two merchants' limits on one address count the same rows)."""
        return "attempts|" + "|".join(f"{column}={value}" for column, value in self.match)

    def parameters(self, now: float) -> dict[str, Any]:
        """The parameters of this quota's count at ``now`` (see :func:`_newest_tries`)."""
        return {**{f"match_{column}": value for column, value in self.match}, "since": now - self.window,
                "most": self.limit}

    def retry_at(self, newest: list[float]) -> float | None:
        """When the next try is allowed, given the newest counted tries (newest first,
        at most ``limit``, which is at least 1): once the oldest of them leaves the
        window; None: now."""
        return newest[self.limit - 1] + self.window if len(newest) >= self.limit else None


@dataclass(frozen=True)
class Reservation:
    """What :meth:`Store.reserve` did: the checkout claimed and the try counted, or a
    limit reached (``limit``, the quota's name, and ``retry_at``, when a try is allowed
    again), or neither (another submission holds the claim)."""

    claimed: bool
    limit: str | None = None
    retry_at: float | None = None


class Store(_Tables):
    """The checkouts and what hangs on them; one engine, each call its own transaction.
    ``database``: a SQLite path, a URL, or an engine to share (see :func:`init_app`).
    ``notices``: what a moved row must tell the merchant (written in the same transaction)."""

    def __init__(self, database: str | URL | Engine, notices: CheckoutNotices | None = None):
        super().__init__(database)
        self.notices = notices

    # -- checkouts ---------------------------------------------------------------------
    def ensure(self, checkout_id: str, merchant: str, invoice_id: str | None, amount: str,
               currency: str, payload: dict | None = None, parent_id: str | None = None) -> Checkout:
        """The checkout's row, made on first sight with the token's ``payload`` (kept so
        that the worker and the merchant API know it without the link). A row that
        exists is only read: a GET of a known checkout writes nothing."""
        found = self.get(checkout_id)
        if found is not None and (found.payload is not None or payload is None):
            return found
        now = time.time()
        kept = json.dumps(payload, separators=(",", ":"), ensure_ascii=False) if payload is not None else None
        expires = float(payload["exp"]) if payload and payload.get("exp") is not None else None
        with self._write() as db:
            statement = _insert(self.engine, checkouts).values(
                id=checkout_id, merchant=merchant, invoice_id=invoice_id, amount=amount, currency=currency,
                created_at=now, updated_at=now, payload=kept, expires_at=expires,
                parent_id=parent_id or (payload or {}).get("parent"))
            if kept is None:
                db.execute(statement.on_conflict_do_nothing(index_elements=[checkouts.c.id]))
            else:  # a row made before its payload was known (a quote's) gains it
                db.execute(statement.on_conflict_do_update(
                    index_elements=[checkouts.c.id],
                    set_={"payload": func.coalesce(checkouts.c.payload, statement.excluded.payload),
                          "expires_at": func.coalesce(checkouts.c.expires_at, statement.excluded.expires_at)}))
        return self.get(checkout_id)

    def get(self, checkout_id: str) -> Checkout | None:
        with self._read() as db:
            row = db.execute(_CHECKOUT_BY_ID, {"checkout_id": checkout_id}).mappings().first()
        return Checkout(**row) if row else None

    def of_merchant(self, merchant: str, invoice_id: str | None = None, limit: int = 100) -> list[Checkout]:
        """A merchant's checkouts (those it made by the API or its customers opened),
        newest first; with ``invoice_id``, those of that invoice."""
        c = checkouts.c
        statement = select(checkouts).where(c.merchant == merchant, c.parent_id.is_(None))
        if invoice_id is not None:
            statement = statement.where(c.invoice_id == invoice_id)
        with self._read() as db:
            rows = db.execute(statement.order_by(c.created_at.desc(), c.id).limit(limit)).mappings().all()
        return [Checkout(**r) for r in rows]

    def with_transaction(self, merchant: str, transaction_id: str) -> list[Checkout]:
        """The merchant's checkouts whose latest charge is ``transaction_id``."""
        c = checkouts.c
        with self._read() as db:
            rows = db.execute(select(checkouts).where(c.merchant == merchant,
                                                      c.transaction_id == str(transaction_id))).mappings().all()
        return [Checkout(**r) for r in rows]

    def due_checks(self, states: tuple[str, ...], now: float, limit: int = 100) -> list[Checkout]:
        """Checkouts in ``states`` the worker should ask the gateway about now (their
        payload known, not a quote's: the checkout a quote pays is asked instead)."""
        c = checkouts.c
        with self._read() as db:
            rows = db.execute(select(checkouts).where(
                c.state.in_(states), c.payload.is_not(None), c.parent_id.is_(None),
                (c.check_at.is_(None)) | (c.check_at <= now)).order_by(c.updated_at).limit(limit)).mappings().all()
        return [Checkout(**r) for r in rows]

    def claim_check(self, checkout_id: str, now: float, next_at: float) -> bool:
        """Take the check due ``now`` (compare-and-set on ``check_at``): of several
        workers one asks the gateway, and the next look is at ``next_at``."""
        c = checkouts.c
        with self._write() as db:
            return db.execute(update(checkouts).where(
                c.id == checkout_id, (c.check_at.is_(None)) | (c.check_at <= now))
                .values(check_at=next_at, checks=c.checks + 1)).rowcount == 1

    def past_expiry(self, max_declines: int, now: float, limit: int = 100) -> list[Checkout]:
        """Checkouts that could still be paid (open, or declined with tries left) whose
        link expired by ``now``: those a final decline ended are not picked again and again."""
        c = checkouts.c
        payable = (c.state == OPEN) | ((c.state == DECLINED) & (c.declines < max_declines))
        with self._read() as db:
            rows = db.execute(select(checkouts).where(payable, c.expires_at.is_not(None),
                                                      c.expires_at <= now, c.parent_id.is_(None))
                              .order_by(c.expires_at).limit(limit)).mappings().all()
        return [Checkout(**r) for r in rows]

    @staticmethod
    def _moves(to_state: str, fields: dict[str, Any], appends: dict[str, str] | None = None) -> Move:
        """The SET of a move to ``to_state`` (``appends``: text appended to columns)."""
        _writable(fields)
        if to_state not in STATES:
            raise ValueError(f"not a checkout state: {to_state!r}")
        if to_state == PROCESSING:
            # A new attempt starts clean: the last one's transaction id and answer must never
            # stand for this one (its status check would ask about the old transaction).
            fields = {**dict.fromkeys(_ATTEMPT_FIELDS), **fields}
        values: dict[str, Any] = {"state": to_state, "updated_at": time.time(), **_typed(checkouts, fields),
                                  "check_at": None, "checks": 0}  # the worker's backoff starts again
        appends = dict(appends or {})
        if fields.get("transaction_id"):
            appends["seen_transactions"] = f"{values['transaction_id']},"
        counts = ("charges",) if to_state == PROCESSING else ("declines",) if to_state == DECLINED else ()
        return Move(values, appends, counts)

    def _transition(self, db: Connection, checkout_id: str, from_states: tuple[str, ...],
                    max_declines: int | None, move: Move, outcome: str | None = None) -> Checkout | None:
        """The compare-and-set, and (when it moved the row) its notification, in ``db``'s
        transaction; the row as moved, or None. RETURNING gives the moved row (SQLite
        3.35+, PostgreSQL): no second read. A move out of flight gives the try in flight
        its outcome (``outcome``, else the one the state reached means), in the same
        transaction."""
        moved = _moved_row(db, checkout_id, from_states, max_declines, move)
        if moved is not None:
            self._after_move(db, moved, outcome)
        return moved

    def _after_move(self, db: Connection, moved: Checkout, outcome: str | None = None) -> int:
        """What a move (``moved``: the row as moved) brings in its transaction: a move out
        of flight gives the try in flight its outcome (``outcome``, else the one the state
        reached means), and the merchant's notification is written. How many tries it ended."""
        ended = 0
        if moved.state not in _IN_FLIGHT:
            ended = _end_try(db, moved.id, outcome or _TRY_BY_STATE.get(moved.state, TRY_ENDED))
        if self.notices is not None:
            _outbox(db, self.engine, self.notices(moved))
        return ended

    def moved(self, checkout_id: str, from_states: tuple[str, ...], to_state: str,
              max_declines: int | None = None, **fields) -> Checkout | None:
        """Compare-and-set: move to ``to_state`` only from one of ``from_states`` (and,
        with ``max_declines``, only while fewer declines were recorded). The checkout as
        this call moved it (the single winner of concurrent submissions), or None when it
        did not. Moving to ``declined`` counts a decline."""
        move = self._moves(to_state, fields)
        with self._write() as db:
            return self._transition(db, checkout_id, from_states, max_declines, move)

    def transition(self, checkout_id: str, from_states: tuple[str, ...], to_state: str,
                   max_declines: int | None = None, **fields) -> bool:
        """:meth:`moved`: True when this call made the move."""
        return self.moved(checkout_id, from_states, to_state, max_declines, **fields) is not None

    # -- tries to pay ------------------------------------------------------------------
    def reserve(self, attempt: Try, quotas: Sequence[Quota], from_states: tuple[str, ...],
                max_declines: int | None = None, **fields) -> Reservation:
        """Count a try to pay against ``quotas`` and, when none is reached, claim the
        checkout (``from_states`` -> ``processing``, as :meth:`transition`) and record the
        try as in flight: one transaction, before the gateway is asked, so that
        simultaneous tries cannot all pass one count. On SQLite the transaction holds the
        file's write lock from its BEGIN IMMEDIATE; on PostgreSQL it takes a
        transaction-level advisory lock per quota (in one order: never a deadlock) before
        it counts. A try that loses the claim is not counted; a stale try of this checkout
        still in flight (a quote made again, claimed from a state in flight) ends here. A
        claim from states out of flight has none to end: every move out of flight ends
        the checkout's try in its own transaction (:meth:`_transition`)."""
        move = self._moves(PROCESSING, fields)
        with self._write() as db:
            if self.engine.dialect.name == "postgresql":
                for key in sorted({q.lock_key for q in quotas}):
                    db.execute(_LOCK_QUOTA, {"lock_key": key})
            now = time.time()  # after the locks: the previous holder's try is in the count
            stopped: tuple[float, str] | None = None
            for q in quotas:
                retry = q.retry_at(list(db.execute(_newest_tries(tuple(column for column, _ in q.match), q.outcomes),
                                                   q.parameters(now)).scalars()))
                if retry is not None and (stopped is None or retry > stopped[0]):
                    stopped = (retry, q.name)  # the visitor waits for every limit reached
            if stopped is not None:
                return Reservation(False, limit=stopped[1], retry_at=stopped[0])
            if self._transition(db, attempt.checkout_id, from_states, max_declines, move) is None:
                return Reservation(False)
            if any(state in _IN_FLIGHT for state in from_states):
                _end_try(db, attempt.checkout_id, TRY_ENDED)
            db.execute(_NEW_TRY, {
                "at": now, "checkout_id": attempt.checkout_id, "merchant": attempt.merchant,
                "unsigned": int(attempt.unsigned), "ip": attempt.ip, "fingerprint": attempt.fingerprint,
                "kind": attempt.kind, "outcome": TRY_RESERVED})
        return Reservation(True)

    def release(self, checkout_id: str) -> bool:
        """A claim that never reached the gateway with the customer's payment (the
        merchant's Payment Check said no; the gateway could not be asked first): the
        checkout is open again and its try is not counted. True when this call did it."""
        move = self._moves(OPEN, {})
        with self._write() as db:
            return self._transition(db, checkout_id, (PROCESSING,), None, move, outcome=TRY_RELEASED) is not None

    def tries(self, **match) -> list[dict[str, Any]]:
        """The tries to pay whose columns match (``checkout_id=...``, ``ip=...``), oldest first."""
        a = attempts.c
        with self._read() as db:
            rows = db.execute(select(attempts).where(*(a[k] == v for k, v in match.items()))
                              .order_by(a.at, a.id)).mappings().all()
        return [dict(r) for r in rows]

    def forget_tries(self, before: float) -> int:
        """Drop the tries made before ``before`` (older than every limit's window); how many."""
        with self._write() as db:
            return db.execute(delete(attempts).where(attempts.c.at < before)).rowcount

    def note(self, checkout_id: str, **fields) -> None:
        """Record gateway facts (transaction id, status) without changing the state."""
        if not fields:
            raise ValueError("nothing to note")
        _writable(fields)
        values: dict[str, Any] = {**_typed(checkouts, fields), "updated_at": time.time()}
        _seen(values, fields)
        with self._write() as db:
            db.execute(update(checkouts).where(checkouts.c.id == checkout_id).values(values))

    def has_siblings(self, checkout_id: str, merchant: str, invoice_id: str) -> bool:
        """True when another checkout of this merchant carries the same invoiceId."""
        c = checkouts.c
        with self._read() as db:
            found = db.execute(select(literal(1)).where(c.merchant == merchant, c.invoice_id == invoice_id,
                                                        c.id != checkout_id).limit(1)).first()
        return found is not None

    def add_seen(self, checkout_id: str, transaction_ids: Iterable) -> None:
        """Transactions that are not this checkout's charge (so a later lookup by invoice
        does not mistake them for it)."""
        ids = "".join(f"{t}," for t in transaction_ids)
        if ids:
            with self._write() as db:
                db.execute(update(checkouts).where(checkouts.c.id == checkout_id)
                           .values(seen_transactions=checkouts.c.seen_transactions + ids))

    def record_decline(self, checkout_id: str, from_states: tuple[str, ...], ip: str | None,
                       **fields) -> bool:
        """:meth:`declined`: True when this call moved the checkout."""
        return self.declined(checkout_id, from_states, ip, **fields) is not None

    def declined(self, checkout_id: str, from_states: tuple[str, ...], ip: str | None,
                 **fields) -> Checkout | None:
        """Move to ``declined`` (counted per checkout, and its try as a decline of the
        address it came from, in one transaction: a decline that loses the race is counted
        nowhere); the checkout as moved, or None when this call did not move it. The
        move ends the try in flight; a checkout claimed without a try (before the
        ``attempts`` table), whose move ended none, counts the decline for ``ip``, the
        address key of whoever brought the answer."""
        move = self._moves(DECLINED, fields)
        with self._write() as db:
            moved = _moved_row(db, checkout_id, from_states, None, move)
            if moved is not None and not self._after_move(db, moved) and ip:
                db.execute(_NEW_TRY, {"at": time.time(), "checkout_id": checkout_id, "merchant": moved.merchant,
                                      "ip": ip, "outcome": TRY_DECLINED})
        return moved

    def declines_from(self, ip: str, window: float) -> int:
        return len(self.decline_times(ip, window))

    def keep_draft(self, checkout_id: str, draft: dict | None) -> None:
        """Keep the form the customer just sent (its values but never a card number or
        CVV, the errors found, the notice and answer status) for the page that shows the
        outcome: every form post answers with a redirect to a GET (post/redirect/get)."""
        kept = json.dumps(draft, separators=(",", ":"), ensure_ascii=False) if draft is not None else None
        with self._write() as db:
            db.execute(update(checkouts).where(checkouts.c.id == checkout_id).values(draft=kept))

    def abandon_3ds(self, checkout_id: str) -> bool:
        """The customer left the bank's page for another card: ``awaiting_3ds`` becomes
        ``open``, its transaction joins ``abandoned`` (asked about before the next charge
        and by the worker) and its 3-D Secure context is used up, so that the ACS's late
        answer is refused at the TermUrl. One transaction; True when this call moved it."""
        c, t = checkouts.c, threeds.c
        with self._write() as db:
            # Rows locked (PostgreSQL; SQLite writes one at a time): an ACS answer that took
            # its context first is on its way to the gateway, and the checkout stays as it is.
            current = db.execute(select(c.transaction_id).where(c.id == checkout_id, c.state == AWAITING_3DS)
                                 .with_for_update()).first()
            if current is None:
                return False
            taken = db.execute(select(t.used_at).where(t.checkout_id == checkout_id, t.md == str(current[0]))
                               .with_for_update()).first()
            if taken is not None and taken[0] is not None:
                return False
            db.execute(update(threeds).where(t.checkout_id == checkout_id, t.used_at.is_(None))
                       .values(used_at=time.time()))
            # The transaction id read under the row's lock: the one the move leaves.
            move = self._moves(OPEN, dict.fromkeys(_ATTEMPT_FIELDS), {"abandoned": f"{current[0] or ''},"})
            return self._transition(db, checkout_id, (AWAITING_3DS,), None, move) is not None

    def drop_abandoned(self, checkout_id: str, transaction_id: str) -> None:
        """The gateway gave an abandoned transaction its final word: stop asking."""
        with self._write() as db:
            row = db.execute(select(checkouts.c.abandoned).where(checkouts.c.id == checkout_id)).first()
            if row is not None:
                kept = "".join(f"{t}," for t in row[0].split(",") if t and t != str(transaction_id))
                db.execute(update(checkouts).where(checkouts.c.id == checkout_id).values(abandoned=kept))

    def with_abandoned(self, now: float, limit: int = 50) -> list[Checkout]:
        """Checkouts with an abandoned transaction whose next look is due."""
        c = checkouts.c
        with self._read() as db:
            rows = db.execute(select(checkouts).where(
                c.abandoned != "", c.state.not_in((PROCESSING, AWAITING_3DS, PENDING)),
                (c.check_at.is_(None)) | (c.check_at <= now)).order_by(c.updated_at).limit(limit)).mappings().all()
        return [Checkout(**r) for r in rows]

    def decline_times(self, ip: str, window: float) -> list[float]:
        """When this client address's declines within the window happened, oldest first
        (``ip``: the address key the limits count, see :mod:`checkout.fingerprints`)."""
        a = attempts.c
        with self._read() as db:
            return [r[0] for r in db.execute(select(a.at).where(
                a.ip == ip, a.outcome == TRY_DECLINED, a.at > time.time() - window).order_by(a.at))]

    # -- 3-D Secure context ------------------------------------------------------------
    def _save_3ds_statement(self, md: str, checkout_id: str):
        statement = _insert(self.engine, threeds).values(md=str(md), checkout_id=checkout_id,
                                                         created_at=time.time())
        return statement.on_conflict_do_update(
            index_elements=[threeds.c.md, threeds.c.checkout_id],
            set_={"created_at": statement.excluded.created_at, "used_at": None})

    def save_3ds(self, md: str, checkout_id: str) -> None:
        """Keep the context of an ACS round trip (a new one for the same MD replaces it)."""
        with self._write() as db:
            db.execute(self._save_3ds_statement(md, checkout_id))

    def await_3ds(self, checkout_id: str, from_states: tuple[str, ...], md: str, **fields) -> Checkout | None:
        """Move to ``awaiting_3ds`` and keep the ACS round trip's context, in one
        transaction: the ACS's answer is never refused for a context that a failure
        between the two writes lost. The checkout as moved, or None when this call did
        not move it."""
        move = self._moves(AWAITING_3DS, fields)
        with self._write() as db:
            moved = self._transition(db, checkout_id, from_states, None, move)
            if moved is not None:
                db.execute(self._save_3ds_statement(md, checkout_id))
        return moved

    def take_3ds(self, md: str, checkout_id: str) -> bool:
        """Consume the 3-D Secure context: true once per (MD, checkout)."""
        t = threeds.c
        with self._write() as db:
            return db.execute(update(threeds).where(t.md == str(md), t.checkout_id == checkout_id,
                                                    t.used_at.is_(None))
                              .values(used_at=time.time())).rowcount == 1

    # -- idempotency -------------------------------------------------------------------
    #: How long an Idempotency-Key is remembered (as Stripe does): a key sent again later
    #: makes a new link, and the table does not grow for ever.
    IDEMPOTENCY_SECONDS = 24 * 3600

    def idempotent(self, merchant: str, key: str, body_hash: str, response: str) -> tuple[str, str]:
        """Remember ``response`` for (merchant, key) unless one is there; return the stored
        (body_hash, response)."""
        now = time.time()
        i = idempotency.c
        with self._write() as db:
            db.execute(delete(idempotency).where(i.created_at < now - self.IDEMPOTENCY_SECONDS))
            db.execute(_insert(self.engine, idempotency).values(
                merchant=merchant, key=key, body_hash=body_hash, response=response, created_at=now)
                .on_conflict_do_nothing(index_elements=[i.merchant, i.key]))
            row = db.execute(select(i.body_hash, i.response).where(i.merchant == merchant, i.key == key)).one()
        return row[0], row[1]

    def find_idempotent(self, merchant: str, key: str) -> tuple[str, str] | None:
        i = idempotency.c
        with self._read() as db:
            row = db.execute(select(i.body_hash, i.response).where(
                i.merchant == merchant, i.key == key,
                i.created_at >= time.time() - self.IDEMPOTENCY_SECONDS)).first()
        return (row[0], row[1]) if row else None


# -- payouts ---------------------------------------------------------------------------
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
    draft: str | None = field(default=None, repr=False)

    @property
    def form_draft(self) -> dict | None:
        """The last form the customer sent and what was wrong with it (see ``keep_draft``)."""
        return json.loads(self.draft) if self.draft else None

    @property
    def invoice(self) -> str:
        """What the gateway knows this payout by: the merchant's order id, or ours."""
        return self.invoice_id or self.id

    @property
    def final(self) -> bool:
        return self.status in PAYOUT_FINAL

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


def _payout(row) -> Payout | None:
    if row is None:
        return None
    values = dict(row)
    values["customer"] = json.loads(values["customer"])
    values["kyc_verified"] = bool(values["kyc_verified"])
    return Payout(**values)


class PayoutStore(_Tables):
    """The payouts table. Every status change is a compare-and-set on the current status,
    so two submissions (or a submission and the merchant's reject) never both win."""

    def __init__(self, database: str | URL | Engine, notices: PayoutNotices | None = None):
        super().__init__(database)
        self.notices = notices

    def create(self, *, merchant: str, amount: str, currency: str, invoice_id: str | None, description: str,
               customer: dict, kyc_verified: bool, locale: str | None, success_url: str | None,
               failure_url: str | None, request_hash: str, status: str) -> tuple[Payout, bool]:
        """(the payout, created). An ``invoice_id`` this merchant already used gives back
        that payout, not a new one (``created`` False), also when two requests race."""
        now = time.time()
        pid = "po_" + uuid.uuid4().hex
        p = payouts.c
        statement = _insert(self.engine, payouts).values(
            id=pid, merchant=merchant, amount=amount, currency=currency, invoice_id=invoice_id,
            description=description, customer=json.dumps(customer, separators=(",", ":"), ensure_ascii=False),
            kyc_verified=int(kyc_verified), locale=locale, success_url=success_url, failure_url=failure_url,
            request_hash=request_hash, status=status, created_at=now, updated_at=now)
        if invoice_id is not None:
            statement = statement.on_conflict_do_nothing(index_elements=[p.merchant, p.invoice_id],
                                                         index_where=_PAYOUT_INVOICE_WHERE)
        with self._write() as db:
            # RETURNING, not rowcount: the psycopg dialect reports -1 for an INSERT's rowcount.
            created = db.execute(statement.returning(p.id)).first() is not None
            where = p.id == pid if created else (p.merchant == merchant) & (p.invoice_id == invoice_id)
            row = db.execute(select(payouts).where(where)).mappings().one()
        return _payout(row), created

    def get(self, pid: str) -> Payout | None:
        with self._read() as db:
            return _payout(db.execute(select(payouts).where(payouts.c.id == pid)).mappings().first())

    def transition(self, pid: str, from_statuses: tuple[str, ...], to: str, **fields) -> bool:
        """Move to ``to`` only from one of ``from_statuses``; True when this call did it
        (and then, in the same transaction, the notification it causes is written)."""
        unknown = set(fields) - set(_PAYOUT_FIELDS)
        if unknown:
            raise ValueError(f"not payout columns: {sorted(unknown)}")
        p = payouts.c
        with self._write() as db:
            row = db.execute(update(payouts).where(p.id == pid, p.status.in_(tuple(from_statuses)))
                             .values(status=to, updated_at=time.time(), **_typed(payouts, fields))
                             .returning(*payouts.c)).mappings().first()
            if row is not None and self.notices is not None and to not in from_statuses:
                _outbox(db, self.engine, self.notices(_payout(row)))
            return row is not None

    def note(self, pid: str, status: str, **fields) -> bool:
        """Record what the gateway said while the status stays ``status``."""
        return self.transition(pid, (status,), status, **fields)

    def keep_draft(self, pid: str, draft: dict | None) -> None:
        """Keep the payout form the customer just sent (never a card number) for the
        page that shows the outcome (post/redirect/get)."""
        kept = json.dumps(draft, separators=(",", ":"), ensure_ascii=False) if draft is not None else None
        with self._write() as db:
            db.execute(update(payouts).where(payouts.c.id == pid).values(draft=kept))

    def unchanged_since(self, status: str, before: float, limit: int = 20) -> list[Payout]:
        """Payouts in ``status`` that nothing wrote to since ``before`` (the worker asks
        the gateway about them; asking writes, so each is asked at most once a while)."""
        p = payouts.c
        with self._read() as db:
            rows = db.execute(select(payouts).where(p.status == status, p.updated_at <= before)
                              .order_by(p.updated_at).limit(limit)).mappings().all()
        return [_payout(r) for r in rows]


# -- the outbox --------------------------------------------------------------------------
@dataclass(frozen=True)
class Notification(Outbound):
    """A notification as the outbox keeps it: what was written, and its delivery."""

    state: str
    attempts: int
    round: int
    next_at: float
    lease_until: float | None
    leased_by: str | None
    created_at: float
    updated_at: float
    delivered_at: float | None


@dataclass(frozen=True)
class Attempt:
    """One delivery of a notification and what the merchant answered."""

    at: float
    http_status: int | None
    answer: str | None
    error: str | None
    worker: str | None = None
    id: int | None = None
    notification_id: str | None = None


class Outbox(_Tables):
    """The notifications to the merchants and every attempt to deliver them.

    A worker *claims* due notifications with a lease (``lease_until``): in one transaction
    it picks them (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so workers never wait on each
    other's rows; SQLite: the write lock taken at BEGIN IMMEDIATE) and marks them its own.
    Another worker takes a notification only once its lease is over, so two never send
    one at the same time, and one killed mid-delivery leaves it to the next."""

    def get(self, nid: str) -> Notification | None:
        with self._read() as db:
            row = db.execute(select(notifications).where(notifications.c.id == nid)).mappings().first()
        return Notification(**row) if row else None

    def of(self, merchant: str | None = None, state: str | None = None, subject: str | None = None,
           limit: int = 100) -> list[Notification]:
        """Notifications, newest first, by merchant, state and subject."""
        n = notifications.c
        statement = select(notifications)
        if merchant is not None:
            statement = statement.where(n.merchant == merchant)
        if state is not None:
            statement = statement.where(n.state == state)
        if subject is not None:
            statement = statement.where(n.subject == subject)
        with self._read() as db:
            rows = db.execute(statement.order_by(n.created_at.desc(), n.id).limit(limit)).mappings().all()
        return [Notification(**r) for r in rows]

    def attempts(self, nid: str) -> list[Attempt]:
        a = notification_attempts.c
        with self._read() as db:
            rows = db.execute(select(notification_attempts).where(a.notification_id == nid)
                              .order_by(a.at, a.id)).mappings().all()
        return [Attempt(**r) for r in rows]

    def add(self, out: Outbound) -> None:
        """Write a notification on its own (the state changes write theirs themselves)."""
        with self._write() as db:
            _outbox(db, self.engine, out)

    def claim(self, worker: str, now: float, lease_seconds: float, limit: int = 20) -> list[Notification]:
        """Take up to ``limit`` due notifications for ``worker`` until ``now + lease_seconds``."""
        n = notifications.c
        due = (n.state == NOTIFY_PENDING) & (n.next_at <= now) & (n.lease_until.is_(None) | (n.lease_until <= now))
        with self._write() as db:
            pick = select(n.id).where(due).order_by(n.next_at, n.id).limit(limit)
            if self.engine.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = list(db.execute(pick).scalars())
            if not ids:
                return []
            db.execute(update(notifications).where(n.id.in_(ids), due)
                       .values(lease_until=now + lease_seconds, leased_by=worker))
            rows = db.execute(select(notifications).where(n.id.in_(ids), n.leased_by == worker)
                              .order_by(n.next_at, n.id)).mappings().all()
        return [Notification(**r) for r in rows]

    def finish(self, nid: str, worker: str, attempt: Attempt, delivered: bool, next_at: float | None) -> bool:
        """Record ``attempt`` and what follows: delivered, tried again at ``next_at``, or
        failed (``next_at`` None). Only the worker holding the lease may; False otherwise."""
        n = notifications.c
        if delivered:
            values = {"state": DELIVERED, "delivered_at": attempt.at}
        elif next_at is None:
            values = {"state": FAILED}
        else:
            values = {"next_at": next_at}
        with self._write() as db:
            moved = db.execute(update(notifications).where(n.id == nid, n.leased_by == worker,
                                                           n.state == NOTIFY_PENDING)
                               .values(**values, attempts=n.attempts + 1, round=n.round + 1,
                                       lease_until=None, leased_by=None, updated_at=time.time())).rowcount == 1
            if moved:
                db.execute(insert(notification_attempts).values(
                    notification_id=nid, at=attempt.at, http_status=attempt.http_status,
                    answer=attempt.answer, error=attempt.error, worker=worker))
        return moved

    def resend(self, nid: str, now: float | None = None) -> bool:
        """Send a notification again from the start of the schedule (failed or not)."""
        n = notifications.c
        with self._write() as db:
            # A lease in force stays: a worker delivering it now finishes, and nobody
            # else sends it at the same time.
            return db.execute(update(notifications).where(n.id == nid).values(
                state=NOTIFY_PENDING, round=0, next_at=time.time() if now is None else now,
                updated_at=time.time())).rowcount == 1


# -- the app ---------------------------------------------------------------------------
def init_app(app: Flask) -> None:
    """One engine for the app (its pool shared by the checkouts and the payouts), on
    ``DATABASE`` or, when unset, ``<instance>/checkout.sqlite3``. The schema is the
    migrations' business (``checkout.schema.init_app``, ``checkout.migrations``)."""
    database = app.config.get("DATABASE") or str(Path(app.instance_path) / "checkout.sqlite3")
    engine = make_engine(database)
    app.extensions["checkout.store"] = Store(engine)
    app.extensions["checkout.payouts"] = PayoutStore(engine)
    app.extensions["checkout.outbox"] = Outbox(engine)
