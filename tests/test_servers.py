"""Several servers, as README "Running several servers" runs them: two gunicorn servers
(two workers each, `gunicorn.conf.py`) sharing one PostgreSQL database and the signing
keys, with the sandbox gateway as its own server on another port. Nothing else is
shared: no sticky sessions, no disk.

- a link paid through one server is "already paid" on the other;
- 50 concurrent submissions of one checkout's card form, spread over both servers,
  make exactly one charge at the gateway;
- a key rotated on both servers still opens the links signed with the old key, and the
  new links are signed with the new key."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import EXTRA_FIELDS, Forms, LiveServer, seed_request

from checkout.gateway import sandbox

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
K1 = "k1-first-signing-key-0123456789abcdef"
K2 = "k2-second-signing-key-0123456789abcdef"
#: The servers run in production mode, as the README has them: a merchants file of real
#: merchants (production refuses the demo one), shared by the servers and the gateway.
MERCHANT = {"publicId": "pbid_farm", "secret": "farm-merchant-secret-0123456789abcdef", "name": "Farm Shop"}
AUTH = (MERCHANT["publicId"], MERCHANT["secret"])
PAID = "This payment is complete"
NOT_VALID = "This payment link is not valid"
SUBMISSIONS = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``gunicorn -c gunicorn.conf.py 'checkout:create_app()'`` on a free loopback port."""

    def __init__(self, name: str, env: dict[str, str], logs: Path):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = logs / f"{name}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "checkout:create_app()"], cwd=REPO,
                env={**env, "CHECKOUT_PUBLIC_URL": self.url, "CHECKOUT_BIND": f"127.0.0.1:{self.port}"},
                stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)  # its own process group: kill() takes the workers too
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited ({self.process.returncode}):\n{self.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{self.name} did not become ready in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL to the master and its workers at once, as a crash or an OOM kill does:
        no request finishes, nothing is cleaned up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # gunicorn's graceful shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Farm:
    """The standalone sandbox gateway and the checkout servers started for one test."""

    def __init__(self, database_url: str, tmp_path: Path):
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.merchants_file = tmp_path / "merchants.json"
        self.merchants_file.write_text(json.dumps([MERCHANT]))
        self.gateway_app = sandbox.create_app({"SANDBOX_DATABASE": str(tmp_path / "sandbox.sqlite3"),
                                               "MERCHANTS_FILE": str(self.merchants_file), "SECRET_KEYS": K1})
        self.gateway = LiveServer(self.gateway_app)
        self.ledger: sandbox.Ledger = self.gateway_app.extensions["sandbox.ledger"]
        self.servers: list[Server] = []
        self._count = 0
        # Once per release, before the servers start (README): the schema at head.
        done = subprocess.run([str(BIN / "flask"), "--app", "checkout", "db", "upgrade"], cwd=REPO,
                              env=self.env(K1), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    def env(self, keys: str) -> dict[str, str]:
        outer = {k: v for k, v in os.environ.items() if not k.startswith("CHECKOUT_")}
        return {**outer, "CHECKOUT_MODE": "production", "CHECKOUT_MERCHANTS_FILE": str(self.merchants_file),
                "CHECKOUT_DATABASE": self.database_url,
                "CHECKOUT_SECRET_KEYS": keys, "CHECKOUT_GATEWAY_URL": self.gateway.url,
                "CHECKOUT_GATEWAY_TIMEOUT": "10", "CHECKOUT_WORKERS": "2", "CHECKOUT_THREADS": "4",
                "CHECKOUT_PUBLIC_URL": "http://127.0.0.1"}  # each server's own address (Server)

    def start(self, keys: str, count: int = 2) -> list[Server]:
        started = []
        for _ in range(count):
            self._count += 1
            started.append(Server(f"server{self._count}", self.env(keys), self.tmp_path))
        self.servers += started
        return started

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.gateway.stop()


@pytest.fixture
def farm(pg_empty_url, tmp_path) -> Iterator[Farm]:
    farm = Farm(pg_empty_url, tmp_path)
    try:
        yield farm
    finally:
        farm.stop()


def make_link(server: Server, **overrides) -> str:
    """A checkout link made by this server's API (PUBLIC_URL unset: on its own host)."""
    response = httpx.post(server.url + "/checkout/link", json=seed_request(**overrides), auth=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    link = response.json()["link"]["action"]
    assert link.startswith(server.url + "/c/"), link
    return link


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def card_fields(html: str) -> dict[str, str]:
    """The card form's fields as the page gives them (its CSRF token, bound to the
    checkout), filled with the test card that needs no 3-D Secure."""
    form = Forms(html).form("/card")
    return {**form["fields"], **EXTRA_FIELDS, "name": "Jane Doe", "number": "4242424242424242",
            "expiry": "12 / 39", "cvv": "123"}


def open_page(server: Server, path: str) -> httpx.Response:
    return httpx.get(server.url + path, timeout=30)


def test_a_link_paid_on_one_server_is_paid_on_the_other(farm):
    one, two = farm.start(K1)
    path = path_of(make_link(one, invoiceId="servers-a"))
    page = open_page(one, path)
    assert page.status_code == 200
    paid = httpx.post(one.url + path + "/card", data=card_fields(page.text), timeout=30)
    assert paid.status_code == 303, paid.text[:500]
    assert paid.headers["Location"].startswith("https://example.com/success?")
    again = open_page(two, path)
    assert again.status_code == 200 and PAID in again.text
    assert farm.ledger.count(MERCHANT["publicId"], "servers-a") == 1


def test_concurrent_submissions_over_both_servers_charge_once(farm):
    servers = farm.start(K1)
    path = path_of(make_link(servers[0], invoiceId="servers-b"))
    fields = card_fields(open_page(servers[1], path).text)  # the CSRF token works on either server
    answers: list[int | str] = []
    locations: list[str] = []
    gate = threading.Barrier(SUBMISSIONS)

    def submit(i: int) -> None:
        server = servers[i % 2]
        with httpx.Client(base_url=server.url, timeout=60) as client:
            gate.wait()
            try:
                response = client.post(path + "/card", data=fields)
                answers.append(response.status_code)
                locations.append(response.headers.get("Location", ""))
            except httpx.HTTPError as exc:
                answers.append(type(exc).__name__)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(SUBMISSIONS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    by_status = Counter(answers)
    charges = farm.ledger.count(MERCHANT["publicId"], "servers-b")
    print(f"\n{SUBMISSIONS} concurrent card submissions over 2 gunicorn servers x 2 workers x 4 threads "
          f"on PostgreSQL: {wall:.2f} s wall; answers by status {dict(sorted(by_status.items(), key=str))}; "
          f"charges at the gateway: {charges}")
    assert charges == 1
    assert all(isinstance(code, int) and code < 500 for code in answers), by_status
    # Every post answers 303 (post/redirect/get): the one that charged to the success URL,
    # the others to the payment page, which says it is paid.
    paid = [loc for loc in locations if loc.startswith("https://example.com/success?")]
    assert len(paid) == 1, locations
    assert all(urlsplit(loc).path == path for loc in locations if loc not in paid), locations
    for server in servers:
        final = open_page(server, path)
        assert final.status_code == 200 and PAID in final.text


def test_a_rotated_key_opens_old_links_on_both_servers(farm):
    one, two = farm.start(K1)
    old = path_of(make_link(one, invoiceId="servers-c-old"))
    for server in (one, two):
        server.stop()
    one, two = farm.start(f"{K2},{K1}")
    for server in (one, two):
        page = open_page(server, old)
        assert page.status_code == 200, (server.name, page.status_code)
        assert "Payment for products" in page.text
    new = path_of(make_link(two, invoiceId="servers-c-new"))
    for server in (one, two):
        assert open_page(server, new).status_code == 200
    # signed with k2: a server that knows only k1 cannot open it (and still opens the old one)
    (legacy,) = farm.start(K1, count=1)
    refused = open_page(legacy, new)
    assert refused.status_code == 404 and NOT_VALID in refused.text
    assert open_page(legacy, old).status_code == 200
