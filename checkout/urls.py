"""The public base of the links and URLs the app makes."""
from __future__ import annotations

from flask import current_app, request

#: Where the app is when no request says otherwise (``make run``'s address).
DEFAULT_BASE = "http://127.0.0.1:5000"


def public_base() -> str:
    """The base of the links the app makes: PUBLIC_URL, else the request's host."""
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return configured.rstrip("/")
    return request.host_url.rstrip("/") if request else DEFAULT_BASE
