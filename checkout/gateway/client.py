"""OdeonPay-compatible API client over httpx: Basic auth, ``Content-HMAC``, timeouts.

Every failure to get a documented answer becomes :class:`GatewayError`, so callers
have one thing to handle: "the outcome is unknown; ask the status before retrying"."""
from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import httpx

from ..signatures import content_hmac
from .base import (
    AWAITING_AUTHENTICATION,
    COMPLETED,
    CREATED,
    DECLINED,
    PAYOUT_COMPLETED,
    REFUND_COMPLETED,
    CryptoQuote,
    GatewayError,
    Outcome,
    SavedCard,
)

_KINDS = {COMPLETED: "completed", DECLINED: "declined", AWAITING_AUTHENTICATION: "pending",
          CREATED: "pending", PAYOUT_COMPLETED: "completed", REFUND_COMPLETED: "completed"}


class ThreadedWSGITransport(httpx.WSGITransport):
    """``httpx.WSGITransport`` that honours the read timeout, as a network would: the
    in-process sandbox then times out the same way a remote gateway does."""

    _pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="wsgi-gateway")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeout = (request.extensions.get("timeout") or {}).get("read")
        future = self._pool.submit(super().handle_request, request)
        try:
            response = future.result(timeout=timeout)
            response.read()
            return response
        except concurrent.futures.TimeoutError:
            raise httpx.ReadTimeout("the gateway did not answer in time", request=request) from None


def _amount(value) -> str | None:
    if value is None:
        return None
    return format(Decimal(str(value)).normalize(), "f")


def _crypto(model: dict) -> CryptoQuote | None:
    """The crypto quote in a Link or Status model (``address``, ``cryptoAmount``,
    ``asset``, ``network``, ``expiresAt``), when there is one."""
    if not model.get("address"):
        return None
    if not (model.get("cryptoAmount") and model.get("asset") and model.get("expiresAt")):
        raise GatewayError("a crypto answer without cryptoAmount, asset or expiresAt")
    return CryptoQuote(address=str(model["address"]), amount=str(model["cryptoAmount"]),
                       asset=str(model["asset"]), network=model.get("network"),
                       expires_at=str(model["expiresAt"]))


def outcome_from_model(model: dict, message: str | None = None) -> Outcome:
    code = model.get("statusCode")
    if not isinstance(code, int):
        raise GatewayError(f"the gateway's answer has no statusCode: {model!r:.200}")
    tid = model.get("transactionId")
    return Outcome(
        kind=_KINDS.get(code, "pending"),
        transaction_id=None if tid is None else str(tid),
        status=model.get("status"), status_code=code,
        reason=model.get("reason") or (message if code == DECLINED else None),
        reason_code=model.get("reasonCode"), message=message,
        amount=_amount(model.get("amount")), currency=model.get("currency"),
        invoice_id=model.get("invoiceId"), token=model.get("token"), raw=model, crypto=_crypto(model))


