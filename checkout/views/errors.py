"""When the database does not answer: a calm 503, never a stack trace.

Customers get the plain message page in their language (the link's locale when the
page got that far, else the browser's); the merchant API gets its JSON error body. Both
carry ``Retry-After``. Each store call is its own transaction, so a request cut off by
the outage has written nothing half-way: what it committed before stands, and what it
was writing is rolled back by the database.

Only the errors that mean "the database is not reachable now" are answered so:
connection failures, dropped connections, a full pool. An integrity or programming
error is a bug and stays an ordinary 500 (logged with its traceback by Flask)."""
from __future__ import annotations

import logging
import sqlite3

from flask import Flask, Response, render_template, request
from flask_babel import gettext as _
from sqlalchemy import exc as sa_exc

from .. import security
from .apikit import error

log = logging.getLogger(__name__)

#: Seconds a client should wait before trying again.
RETRY_AFTER = 30
#: Paths of the merchant API (JSON answers); every other path is a customer's page.
API_PATHS = ("/checkout", "/payments/link", "/payouts", "/notifications", "/gateway", "/openapi.json",
             "/healthz", "/readyz")
#: What the database raises when it cannot be reached or the connection broke
#: (SQLAlchemy wraps the driver's errors; sqlite3 is the sandbox ledger's own).
UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, sa_exc.DisconnectionError,
               sqlite3.OperationalError, sqlite3.InterfaceError)


#: SQLite reports some programming errors as OperationalError too: those are bugs.
SQLITE_BUGS = ("no such table", "no such column", "near ", "table ", "incomplete input")


def is_api_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PATHS)


def is_outage(exc: Exception) -> bool:
    """Whether ``exc`` means the database cannot be reached now (not a bug of ours)."""
    original = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    if isinstance(original, sqlite3.OperationalError) and str(original).startswith(SQLITE_BUGS):
        return False
    if isinstance(exc, sa_exc.DBAPIError):
        return isinstance(exc, UNAVAILABLE) or exc.connection_invalidated
    return isinstance(exc, UNAVAILABLE)


def database_unavailable(exc: Exception) -> Response:
    """The 503 answer for a database outage (the error handler)."""
    if not is_outage(exc):
        raise exc  # e.g. IntegrityError, or SQLite's "no such table": a bug, Flask's 500
    # One line, no traceback, no request body or query: the endpoint, not the URL (a
    # customer URL carries the checkout's token).
    log.warning("database unavailable during %s %s: %s", request.method, request.endpoint or "-", _reason(exc))
    if is_api_path(request.path):
        response = error("The service is briefly unavailable. Please try again in a few minutes.", 503)
    else:
        security.nonce()
        security.no_store()
        if request.method in ("GET", "HEAD"):
            message = _("Nothing was charged. Please try again in a few minutes.")
        else:  # a submission may have reached the gateway before the database went away
            message = _("Please try again in a few minutes. This payment will not be charged twice.")
        response = Response(render_template("message.html", title=_("Payments are briefly unavailable"),
                                            message=message), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response


def _reason(exc: Exception) -> str:
    """The driver's message on one line, without SQLAlchemy's statement and parameters."""
    original = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    text = " ".join(str(original).split())
    return f"{type(original).__name__}: {text[:300]}"


def init_app(app: Flask) -> None:
    for kind in (*UNAVAILABLE, sa_exc.DBAPIError):
        app.register_error_handler(kind, database_unavailable)
