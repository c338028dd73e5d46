"""The merchant registry: who may create checkouts, where their pages may be embedded
and where their customers may be sent back to."""
from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import weburl

DEMO_PUBLIC_ID = "pbid_test"
DEMO_SECRET = "test_secret"
URL_KEYS = ("successUrl", "failureUrl", "pendingUrl", "cancelUrl")
#: The merchants file's ``limits`` keys and the configuration keys they override (whole
#: numbers from 1; windows in seconds).
LIMIT_KEYS = {
    "attemptsPerCheckout": "MAX_ATTEMPTS",
    "attemptsPerAddress": "MAX_ATTEMPTS_PER_IP",
    "attemptsPerCard": "MAX_ATTEMPTS_PER_CARD",
    "attemptWindow": "ATTEMPT_WINDOW",
    "declinesPerAddress": "MAX_DECLINES_PER_IP",
    "declineWindow": "DECLINE_WINDOW",
    "unsignedAttemptsPerAddress": "UNSIGNED_MAX_ATTEMPTS_PER_IP",
    "unsignedAttemptsPerMerchant": "UNSIGNED_MAX_ATTEMPTS_PER_MERCHANT",
}


@dataclass(frozen=True)
class Merchant:
    public_id: str
    secret: str
    name: str = ""
    #: Origins that may frame the checkout, e.g. ``https://shop.example`` or
    #: ``http://localhost:*`` (any port).
    allowed_origins: tuple[str, ...] = ()
    #: Hosts the redirect URLs must be on; empty means any http(s) host.
    redirect_hosts: tuple[str, ...] = ()
    require_hmac: bool = False
    #: ``widget.js`` may start a checkout from options the merchant's server did not sign
    #: (the seed's ``publicId`` style), from a page on one of ``allowed_origins``.
    allow_unsigned_widget: bool = False
    #: ``/payments/redirect/<publicId>`` links are accepted without a ``signature``.
    allow_unsigned_redirect: bool = False
    #: Default successUrl / failureUrl / pendingUrl / cancelUrl for checkouts that do not
    #: name their own (unsigned widget payments).
    default_urls: dict = field(default_factory=dict, compare=False)
    #: Ask the customer for the CVV again when paying with a saved card.
    saved_card_cvv: bool = False
    #: The cashier may offer withdrawals (payouts) to this merchant's customers.
    allow_payouts: bool = False
    #: Credentials this merchant has at the gateway (default: the same pair).
    gateway_public_id: str = ""
    gateway_secret: str = ""
    #: Where our server tells the merchant's server every outcome (the outbox).
    notification_url: str = ""
    #: The seed's Payment Check: asked before each charge; ``{"code":0}`` lets it go on.
    check_url: str = ""
    #: This merchant's card-testing limits, by configuration key (``MAX_ATTEMPTS_PER_IP``
    #: ...), over the app's: from the merchants file's ``limits`` (see :data:`LIMIT_KEYS`).
    limits: dict = field(default_factory=dict, compare=False)
    extra: dict = field(default_factory=dict, compare=False)

    def check_secret(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret.encode(), secret.encode())

    @property
    def gateway_credentials(self) -> tuple[str, str]:
        return (self.gateway_public_id or self.public_id, self.gateway_secret or self.secret)

    def origin_allowed(self, origin: str) -> bool:
        """True when ``origin`` (an ASCII origin, :func:`checkout.weburl.origin`) matches an
        allowed origin; patterns are read as browsers read URLs (punycode, case, ports)."""
        return any(weburl.origin_matches(pattern, origin) for pattern in self.allowed_origins)

    def redirect_host_allowed(self, url: str) -> bool:
        """``url``'s host, as a browser reads it (backslashes, IDNA, case, a trailing dot),
        is one of the redirect hosts (``shop.example``, ``*.shop.example``) or none are set."""
        if not self.redirect_hosts:
            return True
        parsed = weburl.parse(url)
        return parsed is not None and any(weburl.host_matches(parsed.host, h) for h in self.redirect_hosts)


DEMO_MERCHANT = Merchant(
    public_id=DEMO_PUBLIC_ID,
    secret=DEMO_SECRET,
    name="Demo Store",
    allowed_origins=("http://localhost:*", "http://127.0.0.1:*"),
    allow_unsigned_widget=True,
    allow_payouts=True,
    # The demo store's receiver on this same app (a path: delivered in-process).
    notification_url="/demo/notifications",
)


