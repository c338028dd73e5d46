"""State that must be shared and durable: which checkout is paid or in flight (so a link
is never charged twice), declines, the 3-D Secure context, idempotency keys, and payouts.

SQLAlchemy Core on one engine per app: SQLite (WAL) by default, embedded; PostgreSQL
(psycopg 3) when several servers share one database. The tables are declared once here;
``checkout/migrations`` (Alembic) creates and changes them, never this module.

Every claim is a compare-and-set (``UPDATE ... WHERE state IN (...)``, this call won when
it changed one row), atomic on both engines: on SQLite each write transaction begins
``IMMEDIATE`` (it takes the file's write lock before it reads), on PostgreSQL the
concurrent UPDATE waits for the row and re-checks its WHERE on the winner's version.

No card number or CVV ever comes here: only the whitelisted columns can be written, and a
masked PAN (first six, last four) is the most that is kept."""
from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
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
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
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
STATES = (OPEN, PROCESSING, AWAITING_3DS, COMPLETED, DECLINED, PENDING, CANCELLED)

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
)

declines = Table(
    "declines", metadata,
    Column("ip", Text, nullable=False),
    Column("at", Seconds, nullable=False),
    Index("declines_ip", "ip", "at"),
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
)
#: One payout per merchant order id (payouts without one are not limited).
_PAYOUT_INVOICE_WHERE = payouts.c.invoice_id.is_not(None)
Index("payouts_invoice", payouts.c.merchant, payouts.c.invoice_id, unique=True,
      sqlite_where=_PAYOUT_INVOICE_WHERE, postgresql_where=_PAYOUT_INVOICE_WHERE)

#: The only checkout columns a caller may write (no place for a card number or CVV).
_FIELDS = ("transaction_id", "status", "status_code", "reason", "reason_code", "masked_pan", "brand")
_ATTEMPT_FIELDS = ("transaction_id", "status", "status_code", "reason", "reason_code")
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


def _typed(table: Table, fields: dict[str, Any]) -> dict[str, Any]:
    """Values as the column's type wants them: SQLite's column affinity made a gateway's
    numeric transaction id text, and a status code given as "4" an integer; PostgreSQL
    would refuse either, so do the same conversion here for both engines."""
    out = {}
    for key, value in fields.items():
        if value is not None and not isinstance(value, bool):
            if isinstance(table.c[key].type, Text):
                value = str(value)
            elif isinstance(table.c[key].type, Integer) and isinstance(value, str) and value.lstrip("-").isdigit():
                value = int(value)
        out[key] = value
    return out


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

    @property
    def transactions(self) -> list[str]:
        return [t for t in self.seen_transactions.split(",") if t]


def _writable(fields: dict[str, Any]) -> None:
    """Refuse any column outside the whitelist (a ``pan=`` or ``cvv=`` is a bug, loudly)."""
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise ValueError(f"not checkout columns that may be written: {sorted(unknown)}")


def _seen(values: dict[str, Any], fields: dict[str, Any]) -> None:
    """Append a new transaction id to ``seen_transactions`` (one SQL expression on both engines)."""
    if fields.get("transaction_id"):
        values["seen_transactions"] = checkouts.c.seen_transactions + f"{fields['transaction_id']},"


