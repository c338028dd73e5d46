"""A self-hosted, embeddable checkout."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_compress import Compress
from werkzeug.middleware.proxy_fix import ProxyFix

from . import assets, cli, fragments, i18n, logmask, schema, security, store, timing
from . import config as config_module
from .flows import notify, worker
from .gateway import sandbox
from .merchants import load_registry
from .paths import ROOT, STATIC, TEMPLATES
from .views import address, api, demo, direct, errors, health, page, pay, widget
from .views import payout as payout_views  # payouts (OMNO payout API, hosted forms)

__all__ = ["ROOT", "STATIC", "TEMPLATES", "create_app"]


def create_app(config: dict | None = None) -> Flask:
    """The app factory. ``config`` overrides defaults and ``CHECKOUT_*`` variables."""
    app = Flask(__name__, instance_relative_config=True, static_folder=str(STATIC),
                instance_path=str(ROOT / "instance"))
    app.config.update(config_module.load(config))
    logmask.init_app(app)  # no link token or card-like number in a log line (dev server, gunicorn, ours)
    merchants = load_registry(app.config["MERCHANTS_FILE"], app.config["MODE"])
    config_module.check_production(app.config, merchants, debug=app.debug)
    app.extensions["checkout.merchants"] = merchants
    app.config["DATABASE"] = app.config["DATABASE"] or str(Path(app.instance_path) / "checkout.sqlite3")
    store.init_app(app)
    notify.init_app(app)  # the outbox: every state change writes what the merchant is told
    schema.init_app(app)  # sandbox: upgrades the database; production: refuses one that is behind
    if app.config["TRUSTED_PROXIES"]:
        # Behind a load balancer: the client's address (decline limits) and the public
        # scheme and host (links, the same-origin check) come from its X-Forwarded-* headers.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.config.setdefault("WTF_CSRF_ENABLED", True)
    app.secret_key = app.config["SECRET_KEYS"][0]

    timing.init_app(app)  # first: its after_request runs last, after the compression
    i18n.init_app(app)
    security.init_app(app)
    # Pages and API answers in brotli or gzip (static files: precompressed, checkout/assets.py).
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_STREAMS", False)
    Compress(app)
    assets.init_app(app)
    page.init_app(app)
    fragments.init_app(app)
    app.register_blueprint(pay.bp)
    app.register_blueprint(direct.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(widget.bp)
    app.register_blueprint(payout_views.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(address.bp)  # an address's fields by country, for address.js
    address.init_app(app)
    errors.init_app(app)
    if app.config["GATEWAY_URL"] == "sandbox":
        sandbox.init_ledger(app)
        app.register_blueprint(sandbox.bp, url_prefix="/sandbox")
    if app.config["MODE"] == "sandbox":
        app.register_blueprint(demo.bp)
    cli.init_app(app)
    timing.init_view_mark(app)  # last: its after_request runs first
    if config_module.flag(app.config["WORKER_IN_PROCESS"]) and not app.config.get("TESTING") \
            and schema.flask_command() in (None, "run"):  # not in `flask worker`, `db upgrade`...
        # sandbox `make run`: notifications arrive with nothing else started (set the event to stop it)
        app.extensions["checkout.worker"] = worker.start_in_process(app)
    return app