class MerchantRegistry:
    def __init__(self, merchants: list[Merchant]):
        self._by_id = {m.public_id: m for m in merchants}

    def get(self, public_id: str) -> Merchant | None:
        return self._by_id.get(public_id)

    def authenticate(self, public_id: str, secret: str) -> Merchant | None:
        merchant = self.get(public_id)
        return merchant if merchant and merchant.check_secret(secret) else None

    def has_demo(self) -> bool:
        return any(m.secret == DEMO_SECRET or m.public_id == DEMO_PUBLIC_ID for m in self._by_id.values())

    def __iter__(self):
        return iter(self._by_id.values())


def _merchant_from_json(item: dict) -> Merchant:
    known = {"publicId", "secret", "name", "allowedOrigins", "redirectHosts", "requireHmac",
             "gatewayPublicId", "gatewaySecret", "allowUnsignedWidget", "allowUnsignedRedirect",
             "savedCardCvv", "allowPayouts", "notificationUrl", "checkUrl", "limits", *URL_KEYS}
    try:
        return Merchant(
            public_id=str(item["publicId"]),
            secret=str(item["secret"]),
            name=str(item.get("name", "")),
            allowed_origins=_patterns(item, "allowedOrigins", weburl.origin_source),
            redirect_hosts=_patterns(item, "redirectHosts", weburl.host_pattern),
            require_hmac=bool(item.get("requireHmac", False)),
            allow_unsigned_widget=bool(item.get("allowUnsignedWidget", False)),
            allow_unsigned_redirect=bool(item.get("allowUnsignedRedirect", False)),
            default_urls={k: _http_url(item, k) for k in URL_KEYS if item.get(k)},
            saved_card_cvv=bool(item.get("savedCardCvv", False)),
            allow_payouts=bool(item.get("allowPayouts", False)),
            gateway_public_id=str(item.get("gatewayPublicId", "")),
            gateway_secret=str(item.get("gatewaySecret", "")),
            notification_url=_http_url(item, "notificationUrl"),
            check_url=_http_url(item, "checkUrl"),
            limits=_limits(item),
            extra={k: v for k, v in item.items() if k not in known},
        )
    except KeyError as missing:
        raise ValueError(f"a merchant in the merchants file lacks {missing}") from None


def _limits(item: dict) -> dict[str, int]:
    """The merchant's ``limits`` by configuration key; a key or value that is not one
    refuses the file (a typo must not leave a limit at its default unnoticed)."""
    given = item.get("limits") or {}
    who = f"merchant {item.get('publicId')!r}"
    if not isinstance(given, dict):
        raise ValueError(f"{who}: limits must be an object of {', '.join(LIMIT_KEYS)}")
    unknown = sorted(set(given) - set(LIMIT_KEYS))
    if unknown:
        raise ValueError(f"{who}: unknown limits {', '.join(unknown)} (known: {', '.join(LIMIT_KEYS)})")
    for key, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{who}: limits.{key} must be a whole number from 1")
    return {LIMIT_KEYS[key]: value for key, value in given.items()}


def _patterns(item: dict, key: str, normal: Callable[[str], str]) -> tuple[str, ...]:
    """A list of origins or hosts of the merchants file, kept in the form they are compared
    and sent in (``normal``: ASCII, punycode, lower case); one that is none refuses the file
    (a typo must not quietly allow nothing, or everything)."""
    values = item.get(key, ())
    listed = values if isinstance(values, (list, tuple)) else [None]
    kept = tuple(normal(v) if isinstance(v, str) else "" for v in listed)
    if not all(kept):
        raise ValueError(f"merchant {item.get('publicId')!r}: {key} must be a list of "
                         + ("origins such as https://shop.example" if key == "allowedOrigins"
                            else "hosts such as shop.example or *.shop.example"))
    return kept


def _http_url(item: dict, key: str) -> str:
    """An http(s) URL of the merchants file, or "" when absent; anything else refuses the file."""
    value = str(item.get(key) or "")
    if value:
        if weburl.problem(value):
            raise ValueError(f"merchant {item.get('publicId')!r}: {key} must be an http(s) URL")
        value = weburl.parse(value).href
    return value


def load_registry(path: str | None, mode: str) -> MerchantRegistry:
    """Merchants from ``path`` (JSON: a list, or ``{"merchants": [...]}``); with no file,
    the sandbox's demo merchant."""
    if not path:
        return MerchantRegistry([DEMO_MERCHANT] if mode != "production" else [])
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    items = data["merchants"] if isinstance(data, dict) else data
    return MerchantRegistry([_merchant_from_json(item) for item in items])
