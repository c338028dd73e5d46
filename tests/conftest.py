"""Fixtures: the app and its client (flaskr style), on SQLite and on a throwaway
PostgreSQL; live servers on loopback (the app, and the sandbox gateway as its own
server), and real Chromium through Playwright."""
from __future__ import annotations

import copy
import itertools
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask, request
from pg import PostgresCluster, find_bin
from werkzeug.serving import WSGIRequestHandler, make_server

from checkout import create_app, migrations, results
from checkout.examples import SEED_CHECKOUT_REQUEST
from checkout.gateway import sandbox
from checkout.store import make_engine

DEMO_AUTH = ("pbid_test", "test_secret")
#: Values for the form sections the seed example's ``page.fields`` adds (email, phone,
#: billing and shipping address); harmless where a form has no such section.
EXTRA_FIELDS = {
    "email": "john@doe.com", "phone": "+44 20 7946 0958",
    **{f"{kind}_address-{key}": value for kind in ("billing", "shipping")
       for key, value in (("line1", "Wall Street 15"), ("city", "London"), ("postcode", "SW1A 1AA"),
                          ("country", "GB"))},
}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def seed_request(**overrides) -> dict:
    body = copy.deepcopy(SEED_CHECKOUT_REQUEST)
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def base_config(tmp_path, **extra) -> dict:
    return {"DATABASE": str(tmp_path / "checkout.sqlite3"),
            "SANDBOX_DATABASE": str(tmp_path / "sandbox.sqlite3"),
            "MERCHANTS_FILE": None, "SECRET_KEYS": "test-key-0123456789", "PUBLIC_URL": None,
            "GATEWAY_URL": "sandbox", "MODE": "sandbox", **extra}


def upgraded(database: str) -> str:
    """``database`` with its schema at head, as ``flask --app checkout db upgrade`` leaves it
    (production starts on no other)."""
    engine = make_engine(database)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()
    return database


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of the tests' own (see tests/pg.py), removed at the end."""
    if find_bin() is None:
        pytest.fail("PostgreSQL's server binaries are not in /usr/lib/postgresql/*/bin: run `make test` "
                    "(it installs Debian's postgresql)")
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="checkout-pg-")))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


_databases = itertools.count(1)


@pytest.fixture(scope="session")
def _pg_at_head(postgres) -> str:
    """A database upgraded to head once, that each test's database is a copy of (a copy
    costs less than running the migrations again)."""
    upgraded(postgres.create_database("checkout_at_head"))
    return "checkout_at_head"


def _fresh(postgres: PostgresCluster, template: str) -> Iterator[str]:
    name = f"test_{os.getpid()}_{next(_databases)}"
    url = postgres.create_database(name, template)
    yield url
    if postgres.running:  # a test may have stopped the cluster
        postgres.drop_database(name)


@pytest.fixture
def pg_url(postgres, _pg_at_head) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, its schema at head (dropped after it); its URL."""
    yield from _fresh(postgres, _pg_at_head)


@pytest.fixture
def pg_empty_url(postgres) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (no tables, no revision); its URL."""
    yield from _fresh(postgres, "template0")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> str:
    """DATABASE for the app: a new SQLite file, then a fresh PostgreSQL database at head."""
    if request.param == "sqlite":
        return str(tmp_path / "checkout.sqlite3")
    return request.getfixturevalue("pg_url")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> str:
    """An empty database: a SQLite file that does not exist yet, then an empty PostgreSQL one."""
    if request.param == "sqlite":
        return str(tmp_path / "empty.sqlite3")
    return request.getfixturevalue("pg_empty_url")


@pytest.fixture
def app(tmp_path, database) -> Iterator[Flask]:
    """The app (sandbox mode, embedded gateway), once on each engine."""
    app = create_app(base_config(tmp_path, DATABASE=database))
    yield app
    app.extensions["checkout.store"].engine.dispose()


@pytest.fixture
def stored_bytes(request) -> Callable[[Flask], bytes]:
    """``stored_bytes(app)``: every byte the app's database keeps on disk (SQLite: the
    file, its WAL and shared memory; PostgreSQL: the database's files and the cluster's
    write-ahead log), to look for what must never be stored."""
    def read(app: Flask) -> bytes:
        url = app.extensions["checkout.store"].engine.url
        if url.get_backend_name() == "sqlite":
            files = Path(url.database).parent.glob(Path(url.database).name + "*")
        else:
            files = request.getfixturevalue("postgres").files(url.database)
        return b"".join(p.read_bytes() for p in files)
    return read


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_link(app, client):
    """POST /checkout/link as the demo merchant; returns the link's path."""
    def make(**overrides) -> str:
        response = client.post("/checkout/link", json=seed_request(**overrides), auth=DEMO_AUTH)
        assert response.status_code == 200, response.json
        return "/" + response.json["link"]["action"].split("://", 1)[1].split("/", 1)[1]
    return make


