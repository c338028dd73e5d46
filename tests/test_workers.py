"""The worker as operators run it (``flask --app checkout worker``, next to gunicorn
servers on one PostgreSQL): nothing is lost when a server is killed mid-charge, and
several workers deliver each notification exactly once."""
from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from receiver import Receiver, Reply
from test_servers import AUTH, BIN, K1, MERCHANT, REPO, Farm, Server, card_fields, make_link, open_page, path_of

from checkout import create_app
from checkout import store as st
from checkout.store import Outbound

pytestmark = pytest.mark.slow

SLOW_CARD = "4000000000000408"


class Worker:
    """``flask --app checkout worker`` in a process of its own."""

    def __init__(self, name: str, env: dict[str, str], logs: Path):
        self.log_path = logs / f"{name}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([str(BIN / "flask"), "--app", "checkout", "worker", "--interval", "0.1"],
                                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


@pytest.fixture
def receiver():
    r = Receiver(default=Reply(delay=0.01))
    yield r
    r.stop()


@pytest.fixture
def farm(pg_empty_url, tmp_path, receiver):
    farm = Farm(pg_empty_url, tmp_path)
    farm.merchants_file.write_text(json.dumps([{**MERCHANT, "notificationUrl": receiver.url + "/hooks"}]))
    try:
        yield farm
    finally:
        farm.stop()


def test_a_server_killed_mid_charge_loses_nothing(farm, receiver, tmp_path):
    """SIGKILL to a gunicorn server (master and workers) while the slow card is being
    charged: the claim was committed, the answer never recorded. A worker started after
    settles the checkout from the gateway's status; the merchant hears one
    ``checkout.completed``; the card was charged once."""
    farm.gateway_app.config["SANDBOX_SLOW_SECONDS"] = 3
    env = {**farm.env(K1), "CHECKOUT_GATEWAY_TIMEOUT": "6", "CHECKOUT_NOTIFY_SCHEDULE": "1s,1s,1s"}
    server = Server("crashing", env, tmp_path)
    farm.servers.append(server)
    link = make_link(server, invoiceId="crash-1")
    path = path_of(link)
    fields = {**card_fields(open_page(server, path).text), "number": SLOW_CARD}
    cid = httpx.get(server.url + "/checkout?invoiceId=crash-1", auth=AUTH).json()["checkouts"][0]["checkoutId"]

    def submit():
        try:
            httpx.post(server.url + path + "/card", data=fields, timeout=30)
        except httpx.HTTPError:
            pass  # the server died under it: the customer's browser shows an error

    customer = threading.Thread(target=submit)
    customer.start()
    deadline = time.monotonic() + 10
    while farm.ledger.count(MERCHANT["publicId"], "crash-1") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the gateway has the charge and is taking its time to answer
    assert farm.ledger.count(MERCHANT["publicId"], "crash-1") == 1
    killed_at = time.monotonic()
    server.kill()
    customer.join()
    # Restarted: a server for the API, and a worker.
    again = Server("restarted", env, tmp_path)
    farm.servers.append(again)
    state = httpx.get(again.url + f"/checkout/{cid}", auth=AUTH).json()["model"]["state"]
    assert state == "processing"  # claimed, the answer lost with the server
    assert receiver.received == []
    worker = Worker("worker", env, tmp_path)
    try:
        receiver.wait_for(1, timeout=60)
        settled_after = time.monotonic() - killed_at
        time.sleep(1.5)  # anything more would arrive by now
    finally:
        worker.stop()
    model = httpx.get(again.url + f"/checkout/{cid}", auth=AUTH).json()["model"]
    assert (model["state"], model["status"]) == ("completed", "Completed"), worker.log()
    assert [b["event"] for b in receiver.bodies()] == ["checkout.completed"]
    assert farm.ledger.count(MERCHANT["publicId"], "crash-1") == 1  # charged once
    print(f"\ncrash: settled and told {settled_after:.1f} s after the kill")


def test_two_workers_deliver_200_notifications_once_each(farm, receiver, tmp_path):
    env = farm.env(K1)
    app = create_app({"MODE": "production", "MERCHANTS_FILE": str(farm.merchants_file),
                      "DATABASE": farm.database_url, "SECRET_KEYS": K1, "GATEWAY_URL": farm.gateway.url,
                      "PUBLIC_URL": "https://pay.shop.example"})
    outbox = app.extensions["checkout.outbox"]
    ids = [f"ntf_{i:04d}" for i in range(200)]
    for nid in ids:
        body = json.dumps({"notificationId": nid, "event": "checkout.completed", "checkoutId": nid})
        outbox.add(Outbound(id=nid, merchant=MERCHANT["publicId"], subject=nid, event="checkout.completed",
                            key="checkout.completed", url=receiver.url + "/hooks", body=body))
    started = time.monotonic()
    workers = [Worker(f"worker{i}", env, tmp_path) for i in (1, 2)]
    try:
        receiver.wait_for(200, timeout=120)
        elapsed = time.monotonic() - started
        time.sleep(1.5)  # a duplicate would arrive by now
    finally:
        for w in workers:
            w.stop()
    sent = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert set(sent) == set(ids) and set(sent.values()) == {1}, sent.most_common(3)
    delivered = outbox.of(state=st.DELIVERED, limit=1000)
    assert len(delivered) == 200
    by_worker = Counter(outbox.attempts(n.id)[0].worker.rsplit(":", 2)[1] for n in delivered)
    assert len(by_worker) == 2, by_worker  # both took part
    app.extensions["checkout.store"].engine.dispose()
    print(f"\ntwo workers: 200 notifications delivered once each in {elapsed:.1f} s; by process {dict(by_worker)}")
