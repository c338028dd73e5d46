"""The checkout store, on SQLite and on PostgreSQL: single use (compare-and-set), decline
limits, the single-use 3-D Secure context, idempotency keys, payouts, and no card data
at rest."""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import EXTRA_FIELDS
from sqlalchemy import func, inspect, select

from checkout import migrations
from checkout import store as st
from checkout.store import PayoutStore, Store


def migrated(database: str) -> Store:
    """A Store on ``database`` with the schema at head (as the app's start makes it)."""
    store = Store(database)
    migrations.upgrade(store.engine)
    return store


@pytest.fixture
def store(database) -> Iterator[Store]:
    s = migrated(database)
    yield s
    s.engine.dispose()


def _new(store: Store, cid: str = "c1") -> st.Checkout:
    return store.ensure(cid, "pbid_test", "inv-1", "10.66", "USD")


def test_ensure_is_idempotent(store):
    first = _new(store)
    assert (first.state, first.amount, first.currency, first.invoice_id) == (st.OPEN, "10.66", "USD", "inv-1")
    assert store.transition("c1", (st.OPEN,), st.PROCESSING)
    again = store.ensure("c1", "pbid_test", "other", "99.00", "EUR")
    assert again.state == st.PROCESSING and again.amount == "10.66" and again.created_at == first.created_at
    assert store.get("missing") is None


def test_transition_is_compare_and_set(store):
    _new(store)
    assert store.transition("c1", (st.OPEN, st.DECLINED), st.PROCESSING, masked_pan="424242******4242")
    assert not store.transition("c1", (st.OPEN, st.DECLINED), st.PROCESSING)  # second claim loses
    row = store.get("c1")
    assert row.state == st.PROCESSING and row.charges == 1 and row.masked_pan == "424242******4242"
    assert store.transition("c1", (st.PROCESSING,), st.COMPLETED, transaction_id="7", status="Completed",
                            status_code=4)
    assert not store.transition("c1", (st.OPEN, st.DECLINED), st.PROCESSING)  # paid: never again
    row = store.get("c1")
    assert (row.state, row.transaction_id, row.status_code, row.transactions) == (st.COMPLETED, "7", 4, ["7"])


def test_unknown_fields_cannot_be_written(store):
    _new(store)
    with pytest.raises(ValueError, match="pan"):
        store.transition("c1", (st.OPEN,), st.PROCESSING, pan="4242424242424242")
    with pytest.raises(ValueError, match="cvv"):
        store.note("c1", cvv="123")
    with pytest.raises(ValueError):
        store.record_decline("c1", (st.OPEN,), None, card_number="4242424242424242")
    assert store.get("c1").state == st.OPEN


def at_once(stores: list, act) -> tuple[list, float]:
    """``act(store)`` for every store at the same moment, each in its own thread (each
    store connected first, so the race is ``act`` itself); (the answers, wall seconds)."""
    barrier = threading.Barrier(len(stores))
    answers: list = []
    errors: list[Exception] = []

    def run(s) -> None:
        s.ping()
        barrier.wait()
        try:
            answers.append(act(s))
        except Exception as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    assert not errors, errors
    return answers, elapsed


def race(stores: list[Store], cid: str = "c1") -> tuple[list[bool], float]:
    """Every store claims ``cid`` at the same moment; (each one's answer, wall seconds)."""
    return at_once(stores, lambda s: s.transition(cid, (st.OPEN, st.DECLINED), st.PROCESSING, max_declines=3))


@pytest.mark.parametrize("servers", [8, 50])
def test_concurrent_claims_have_exactly_one_winner(database, servers):
    """One Store and engine per thread, as separate servers sharing the database have."""
    migrated(database).ensure("c1", "pbid_test", None, "1.00", "USD")
    stores = [Store(database) for _ in range(servers)]
    try:
        wins, elapsed = race(stores)
    finally:
        for s in stores:
            s.engine.dispose()
    assert sorted(wins) == [False] * (servers - 1) + [True]
    fresh = Store(database)
    assert fresh.get("c1").charges == 1 and fresh.get("c1").state == st.PROCESSING
    fresh.engine.dispose()
    print(f"\n{servers} concurrent claims on {fresh.engine.dialect.name}: "
          f"{wins.count(True)} winner, {elapsed * 1000:.0f} ms")


def test_concurrent_claims_on_one_shared_store(store):
    _new(store)
    wins, _ = at_once([store] * 8, lambda s: s.transition("c1", (st.OPEN,), st.PROCESSING))
    assert wins.count(True) == 1 and len(wins) == 8


