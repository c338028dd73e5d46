"""What a try to pay is counted by, for the card-testing limits: a keyed fingerprint of the
card (never the card number) and the client's address block.

* A card's fingerprint is HMAC-SHA256 of its digits (spaces and dashes dropped) with a key
  derived by HKDF-SHA256 from a secret (the first of ``SECRET_KEYS``) for this purpose
  alone: without the key nobody can test a number against it, and it is no token key. A
  saved card is counted by the gateway's token for it, under another label: its number
  is never known here. A key rotation starts the counts afresh (within one window).
* An IPv6 client is counted by its /64, the block one customer's router hands out (a
  single host can take any address in it); IPv4 by its address, an IPv4-mapped IPv6
  address as the IPv4 one."""
from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PURPOSE = b"checkout.card-fingerprint.v1"


@functools.lru_cache(maxsize=16)
def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret.encode())


def _mac(secret: str, label: str, value: str) -> str:
    return hmac.new(_key(secret), f"{label}:{value}".encode(), hashlib.sha256).hexdigest()


def card(pan: str, secret: str) -> str:
    """The fingerprint of a card number (64 hex digits; the same for any spelling)."""
    return _mac(secret, "pan", "".join(ch for ch in pan if ch.isascii() and ch.isdigit()))


def saved_card(token: str, secret: str) -> str:
    """The fingerprint of a saved card, by the gateway's token for it."""
    return _mac(secret, "saved", token)


def _parsed(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_key(ip: str | None) -> str | None:
    """The client address as the limits count it: IPv4 as it is, IPv6 by its /64
    (``2001:db8:1:2::/64``); anything that is not an address as given; None for none."""
    if not ip or not ip.strip():
        return None
    address = _parsed(ip)
    if address is None:
        return ip.strip()
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def is_loopback(ip: str | None) -> bool:
    address = _parsed(ip)
    return address is not None and address.is_loopback