class Forms(HTMLParser):
    """The forms of a page (action, fields: name -> value) and every input by name."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self.inputs: dict[str, dict] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}})
        elif tag == "input":
            self.inputs[a.get("name", "")] = a
            if self.forms:
                self.forms[-1]["fields"][a.get("name", "")] = a.get("value", "")

    def form(self, action_ends: str) -> dict:
        return next(f for f in self.forms if urlsplit(f["action"]).path.endswith(action_ends))


def text(response) -> str:
    return response.get_data(as_text=True)


def local(url: str) -> str:
    """The path and query of a URL the app made (the test client's way to open it)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def hand_over_target(response) -> str:
    """Where a hand-over page (Redirect 3-D Secure, a payment method's page: see
    ``pay.hand_over`` and ``pay.bank_page``) sends the customer: a link its script
    follows by itself."""
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    link = re.search(r'<a class="pay button" href="([^"]+)" (data-handover|data-bank-auto)', html)
    assert link, "not a hand-over page"
    assert ("/assets/js/handover." if link[2] == "data-handover" else "/assets/js/bank.") in html
    return unescape(link[1])


def follow(client, response, limit: int = 5):
    """Follow the app's redirects to its own pages (post/redirect/get: a form post answers
    303 to the page that shows its outcome), the way a browser does; a redirect to
    another site (the merchant's URL) is returned as it is."""
    for _ in range(limit):
        location = response.headers.get("Location") if response.status_code in (301, 302, 303) else None
        if not location or urlsplit(location).netloc not in ("", "localhost"):
            return response
        response = client.get(local(location))
    return response


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # keep test output readable
        pass


class LiveServer:
    def __init__(self, wsgi_app, host: str = "127.0.0.1"):
        self.server = make_server(host, 0, wsgi_app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Site:
    """The app (and, in standalone mode, the sandbox gateway) served on loopback."""

    url: str
    app: object
    ledger: sandbox.Ledger
    mode: str

    def link(self, client_app=None, **overrides) -> str:
        body = seed_request(**{"successUrl": f"{self.url}/demo/result/success",
                               "failureUrl": f"{self.url}/demo/result/failure",
                               "pendingUrl": f"{self.url}/demo/result/pending",
                               "cancelUrl": f"{self.url}/demo/result/cancel", **overrides})
        with self.app.test_client() as c:
            response = c.post("/checkout/link", json=body, auth=DEMO_AUTH, base_url=self.url)
        assert response.status_code == 200, response.json
        return response.json["link"]["action"]


def serve_site(tmp_path, mode: str, **extra) -> Iterator[Site]:
    servers = []
    config = base_config(tmp_path, GATEWAY_TIMEOUT=2, SANDBOX_SLOW_SECONDS=3, PENDING_REFRESH=1, **extra)
    if mode == "standalone":
        gw_app = sandbox.create_app({**config})
        servers.append(LiveServer(gw_app))
        config["GATEWAY_URL"] = servers[0].url
        ledger = gw_app.extensions["sandbox.ledger"]
    app = create_app(config)
    if mode == "inprocess":
        ledger = app.extensions["sandbox.ledger"]
    servers.append(LiveServer(app))
    try:
        yield Site(servers[-1].url, app, ledger, mode)
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(params=["inprocess", "standalone"])
def site(request, tmp_path) -> Iterator[Site]:
    """The app on a free loopback port with the sandbox in-process, then with the sandbox
    as its own server on another origin."""
    yield from serve_site(tmp_path, request.param)


class MerchantSite(LiveServer):
    """The merchant's own site on another origin, whose result pages check the signature.
    Browsers check ``form-action`` on every redirect after a form POST, so this is where a
    CSP that admits only the checkout's origins would show."""

    def __init__(self, secret: str = DEMO_AUTH[1]):
        shop = Flask("merchant")

        @shop.get("/result/<kind>")
        def result(kind):
            ok = results.verify(request.query_string.decode(), secret)
            return f"<!doctype html><title>{kind}</title><p id=verified>{'verified' if ok else 'forged'}</p>"

        super().__init__(shop)
        self.urls = {f"{kind}Url": f"{self.url}/result/{kind}" for kind in ("success", "failure", "pending", "cancel")}

    def landed(self, page, kind: str) -> dict:
        """Wait for the ``kind`` result page; require a verified signature; return the fields."""
        page.wait_for_url(re.compile(re.escape(self.url) + rf"/result/{kind}\?"))
        assert page.text_content("#verified") == "verified", page.url
        return dict(parse_qsl(urlsplit(page.url).query, keep_blank_values=True))


@pytest.fixture
def merchant_site() -> Iterator[MerchantSite]:
    server = MerchantSite()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = os.environ.get("CHECKOUT_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(executable):
        pytest.fail(f"Chromium not found at {executable}: run `make test` (it installs Debian's chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()