def test_max_declines_blocks_the_claim(store):
    _new(store)
    for _ in range(3):
        assert store.transition("c1", (st.OPEN, st.DECLINED), st.PROCESSING, max_declines=3)
        assert store.record_decline("c1", (st.PROCESSING,), "10.0.0.1", reason="Insufficient Funds",
                                    reason_code=5051)
    row = store.get("c1")
    assert (row.state, row.declines, row.reason_code) == (st.DECLINED, 3, 5051)
    assert not store.transition("c1", (st.OPEN, st.DECLINED), st.PROCESSING, max_declines=3)
    assert store.get("c1").charges == 3


def test_declines_count_per_checkout_and_per_ip(store):
    _new(store, "a")
    _new(store, "b")
    for cid, ip in (("a", "10.0.0.1"), ("b", "10.0.0.1"), ("b", "10.0.0.2")):
        store.transition(cid, (st.OPEN, st.DECLINED), st.PROCESSING)
        assert store.record_decline(cid, (st.PROCESSING,), ip)
    assert store.get("a").declines == 1 and store.get("b").declines == 2
    assert store.declines_from("10.0.0.1", 3600) == 2
    assert store.declines_from("10.0.0.2", 3600) == 1
    assert store.declines_from("10.0.0.3", 3600) == 0
    # A decline that loses the race (the state moved on) is not counted.
    assert not store.record_decline("a", (st.PROCESSING,), "10.0.0.1")
    assert store.declines_from("10.0.0.1", 3600) == 2 and store.get("a").declines == 1


def test_declines_from_respects_the_window(store, monkeypatch):
    _new(store)
    store.transition("c1", (st.OPEN,), st.PROCESSING)
    store.record_decline("c1", (st.PROCESSING,), "10.0.0.9")
    assert store.declines_from("10.0.0.9", 60) == 1
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert store.declines_from("10.0.0.9", 60) == 0
    assert store.declines_from("10.0.0.9", 3600) == 1


def test_3ds_context_is_single_use_and_bound_to_the_checkout(store):
    _new(store, "a")
    _new(store, "b")
    store.save_3ds("529", "a")
    assert not store.take_3ds("529", "b")  # another checkout cannot use it
    assert not store.take_3ds("530", "a")  # nor another MD
    assert store.take_3ds("529", "a")
    assert not store.take_3ds("529", "a")  # replay


def test_awaiting_3ds_keeps_its_context_in_the_same_move(store):
    _new(store, "a")
    assert not store.await_3ds("a", (st.PROCESSING,), "601", transaction_id="601")  # not claimed: no move
    assert not store.take_3ds("601", "a")  # and no context either
    assert store.transition("a", (st.OPEN,), st.PROCESSING)
    assert store.await_3ds("a", (st.PROCESSING,), "601", transaction_id="601", status="AwaitingAuthentication",
                           status_code=1)
    row = store.get("a")
    assert (row.state, row.transaction_id, row.status_code) == (st.AWAITING_3DS, "601", 1)
    assert store.take_3ds("601", "a") and not store.take_3ds("601", "a")


def test_idempotency_keys(store):
    assert store.find_idempotent("pbid_test", "k1") is None
    assert store.idempotent("pbid_test", "k1", "hash-1", '{"a": 1}') == ("hash-1", '{"a": 1}')
    # The first answer stays; a later one (even with another body) gets the stored one back.
    assert store.idempotent("pbid_test", "k1", "hash-2", '{"a": 2}') == ("hash-1", '{"a": 1}')
    assert store.find_idempotent("pbid_test", "k1") == ("hash-1", '{"a": 1}')
    # Keys are per merchant.
    assert store.find_idempotent("other", "k1") is None
    assert store.idempotent("other", "k1", "hash-3", "{}") == ("hash-3", "{}")


def test_idempotency_keys_are_forgotten_after_a_day(store, monkeypatch):
    store.idempotent("pbid_test", "k1", "hash-1", '{"a": 1}')
    later = time.time() + Store.IDEMPOTENCY_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert store.find_idempotent("pbid_test", "k1") is None
    # The key makes a new answer, and the old row is gone from the file.
    assert store.idempotent("pbid_test", "k1", "hash-2", '{"a": 2}') == ("hash-2", '{"a": 2}')
    with store.engine.connect() as db:
        assert db.execute(select(func.count()).select_from(st.idempotency)).scalar_one() == 1


def test_state_survives_a_new_store_on_the_same_database(store, database):
    store.ensure("c1", "pbid_test", None, "5.00", "EUR")
    store.transition("c1", (st.OPEN,), st.PROCESSING)
    store.engine.dispose()
    again = Store(database)
    assert again.get("c1").state == st.PROCESSING
    again.engine.dispose()


def test_schema_has_no_place_for_a_card_number_or_cvv(store):
    schema = inspect(store.engine)
    tables = schema.get_table_names()
    assert {"checkouts", "attempts", "threeds", "idempotency", "payouts"} <= set(tables)
    for table in tables:
        for column in schema.get_columns(table):
            name = column["name"].lower()
            if name == "masked_pan":
                continue
            assert not re.search(r"pan|cvv|cvc|csc|card|number", name), f"{table}.{name}"


