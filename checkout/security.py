"""Response security: a CSP with a per-response nonce, framing per merchant, and the
headers every page that carries a token needs."""
from __future__ import annotations

import base64
import hashlib
import secrets

from flask import Flask, Response, g, request

from . import weburl


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL as a browser reads it, in ASCII (an
    internationalised host in punycode: a header is ASCII), else None."""
    return weburl.origin(url)


def integrity_of(body: bytes) -> str:
    """A Subresource Integrity value (SHA-384) of ``body``."""
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode("ascii")


def nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def allow_form_action(*urls: str | None) -> None:
    """Admit these URLs' origins to this response's ``form-action`` (browsers apply it
    to the redirects that follow a form POST too)."""
    extra = g.setdefault("form_action", set())
    extra.update(o for o in map(origin_of, urls) if o)


def allow_form_action_anywhere() -> None:
    """Let this response's forms lead to any http(s) page. For the sandbox's issuer and
    payment-method pages only: they post back to a merchant's TermUrl or return URL, which
    answers with a redirect to wherever that merchant sends its customers, and browsers
    check ``form-action`` against every hop of that chain. A real ACS cannot know the hops
    either and sets no such limit."""
    g.form_action_anywhere = True


def allow_framing(origins) -> None:
    g.frame_ancestors = list(origins)


def allow_frame_src(*sources: str) -> None:
    """Let this page frame these sources (CSP ``frame-src``; e.g. ``'self'``)."""
    g.setdefault("frame_src", set()).update(sources)


def no_store() -> None:
    g.no_store = True


def content_security_policy() -> str:
    anywhere = ("http:", "https:") if g.get("form_action_anywhere") else ()
    form_action = " ".join(["'self'", *sorted(g.get("form_action", ())), *anywhere])
    ancestors = " ".join(g.get("frame_ancestors") or ()) or "'none'"
    frame_src = " ".join(sorted(g.get("frame_src", ())))
    n = g.get("csp_nonce")
    script = f"'nonce-{n}'" if n else "'none'"
    style = f"'self' 'nonce-{n}'" if n else "'self'"
    return (f"default-src 'none'; script-src {script}; style-src {style}; img-src 'self' data:; "
            f"connect-src 'self'; base-uri 'none'; form-action {form_action}; "
            f"frame-ancestors {ancestors}" + (f"; frame-src {frame_src}" if frame_src else ""))


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = nonce

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer" if g.get("no_store") else "same-origin")
        if not g.get("frame_ancestors"):
            response.headers.setdefault("X-Frame-Options", "DENY")
        if g.get("no_store"):
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