class Store(_Tables):
    """The checkouts and what hangs on them; one engine, each call its own transaction.
    ``database``: a SQLite path, a URL, or an engine to share (see :func:`init_app`)."""

    # -- checkouts ---------------------------------------------------------------------
    def ensure(self, checkout_id: str, merchant: str, invoice_id: str | None, amount: str,
               currency: str) -> Checkout:
        now = time.time()
        with self._write() as db:
            db.execute(_insert(self.engine, checkouts).values(
                id=checkout_id, merchant=merchant, invoice_id=invoice_id, amount=amount, currency=currency,
                created_at=now, updated_at=now).on_conflict_do_nothing(index_elements=[checkouts.c.id]))
        return self.get(checkout_id)

    def get(self, checkout_id: str) -> Checkout | None:
        with self._read() as db:
            row = db.execute(select(checkouts).where(checkouts.c.id == checkout_id)).mappings().first()
        return Checkout(**row) if row else None

    @staticmethod
    def _moves(to_state: str, fields: dict[str, Any]) -> dict[str, Any]:
        """The SET of a move to ``to_state``."""
        _writable(fields)
        if to_state not in STATES:
            raise ValueError(f"not a checkout state: {to_state!r}")
        if to_state == PROCESSING:
            # A new attempt starts clean: the last one's transaction id and answer must never
            # stand for this one (its status check would ask about the old transaction).
            fields = {**dict.fromkeys(_ATTEMPT_FIELDS), **fields}
        values: dict[str, Any] = {"state": to_state, "updated_at": time.time(), **_typed(checkouts, fields)}
        _seen(values, fields)
        if to_state == PROCESSING:
            values["charges"] = checkouts.c.charges + 1
        if to_state == DECLINED:
            values["declines"] = checkouts.c.declines + 1
        return values

    @staticmethod
    def _transition(db: Connection, checkout_id: str, from_states: tuple[str, ...], max_declines: int | None,
                    values: dict[str, Any]) -> bool:
        c = checkouts.c
        statement = update(checkouts).where(c.id == checkout_id, c.state.in_(tuple(from_states)))
        if max_declines is not None:
            statement = statement.where(c.declines < max_declines)
        return db.execute(statement.values(values)).rowcount == 1

    def transition(self, checkout_id: str, from_states: tuple[str, ...], to_state: str,
                   max_declines: int | None = None, **fields) -> bool:
        """Compare-and-set: move to ``to_state`` only from one of ``from_states`` (and,
        with ``max_declines``, only while fewer declines were recorded). True when this
        call made the move: the single winner of concurrent submissions. Moving to
        ``declined`` counts a decline."""
        values = self._moves(to_state, fields)
        with self._write() as db:
            return self._transition(db, checkout_id, from_states, max_declines, values)

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
        """Move to ``declined`` (counted per checkout and per client address, in one
        transaction: a decline that loses the race is counted nowhere)."""
        values = self._moves(DECLINED, fields)
        with self._write() as db:
            moved = self._transition(db, checkout_id, from_states, None, values)
            if moved and ip:
                db.execute(insert(declines).values(ip=ip, at=time.time()))
        return moved

    def declines_from(self, ip: str, window: float) -> int:
        with self._read() as db:
            return db.execute(select(func.count()).select_from(declines)
                              .where(declines.c.ip == ip, declines.c.at > time.time() - window)).scalar_one()

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

    def await_3ds(self, checkout_id: str, from_states: tuple[str, ...], md: str, **fields) -> bool:
        """Move to ``awaiting_3ds`` and keep the ACS round trip's context, in one
        transaction: the ACS's answer is never refused for a context that a failure
        between the two writes lost."""
        values = self._moves(AWAITING_3DS, fields)
        with self._write() as db:
            moved = self._transition(db, checkout_id, from_states, None, values)
            if moved:
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
        """Move to ``to`` only from one of ``from_statuses``; True when this call did it."""
        unknown = set(fields) - set(_PAYOUT_FIELDS)
        if unknown:
            raise ValueError(f"not payout columns: {sorted(unknown)}")
        p = payouts.c
        with self._write() as db:
            return db.execute(update(payouts).where(p.id == pid, p.status.in_(tuple(from_statuses)))
                              .values(status=to, updated_at=time.time(), **_typed(payouts, fields))).rowcount == 1

    def note(self, pid: str, status: str, **fields) -> bool:
        """Record what the gateway said while the status stays ``status``."""
        return self.transition(pid, (status,), status, **fields)


# -- the app ---------------------------------------------------------------------------
def init_app(app: Flask) -> None:
    """One engine for the app (its pool shared by the checkouts and the payouts), on
    ``DATABASE`` or, when unset, ``<instance>/checkout.sqlite3``. The schema is the
    migrations' business (``checkout.migrations.init_app``)."""
    database = app.config.get("DATABASE") or str(Path(app.instance_path) / "checkout.sqlite3")
    engine = make_engine(database)
    app.extensions["checkout.store"] = Store(engine)
    app.extensions["checkout.payouts"] = PayoutStore(engine)
