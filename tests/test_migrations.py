"""Alembic migrations: an empty database (SQLite, PostgreSQL) upgrades to head; a SQLite
file made before the migrations upgrades with its rows kept, by ``db upgrade`` and by a
sandbox's start; production refuses a database that is behind and names the command."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import base_config
from sqlalchemy import inspect, text

from checkout import ROOT, create_app, migrations, schema
from checkout import store as st
from checkout.config import ConfigError
from checkout.store import PayoutStore, Store, make_engine

TABLES = {"checkouts", "declines", "threeds", "idempotency", "payouts"}
#: The tables the second revision adds (the outbox).
OUTBOX_TABLES = {"notifications", "notification_attempts"}
#: The tables at head: the fourth revision replaced ``declines`` with ``attempts``.
HEAD_TABLES = (TABLES - {"declines"}) | OUTBOX_TABLES | {"attempts", "alembic_version"}
HEAD = "0004"
UPGRADE = "flask --app checkout db upgrade"

#: The "old code": the schema as checkout/store.py and checkout/payouts.py made it at
#: every start before the migrations (CREATE TABLE IF NOT EXISTS, no alembic_version).
OLD_SCHEMA = """
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


def old_file(path: Path) -> Path:
    """A store file as the old code left it: a completed checkout, a declined one (with
    its per-address decline), a used 3-D Secure context, an idempotency key, a payout."""
    now = time.time()
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute("INSERT INTO checkouts (id, merchant, invoice_id, amount, currency, state, transaction_id,"
               " seen_transactions, status, status_code, masked_pan, brand, charges, created_at, updated_at)"
               " VALUES ('paid', 'pbid_test', 'inv-1', '10.66', 'USD', 'completed', '7001', '7001,', 'Completed', 4,"
               " '424242******4242', 'visa', 1, ?, ?)", (now - 60, now - 30))
    db.execute("INSERT INTO checkouts (id, merchant, invoice_id, amount, currency, state, reason, reason_code,"
               " declines, charges, created_at, updated_at)"
               " VALUES ('no', 'pbid_test', 'inv-2', '5.00', 'EUR', 'declined', 'Insufficient Funds', 5051,"
               " 1, 1, ?, ?)",
               (now - 20, now - 10))
    db.execute("INSERT INTO declines VALUES ('10.0.0.1', ?)", (now - 10,))
    db.execute("INSERT INTO threeds VALUES ('529', 'paid', ?, ?)", (now - 50, now - 40))
    db.execute("INSERT INTO idempotency VALUES ('pbid_test', 'key-1', 'hash-1', '{\"link\": 1}', ?)", (now - 5,))
    db.execute("INSERT INTO payouts (id, merchant, amount, currency, invoice_id, customer, kyc_verified,"
               " request_hash, status, destination, created_at, updated_at)"
               " VALUES ('po_old', 'pbid_test', '12.30', 'EUR', 'order-1', ?, 1, 'h', 'PROCESSED',"
               " '424242******4242', ?, ?)", (json.dumps({"firstName": "Jane"}), now - 100, now - 90))
    db.commit()
    db.close()
    return path


def assert_old_rows_are_there(store: Store, payouts: PayoutStore) -> None:
    paid = store.get("paid")
    assert (paid.state, paid.transaction_id, paid.transactions, paid.status_code, paid.masked_pan, paid.charges) == (
        st.COMPLETED, "7001", ["7001"], 4, "424242******4242", 1)
    # Paid stays paid: no claim moves it.
    assert not store.transition("paid", (st.OPEN, st.DECLINED), st.PROCESSING)
    declined = store.get("no")
    assert (declined.state, declined.declines, declined.reason_code) == (st.DECLINED, 1, 5051)
    assert store.declines_from("10.0.0.1", 3600) == 1
    assert not store.take_3ds("529", "paid")  # used before: still used
    assert store.find_idempotent("pbid_test", "key-1") == ("hash-1", '{"link": 1}')
    payout = payouts.get("po_old")
    assert (payout.status, payout.customer, payout.kyc_verified, payout.final) == (
        "PROCESSED", {"firstName": "Jane"}, True, True)
    assert payouts.create(merchant="pbid_test", amount="1", currency="EUR", invoice_id="order-1", description="",
                          customer={}, kyc_verified=False, locale=None, success_url=None, failure_url=None,
                          request_hash="x", status="CREATED") == (payout, False)  # the old unique index holds
    # And the file takes new checkouts.
    assert store.ensure("new", "pbid_test", None, "1.00", "USD").state == st.OPEN


