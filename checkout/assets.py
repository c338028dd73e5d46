"""Static files at content-hashed URLs, cached for a year and served precompressed.

``asset_url("js/forms.js")`` is ``/assets/js/forms.<hash>.js``: the hash is the first 12
hex digits of the file's SHA-256, so a changed file gets a new URL and a browser may keep
every URL forever (``Cache-Control: public, max-age=31536000, immutable``): a repeat view
asks for nothing. The same bytes give the ``integrity`` value (:func:`integrity`), so the
URL, the Subresource Integrity hash and the PCI script inventory always name one file.

Text files (CSS, JavaScript, SVG) are kept in memory as they are and compressed with
brotli and gzip once per process; each request gets the smallest one its
``Accept-Encoding`` allows. A URL whose hash is not the file's current one (a page of an
older release) is a 404, never another file's bytes under an immutable URL.

``/static/...`` (Flask's own route) still serves the same files, revalidated on every
use: for whoever links a file by its plain name (the widget's script has its own
route, ``/widget.js``, for the same reason)."""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path

import brotli
import rcssmin
import rjsmin
from flask import Blueprint, Flask, Response, abort, current_app, request
from markupsafe import Markup

from .paths import STATIC
from .security import integrity_of

bp = Blueprint("assets", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"
_HASH_LENGTH = 12
_TEXT = (".css", ".js", ".svg")
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Asset:
    """One static file as served: its bytes, compressed forms and hashes."""

    name: str  # under static/, e.g. js/forms.js
    body: bytes
    digest: str  # hex SHA-256, first _HASH_LENGTH digits
    integrity: str  # sha384-..., for the tags' integrity attribute
    mtime_ns: int
    encoded: dict[str, bytes]  # "br" / "gzip" -> the compressed body (only when smaller)

    @property
    def hashed_name(self) -> str:
        stem, dot, ext = self.name.rpartition(".")
        return f"{stem}.{self.digest}.{ext}" if dot else f"{self.name}.{self.digest}"


def _minified(path: Path, body: bytes) -> bytes:
    """Scripts and stylesheets without their comments and spaces (rjsmin, rcssmin): our
    sources keep their comments for whoever reads them; what travels is about a quarter
    smaller, compressed. The hashes are of these bytes: what the browser receives."""
    if path.suffix == ".js":
        return rjsmin.jsmin(body.decode("utf-8")).encode("utf-8")
    if path.suffix == ".css":
        return rcssmin.cssmin(body.decode("utf-8")).encode("utf-8")
    return body


def _build(name: str, path: Path, mtime_ns: int) -> Asset:
    body = _minified(path, path.read_bytes())
    encoded: dict[str, bytes] = {}
    if path.suffix in _TEXT:
        for coding, packed in (("br", brotli.compress(body, quality=11)),
                               ("gzip", gzip.compress(body, compresslevel=9, mtime=0))):
            if len(packed) < len(body):
                encoded[coding] = packed
    return Asset(name=name, body=body, digest=hashlib.sha256(body).hexdigest()[:_HASH_LENGTH],
                 integrity=integrity_of(body),
                 mtime_ns=mtime_ns, encoded=encoded)


class Manifest:
    """The static files by name, read on first use. ``watch``: look at each file's
    modification time on every use and read it again when it changed (development: a
    file edited under ``make run`` gets its new URL at once); otherwise a file is read
    once per process (production: a release's files do not change under it)."""

    def __init__(self, root: Path = STATIC, watch: bool = False):
        self.root = root.resolve()
        self.watch = watch
        self._assets: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Asset:
        """The asset ``name`` (``js/forms.js``); FileNotFoundError when there is none."""
        found = self._assets.get(name)
        if found is not None and not self.watch:
            return found
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise FileNotFoundError(name)
        mtime = path.stat().st_mtime_ns
        if found is None or found.mtime_ns != mtime:
            with self._lock:
                found = _build(name, path, mtime)
                self._assets[name] = found
        return found

    def by_hashed_name(self, hashed: str) -> Asset | None:
        """The asset a hashed name (``js/forms.<hash>.js``) stands for, when the hash is
        its current one."""
        head, dot, ext = hashed.rpartition(".")
        stem, dot2, digest = head.rpartition(".") if dot else ("", "", "")
        if not (dot2 and len(digest) == _HASH_LENGTH and digest.isascii() and digest.isalnum()):
            return None
        try:
            asset = self.get(f"{stem}.{ext}")
        except (FileNotFoundError, OSError, ValueError):
            return None
        return asset if asset.digest == digest else None


def describe(name: str) -> Asset:
    """The static file ``name`` as it is served (its hashed name and integrity), read now:
    for tools without an app (``pci inventory``)."""
    path = STATIC / name
    return _build(name, path, path.stat().st_mtime_ns)


def url_path(asset: Asset) -> str:
    """The path an asset is served at (what :func:`asset_url` gives in a request)."""
    return "/assets/" + asset.hashed_name


def manifest(app: Flask | None = None) -> Manifest:
    return (app or current_app).extensions["checkout.assets"]


def asset_url(name: str) -> str:
    """The content-hashed URL of the static file ``name`` (``js/forms.js``): the app's root
    (behind a proxy that mounts it under a path, ``SCRIPT_NAME``) and ``/assets/...``."""
    return request.script_root + url_path(manifest().get(name))


def integrity(name: str) -> str:
    """The Subresource Integrity value (SHA-384) of the static file ``name``."""
    return manifest().get(name).integrity


def inline(name: str) -> Markup:
    """The text of the stylesheet ``name``, to inline in the page's nonce'd ``<style>``
    (the first paint needs no second request). Markup, not escaped: it is our own file
    (CSS has ``>`` and quotes), never anyone's input; a ``</style`` in it is refused."""
    text = manifest().get(name).body.decode("utf-8")
    if not name.endswith(".css") or "</style" in text.lower():
        raise ValueError(f"{name} cannot be inlined in a style element")
    return Markup(text)


def _encoding(asset: Asset) -> str | None:
    """The compressed form to send: brotli when the client takes it, else gzip."""
    accepted = request.accept_encodings
    for coding in ("br", "gzip"):
        if coding in asset.encoded and accepted[coding] > 0:
            return coding
    return None


def send(asset: Asset, cache_control: str) -> Response:
    """``asset`` as the response to this request: its smallest accepted encoding, an ETag,
    and CORS open (a script checked by its integrity hash may be fetched in CORS mode)."""
    coding = _encoding(asset)
    body = asset.encoded[coding] if coding else asset.body
    mimetype = _TYPES.get(Path(asset.name).suffix) or mimetypes.guess_type(asset.name)[0] or "application/octet-stream"
    response = Response(body, content_type=mimetype)
    response.headers["Cache-Control"] = cache_control
    response.headers["Vary"] = "Accept-Encoding"
    if coding:
        response.headers["Content-Encoding"] = coding
    response.set_etag(asset.digest + (f"-{coding}" if coding else ""))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response.make_conditional(request)


@bp.get("/assets/<path:name>")
def serve(name: str) -> Response:
    asset = manifest().by_hashed_name(name)
    if asset is None:
        abort(404)
    return send(asset, IMMUTABLE)


def init_app(app: Flask) -> None:
    # Debug (``make run``): a file edited is served at its new URL at once.
    app.extensions["checkout.assets"] = Manifest(watch=app.debug)
    app.register_blueprint(bp)
    app.jinja_env.globals.update(asset_url=asset_url, sri=integrity, inline_asset=inline)
