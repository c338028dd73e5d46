"""URLs and hosts as a browser reads them (the WHATWG URL Standard, by ada: the parser
Node.js uses). Python's ``urlsplit`` is not a browser: it keeps a backslash in the host
(``https://evil.example\\.shop.example/`` is ``evil.example`` to Chromium), leaves an
internationalised host in Unicode (a CSP header must be ASCII) and raises on some input
(``http://[``). Every URL the app takes (redirect URLs, notification and check URLs,
embed origins, merchants' host patterns, PUBLIC_URL) is read here, and the app stores and
sends on the serialised ``href`` of what it checked, so what was checked is what the
browser follows."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import ada_url

#: The longest URL a request may carry.
URL_LIMIT = 2000
HTTP_SCHEMES = ("http", "https")
#: ``http://`` or ``https://`` (any case) and then the host itself: no more slashes.
_WRITTEN_OUT = re.compile(r"https?://[^/\\]", re.ASCII | re.IGNORECASE)


@dataclass(frozen=True)
class WebURL:
    """An http(s) URL as a browser reads it. ``host`` is ASCII (punycode), lower case and
    without a trailing dot, IPv6 in brackets: the form hosts are compared in."""

    href: str
    scheme: str
    host: str
    port: int | None
    origin: str
    has_credentials: bool


def parse(value: object) -> WebURL | None:
    """``value`` read as a browser reads an http(s) URL, or None (not a string, not a
    URL, another scheme, no host)."""
    if not isinstance(value, str) or not value or len(value) > 4 * URL_LIMIT:
        return None
    return _parsed(value)


@functools.lru_cache(maxsize=4096)
def _parsed(value: str) -> WebURL | None:
    """:func:`parse` of a string, kept: a page reads its checkout's URLs several times
    (CSP, result links, the frame's origin) and a WebURL is immutable."""
    try:
        url = ada_url.URL(value)
    except ValueError:
        return None
    scheme = url.protocol.rstrip(":")
    if scheme not in HTTP_SCHEMES or not url.hostname:
        return None
    return WebURL(href=url.href, scheme=scheme, host=url.hostname.rstrip(".").lower(),
                  port=int(url.port) if url.port else None, origin=url.origin.lower(),
                  has_credentials=bool(url.username or url.password))


def problem(value: object) -> str | None:
    """Why ``value`` is not a URL the app may send a customer or a request to (None: it
    is): an absolute http(s) URL of at most :data:`URL_LIMIT` characters, with no
    credentials and no spaces or control characters (which browsers would drop silently,
    so what was checked would not be what is used)."""
    if not isinstance(value, str) or len(value) > URL_LIMIT:
        return f"must be a URL of at most {URL_LIMIT} characters"
    if any(ch.isspace() or ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in value):
        return "must be a plain http(s) URL"
    if not _WRITTEN_OUT.match(value):
        return "must be an http(s) URL"  # also "//host", "https:host", "https:///host", which browsers complete
    url = parse(value)
    if url is None:
        return "must be an http(s) URL"
    if url.has_credentials:
        return "must be a plain http(s) URL"
    return None


def origin(value: object) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL in ASCII (punycode), else None."""
    url = parse(value)
    return url.origin if url else None


@functools.lru_cache(maxsize=1024)
def host_pattern(pattern: str) -> str:
    """A host or ``*.host`` pattern as hosts are compared: IDNA to punycode, lower case,
    no trailing dot ("" when it is no host)."""
    wildcard = pattern.strip().startswith("*.")
    bare = pattern.strip()[2:] if wildcard else pattern.strip()
    written = f"https://{bare}/"
    url = parse(written) if bare and not any(ch in bare for ch in "/\\@?#:") and not problem(written) else None
    if url is None:
        return ""
    return ("*." if wildcard else "") + url.host


def host_matches(host: str, pattern: str) -> bool:
    """``host`` (a :class:`WebURL` host) is ``pattern`` or, for ``*.example``, below it."""
    normal = host_pattern(pattern)
    if not normal:
        return False
    if normal.startswith("*."):
        return host.endswith(normal[1:])
    return host == normal


@functools.lru_cache(maxsize=1024)
def origin_pattern(pattern: str) -> tuple[str, bool]:
    """An allowed-origin pattern (``https://shop.example``, ``http://localhost:*``) as
    origins are compared: its ASCII origin, and whether any port is allowed ("" for the
    origin when the pattern is none: a path, query or credentials, spaces, another scheme)."""
    any_port = pattern.rstrip("/").endswith(":*")
    base = pattern.rstrip("/")[:-2] if any_port else pattern.rstrip("/")
    url = parse(base) if not problem(base) else None
    return (url.origin if url and url.href == url.origin + "/" else "", any_port)


def origin_source(pattern: str) -> str:
    """An allowed-origin pattern as it is kept and put into CSP ``frame-ancestors``: its
    ASCII origin, ``:*`` kept ("" when it is no origin). A header is ASCII: an
    internationalised host in it is a 500 under gunicorn."""
    base, any_port = origin_pattern(pattern)
    return base + ":*" if base and any_port else base


def origin_matches(pattern: str, candidate: str) -> bool:
    """``candidate`` (an ASCII origin from :func:`origin`) is allowed by ``pattern``."""
    base, any_port = origin_pattern(pattern)
    if not base:
        return False
    if candidate == base:
        return True
    if not any_port or not candidate.startswith(base + ":"):
        return False
    port = candidate[len(base) + 1:]
    return port.isascii() and port.isdigit() and len(port) <= 5
