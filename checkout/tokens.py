"""Checkout tokens: URL-safe, timed, one key per purpose, key rotation, and encrypted, so
that nothing a link carries (the customer's name, email, address...) is readable by
whoever sees the URL: an access log, a proxy, a browser's history.

A token is ``base64url(version | key id | nonce | ciphertext+tag)`` without padding, made
with AES-256-GCM (authenticated encryption: any changed byte is refused):

- the key is derived with HKDF-SHA256 from one of ``SECRET_KEYS`` and the token's
  purpose (``salt``, the HKDF ``info``): a CSRF token is no checkout token even with the
  same payload, and one secret gives each purpose its own key. Derived keys are cached
  per (secrets, purpose): HKDF costs ~6 µs a key, the cached lookup ~1 µs;
- the key id is the first 4 bytes of SHA-256 over the derived key: decryption picks the
  keys whose id matches (a collision only costs one more try) rather than trying all;
- the version byte and key id are the associated data; the nonce is 96 random bits;
- the plaintext is the issue time (Unix seconds, 4 bytes), a form byte (0: JSON, 1:
  zlib-compressed JSON, used when it is shorter) and the compact JSON payload. ``max_age``
  (``TOKEN_LIMIT_AGE`` for links) is counted from the issue time, as before.

The first key encrypts; every key in ``SECRET_KEYS`` decrypts, so a rotation keeps old
links open until the old key is dropped. A token longer than :data:`MAX_TOKEN_LENGTH`,
not ASCII, or not one of ours raises :class:`TokenError`, never anything else.

Links made before tokens were encrypted (itsdangerous's signed form, which has dots) are
still *loaded*, never issued: they expire within ``TOKEN_LIMIT_AGE`` (7 days) of the
upgrade, after which :func:`_load_legacy` can go. Encrypted or not, a token never holds
a secret or card data."""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import os
import re
import struct
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app
from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer

CHECKOUT_SALT = "checkout.link"
CSRF_SALT = "checkout.form"

VERSION = 1
#: The longest token :func:`load` reads (a link's is a few hundred characters).
MAX_TOKEN_LENGTH = 8192
_KID_SIZE = 4
_NONCE_SIZE = 12
_TAG_SIZE = 16
_HEADER_SIZE = 1 + _KID_SIZE
_STAMP = struct.Struct(">IB")  # issue time, form
_JSON, _ZLIB_JSON = 0, 1
_HKDF_SALT = b"checkout.tokens.v1"
#: A token issued by a server whose clock is this far ahead still opens (several servers).
_CLOCK_SKEW = 60
_MIN_RAW = _HEADER_SIZE + _NONCE_SIZE + _TAG_SIZE + _STAMP.size + 1
#: The shortest token :func:`sign` makes, in characters (the log mask looks for runs this long).
MIN_TOKEN_LENGTH = -(-_MIN_RAW * 4 // 3)
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


class TokenError(Exception):
    """The token is not one of ours, was altered, or has expired."""

    expired = False


class TokenExpired(TokenError):
    expired = True


@dataclass(frozen=True)
class _Key:
    kid: bytes
    aead: AESGCM


@functools.lru_cache(maxsize=256)
def _key_ring(secrets: tuple[str, ...], purpose: str) -> tuple[_Key, ...]:
    """The purpose's keys, one per secret, the encrypting one first."""
    ring = []
    for secret in secrets:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT,
                   info=purpose.encode()).derive(secret.encode())
        ring.append(_Key(hashlib.sha256(key).digest()[:_KID_SIZE], AESGCM(key)))
    return tuple(ring)


def _keys(purpose: str, app: Flask | None) -> tuple[_Key, ...]:
    secrets = tuple((app or current_app).config["SECRET_KEYS"])
    if not secrets:
        raise RuntimeError("SECRET_KEYS is empty: tokens need at least one key")
    return _key_ring(secrets, purpose)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(token: str) -> bytes:
    """The bytes of a base64url token; only the canonical spelling (the one :func:`_b64`
    gives), so that no two strings are the same token (a last character's unused bits)."""
    if not _ALPHABET.fullmatch(token):
        raise TokenError("the link is not valid")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenError("the link is not valid") from exc
    if _b64(raw) != token:
        raise TokenError("the link is not valid")
    return raw


def is_token_shaped(text: str) -> bool:
    """``text`` has the form of a token :func:`sign` makes (no key needed: the log mask
    asks, to hide tokens wherever a line carries one)."""
    try:
        raw = _unb64(text)
    except TokenError:
        return False
    return len(raw) >= _MIN_RAW and raw[0] == VERSION


def sign(payload: Any, salt: str, app: Flask | None = None) -> str:
    """``payload`` (JSON) encrypted for the purpose ``salt`` with the first key."""
    key = _keys(salt, app)[0]
    body = json.dumps(payload, separators=(",", ":")).encode("ascii")
    packed = zlib.compress(body)
    form = _ZLIB_JSON if len(packed) < len(body) else _JSON
    plaintext = _STAMP.pack(int(time.time()), form) + (packed if form == _ZLIB_JSON else body)
    header = bytes([VERSION]) + key.kid
    nonce = os.urandom(_NONCE_SIZE)
    return _b64(header + nonce + key.aead.encrypt(nonce, plaintext, header))


def load(token: str, salt: str, max_age: int | None, app: Flask | None = None) -> Any:
    """The payload of a token made by :func:`sign` for ``salt`` at most ``max_age``
    seconds ago (None: any age); raises :class:`TokenExpired` or :class:`TokenError`."""
    app = app or current_app
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise TokenError("the link is not valid")
    if "." in token:
        return _load_legacy(token, salt, max_age, app)
    issued, payload = _open(token, _keys(salt, app))
    age = int(time.time()) - issued
    if max_age is not None and (age > max_age or age < -_CLOCK_SKEW):
        raise TokenExpired("the link has expired")
    return payload


def _open(token: str, ring: tuple[_Key, ...]) -> tuple[int, Any]:
    raw = _unb64(token)
    if len(raw) < _MIN_RAW or raw[0] != VERSION:
        raise TokenError("the link is not valid")
    header, nonce, sealed = raw[:_HEADER_SIZE], raw[_HEADER_SIZE:_HEADER_SIZE + _NONCE_SIZE], \
        raw[_HEADER_SIZE + _NONCE_SIZE:]
    for key in ring:
        if key.kid != header[1:]:
            continue
        try:
            plaintext = key.aead.decrypt(nonce, sealed, header)
        except InvalidTag:
            continue
        break
    else:
        raise TokenError("the link is not valid")
    issued, form = _STAMP.unpack_from(plaintext)
    body = plaintext[_STAMP.size:]
    try:  # authentic, so ours: only a bug of ours could fail here
        return issued, json.loads(zlib.decompress(body) if form == _ZLIB_JSON else body)
    except (zlib.error, ValueError) as exc:
        raise TokenError("the link is not valid") from exc


def _serializer(salt: str, app: Flask) -> URLSafeTimedSerializer:
    # itsdangerous signs with the *last* key and verifies with all; ours signed with the first.
    return URLSafeTimedSerializer(list(reversed(app.config["SECRET_KEYS"])), salt=salt)


def _load_legacy(token: str, salt: str, max_age: int | None, app: Flask) -> Any:
    """A token signed (not encrypted) before the upgrade: loaded, never issued. Remove
    once every deployment has run the encrypting version for ``TOKEN_LIMIT_AGE``."""
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
