"""Signed result parameters for the redirect back to the merchant.

The merchant lands on successUrl / failureUrl / pendingUrl (or cancelUrl) with
``invoiceId, transactionId, status, statusCode, amount, currency, reasonCode, reason, ts``
and ``signature``: the seed's HMAC form over those parameters sorted by name and
URL-encoded as ``k=v&k=v`` (``urllib.parse.urlencode(sorted(params.items()))``).
Parameters the merchant put in its own URL are kept and are not part of the signature."""
from __future__ import annotations

import time
from urllib.parse import parse_qsl, unquote_plus, urlencode

from . import weburl
from .querysign import query_matches, sign_query

FIELDS = ("invoiceId", "transactionId", "status", "statusCode", "amount", "currency",
          "reasonCode", "reason", "ts")


def signed_params(result: dict, secret: str, now: float | None = None) -> dict[str, str]:
    """The result fields as strings (missing ones empty), ``ts`` and ``signature``."""
    params = {name: "" if result.get(name) is None else str(result[name]) for name in FIELDS}
    params["ts"] = str(int(now if now is not None else time.time()))
    params["signature"] = sign_query(params, secret)
    return params


def verify(query_string: str, secret: str, max_age: float | None = None) -> bool:
    """True when the query string's ``signature`` matches the other parameters (and, with
    ``max_age``, ``ts`` is no older than that many seconds)."""
    if query_string.startswith("?"):
        query_string = query_string[1:]
    pairs = parse_qsl(query_string, keep_blank_values=True)
    signature = [v for k, v in pairs if k == "signature"]
    # Only our fields are signed: a query the merchant put in its own URL stays its own.
    params = [(k, v) for k, v in pairs if k in FIELDS]
    if len(signature) != 1 or len({k for k, _ in params}) != len(params):
        return False
    if not query_matches(params, secret, signature[0]):
        return False
    if max_age is not None:
        ts = dict(params).get("ts", "")
        return ts.isascii() and ts.isdigit() and time.time() - int(ts) <= max_age
    return True


def with_params(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` added to its query: parameters of those names replaced, the
    merchant's others kept exactly as written. An http(s) URL comes back as the browser
    serialises it (:mod:`checkout.weburl`: ASCII, an internationalised host in punycode),
    since it goes into a ``Location`` header."""
    rest, hash_, fragment = url.partition("#")
    base, _, query = rest.partition("?")
    kept = [pair for pair in query.split("&") if pair and unquote_plus(pair.partition("=")[0]) not in params]
    query = "&".join([*kept, urlencode(list(params.items()))] if params else kept)
    joined = base + ("?" + query if query else "") + hash_ + fragment
    parsed = weburl.parse(joined)
    return parsed.href if parsed else joined
