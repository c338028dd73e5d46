"""The public base of the links and URLs the app makes."""
from __future__ import annotations

from flask import current_app, request

from .security import origin_of

#: Where the app is when no request says otherwise (``make run``'s address).
DEFAULT_BASE = "http://127.0.0.1:5000"


def public_base() -> str:
    """The base of the links the app makes: PUBLIC_URL, else the request's host."""
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return configured.rstrip("/")
    return request.host_url.rstrip("/") if request else DEFAULT_BASE


def gateway_origin() -> str | None:
    """The origin of the gateway's browser pages (ACS, redirect), for ``form-action``:
    ours with the embedded sandbox, else ``GATEWAY_URL``'s."""
    url = current_app.config["GATEWAY_URL"]
    return origin_of(public_base()) if url == "sandbox" else origin_of(url)
