"""Configuration in one place: defaults, then ``CHECKOUT_<KEY>`` environment variables,
then the dict given to ``create_app``."""
from __future__ import annotations

import os
from typing import Any

#: Signing key used when none is configured. Sandbox mode only: production refuses it.
DEFAULT_SECRET_KEY = "dev-insecure-checkout-key"

MODES = ("sandbox", "production")

DEFAULTS: dict[str, Any] = {
    "MODE": "sandbox",  # or "production"
    "SECRET_KEYS": DEFAULT_SECRET_KEY,  # comma-separated; the first signs, all verify
    "DATABASE": None,  # SQLite path; default: <instance>/checkout.sqlite3
    "SANDBOX_DATABASE": None,  # the embedded gateway's own state; default under instance/
    "GATEWAY_URL": "sandbox",  # "sandbox" = embedded test gateway, in-process
    "GATEWAY_TIMEOUT": 15.0,  # seconds to wait for the gateway's answer
    "MERCHANTS_FILE": None,
    "PUBLIC_URL": None,  # base of the links it makes; default: the request's host
    "TOKEN_MAX_AGE": 30 * 60,  # default lifetime of a checkout link, seconds
    "TOKEN_MIN_AGE": 60,
    "TOKEN_LIMIT_AGE": 7 * 24 * 3600,  # the longest lifetime a request may ask for
    "MAX_DECLINES": 3,  # per checkout, then the failure URL
    "MAX_DECLINES_PER_IP": 10,  # per client address within DECLINE_WINDOW
    "DECLINE_WINDOW": 3600,
    "PENDING_GRACE": 30,  # seconds a charge with no trace at the gateway stays pending
    "PENDING_REFRESH": 3,  # seconds between the confirming page's status checks
    "SANDBOX_SLOW_SECONDS": None,  # how long the sandbox's "slow" card sleeps; default timeout + 2
    "TRUSTED_PROXIES": 0,  # reverse proxies in front that set X-Forwarded-For/-Proto/-Host
}

_NUMBERS = {"GATEWAY_TIMEOUT": float, "TOKEN_MAX_AGE": int, "TOKEN_MIN_AGE": int,
            "TOKEN_LIMIT_AGE": int, "MAX_DECLINES": int, "MAX_DECLINES_PER_IP": int,
            "DECLINE_WINDOW": int, "PENDING_GRACE": float, "PENDING_REFRESH": int,
            "SANDBOX_SLOW_SECONDS": float, "TRUSTED_PROXIES": int}


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the app refuses to start."""


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
    database = config["DATABASE"]
    if isinstance(database, str) and "://" in database:
        # Not a file name: refuse rather than make a SQLite file called "redis:/...".
        raise ConfigError(f"DATABASE must be a SQLite file path; {database.split('://')[0]}:// stores "
                          "are not supported yet")
    config["MODE"] = str(config["MODE"]).strip().lower()
    if config["MODE"] not in MODES:
        # "prod" or "live" must not quietly run as the sandbox, demo merchant and all.
        raise ConfigError(f"MODE must be one of {', '.join(MODES)}, not {config['MODE']!r}")
    return config


def check_production(config: dict[str, Any], merchants) -> None:
    """Production refuses the demo merchant, default keys and the sandbox gateway."""
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
