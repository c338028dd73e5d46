"""The OdeonPay HMAC form: base64 of the *hex* HMAC-SHA256 digest, keyed by the secret
(what PHP's ``base64_encode(hash_hmac('sha256', $data, $key))`` prints)."""
from __future__ import annotations

import base64
import hashlib
import hmac


def content_hmac(message: bytes | str, key: str) -> str:
    if isinstance(message, str):
        message = message.encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def hmac_matches(message: bytes | str, key: str, value: str | None) -> bool:
    """``value`` (a header) is the HMAC of ``message``; any header that is not ASCII is
    simply not (``compare_digest`` refuses non-ASCII text rather than answering False)."""
    if not value or not value.isascii():
        return False
    return hmac.compare_digest(content_hmac(message, key).encode(), value.strip().encode())
