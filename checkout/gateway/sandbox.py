"""The embedded test gateway: the OdeonPay HTTP API, its test cards, an ACS page and a
Redirect 3-D Secure page. A real implementation with its own ledger, not a mock.

In sandbox mode the app mounts this blueprint under ``/sandbox`` and its client reaches
it in-process; it also runs as its own server on another origin, as a real gateway is:
``flask --app checkout.gateway.sandbox run --port 5001``.

Test cards (the seed's Testing section): 4242424242424242 no 3-DS; 4111111111111111
Advanced 3-DS; 4200000000000000 Redirect 3-DS; CVV 333 declines, any other approves;
passphrase ``4`` passes 3-D Secure. Trouble cards (ours, for the "gateway trouble"
paths): 4000000000000408 is charged but answers too late (a timeout),
4000000000000507 is charged but answers 502, 4000000000000606 is charged but answers
with a body that is not JSON, 4000000000000705 answers 503 and charges nothing."""
from __future__ import annotations

import secrets
import sqlite3
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import config as config_module
from .. import i18n, security
from ..merchants import load_registry
from ..signatures import hmac_matches
from ..sqlite import Database
from .base import AWAITING_AUTHENTICATION, COMPLETED, DECLINED

bp = Blueprint("sandbox", __name__)

ADVANCED_3DS = "4111111111111111"
REDIRECT_3DS = "4200000000000000"
DECLINE_CVV = "333"
PASSPHRASE = "4"
SLOW_CARD, BAD_GATEWAY_CARD, NOT_JSON_CARD, UNAVAILABLE_CARD = (
    "4000000000000408", "4000000000000507", "4000000000000606", "4000000000000705")
