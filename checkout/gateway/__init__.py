"""Gateways behind one small interface (:class:`base.Gateway`). ``client`` speaks the
OdeonPay API; ``sandbox`` is the embedded test gateway that answers it."""
from __future__ import annotations

from flask import current_app, request

from ..merchants import Merchant
from .base import Gateway, GatewayError, Outcome
from .client import OdeonPayClient, ThreadedWSGITransport

__all__ = ["Gateway", "GatewayError", "Outcome", "gateway_for"]


def gateway_for(merchant: Merchant) -> OdeonPayClient:
    """The client for ``merchant`` at the configured gateway. With ``GATEWAY_URL`` =
    ``sandbox`` it reaches the embedded sandbox in-process, under this app's ``/sandbox``,
    at the origin the browser uses, so the ACS and redirect pages it links to work."""
    from ..links import public_base

    url = current_app.config["GATEWAY_URL"]
    public_id, secret = merchant.gateway_credentials
    timeout = float(current_app.config["GATEWAY_TIMEOUT"])
    if url == "sandbox":
        base = public_base() if request else "http://127.0.0.1:5000"
        transport = ThreadedWSGITransport(app=current_app._get_current_object())
        return OdeonPayClient(base + "/sandbox", public_id, secret, transport=transport, timeout=timeout)
    return OdeonPayClient(url, public_id, secret, timeout=timeout)


def gateway_origin() -> str | None:
    """The origin of the gateway's browser pages (ACS, redirect), for ``form-action``."""
    from ..links import public_base
    from ..security import origin_of

    url = current_app.config["GATEWAY_URL"]
    return origin_of(public_base()) if url == "sandbox" else origin_of(url)
