"""The checkout store: single use (compare-and-set), decline limits, the single-use 3-D
Secure context, idempotency keys, and no card data at rest."""
from __future__ import annotations

import re
import sqlite3
import threading
import time

import pytest
from conftest import EXTRA_FIELDS

from checkout import store as st
from checkout.store import Store


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(str(tmp_path / "store.sqlite3"))


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
    with pytest.raises(AssertionError):
        store.transition("c1", (st.OPEN,), st.PROCESSING, pan="4242424242424242")
    with pytest.raises(AssertionError):
        store.note("c1", cvv="123")
    assert store.get("c1").state == st.OPEN


def test_concurrent_claims_have_exactly_one_winner(tmp_path):
    path = str(tmp_path / "race.sqlite3")
    Store(path).ensure("c1", "pbid_test", None, "1.00", "USD")
    # One Store per thread, as separate app workers sharing the database would have.
    stores = [Store(path) for _ in range(8)]
    barrier = threading.Barrier(8)
    wins: list[bool] = []

    def claim(s: Store) -> None:
        barrier.wait()
        wins.append(s.transition("c1", (st.OPEN, st.DECLINED), st.PROCESSING, max_declines=3))

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]
    assert Store(path).get("c1").charges == 1


def test_concurrent_claims_on_one_shared_store(store):
    _new(store)
    barrier = threading.Barrier(8)
    wins: list[bool] = []

    def claim() -> None:
        barrier.wait()
        wins.append(store.transition("c1", (st.OPEN,), st.PROCESSING))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
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
    rows = sqlite3.connect(store.path).execute("SELECT COUNT(*) FROM idempotency").fetchone()[0]
    assert rows == 1


def test_state_survives_a_new_store_on_the_same_file(tmp_path):
    path = str(tmp_path / "durable.sqlite3")
    s = Store(path)
    s.ensure("c1", "pbid_test", None, "5.00", "EUR")
    s.transition("c1", (st.OPEN,), st.PROCESSING)
    assert Store(path).get("c1").state == st.PROCESSING


def test_schema_has_no_place_for_a_card_number_or_cvv(store):
    db = store._connect()
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert {"checkouts", "declines", "threeds", "idempotency"} <= set(tables)
    for table in tables:
        for column in db.execute(f"PRAGMA table_info({table})"):
            name = column["name"].lower()
            if name == "masked_pan":
                continue
            assert not re.search(r"pan|cvv|cvc|csc|card|number", name), f"{table}.{name}"


def _csrf(html: str) -> str:
    """The card form's CSRF token (saved cards, when shown, come first)."""
    card_form = html[html.index("data-card-form"):]
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', card_form)[1]


def test_no_card_data_in_the_database_files_after_payments(app, client, make_link, tmp_path):
    # A completed payment, a declined one and a 3-D Secure one, all through the real pages.
    for number, cvv, invoice in (("4242 4242 4242 4242", "123", "inv-ok"), ("4242424242424242", "333", "inv-no"),
                                 ("4111 1111 1111 1111", "123", "inv-3ds")):
        path = make_link(invoiceId=invoice)
        html = client.get(path).get_data(as_text=True)
        response = client.post(f"{path}/card", data={**EXTRA_FIELDS, "csrf_token": _csrf(html), "name": "Jane Doe",
                                                     "number": number, "expiry": "12 / 39", "cvv": cvv})
        assert response.status_code in (200, 303, 402), response.status_code

    store = app.extensions["checkout.store"]
    rows = store._connect().execute("SELECT state, masked_pan FROM checkouts").fetchall()
    assert sorted(r["state"] for r in rows) == sorted([st.COMPLETED, st.DECLINED, st.AWAITING_3DS])
    assert {r["masked_pan"] for r in rows} == {"424242******4242", "411111******1111"}

    # Our store's files (and the sandbox gateway's ledger, which sits beside it in sandbox mode).
    files = [p for p in tmp_path.iterdir() if ".sqlite3" in p.name]
    assert any(p.name == "checkout.sqlite3-wal" for p in files), files
    data = b"".join(p.read_bytes() for p in files)
    assert b"424242******4242" in data  # we are reading the right bytes
    for needle in (b"4242424242424242", b"4242 4242 4242 4242", b"4111111111111111",
                   "4242424242424242".encode("utf-16-le")):
        assert needle not in data
    assert not re.search(rb"cvv\W{0,8}(123|333)", data, re.I)