INSUFFICIENT_FUNDS = (5051, "Insufficient Funds")
AUTH_FAILED = (5206, "3-D Secure authentication failed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    invoice_id TEXT,
    account_id TEXT,
    name TEXT,
    description TEXT,
    masked_pan TEXT,
    approve INTEGER NOT NULL,
    scheme TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    reason_code INTEGER,
    reason TEXT,
    pa_req TEXT,
    pa_res TEXT,
    link_reference TEXT,
    success_url TEXT,
    failure_url TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_invoice ON transactions (merchant, invoice_id);
CREATE INDEX IF NOT EXISTS transactions_link ON transactions (link_reference);
"""
STATUS = {AWAITING_AUTHENTICATION: "AwaitingAuthentication", COMPLETED: "Completed",
          DECLINED: "Declined"}


class Ledger:
    """The sandbox's own record of transactions (SQLite)."""

    def __init__(self, path: str):
        self.path = path
        self.tx = Database(path, SCHEMA).tx

    def insert(self, **row) -> int:
        row["created_at"] = time.time()
        with self.tx() as db:
            cur = db.execute(f"INSERT INTO transactions ({', '.join(row)}) VALUES "
                             f"({', '.join('?' * len(row))})", list(row.values()))
            return cur.lastrowid

    def get(self, merchant: str, **where) -> sqlite3.Row | None:
        clause = " AND ".join(f"{k} = ?" for k in where)
        with self.tx() as db:
            return db.execute(f"SELECT * FROM transactions WHERE merchant = ? AND {clause}",
                              [merchant, *where.values()]).fetchone()

    def find(self, **where) -> sqlite3.Row | None:
        clause = " AND ".join(f"{k} = ?" for k in where)
        with self.tx() as db:
            return db.execute(f"SELECT * FROM transactions WHERE {clause}", list(where.values())).fetchone()

    def for_invoice(self, merchant: str, invoice_id: str) -> list[sqlite3.Row]:
        with self.tx() as db:
            return db.execute("SELECT * FROM transactions WHERE merchant = ? AND invoice_id = ?"
                              " ORDER BY id", (merchant, invoice_id)).fetchall()

    def count(self, merchant: str | None = None, invoice_id: str | None = None) -> int:
        with self.tx() as db:
            if merchant is None:
                return db.execute("SELECT COUNT(*) FROM transactions").fetchone()[0]
            return db.execute("SELECT COUNT(*) FROM transactions WHERE merchant = ? AND invoice_id = ?",
                              (merchant, invoice_id)).fetchone()[0]

    def settle(self, tid: int, from_code: int, to_code: int, reason: tuple[int, str],
               **fields) -> bool:
        sets = ", ".join(["status_code = ?", "reason_code = ?", "reason = ?"] + [f"{k} = ?" for k in fields])
        with self.tx() as db:
            cur = db.execute(f"UPDATE transactions SET {sets} WHERE id = ? AND status_code = ?",
                             [to_code, reason[0], reason[1], *fields.values(), tid, from_code])
            return cur.rowcount == 1

    def update(self, tid: int, **fields) -> None:
        with self.tx() as db:
            db.execute(f"UPDATE transactions SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                       [*fields.values(), tid])


def ledger() -> Ledger:
    return current_app.extensions["sandbox.ledger"]


def _model(row: sqlite3.Row) -> dict:
    amount = Decimal(row["amount"])
    return {
        "transactionId": row["id"], "amount": float(amount), "currency": row["currency"],
        "invoiceId": row["invoice_id"], "accountId": row["account_id"],
        "description": row["description"], "name": row["name"],
        "token": f"sbx-{row['id']:06d}" if row["status_code"] == COMPLETED and row["account_id"] else None,
        "statusCode": row["status_code"], "status": STATUS[row["status_code"]],
        "reasonCode": row["reason_code"], "reason": row["reason"],
        "operationTypeCode": 1, "operationType": "Payment",
    }


def _fail(message: str, status: int = 400):
    response = jsonify({"success": False, "message": message})
    response.status_code = status  # a bare Response: abort() keeps this status
    return response


def _merchant() -> str:
    """The authenticated merchant's publicId; aborts 401 otherwise. Verifies
    ``Content-HMAC`` when present (and requires it when the merchant says so)."""
    auth = request.authorization
    registry = current_app.extensions["checkout.merchants"]
    merchant = auth and registry.authenticate(auth.username or "", auth.password or "")
    if not merchant:
        response = jsonify({"success": False, "message": "Unauthorized"})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Basic realm="sandbox"'
        abort(response)
    given = request.headers.get("Content-HMAC")
    if (given or merchant.require_hmac) and not hmac_matches(request.get_data(), merchant.secret, given):
        abort(_fail("Invalid Content-HMAC", 400))
    return merchant.public_id


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(_fail("The body must be a JSON object"))
    return data


def _trouble(pan: str):
    """The trouble cards' misbehaviour after the charge is recorded."""
    if pan == SLOW_CARD:
        slow = current_app.config.get("SANDBOX_SLOW_SECONDS")
        time.sleep(float(slow) if slow else float(current_app.config.get("GATEWAY_TIMEOUT", 15)) + 2)
        return None
    if pan == BAD_GATEWAY_CARD:
        return "<html><body>502 Bad Gateway</body></html>", 502, {"Content-Type": "text/html"}
    if pan == NOT_JSON_CARD:
        return "<html><body>Service temporarily unavailable</body></html>", 200, {"Content-Type": "text/html"}
    return None


@bp.post("/test")
def test():
    _merchant()
    return jsonify({"success": True, "message": "Test message success"})


@bp.post("/payments/charge/card")
def charge_card():
    merchant = _merchant()
    body = _body()
    card = body.get("card") if isinstance(body.get("card"), dict) else {}
    pan = "".join(ch for ch in str(card.get("pan", "")) if ch.isdigit())
    cvv = str(card.get("cvv", ""))
    try:
        amount = Decimal(str(body.get("amount")))
        if amount <= 0 or not amount.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        return _fail("Invalid Amount value")
    currency = str(body.get("currency") or "")
    if len(currency) != 3 or not currency.isalpha():
        return _fail("Invalid Currency value")
    if not 12 <= len(pan) <= 19 or not cvv.isdigit():
        return _fail("Invalid card data")
    if pan == UNAVAILABLE_CARD:
        return "Service Unavailable", 503
    scheme = {ADVANCED_3DS: "advanced", REDIRECT_3DS: "redirect"}.get(pan, "none")
    approve = cvv != DECLINE_CVV
    row = dict(merchant=merchant, amount=str(amount), currency=currency.upper(),
               invoice_id=body.get("invoiceId"), account_id=body.get("accountId"),
               name=str(body.get("name") or ""), description=str(body.get("description") or ""),
               masked_pan=f"{pan[:6]}{'*' * (len(pan) - 10)}{pan[-4:]}", approve=int(approve),
               scheme=scheme)
    if scheme == "none":
        code, reason = (COMPLETED, (0, "Approved")) if approve else (DECLINED, INSUFFICIENT_FUNDS)
        tid = ledger().insert(**row, status_code=code, reason_code=reason[0], reason=reason[1])
        trouble = _trouble(pan)
        if trouble:
            return trouble
        model = _model(ledger().find(id=tid))
        return jsonify({"success": approve, "message": None if approve else reason[1], "model": model})
    if scheme == "advanced":
        pa_req = secrets.token_urlsafe(48)
        tid = ledger().insert(**row, status_code=AWAITING_AUTHENTICATION, pa_req=pa_req)
        return jsonify({"success": False, "message": "Requires 3DS authentication", "threeDsModel": {
            "transactionId": tid, "method": "post", "paReq": pa_req,
            "acsUrl": url_for("sandbox.acs", _external=True),
            "statusCode": AWAITING_AUTHENTICATION, "status": STATUS[AWAITING_AUTHENTICATION]}})
    reference = secrets.token_hex(16)
    tid = ledger().insert(**row, status_code=AWAITING_AUTHENTICATION, link_reference=reference,
                          success_url=body.get("successRedirectUrl"),
                          failure_url=body.get("failureRedirectUrl"))
    return jsonify({"success": False, "message": "Requires 3DS authentication", "threeDsRedirectModel": {
        "url": url_for("sandbox.redirect_3ds", link_reference=reference, _external=True),
        "transactionId": tid, "statusCode": AWAITING_AUTHENTICATION,
        "status": STATUS[AWAITING_AUTHENTICATION]}})


def _finish_3ds(row: sqlite3.Row, passed: bool) -> None:
    """Settle an authenticated transaction: passphrase and CVV decide."""
    if not passed:
        ledger().settle(row["id"], AWAITING_AUTHENTICATION, DECLINED, AUTH_FAILED)
    elif row["approve"]:
        ledger().settle(row["id"], AWAITING_AUTHENTICATION, COMPLETED, (0, "Approved"))
    else:
        ledger().settle(row["id"], AWAITING_AUTHENTICATION, DECLINED, INSUFFICIENT_FUNDS)


@bp.post("/payments/post3ds")
def post3ds():
    merchant = _merchant()
    body = _body()
    row = ledger().get(merchant, id=body.get("transactionId"))
    if row is None:
        return _fail("Transaction not found")
    if row["scheme"] != "advanced":
        return _fail("The transaction does not await 3-D Secure")
    if row["status_code"] == AWAITING_AUTHENTICATION:
        pa_res = str(body.get("paRes") or "")
        if not row["pa_res"] or not secrets.compare_digest(pa_res, row["pa_res"]):
            ledger().settle(row["id"], AWAITING_AUTHENTICATION, DECLINED, AUTH_FAILED)
        else:
            _finish_3ds(row, passed=pa_res.startswith("Y."))
    model = _model(ledger().find(id=row["id"]))
    return jsonify({"success": model["statusCode"] == COMPLETED,
                    "message": None if model["statusCode"] == COMPLETED else model["reason"], "model": model})


@bp.post("/payments/status")
def status():
    merchant = _merchant()
    row = ledger().get(merchant, id=_body().get("transactionId"))
    if row is None:
        return _fail("Transaction not found")
    return jsonify({"success": True, "message": None, "model": _model(row)})


@bp.post("/payments/status/invoice")
def status_invoice():
    merchant = _merchant()
    invoice = _body().get("invoiceId")
    if not invoice:
        return _fail("invoiceId is required")
    rows = ledger().for_invoice(merchant, str(invoice))
    return jsonify({"success": True, "message": None, "transactions": [_model(r) for r in rows]})


# -- browser-facing pages --------------------------------------------------------------
def _page_setup(*form_targets: str | None) -> None:
    security.nonce()
    security.allow_form_action(*form_targets)
    security.no_store()
    security.allow_framing(["*"])  # an issuer's page is shown inside the merchant's checkout frame


@bp.route("/acs", methods=["GET", "POST"])
def acs():
    """The issuer's page: the merchant posts PaReq, MD and TermUrl here."""
    pa_req, md, term_url = (request.form.get(k, "") for k in ("PaReq", "MD", "TermUrl"))
    row = ledger().find(id=md) if md.isdigit() else None
    if request.method == "GET" or row is None or row["pa_req"] != pa_req or not _http_url(term_url):
        return render_template("sandbox/message.html", title=_("3-D Secure"),
                               message=_("This 3-D Secure request is not valid.")), 400
    _page_setup(term_url)
    return render_template("sandbox/passphrase.html", action=url_for("sandbox.acs_submit"),
                           hidden={"PaReq": pa_req, "MD": md, "TermUrl": term_url}, row=row)


@bp.post("/acs/submit")
def acs_submit():
    pa_req, md, term_url = (request.form.get(k, "") for k in ("PaReq", "MD", "TermUrl"))
    row = ledger().find(id=md) if md.isdigit() else None
    if row is None or row["pa_req"] != pa_req or not _http_url(term_url):
        abort(400)
    passed = request.form.get("passphrase", "").strip() == PASSPHRASE
    pa_res = ("Y." if passed else "N.") + secrets.token_urlsafe(32)
    ledger().update(row["id"], pa_res=pa_res)
    _page_setup(term_url)
    return render_template("autopost.html", action=term_url, fields={"PaRes": pa_res, "MD": md},
                           title=_("Returning to the merchant"),
                           message=_("Returning you to the merchant…"))


@bp.route("/redirect/", methods=["GET", "POST"])
def redirect_3ds():
    """Redirect 3-D Secure: the customer is sent here, then back to the merchant's URL."""
    reference = request.values.get("link_reference", "")
    row = ledger().find(link_reference=reference) if reference else None
    if row is None:
        return render_template("sandbox/message.html", title=_("3-D Secure"),
                               message=_("This 3-D Secure request is not valid.")), 400
    if request.method == "GET":
        _page_setup(row["success_url"], row["failure_url"])
        return render_template("sandbox/passphrase.html", hidden={"link_reference": reference},
                               action=url_for("sandbox.redirect_3ds"), row=row)
    if row["status_code"] == AWAITING_AUTHENTICATION:
        _finish_3ds(row, request.form.get("passphrase", "").strip() == PASSPHRASE)
    row = ledger().find(id=row["id"])
    target = row["success_url"] if row["status_code"] == COMPLETED else row["failure_url"]
    if not _http_url(target):
        return render_template("sandbox/message.html", title=_("3-D Secure"),
                               message=STATUS[row["status_code"]])
    return redirect(target, code=303)


def _http_url(url: str | None) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def init_ledger(app: Flask) -> None:
    path = app.config.get("SANDBOX_DATABASE") or str(Path(app.instance_path) / "sandbox.sqlite3")
    app.extensions["sandbox.ledger"] = Ledger(path)


def create_app(config: dict | None = None) -> Flask:
    """The sandbox as its own server (another origin, as a real gateway is)."""
    from .. import STATIC, TEMPLATES  # noqa: PLC0415 (the package imports this module)

    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=str(STATIC),
                instance_path=str(Path.cwd() / "instance"))
    app.config.update(config_module.load(config))
    app.extensions["checkout.merchants"] = load_registry(app.config["MERCHANTS_FILE"], "sandbox")
    init_ledger(app)
    i18n.init_app(app)
    security.init_app(app)
    app.register_blueprint(bp)
    return app
