"""Checkout state that must be shared and durable: which checkout is paid or in flight
(so a link is never charged twice), declines, the 3-D Secure context and idempotency
keys. SQLite (stdlib, WAL) behind a small interface. No card number or CVV ever comes
here: a masked PAN (first six, last four) is the most that is kept."""
from __future__ import annotations

import time
from dataclasses import dataclass

from .sqlite import Database

OPEN = "open"
PROCESSING = "processing"
AWAITING_3DS = "awaiting_3ds"
COMPLETED = "completed"
DECLINED = "declined"
PENDING = "pending"
CANCELLED = "cancelled"
STATES = (OPEN, PROCESSING, AWAITING_3DS, COMPLETED, DECLINED, PENDING, CANCELLED)

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkouts (
    id TEXT PRIMARY KEY,
    merchant TEXT NOT NULL,
    invoice_id TEXT,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    transaction_id TEXT,
    seen_transactions TEXT NOT NULL DEFAULT '',
    status TEXT,
    status_code INTEGER,
    reason TEXT,
    reason_code INTEGER,
    masked_pan TEXT,
    brand TEXT,
    declines INTEGER NOT NULL DEFAULT 0,
    charges INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS declines (
    ip TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS declines_ip ON declines (ip, at);
CREATE TABLE IF NOT EXISTS threeds (
    md TEXT NOT NULL,
    checkout_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    used_at REAL,
    PRIMARY KEY (md, checkout_id)
);
CREATE TABLE IF NOT EXISTS idempotency (
    merchant TEXT NOT NULL,
    key TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (merchant, key)
);
"""

_FIELDS = ("transaction_id", "status", "status_code", "reason", "reason_code", "masked_pan", "brand")
_ATTEMPT_FIELDS = ("transaction_id", "status", "status_code", "reason", "reason_code")


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


class Store:
    """SQLite store; one connection per thread, each write its own transaction."""

    def __init__(self, path: str):
        self.path = path
        self._db = Database(path, SCHEMA)
        self._connect = self._db.connect
        self._tx = self._db.tx

    # -- checkouts ---------------------------------------------------------------------
    def ensure(self, checkout_id: str, merchant: str, invoice_id: str | None, amount: str,
               currency: str) -> Checkout:
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO checkouts (id, merchant, invoice_id, amount, currency,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (checkout_id, merchant, invoice_id, amount, currency, now, now))
        return self.get(checkout_id)

    def get(self, checkout_id: str) -> Checkout | None:
        row = self._connect().execute("SELECT * FROM checkouts WHERE id = ?", (checkout_id,)).fetchone()
        return Checkout(**dict(row)) if row else None

    @staticmethod
    def _set_clause(to_state: str, fields: dict) -> tuple[str, list]:
        assert to_state in STATES and set(fields) <= set(_FIELDS), fields
        if to_state == PROCESSING:
            # A new attempt starts clean: the last one's transaction id and answer must never
            # stand for this one (its status check would ask about the old transaction).
            fields = {**dict.fromkeys(_ATTEMPT_FIELDS), **fields}
        sets = ["state = ?", "updated_at = ?"] + [f"{k} = ?" for k in fields]
        args: list = [to_state, time.time(), *fields.values()]
        if fields.get("transaction_id"):
            sets.append("seen_transactions = seen_transactions || ? || ','")
            args.append(str(fields["transaction_id"]))
        if to_state == PROCESSING:
            sets.append("charges = charges + 1")
        if to_state == DECLINED:
            sets.append("declines = declines + 1")
        return ", ".join(sets), args

    def transition(self, checkout_id: str, from_states: tuple[str, ...], to_state: str,
                   max_declines: int | None = None, **fields) -> bool:
        """Compare-and-set: move to ``to_state`` only from one of ``from_states`` (and,
        with ``max_declines``, only while fewer declines were recorded). True when this
        call made the move: the single winner of concurrent submissions. Moving to
        ``declined`` counts a decline."""
        sets, args = self._set_clause(to_state, fields)
        where = f"id = ? AND state IN ({','.join('?' * len(from_states))})"
        args += [checkout_id, *from_states]
        if max_declines is not None:
            where += " AND declines < ?"
            args.append(max_declines)
        with self._tx() as db:
            return db.execute(f"UPDATE checkouts SET {sets} WHERE {where}", args).rowcount == 1

    def note(self, checkout_id: str, **fields) -> None:
        """Record gateway facts (transaction id, status) without changing the state."""
        assert fields and set(fields) <= set(_FIELDS), fields
        sets = [f"{k} = ?" for k in fields] + ["updated_at = ?"]
        args = [*fields.values(), time.time()]
        if fields.get("transaction_id"):
            sets.append("seen_transactions = seen_transactions || ? || ','")
            args.append(str(fields["transaction_id"]))
        with self._tx() as db:
            db.execute(f"UPDATE checkouts SET {', '.join(sets)} WHERE id = ?", [*args, checkout_id])

    def has_siblings(self, checkout_id: str, merchant: str, invoice_id: str) -> bool:
        """True when another checkout of this merchant carries the same invoiceId."""
        row = self._connect().execute(
            "SELECT 1 FROM checkouts WHERE merchant = ? AND invoice_id = ? AND id != ? LIMIT 1",
            (merchant, invoice_id, checkout_id)).fetchone()
        return row is not None

    def add_seen(self, checkout_id: str, transaction_ids) -> None:
        """Transactions that are not this checkout's charge (so a later lookup by invoice
        does not mistake them for it)."""
        ids = "".join(f"{t}," for t in transaction_ids)
        if ids:
            with self._tx() as db:
                db.execute("UPDATE checkouts SET seen_transactions = seen_transactions || ? WHERE id = ?",
                           (ids, checkout_id))

    def record_decline(self, checkout_id: str, from_states: tuple[str, ...], ip: str | None,
                       **fields) -> bool:
        """Move to ``declined`` (counted per checkout and per client address)."""
        moved = self.transition(checkout_id, from_states, DECLINED, **fields)
        if moved and ip:
            with self._tx() as db:
                db.execute("INSERT INTO declines (ip, at) VALUES (?, ?)", (ip, time.time()))
        return moved

    def declines_from(self, ip: str, window: float) -> int:
        row = self._connect().execute("SELECT COUNT(*) FROM declines WHERE ip = ? AND at > ?",
                                      (ip, time.time() - window)).fetchone()
        return row[0]

    # -- 3-D Secure context ------------------------------------------------------------
    def save_3ds(self, md: str, checkout_id: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO threeds (md, checkout_id, created_at) VALUES (?, ?, ?)",
                       (str(md), checkout_id, time.time()))

    def take_3ds(self, md: str, checkout_id: str) -> bool:
        """Consume the 3-D Secure context: true once per (MD, checkout)."""
        with self._tx() as db:
            cur = db.execute("UPDATE threeds SET used_at = ? WHERE md = ? AND checkout_id = ?"
                             " AND used_at IS NULL", (time.time(), str(md), checkout_id))
            return cur.rowcount == 1

    # -- idempotency -------------------------------------------------------------------
    #: How long an Idempotency-Key is remembered (as Stripe does): a key sent again later
    #: makes a new link, and the table does not grow for ever.
    IDEMPOTENCY_SECONDS = 24 * 3600

    def idempotent(self, merchant: str, key: str, body_hash: str, response: str) -> tuple[str, str]:
        """Remember ``response`` for (merchant, key) unless one is there; return the stored
        (body_hash, response)."""
        now = time.time()
        with self._tx() as db:
            db.execute("DELETE FROM idempotency WHERE created_at < ?", (now - self.IDEMPOTENCY_SECONDS,))
            db.execute("INSERT OR IGNORE INTO idempotency VALUES (?, ?, ?, ?, ?)",
                       (merchant, key, body_hash, response, now))
            row = db.execute("SELECT body_hash, response FROM idempotency WHERE merchant = ? AND key = ?",
                             (merchant, key)).fetchone()
            return row[0], row[1]

    def find_idempotent(self, merchant: str, key: str) -> tuple[str, str] | None:
        row = self._connect().execute(
            "SELECT body_hash, response FROM idempotency WHERE merchant = ? AND key = ? AND created_at >= ?",
            (merchant, key, time.time() - self.IDEMPOTENCY_SECONDS)).fetchone()
        return (row[0], row[1]) if row else None
