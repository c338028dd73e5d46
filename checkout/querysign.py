"""The seed's HMAC form over a query: the parameters sorted by name, URL-encoded as
``k=v&k=v`` (``urllib.parse.urlencode(sorted(params.items()))``, spaces as ``+``), then
base64 of the hex HMAC-SHA256 keyed by the merchant's secret. Signed results and
signed redirect links both use it."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlencode

from .signatures import content_hmac, hmac_matches

Params = Mapping[str, str] | Iterable[tuple[str, str]]


def canonical_query(params: Params) -> str:
    """``k=v&k=v`` sorted by name (then value)."""
    pairs = params.items() if isinstance(params, Mapping) else params
    return urlencode(sorted(pairs))


def sign_query(params: Params, secret: str) -> str:
    return content_hmac(canonical_query(params), secret)


def query_matches(params: Params, secret: str, signature: str | None) -> bool:
    return hmac_matches(canonical_query(params), secret, signature)
