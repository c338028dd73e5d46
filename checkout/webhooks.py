"""How a notification is signed and what counts as its confirmation: pure rules, shared
by the sender (:mod:`checkout.flows.merchant`), the demo store's receiver and the tests.

Two signatures ride on every notification, over the raw body:

* ``Content-HMAC``: the seed's form (base64 of the hex HMAC-SHA256, key = the merchant's
  secret): :func:`checkout.signatures.content_hmac`.
* The Standard Webhooks trio: ``webhook-id`` (the notification's id, the same on every
  retry), ``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
  ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``. The key is the merchant's secret as
  UTF-8 bytes; the specification's libraries take it as ``base64(secret)`` (their
  ``whsec_`` secrets are base64). A receiver refuses a timestamp too far from its clock
  (:data:`TOLERANCE`), and remembers ids it has seen: replays fail both."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from email.utils import parsedate_to_datetime

from .signatures import content_hmac, hmac_matches

#: Seconds a receiver accepts between ``webhook-timestamp`` and its own clock.
TOLERANCE = 300


def standard_signature(body: str | bytes, secret: str, message_id: str, timestamp: int) -> str:
    """``v1,<base64>`` of the Standard Webhooks signed content ``id.timestamp.body``."""
    raw = body.encode() if isinstance(body, str) else body
    signed = f"{message_id}.{timestamp}.".encode() + raw
    return "v1," + base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def headers(body: str | bytes, secret: str, message_id: str, timestamp: int) -> dict[str, str]:
    """The signature headers of one delivery."""
    return {"Content-HMAC": content_hmac(body, secret), "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": standard_signature(body, secret, message_id, timestamp)}


def verify(body: bytes, received: dict[str, str], secret: str, now: float | None = None) -> dict[str, bool]:
    """What a receiver checks: ``{"contentHmac": ..., "standard": ...}``. The standard
    signature also needs a timestamp within :data:`TOLERANCE` of ``now``; any of the
    space-separated ``v1,`` signatures may match (the specification's key rotation)."""
    lower = {k.lower(): v for k, v in received.items()}
    ok_hmac = hmac_matches(body, secret, lower.get("content-hmac"))
    message_id, stamp = lower.get("webhook-id", ""), lower.get("webhook-timestamp", "")
    signatures = lower.get("webhook-signature", "")
    ok_standard = False
    # ASCII only: "²" is a digit to str.isdigit, and compare_digest refuses non-ASCII text.
    if message_id.isascii() and signatures.isascii() and stamp.isascii() and stamp.isdigit() \
            and abs((time.time() if now is None else now) - int(stamp)) <= TOLERANCE:
        expected = standard_signature(body, secret, message_id, int(stamp)).encode()
        ok_standard = bool(message_id) and any(hmac.compare_digest(expected, given.encode())
                                               for given in signatures.split())
    return {"contentHmac": ok_hmac, "standard": ok_standard}


def confirmation(status: int, content: bytes) -> tuple[bool, str | None]:
    """Whether an answer confirms (2xx with the JSON ``{"code":0}``; the seed's Payment
    Check speaks of the code value "0", so ``"0"`` counts too), and why not."""
    if not 200 <= status < 300:
        return False, f"HTTP {status}"
    try:
        data = json.loads(content or b"null")
    except ValueError:
        return False, 'the answer is not JSON (expected {"code":0})'
    code = data.get("code") if isinstance(data, dict) else None
    if code == 0 and not isinstance(code, bool) or code == "0":
        return True, None
    return False, 'the answer is not {"code":0}'


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # float("²") raises: "²".isdigit() is True
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
