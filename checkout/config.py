"""Configuration in one place: defaults, then ``CHECKOUT_<KEY>`` environment variables,
then the dict given to ``create_app``."""
from __future__ import annotations

import os
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from . import weburl

#: Signing key used when none is configured. Sandbox mode only: production refuses it.
DEFAULT_SECRET_KEY = "dev-insecure-checkout-key"

MODES = ("sandbox", "production")

DEFAULTS: dict[str, Any] = {
    "MODE": "sandbox",  # or "production"
    "SECRET_KEYS": DEFAULT_SECRET_KEY,  # comma-separated; the first encrypts tokens, all open them
    "DATABASE": None,  # SQLite path or SQLAlchemy URL (see database_url); default: <instance>/checkout.sqlite3
    "SANDBOX_DATABASE": None,  # the embedded gateway's own state; default under instance/
    "GATEWAY_URL": "sandbox",  # "sandbox" = embedded test gateway, in-process
    "GATEWAY_TIMEOUT": 15.0,  # seconds to wait for the gateway's answer
    "MERCHANTS_FILE": None,
    "PUBLIC_URL": None,  # base of the links it makes; default: the request's host
    "TOKEN_MAX_AGE": 30 * 60,  # default lifetime of a checkout link, seconds
    "TOKEN_MIN_AGE": 60,
    "TOKEN_LIMIT_AGE": 7 * 24 * 3600,  # the longest lifetime a request may ask for
    "MAX_DECLINES": 3,  # per checkout, then the failure URL
    "MAX_DECLINES_PER_IP": 10,  # per client address within DECLINE_WINDOW (tries in flight count)
    "DECLINE_WINDOW": 3600,
    # Card-testing limits on tries to pay (every way: card, saved card, method, crypto,
    # direct link; approvals count too) within ATTEMPT_WINDOW seconds, sliding. A merchant's
    # "limits" in the merchants file overrides any of them but MAX_DECLINES.
    "MAX_ATTEMPTS": 5,  # per checkout
    "MAX_ATTEMPTS_PER_IP": 20,  # per client address (IPv6: per /64)
    "MAX_ATTEMPTS_PER_CARD": 5,  # per card (its keyed fingerprint) across all checkouts
    "ATTEMPT_WINDOW": 3600,
    "UNSIGNED_MAX_ATTEMPTS_PER_IP": 5,  # unsigned checkouts (widget publicId options, unsigned redirect links)
    "UNSIGNED_MAX_ATTEMPTS_PER_MERCHANT": 100,  # all unsigned checkouts of one merchant
    "PENDING_GRACE": 30,  # seconds a charge with no trace at the gateway stays pending
    "PENDING_REFRESH": 3,  # seconds between the confirming page's status checks
    "SANDBOX_SLOW_SECONDS": None,  # how long the sandbox's "slow" card sleeps; default timeout + 2
    "TRUSTED_PROXIES": 0,  # reverse proxies in front that set X-Forwarded-For/-Proto/-Host
    # Notifications to the merchant: retried after each of these delays (more than 3 days).
    "NOTIFY_SCHEDULE": "10s,1m,5m,30m,2h,6h,12h,24h,24h,24h",
    "NOTIFY_TIMEOUT": 15.0,  # seconds the merchant has to answer a notification
    "CHECK_TIMEOUT": 10.0,  # seconds the merchant has to answer a Payment Check
    "WORKER_INTERVAL": 1.0,  # seconds between the worker's rounds
    "WORKER_IN_PROCESS": None,  # run the worker in a thread of the app (`make run` sets it)
    "LIMIT_LOOPBACK": None,  # sandbox: apply the per-address and per-card limits to 127.0.0.1 and ::1 too
    "SAVED_CARDS_SECONDS": 120,  # a customer's saved cards are asked of the gateway at most this often
    "SERVER_TIMING": None,  # Server-Timing header (app and gateway time); default: on in sandbox mode
    "COMPRESS_LEVEL": 6,  # gzip level of pages and API answers (Flask-Compress)
    "COMPRESS_BR_LEVEL": 5,  # brotli quality of pages and API answers: 7-8% smaller than 4 for ~0.1-0.4 ms more
}

