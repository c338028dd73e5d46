"""Gateways behind one small interface (:class:`base.Gateway`). ``client`` speaks the
OdeonPay API; ``sandbox`` is the embedded test gateway that answers it."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, request

from ..merchants import Merchant
from ..urls import DEFAULT_BASE, public_base
from .base import Gateway, GatewayError, Outcome
from .client import OdeonPayClient, ThreadedWSGITransport

__all__ = ["Gateway", "GatewayError", "Outcome", "open_gateway"]


def _client(merchant: Merchant) -> OdeonPayClient:
    url = current_app.config["GATEWAY_URL"]
    public_id, secret = merchant.gateway_credentials
    timeout = float(current_app.config["GATEWAY_TIMEOUT"])
    if url == "sandbox":
        # The embedded sandbox, in-process under this app's /sandbox, at the origin the
        # browser uses, so that the ACS and redirect pages it links to work.
        base = public_base() if request else (current_app.config.get("PUBLIC_URL") or DEFAULT_BASE).rstrip("/")
        transport = ThreadedWSGITransport(app=current_app._get_current_object())
        return OdeonPayClient(base + "/sandbox", public_id, secret, transport=transport, timeout=timeout)
    return OdeonPayClient(url, public_id, secret, timeout=timeout)


@contextmanager
def open_gateway(merchant: Merchant) -> Iterator[Gateway]:
    """The gateway client for ``merchant`` at the configured gateway (``GATEWAY_URL``;
    ``sandbox``: the embedded test gateway), closed when the block ends."""
    client = _client(merchant)
    try:
        yield client
    finally:
        client.close()

