"""Gateways behind one small interface (:class:`base.Gateway`). ``client`` speaks the
OdeonPay API; ``sandbox`` is the embedded test gateway that answers it.

One client per process, gateway and credentials, reused by every request: an httpx
client keeps its connections open (keep-alive, a pool per host), and building one costs
about 20 ms of CPU with TLS (its SSL context loads the CA bundle), which used to be paid
on every charge and every page with saved cards. httpx clients are safe to share between
threads. gunicorn builds the app after it forks (``preload_app = False``), so no socket
is shared between worker processes."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g, has_app_context, request

from ..merchants import Merchant
from ..urls import DEFAULT_BASE, public_base
from .base import Gateway, GatewayError, Outcome
from .client import OdeonPayClient, ThreadedWSGITransport

__all__ = ["Gateway", "GatewayError", "Outcome", "gateway_seconds", "open_gateway"]

#: The most clients one app keeps (merchants x gateway origins); past it the oldest goes.
MAX_CLIENTS = 256
_lock = threading.Lock()


def _count_time(seconds: float) -> None:
    """Add a gateway call's time to this request's (the ``Server-Timing`` header's ``gateway``)."""
    if has_app_context():
        g.gateway_seconds = g.get("gateway_seconds", 0.0) + seconds


def gateway_seconds() -> float:
    """The seconds this request has spent waiting on the gateway."""
    return g.get("gateway_seconds", 0.0)


def _clients(app: Flask) -> dict[tuple, OdeonPayClient]:
    return app.extensions.setdefault("checkout.gateway_clients", {})


def client_for(merchant: Merchant) -> OdeonPayClient:
    """This process's client for ``merchant`` at the configured gateway (``GATEWAY_URL``;
    ``sandbox``: the embedded test gateway), made on first use."""
    app = current_app._get_current_object()
    url = app.config["GATEWAY_URL"]
    public_id, secret = merchant.gateway_credentials
    timeout = float(app.config["GATEWAY_TIMEOUT"])
    if url == "sandbox":
        # The embedded sandbox, in-process under this app's /sandbox, at the origin the
        # browser uses, so that the ACS and redirect pages it links to work.
        base = public_base() if request else (app.config.get("PUBLIC_URL") or DEFAULT_BASE).rstrip("/")
        url = base + "/sandbox"
    key = (app.config["GATEWAY_URL"] == "sandbox", url, public_id, secret, timeout)
    clients = _clients(app)
    client = clients.get(key)
    if client is not None:
        return client
    transport = ThreadedWSGITransport(app=app) if key[0] else None
    made = OdeonPayClient(url, public_id, secret, transport=transport, timeout=timeout, on_time=_count_time)
    with _lock:
        client = clients.setdefault(key, made)
        if len(clients) > MAX_CLIENTS:
            # Dropped, not closed: a request may be using it; its pool goes with it.
            clients.pop(next(iter(clients)))
    if client is not made:
        made.close()
    return client


@contextmanager
def open_gateway(merchant: Merchant) -> Iterator[Gateway]:
    """The gateway client for ``merchant`` (:func:`client_for`: this process's, reused)."""
    yield client_for(merchant)


def close_clients(app: Flask) -> None:
    """Close this app's gateway clients (tests, a clean shutdown)."""
    with _lock:
        clients = _clients(app)
        for client in clients.values():
            client.close()
        clients.clear()
