"""Signed checkout tokens (itsdangerous): URL-safe, timed, one salt per purpose, key
rotation. Signed, not encrypted: never put a secret or card data in one."""
from __future__ import annotations

import time
import uuid
from typing import Any

from flask import Flask, current_app
from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer

CHECKOUT_SALT = "checkout.link"
CSRF_SALT = "checkout.form"


class TokenError(Exception):
    """The token is not one of ours, was altered, or has expired."""

    expired = False


class TokenExpired(TokenError):
    expired = True


def _serializer(salt: str, app: Flask | None = None) -> URLSafeTimedSerializer:
    keys = (app or current_app).config["SECRET_KEYS"]
    # itsdangerous signs with the *last* key and verifies with all; ours signs with the first.
    return URLSafeTimedSerializer(list(reversed(keys)), salt=salt)


def sign(payload: Any, salt: str, app: Flask | None = None) -> str:
    return _serializer(salt, app).dumps(payload)


def load(token: str, salt: str, max_age: int | None, app: Flask | None = None) -> Any:
    try:
        return _serializer(salt, app).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenExpired("the link has expired") from exc
    except (BadSignature, BadData, UnicodeError, ValueError, TypeError) as exc:
        raise TokenError("the link is not valid") from exc


def stamp_checkout(payload: dict, app: Flask | None = None) -> dict:
    """``payload`` as its token carries it: with ``cid`` (a unique checkout id) and
    ``exp`` (Unix seconds) unless given; ``ttl`` in the payload asks for another lifetime."""
    app = app or current_app
    body = dict(payload)
    ttl = int(body.pop("ttl", None) or app.config["TOKEN_MAX_AGE"])
    ttl = max(app.config["TOKEN_MIN_AGE"], min(ttl, app.config["TOKEN_LIMIT_AGE"]))
    body.setdefault("cid", uuid.uuid4().hex)
    body.setdefault("exp", int(time.time()) + ttl)
    return body


def sign_checkout(payload: dict, app: Flask | None = None) -> str:
    """A checkout token for ``payload`` (stamped by :func:`stamp_checkout`)."""
    app = app or current_app
    return sign(stamp_checkout(payload, app), CHECKOUT_SALT, app)


def sign_stamped(payload: dict, app: Flask | None = None) -> str:
    """The token of a payload :func:`stamp_checkout` already stamped."""
    return sign(payload, CHECKOUT_SALT, app)


def load_checkout(token: str, app: Flask | None = None, *, allow_expired: bool = False) -> dict:
    """The payload of a checkout token; raises :class:`TokenExpired` or :class:`TokenError`.
    ``allow_expired`` admits a link past its ``exp`` (not past TOKEN_LIMIT_AGE): a payment
    started before expiry may still come back from 3-D Secure or a status check."""
    app = app or current_app
    payload = load(token, CHECKOUT_SALT, app.config["TOKEN_LIMIT_AGE"], app)
    if not isinstance(payload, dict) or "cid" not in payload or "exp" not in payload:
        raise TokenError("the link is not valid")
    if not allow_expired and time.time() > payload["exp"]:
        raise TokenExpired("the link has expired")
    return payload