def production(tmp_path: Path, database: str) -> dict:
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([{"publicId": "pbid_shop", "secret": "shop_secret_0123456789"}]))
    return base_config(tmp_path, MODE="production", SECRET_KEYS="k" * 40, DATABASE=database,
                       GATEWAY_URL="http://127.0.0.1:9", MERCHANTS_FILE=str(merchants),
                       PUBLIC_URL="https://pay.shop.example")


def flask(config: dict, *args: str) -> subprocess.CompletedProcess:
    """``flask --app checkout ARGS`` in a process of its own, configured by CHECKOUT_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHECKOUT_", "FLASK_"))}
    env.update({f"CHECKOUT_{k}": str(v) for k, v in config.items() if v is not None})
    return subprocess.run([sys.executable, "-m", "flask", "--app", "checkout", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


# -- an empty database ---------------------------------------------------------------------
def test_an_empty_database_upgrades_to_head(empty_database):
    engine = make_engine(empty_database)
    try:
        assert migrations.current(engine) is None
        assert migrations.upgrade(engine) == migrations.head() == HEAD
        assert migrations.current(engine) == HEAD and migrations.behind(engine) is None
        assert set(inspect(engine).get_table_names()) == HEAD_TABLES
        indexes = {i["name"]: i for i in inspect(engine).get_indexes("payouts")}
        assert indexes["payouts_invoice"]["unique"]
        assert {i["name"] for i in inspect(engine).get_indexes("attempts")} == {
            "attempts_checkout", "attempts_ip", "attempts_fingerprint", "attempts_merchant"}
        # The first revision and the tables of checkout/store.py agree.
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), st.metadata) == []
        assert migrations.upgrade(engine) == HEAD  # again: nothing to do
    finally:
        engine.dispose()


def test_the_first_revision_is_the_old_schema(tmp_path):
    """Column by column (type, default, key) and index by index, as the old code made it."""
    old = sqlite3.connect(old_file(tmp_path / "old.sqlite3"))
    engine = make_engine(str(tmp_path / "new.sqlite3"))
    migrations.upgrade(engine, "0001")
    engine.dispose()
    new = sqlite3.connect(tmp_path / "new.sqlite3")

    def shape(db: sqlite3.Connection) -> dict:
        tables = {}
        for table in sorted(TABLES):
            # (name, type, not null, default, primary key); a TEXT primary key is NOT NULL now.
            columns = [(name, kind, bool(notnull) or bool(pk), default, pk)
                       for _, name, kind, notnull, default, pk in db.execute(f"PRAGMA table_info({table})")]
            indexes = sorted((unique, [c[2] for c in db.execute(f"PRAGMA index_info('{name}')")], partial)
                             for _, name, unique, _origin, partial in db.execute(f"PRAGMA index_list({table})"))
            tables[table] = (columns, indexes)
        return tables

    assert shape(new) == shape(old)
    named = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
    assert [(n, " ".join(s.split())) for n, s in new.execute(named)] == [
        ("declines_ip", "CREATE INDEX declines_ip ON declines (ip, at)"),
        ("payouts_invoice", "CREATE UNIQUE INDEX payouts_invoice ON payouts (merchant, invoice_id) "
                            "WHERE invoice_id IS NOT NULL")]


def test_postgresql_keeps_timestamps_to_the_microsecond(pg_empty_url):
    """REAL is 4 bytes on PostgreSQL: the seconds columns are DOUBLE PRECISION there."""
    store = Store(pg_empty_url)
    migrations.upgrade(store.engine)
    made = store.ensure("c1", "pbid_test", None, "1.00", "USD")
    assert abs(made.created_at - time.time()) < 5
    with store.engine.connect() as db:
        kind = db.execute(text("SELECT data_type FROM information_schema.columns"
                               " WHERE table_name = 'checkouts' AND column_name = 'created_at'")).scalar_one()
    assert kind == "double precision"
    store.engine.dispose()


# -- a file made by the old code -------------------------------------------------------------
def test_an_old_file_upgrades_with_its_rows_by_db_upgrade(tmp_path):
    path = old_file(tmp_path / "checkout.sqlite3")
    config = base_config(tmp_path, DATABASE=str(path))
    # The db commands see the file as it is: no upgrade by the sandbox's start first.
    current = flask(config, "db", "current")
    assert current.returncode == 0 and current.stdout.strip() == "none", current.stderr
    check = flask(config, "db", "check")
    assert check.returncode == 1 and f"the code needs {HEAD}: run `{UPGRADE}`" in check.stderr
    upgraded = flask(config, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from revision none to {HEAD}" in upgraded.stdout
    assert flask(config, "db", "current").stdout.strip() == HEAD
    assert flask(config, "db", "check").returncode == 0

    engine = make_engine(str(path))
    assert_old_rows_are_there(Store(engine), PayoutStore(engine))
    engine.dispose()


def test_an_old_file_upgrades_with_its_rows_when_a_sandbox_starts(tmp_path):
    path = old_file(tmp_path / "checkout.sqlite3")
    app = create_app(base_config(tmp_path, DATABASE=str(path)))
    assert migrations.current(app.extensions["checkout.store"].engine) == HEAD
    assert_old_rows_are_there(app.extensions["checkout.store"], app.extensions["checkout.payouts"])


def test_an_old_file_missing_a_table_gets_it(tmp_path):
    """A file older than the payouts: the first revision adds what is missing."""
    path = old_file(tmp_path / "checkout.sqlite3")
    db = sqlite3.connect(path)
    db.execute("DROP TABLE payouts")
    db.close()
    app = create_app(base_config(tmp_path, DATABASE=str(path)))
    assert app.extensions["checkout.store"].get("paid").state == st.COMPLETED
    assert app.extensions["checkout.payouts"].get("po_old") is None
    assert "payouts" in inspect(app.extensions["checkout.store"].engine).get_table_names()


# -- production ------------------------------------------------------------------------------
def test_production_refuses_an_empty_database_and_starts_after_db_upgrade(tmp_path, empty_database):
    config = production(tmp_path, empty_database)
    with pytest.raises(ConfigError) as refused:
        create_app(config)
    assert str(refused.value) == f"the database is at revision none, the code needs {HEAD}: run `{UPGRADE}`"
    # The very command the message names, in production mode, on that database.
    upgraded = flask(config, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    app = create_app(config)
    assert migrations.current(app.extensions["checkout.store"].engine) == HEAD
    app.extensions["checkout.store"].engine.dispose()


def test_production_refuses_an_old_file(tmp_path):
    config = production(tmp_path, str(old_file(tmp_path / "checkout.sqlite3")))
    with pytest.raises(ConfigError, match=f"revision none, the code needs {HEAD}"):
        create_app(config)
    assert flask(config, "db", "upgrade").returncode == 0
    app = create_app(config)
    assert app.extensions["checkout.store"].get("paid").state == st.COMPLETED


def test_production_refuses_a_database_newer_than_the_code(tmp_path):
    path = str(tmp_path / "checkout.sqlite3")
    engine = make_engine(path)
    migrations.upgrade(engine)
    with engine.begin() as db:
        db.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(ConfigError, match="revision 0099, which this code does not know"):
        create_app(production(tmp_path, path))


def test_db_current_and_check_print_head(app):
    runner = app.test_cli_runner()
    current = runner.invoke(args=["db", "current"])
    assert current.exit_code == 0 and current.stdout.strip() == migrations.head() == HEAD
    check = runner.invoke(args=["db", "check"])
    assert check.exit_code == 0 and f"{HEAD} (head)" in check.stdout
    again = runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0 and f"at revision {HEAD} (head)" in again.stdout


# -- the check at start, without Alembic ---------------------------------------------------
#: A server process that starts and prints the Alembic (and Mako) modules it imported.
IMPORTS = """
import sys
from checkout import create_app
create_app()
print(sorted(m for m in sys.modules if m.split(".")[0] in ("alembic", "mako") or m == "checkout.migrations"))
"""


def test_a_database_at_head_is_checked_without_alembic(tmp_path, empty_database):
    """checkout.schema reads the code's and the database's revisions as Alembic does, and
    a server whose database is at head starts without importing Alembic (some 10 MB of
    each worker); one whose database is behind upgrades as before."""
    engine = make_engine(empty_database)
    try:
        assert schema.head() == migrations.head() == HEAD
        assert schema.current(engine) is None and not schema.at_head(engine)
        migrations.upgrade(engine, "0003")
        assert schema.current(engine) == migrations.current(engine) == "0003" and not schema.at_head(engine)
        migrations.upgrade(engine)
        assert schema.current(engine) == migrations.current(engine) == HEAD and schema.at_head(engine)
    finally:
        engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKOUT_")}
    env.update({f"CHECKOUT_{k}": str(v) for k, v in base_config(tmp_path, DATABASE=empty_database).items()
                if v is not None})
    started = subprocess.run([sys.executable, "-c", IMPORTS], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
    assert started.returncode == 0 and started.stdout.strip() == "[]", started.stderr


# -- several servers starting at once ------------------------------------------------------
#: A server process: it imports the app, says so, and starts it when told to.
SERVER = """
import sys
from checkout import create_app
print("ready", flush=True)
sys.stdin.readline()
create_app()
"""


def test_servers_starting_at_once_upgrade_one_database_once(tmp_path, empty_database):
    """Six sandbox servers (processes, as gunicorn's workers are) start at the same moment
    on one empty database: every one starts, and the schema is made once."""
    servers = []
    for n in range(6):
        config = base_config(tmp_path / f"s{n}", DATABASE=empty_database)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKOUT_")}
        env.update({f"CHECKOUT_{k}": str(v) for k, v in config.items() if v is not None})
        servers.append(subprocess.Popen([sys.executable, "-c", SERVER], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for server in servers:
        assert server.stdout.readline().strip() == "ready", server.communicate()[1]
    for server in servers:  # go
        server.stdin.write("\n")
        server.stdin.flush()
    failures = [err for server in servers for _, err in [server.communicate(timeout=120)] if server.returncode]
    assert not failures, failures[0]
    engine = make_engine(empty_database)
    assert migrations.current(engine) == HEAD
    with engine.connect() as db:
        assert db.execute(text("SELECT COUNT(*) FROM alembic_version")).scalar_one() == 1
    assert set(inspect(engine).get_table_names()) == HEAD_TABLES
    engine.dispose()


def test_the_outbox_revision_keeps_the_checkouts_of_the_first(database):
    """A database at 0001 with checkouts in it gains the outbox and the new columns; its
    rows stay, the new columns empty (the worker leaves such a checkout to its page)."""
    engine = make_engine(database)
    try:
        migrations.upgrade(engine, "0001")
        with engine.begin() as db:
            db.execute(text("INSERT INTO checkouts (id, merchant, amount, currency, state, created_at, updated_at)"
                            " VALUES ('old', 'pbid_test', '1.00', 'USD', 'pending', 1, 1)"))
        assert migrations.upgrade(engine) == HEAD
        old = Store(engine).get("old")
        assert (old.state, old.payload, old.expires_at, old.checks) == ("pending", None, None, 0)
        assert OUTBOX_TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
