"""Readiness: can this server take payments now? The database answers, and the gateway
answers its Test call for the first merchant. Each answer is ``"ok"`` or what went
wrong, in words that never carry a connection string, credential or host."""
from __future__ import annotations

import logging
import time

from flask import current_app

from ..gateway import GatewayError, open_gateway

log = logging.getLogger(__name__)

OK = "ok"
#: Seconds a gateway check's answer is reused: the probe is unauthenticated, and a flood
#: of it must not become a flood of calls to the gateway.
GATEWAY_CHECK_SECONDS = 5.0


def database_check() -> str:
    """``"ok"``, or ``"unavailable: <error class>"`` (the driver's text, which names the
    host and user, goes to the log only)."""
    try:
        current_app.extensions["checkout.store"].ping()
    except Exception as exc:  # any failure means "not ready": the probe must answer, not raise
        log.warning("readyz: the database does not answer: %s", _one_line(exc))
        return f"unavailable: {type(exc).__name__}"
    return OK


def gateway_check() -> str:
    """``"ok"`` when the gateway answers the Test call (``test``) and accepts the first
    merchant's credentials; else what went wrong."""
    merchant = next(iter(current_app.extensions["checkout.merchants"]), None)
    if merchant is None:
        return "not configured: no merchant to ask with"
    try:
        with open_gateway(merchant) as gateway:
            accepted = gateway.test()
    except GatewayError as exc:
        log.warning("readyz: the gateway does not answer: %s", _one_line(exc))
        return f"unreachable: {_one_line(exc)}"
    if not accepted:
        return "refused: the gateway does not accept the merchant's credentials"
    return OK


def recent_gateway_check() -> str:
    """:func:`gateway_check`, at most once per :data:`GATEWAY_CHECK_SECONDS` per process."""
    cached = current_app.extensions.get("checkout.gateway_check")
    now = time.monotonic()
    if cached is None or now - cached[0] >= GATEWAY_CHECK_SECONDS:
        cached = (now, gateway_check())
        current_app.extensions["checkout.gateway_check"] = cached
    return cached[1]


def readiness() -> dict[str, str]:
    """``{"database": …, "gateway": …}``, each ``"ok"`` or what went wrong."""
    return {"database": database_check(), "gateway": recent_gateway_check()}


def _one_line(exc: BaseException, limit: int = 200) -> str:
    """The exception's text on one line, cut at ``limit`` characters (our gateway client's
    messages: the call and the failure, e.g. ``test: ConnectError: [Errno 111] ...``)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:limit]
