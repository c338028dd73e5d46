"""``Server-Timing`` on every response when ``SERVER_TIMING`` is on (sandbox mode by
default; the benchmarks read it): ``app`` is the request's whole time in the app
(rendering and compression included), ``view`` the part until the view returned (before
the compression and the other ``after_request`` work), ``gateway`` the part spent
waiting on the gateway, so that the app's own time is ``app`` less ``gateway``. Off in production unless asked for: it
tells every client how long the server worked."""
from __future__ import annotations

import time

from flask import Flask, Response, g

from . import config as config_module
from .gateway import gateway_seconds


def enabled(app: Flask) -> bool:
    setting = app.config.get("SERVER_TIMING")
    return config_module.flag(setting) if setting is not None else app.config["MODE"] == "sandbox"


def init_app(app: Flask) -> None:
    """Register first, so that its ``after_request`` runs last (Flask runs them in reverse
    order) and counts the compression the others do."""
    if not enabled(app):
        return

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _timing(response: Response) -> Response:
        started = g.get("started")
        if started is not None:
            app_ms = (time.perf_counter() - started) * 1000
            view_ms = (g.get("viewed", time.perf_counter()) - started) * 1000
            response.headers["Server-Timing"] = (f"app;dur={app_ms:.3f}, view;dur={view_ms:.3f}, "
                                                 f"gateway;dur={gateway_seconds() * 1000:.3f}")
        return response


def init_view_mark(app: Flask) -> None:
    """Register last, so that its ``after_request`` runs first: when the view returned."""
    if not enabled(app):
        return

    @app.after_request
    def _viewed(response: Response) -> Response:
        g.viewed = time.perf_counter()
        return response
