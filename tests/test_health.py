"""The probes (/healthz, /readyz) and what customers and merchants see when the database
is down: a real PostgreSQL cluster of the test's own, stopped and started again."""
from __future__ import annotations

import logging
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DEMO_AUTH, EXTRA_FIELDS, Forms, LiveServer, base_config, seed_request, text
from flask import Flask, jsonify
from pg import PostgresCluster

from checkout import create_app
from checkout.flows import health


def closed_port() -> int:
    """A loopback port nothing listens on (bound to learn a free one, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_answers_while_the_process_runs(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_with_the_sandbox_in_process(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {"status": "ok", "database": "ok", "gateway": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_names_an_unreachable_gateway(tmp_path):
    port = closed_port()
    app = create_app(base_config(tmp_path, GATEWAY_URL=f"http://127.0.0.1:{port}", GATEWAY_TIMEOUT=2))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["status"] == "unavailable" and body["database"] == "ok"
    assert body["gateway"].startswith("unreachable: "), body
    assert response.headers["Cache-Control"] == "no-store"
    assert DEMO_AUTH[1] not in response.get_data(as_text=True)  # no credentials in it
    # the process itself is fine: liveness says so
    assert app.test_client().get("/healthz").status_code == 200


def make_link(client, **overrides) -> str:
    response = client.post("/checkout/link", json=seed_request(**overrides), auth=DEMO_AUTH)
    assert response.status_code == 200, response.json
    return "/" + response.json["link"]["action"].split("://", 1)[1].split("/", 1)[1]


def assert_calm_page(response, title: str, message: str) -> None:
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"].isdigit()
    assert response.headers["Cache-Control"] == "no-store"
    html = text(response)
    assert f"<h1>{title}</h1>" in html and message in html
    assert "Traceback" not in html and "psycopg" not in html and "sqlalchemy" not in html.lower()


@pytest.fixture
def own_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of this test's own, to stop and start (as root the server runs
    as ``postgres``, which must reach the folder: hence mkdtemp, not tmp_path)."""
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="checkout-health-")))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


def test_a_flood_of_readiness_probes_asks_the_gateway_once_in_a_while(tmp_path, monkeypatch):
    """/readyz is unauthenticated: a burst of it reaches the gateway's Test at most once
    per GATEWAY_CHECK_SECONDS (a gateway of someone else's, here a loopback one that counts)."""
    calls = []
    gateway = Flask("gateway")

    @gateway.post("/test")
    def answer():
        calls.append(1)
        return jsonify({"success": True, "message": "Test message success"})

    server = LiveServer(gateway)
    try:
        app = create_app(base_config(tmp_path, GATEWAY_URL=server.url))
        client = app.test_client()
        assert all(client.get("/readyz").status_code == 200 for _ in range(20))
        assert len(calls) == 1
        monkeypatch.setattr(health, "GATEWAY_CHECK_SECONDS", 0)
        assert client.get("/readyz").status_code == 200 and len(calls) == 2
    finally:
        server.stop()


def test_when_the_database_is_down(own_cluster, tmp_path, caplog):
    app = create_app(base_config(tmp_path, DATABASE=own_cluster.create_database("checkout")))
    client = app.test_client()
    english, russian = make_link(client), make_link(client, locale="ru_RU")
    page = client.get(english)
    assert page.status_code == 200 and client.get(russian).status_code == 200
    card = {**Forms(text(page)).form("/card")["fields"], **EXTRA_FIELDS, "name": "Jane Doe",
            "number": "4242424242424242", "expiry": "12 / 39", "cvv": "123"}
    assert client.get("/readyz").status_code == 200

    own_cluster.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="checkout.views.errors"):
        # the customer: a calm page in the link's language, nothing was charged
        assert_calm_page(client.get(english), "Payments are briefly unavailable",
                         "Nothing was charged. Please try again in a few minutes.")
        assert_calm_page(client.get(russian, headers={"Accept-Language": "en-US"}),
                         "Платежи ненадолго недоступны",
                         "Деньги не списаны. Попробуйте ещё раз через несколько минут.")
        # a submission: it may not say "nothing was charged", but no second charge
        assert_calm_page(client.post(english + "/card", data=card), "Payments are briefly unavailable",
                         "Please try again in a few minutes. This payment will not be charged twice.")
        # the merchant's API: JSON
        body = seed_request(description="a body that must not be logged")
        answer = client.post("/checkout/link", json=body, auth=DEMO_AUTH, headers={"Idempotency-Key": "down-1"})
        assert answer.status_code == 503 and answer.mimetype == "application/json"
        assert answer.json["success"] is False and "try again" in answer.json["message"]
        assert answer.headers["Retry-After"].isdigit()
    # logged once per request, at WARNING, without the body or the token
    logged = [r for r in caplog.records if r.name == "checkout.views.errors"]
    assert len(logged) == 4 and all(r.levelno == logging.WARNING for r in logged)
    assert not any("must not be logged" in r.getMessage() or english.split("/")[-1] in r.getMessage()
                   for r in logged)
    # the probes: not ready, and it says the database is what failed; still alive
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["database"].startswith("unavailable: ") and ready.json["gateway"] == "ok"
    assert "127.0.0.1" not in ready.get_data(as_text=True)  # the driver's text stays in the log
    assert client.get("/healthz").status_code == 200

    own_cluster.start()  # the same port: the pool reconnects (pre-ping) by itself
    assert client.get(english).status_code == 200
    assert client.get("/readyz").status_code == 200
    paid = client.post(english + "/card", data=card)  # and the same form pays, once
    assert paid.status_code == 303 and paid.headers["Location"].startswith("https://example.com/success?")