_NUMBERS = {"GATEWAY_TIMEOUT": float, "TOKEN_MAX_AGE": int, "TOKEN_MIN_AGE": int,
            "TOKEN_LIMIT_AGE": int, "MAX_DECLINES": int, "MAX_DECLINES_PER_IP": int,
            "DECLINE_WINDOW": int, "MAX_ATTEMPTS": int, "MAX_ATTEMPTS_PER_IP": int, "MAX_ATTEMPTS_PER_CARD": int,
            "ATTEMPT_WINDOW": int, "UNSIGNED_MAX_ATTEMPTS_PER_IP": int, "UNSIGNED_MAX_ATTEMPTS_PER_MERCHANT": int,
            "PENDING_GRACE": float, "PENDING_REFRESH": int,
            "SANDBOX_SLOW_SECONDS": float, "TRUSTED_PROXIES": int, "NOTIFY_TIMEOUT": float,
            "CHECK_TIMEOUT": float, "WORKER_INTERVAL": float, "COMPRESS_LEVEL": int, "COMPRESS_BR_LEVEL": int,
            "SAVED_CARDS_SECONDS": float}


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the app refuses to start."""


#: What DATABASE may be (the refusal of anything else says so).
DATABASE_FORMS = ("a SQLite file path, sqlite:///PATH, or postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME "
                  "(postgresql:// means the same)")
_SQLITE_DRIVERS = ("sqlite", "sqlite+pysqlite")
_POSTGRES_DRIVERS = ("postgresql", "postgresql+psycopg")


def database_url(database: str | URL) -> URL:
    """The SQLAlchemy URL of DATABASE: a file path is a SQLite file; ``postgresql://``
    means psycopg 3. Anything else (another engine or driver, an in-memory SQLite that
    each connection would see empty) raises :class:`ConfigError` naming the accepted forms;
    the message never repeats the URL, which may hold a password."""
    if isinstance(database, str) and "://" not in database:
        if not database.strip():
            raise ConfigError(f"DATABASE must be {DATABASE_FORMS}, not an empty string")
        return URL.create("sqlite", database=database)
    try:
        url = make_url(database)
    except ArgumentError:
        raise ConfigError(f"DATABASE must be {DATABASE_FORMS}; it is not a URL") from None
    if url.drivername in _POSTGRES_DRIVERS:
        return url.set(drivername="postgresql+psycopg")
    if url.drivername in _SQLITE_DRIVERS and url.database not in (None, "", ":memory:"):
        return url.set(drivername="sqlite")
    raise ConfigError(f"DATABASE must be {DATABASE_FORMS}, not {url.drivername}://...")


def load(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The effective configuration: defaults < environment < ``overrides``."""
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for key in DEFAULTS:
        value = environ.get(f"CHECKOUT_{key}")
        if value not in (None, ""):
            config[key] = _NUMBERS[key](value) if key in _NUMBERS else value
    config.update(overrides or {})
    keys = config["SECRET_KEYS"]
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    config["SECRET_KEYS"] = list(keys)
    if config["DATABASE"]:
        # Refused here, before anything is made: never a SQLite file called "redis:/...".
        database_url(config["DATABASE"])
    config["MODE"] = str(config["MODE"]).strip().lower()
    if config["MODE"] not in MODES:
        # "prod" or "live" must not quietly run as the sandbox, demo merchant and all.
        raise ConfigError(f"MODE must be one of {', '.join(MODES)}, not {config['MODE']!r}")
    return config


def flag(value: Any) -> bool:
    """A yes/no setting: True, 1, "1", "true", "yes", "on" (any case) are yes."""
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


def check_production(config: dict[str, Any], merchants, *, debug: bool = False) -> None:
    """Production refuses the demo merchant, default keys, the sandbox gateway, debug mode
    (Werkzeug's debugger runs code for whoever sees an error page) and a missing PUBLIC_URL
    (links would follow the request's Host header, which the client chooses)."""
    if config["MODE"] != "production":
        return
    if not config["SECRET_KEYS"] or DEFAULT_SECRET_KEY in config["SECRET_KEYS"]:
        raise ConfigError("production mode needs CHECKOUT_SECRET_KEYS (not the default key)")
    if any(len(k) < 32 for k in config["SECRET_KEYS"]):
        raise ConfigError("production secret keys must be at least 32 characters")
    if config["GATEWAY_URL"] == "sandbox":
        raise ConfigError("production mode needs CHECKOUT_GATEWAY_URL (not the sandbox)")
    if not config["MERCHANTS_FILE"]:
        raise ConfigError("production mode needs CHECKOUT_MERCHANTS_FILE")
    if merchants.has_demo():
        raise ConfigError("production mode refuses the demo merchant pbid_test / test_secret")
    if debug or flag(os.environ.get("FLASK_DEBUG")):
        raise ConfigError("production mode refuses debug mode (FLASK_DEBUG / --debug)")
    public = public_url_error(config.get("PUBLIC_URL"))
    if public:
        raise ConfigError(f"production mode needs CHECKOUT_PUBLIC_URL: {public}")


def public_url_error(value: Any) -> str | None:
    """Why ``value`` cannot be production's PUBLIC_URL (None: it can): the https origin
    (and optional path) customers reach the app at; plain http only on a loopback host."""
    if not value or not isinstance(value, str):
        return "it is not set (the https address customers open, e.g. https://pay.shop.example)"
    url = weburl.parse(value) if not weburl.problem(value) else None
    if url is None or "?" in url.href or "#" in url.href:
        return "it must be an absolute https URL with no query, fragment or credentials"
    if url.scheme != "https" and url.host not in ("localhost", "127.0.0.1", "[::1]"):
        return "it must be an https URL"
    return None