class OdeonPayClient:
    """One merchant's connection to an OdeonPay-compatible gateway."""

    def __init__(self, base_url: str, public_id: str, secret: str,
                 transport: httpx.BaseTransport | None = None, timeout: float = 15.0,
                 on_time: Callable[[float], None] | None = None):
        """``on_time``: told the seconds each call to the gateway took (Server-Timing)."""
        self.public_id = public_id
        self._secret = secret
        self._on_time = on_time
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/", auth=(public_id, secret), transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def post(self, path: str, body: dict) -> dict:
        """POST ``body`` as JSON with its ``Content-HMAC``; the answer's JSON object."""
        payload = json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json",
                   "Content-HMAC": content_hmac(payload, self._secret)}
        return self._send("POST", path, payload, headers)

    def get(self, path: str) -> dict:
        """GET ``path`` (its ``Content-HMAC`` is the empty body's); the answer's JSON object."""
        return self._send("GET", path, None, {"Content-HMAC": content_hmac(b"", self._secret)})

    def _send(self, method: str, path: str, payload: bytes | None, headers: dict) -> dict:
        started = time.perf_counter()
        try:
            response = self._http.request(method, path.lstrip("/"), content=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise GatewayError(f"{path}: {type(exc).__name__}: {exc}") from exc
        finally:
            if self._on_time is not None:
                self._on_time(time.perf_counter() - started)
        if response.status_code >= 500 or response.status_code in (401, 403, 404, 405):
            raise GatewayError(f"{path}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise GatewayError(f"{path}: the answer is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("success"), bool):
            raise GatewayError(f"{path}: the answer is not the documented JSON")
        return data

    def test(self) -> bool:
        """The seed's Test call (``test``): True when the gateway answers it and
        accepts our credentials; raises GatewayError when it cannot be reached."""
        return bool(self.post("test", {}).get("success"))

    def _payment_outcome(self, data: dict) -> Outcome:
        if isinstance(data.get("threeDsModel"), dict):
            m = data["threeDsModel"]
            if not (m.get("acsUrl") and m.get("paReq") and m.get("transactionId") is not None):
                raise GatewayError("3-D Secure answer without acsUrl, paReq or transactionId")
            return Outcome(kind="3ds", transaction_id=str(m["transactionId"]), status=m.get("status"),
                           status_code=m.get("statusCode"), acs_url=m["acsUrl"], pa_req=m["paReq"],
                           message=data.get("message"), raw=m)
        if isinstance(data.get("threeDsRedirectModel"), dict):
            m = data["threeDsRedirectModel"]
            if not m.get("url"):
                raise GatewayError("3-D Secure redirect answer without url")
            return Outcome(kind="redirect", transaction_id=str(m.get("transactionId")),
                           status=m.get("status"), status_code=m.get("statusCode"),
                           redirect_url=m["url"], message=data.get("message"), raw=m)
        if isinstance(data.get("model"), dict) and data["model"]:
            return outcome_from_model(data["model"], data.get("message"))
        if data["success"] is False:
            # Refused before a transaction was made (bad request): a decline, nothing charged.
            return Outcome(kind="declined", status="Declined", status_code=DECLINED,
                           reason=data.get("message"), message=data.get("message"), raw=data)
        raise GatewayError("the answer has no model")

    def charge_card(self, *, amount: str, currency: str, name: str, description: str,
                    pan: str, cvv: str, expiry_month: int, expiry_year: int,
                    invoice_id: str | None = None, account_id: str | None = None,
                    ip: str | None = None, data: dict | None = None,
                    success_url: str | None = None, failure_url: str | None = None,
                    pending_url: str | None = None) -> Outcome:
        body = {
            "publicId": self.public_id, "amount": float(Decimal(amount)), "currency": currency,
            "name": name, "description": description, "invoiceId": invoice_id,
            "accountId": account_id, "ip": ip,
            "card": {"pan": pan, "cvv": cvv, "expiryMonth": expiry_month, "expiryYear": expiry_year},
            "data": data or {},
            "successRedirectUrl": success_url, "failureRedirectUrl": failure_url,
            "pendingRedirectUrl": pending_url,
        }
        return self._payment_outcome(self.post("payments/charge/card", body))

    def post3ds(self, transaction_id: str, pa_res: str) -> Outcome:
        body = {"transactionId": int(transaction_id), "paRes": pa_res}
        return self._payment_outcome(self.post("payments/post3ds", body))

    def status(self, transaction_id: str) -> Outcome:
        data = self.post("payments/status", {"transactionId": str(transaction_id)})
        if not isinstance(data.get("model"), dict):
            raise GatewayError(f"no status for transaction {transaction_id}: {data.get('message')}")
        return outcome_from_model(data["model"], data.get("message"))

    def status_invoice(self, invoice_id: str) -> list[Outcome]:
        data = self.post("payments/status/invoice", {"invoiceId": invoice_id})
        items = data.get("transactions")
        if items is None and data["success"] is False:
            return []
        if not isinstance(items, list):
            raise GatewayError("status/invoice answer without transactions")
        return [outcome_from_model(t) for t in items if isinstance(t, dict)]

    # -- alternative payment methods, payouts, saved cards ---------------------------------
    def link(self, *, amount: str, currency: str, description: str, payment_type_id: int,
             invoice_id: str | None = None, account_id: str | None = None, ip: str | None = None,
             data: dict | None = None, success_url: str | None = None, failure_url: str | None = None,
             pending_url: str | None = None, cancel_url: str | None = None,
             locale: str | None = None) -> Outcome:
        """The seed's Link (``payments/link``): an APM payment by ``data.paymentTypeId``.
        Usually ``pending`` with ``redirect_url`` (the answer's ``link.action``) where the
        customer goes next; a crypto method's answer also carries ``crypto``; a method
        that needs no page may already be ``completed`` or ``declined``."""
        body = {
            "amount": float(Decimal(amount)), "currency": currency, "description": description,
            "invoiceId": invoice_id, "accountId": account_id, "successUrl": success_url,
            "failureUrl": failure_url, "pendingUrl": pending_url, "cancelUrl": cancel_url,
            "locale": locale, "ip": ip, "data": {**(data or {}), "paymentTypeId": int(payment_type_id)},
        }
        data = self.post("payments/link", {k: v for k, v in body.items() if v is not None})
        outcome = self._payment_outcome(data)
        if not isinstance(data.get("model"), dict) or not data["model"]:
            return outcome  # refused before a transaction was made
        link = data.get("link")
        action = link.get("action") if isinstance(link, dict) else None
        if not action and not outcome.final:
            raise GatewayError("Link answer without link.action")
        return replace(outcome, redirect_url=action or None)

    def payout_token(self, token: str, amount: str, currency: str, account_id: str,
                     invoice_id: str | None = None) -> Outcome:
        """The seed's "Payout via token" (``payments/payout``) to the card behind ``token``."""
        body = {"token": token, "amount": float(Decimal(amount)), "accountId": account_id,
                "currency": currency, "invoiceId": invoice_id}
        return self._payment_outcome(self.post("payments/payout", body))

    def payout_card(self, pan: str, name: str, amount: str, currency: str, invoice_id: str | None = None,
                    data: dict | None = None) -> Outcome:
        """The seed's "Payout to card" (``payments/payout/card``)."""
        body = {"pan": pan, "name": name, "amount": float(Decimal(amount)), "currency": currency,
                "invoiceId": invoice_id, "data": data or {}}
        return self._payment_outcome(self.post("payments/payout/card", body))

    def apm_payout(self, amount: str, currency: str, invoice_id: str | None, data: dict, *,
                   payment_type_id: int | None = None, account_id: str | None = None,
                   name: str | None = None, description: str | None = None) -> Outcome:
        """The seed's "APM Payout" (``payments/apm/payout``): the method is
        ``data.paymentTypeId`` (or ``payment_type_id``); usually ``Created`` at first."""
        data = dict(data or {})
        if payment_type_id is not None:
            data["paymentTypeId"] = int(payment_type_id)
        body = {"amount": float(Decimal(amount)), "accountId": account_id, "currency": currency,
                "description": description, "invoiceId": invoice_id, "name": name, "data": data}
        return self._payment_outcome(self.post("payments/apm/payout", {k: v for k, v in body.items()
                                                                        if v is not None}))

    def saved_cards(self, account_id: str) -> list[SavedCard]:
        """A customer's saved cards (``payments/customer/cards``; see the sandbox for why
        this path): tokens made by approved card payments that carried ``accountId``."""
        data = self.post("payments/customer/cards", {"accountId": account_id})
        cards = data.get("cards")
        if cards is None and data["success"] is False:
            return []
        if not isinstance(cards, list):
            raise GatewayError("customer/cards answer without cards")
        try:
            return [SavedCard(token=str(c["token"]), masked_pan=str(c["maskedPan"]), brand=c.get("brand"),
                              expiry_month=c.get("expiryMonth"), expiry_year=c.get("expiryYear"))
                    for c in cards if isinstance(c, dict)]
        except KeyError as exc:
            raise GatewayError(f"a saved card without {exc}") from None

    def charge_token(self, card_token: str, amount: str, currency: str, cvv: str | None = None, *,
                     account_id: str | None = None, invoice_id: str | None = None, description: str = "",
                     name: str | None = None, ip: str | None = None, data: dict | None = None) -> Outcome:
        """Pay with a saved card (``payments/charge/token``, the recurring seed's
        ``cardToken``); ``cvv`` when the merchant asks the customer for it again."""
        body = {"cardToken": card_token, "amount": float(Decimal(amount)), "currency": currency,
                "accountId": account_id, "invoiceId": invoice_id, "description": description,
                "name": name, "ip": ip, "cvv": cvv, "data": data or {}}
        return self._payment_outcome(self.post("payments/charge/token", {k: v for k, v in body.items()
                                                                          if v is not None}))

    # -- refunds, the List, the Balance ---------------------------------------------------
    def refund(self, transaction_id: str, amount: str | None = None) -> Outcome:
        """The seed's Refund (``payments/refund``) of a completed card payment: ``amount``
        (a decimal string), or all that is left when None. The outcome is the refund's
        own transaction: ``completed`` (RefundCompleted), ``declined``, or ``pending``
        (Created: its end comes by status or notification). A refused request (nothing
        left, not a completed payment) is ``declined`` with the gateway's message."""
        body: dict = {"transactionId": int(transaction_id)}
        if amount is not None:
            body["amount"] = float(Decimal(amount))
        return self._payment_outcome(self.post("payments/refund", body))

    def apm_refund(self, transaction_id: str, amount: str) -> Outcome:
        """The seed's APM Refund (``payments/apm/refund``): asynchronous, ``pending``
        (Created) at first."""
        body = {"transactionId": int(transaction_id), "amount": float(Decimal(amount))}
        return self._payment_outcome(self.post("payments/apm/refund", body))

    def list_transactions(self, date, timezone: str | None = None) -> list[dict]:
        """The seed's List (``payments/list``): the transactions created on ``date`` (a
        ``datetime.date`` or ``YYYY-MM-DD``) in ``timezone`` (the seed's Timezones
        dictionary; UTC when None), as the gateway gives them (the seed's field names).
        Raises GatewayError when it refuses (a bad date or timezone)."""
        body = {"date": date if isinstance(date, str) else date.isoformat()}
        if timezone:
            body["timezone"] = timezone
        data = self.post("payments/list", body)
        items = data.get("transactions")
        if not isinstance(items, list):
            raise GatewayError(f"payments/list: {data.get('message') or 'no transactions in the answer'}")
        return [t for t in items if isinstance(t, dict)]

    def balance(self) -> list[dict]:
        """The seed's Balance (``GET payments/balance``): its ``balances`` (each a
        ``name`` and ``currencies``: currency, total, pending, hold, fee, pendingFee,
        available)."""
        data = self.get("payments/balance")
        items = data.get("balances")
        if not isinstance(items, list):
            raise GatewayError(f"payments/balance: {data.get('message') or 'no balances in the answer'}")
        return [b for b in items if isinstance(b, dict)]