# -- payouts -----------------------------------------------------------------------------
@pytest.fixture
def payout_store(store) -> PayoutStore:
    return PayoutStore(store.engine)


def _payout(payouts: PayoutStore, invoice_id: str | None = "order-1", status: str = "CREATED"):
    return payouts.create(merchant="pbid_test", amount="12.30", currency="EUR", invoice_id=invoice_id,
                          description="", customer={"firstName": "Jane", "lastName": "Doe"}, kyc_verified=True,
                          locale="en_US", success_url=None, failure_url=None, request_hash="h", status=status)


def test_payout_create_is_once_per_order_id(payout_store):
    first, created = _payout(payout_store)
    assert created and first.status == "CREATED" and first.customer["firstName"] == "Jane" and first.kyc_verified
    again, created = _payout(payout_store)
    assert not created and again.id == first.id
    # No order id: each request is a payout of its own.
    assert _payout(payout_store, None)[1] and _payout(payout_store, None)[1]
    assert payout_store.get(first.id) == first and payout_store.get("po_missing") is None


def test_payout_is_claimed_once(payout_store):
    payout, _ = _payout(payout_store)
    assert payout_store.transition(payout.id, ("CREATED",), "PENDING", method="card", destination="424242******4242",
                                   status_code="2")
    assert not payout_store.transition(payout.id, ("CREATED",), "PENDING")  # the second submission loses
    assert payout_store.note(payout.id, "PENDING", transaction_id=77, gateway_status="Created")
    assert not payout_store.note(payout.id, "CREATED", reason="late")
    got = payout_store.get(payout.id)
    assert (got.status, got.status_code, got.transaction_id, got.final) == ("PENDING", 2, "77", False)
    with pytest.raises(ValueError, match="pan"):
        payout_store.transition(payout.id, ("PENDING",), "PROCESSED", pan="4242424242424242")


def test_concurrent_payout_claims_have_one_winner(payout_store, database):
    payout, _ = _payout(payout_store)
    stores = [PayoutStore(database) for _ in range(20)]
    wins, _ = at_once(stores, lambda s: s.transition(payout.id, ("CREATED",), "PENDING"))
    for s in stores:
        s.engine.dispose()
    assert sorted(wins) == [False] * 19 + [True]


def test_concurrent_creates_of_one_order_make_one_payout(payout_store, database):
    stores = [PayoutStore(database) for _ in range(10)]
    made, _ = at_once(stores, lambda s: _payout(s, "order-race"))
    for s in stores:
        s.engine.dispose()
    assert [created for _, created in made].count(True) == 1
    assert len({p.id for p, _ in made}) == 1


def _csrf(html: str) -> str:
    """The card form's CSRF token (saved cards, when shown, come first)."""
    card_form = html[html.index("data-card-form"):]
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', card_form)[1]


def test_no_card_data_in_the_database_files_after_payments(app, client, make_link, tmp_path, stored_bytes):
    # A completed payment, a declined one and a 3-D Secure one, all through the real pages.
    for number, cvv, invoice in (("4242 4242 4242 4242", "123", "inv-ok"), ("4242424242424242", "333", "inv-no"),
                                 ("4111 1111 1111 1111", "123", "inv-3ds")):
        path = make_link(invoiceId=invoice)
        html = client.get(path).get_data(as_text=True)
        response = client.post(f"{path}/card", data={**EXTRA_FIELDS, "csrf_token": _csrf(html), "name": "Jane Doe",
                                                     "number": number, "expiry": "12 / 39", "cvv": cvv})
        assert response.status_code in (200, 303, 402), response.status_code

    store = app.extensions["checkout.store"]
    with store.engine.connect() as db:
        rows = db.execute(select(st.checkouts.c.state, st.checkouts.c.masked_pan)).all()
    assert sorted(r.state for r in rows) == sorted([st.COMPLETED, st.DECLINED, st.AWAITING_3DS])
    assert {r.masked_pan for r in rows} == {"424242******4242", "411111******1111"}

    # Our store's files (SQLite: with its WAL; PostgreSQL: the database's files and the
    # write-ahead log), and the sandbox gateway's ledger, which sits in tmp_path.
    ledger = [p for p in tmp_path.iterdir() if p.name.startswith("sandbox.sqlite3")]
    data = stored_bytes(app) + b"".join(p.read_bytes() for p in ledger)
    if store.engine.dialect.name == "sqlite":
        assert (tmp_path / "checkout.sqlite3-wal").exists()
    assert b"424242******4242" in data  # we are reading the right bytes
    for needle in (b"4242424242424242", b"4242 4242 4242 4242", b"4111111111111111",
                   "4242424242424242".encode("utf-16-le")):
        assert needle not in data
    assert not re.search(rb"cvv\W{0,8}(123|333)", data, re.I)

