"""Probes for a load balancer or an orchestrator.

``GET /healthz``: liveness. 200 while the process serves requests; it touches nothing,
so a database or gateway outage never makes a supervisor restart healthy servers.

``GET /readyz``: readiness. 200 only when this server can take payments: the database
answers and the gateway answers its Test call for the first merchant; otherwise 503
with which of them failed, so that the balancer sends customers elsewhere. The body
names the failure's kind, never a connection string, credential or host."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..flows.health import OK, readiness

bp = Blueprint("health", __name__)


def _answer(body: dict, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    return _answer({"status": OK})


@bp.get("/readyz")
def readyz() -> Response:
    checks = readiness()
    ready = all(value == OK for value in checks.values())
    return _answer({"status": OK if ready else "unavailable", **checks}, 200 if ready else 503)
