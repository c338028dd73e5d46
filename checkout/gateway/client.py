"""OdeonPay-compatible API client over httpx: Basic auth, ``Content-HMAC``, timeouts.

Every failure to get a documented answer becomes :class:`GatewayError`, so callers
have one thing to handle: "the outcome is unknown; ask the status before retrying"."""
from __future__ import annotations

import concurrent.futures
import json
from decimal import Decimal

import httpx

from ..signatures import content_hmac
from .base import AWAITING_AUTHENTICATION, COMPLETED, CREATED, DECLINED, GatewayError, Outcome

_KINDS = {COMPLETED: "completed", DECLINED: "declined", AWAITING_AUTHENTICATION: "pending",
          CREATED: "pending"}


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
        invoice_id=model.get("invoiceId"), token=model.get("token"), raw=model)


class OdeonPayClient:
    """One merchant's connection to an OdeonPay-compatible gateway."""

    def __init__(self, base_url: str, public_id: str, secret: str,
                 transport: httpx.BaseTransport | None = None, timeout: float = 15.0):
        self.public_id = public_id
        self._secret = secret
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
        try:
            response = self._http.post(path.lstrip("/"), content=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise GatewayError(f"{path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code in (401, 403, 404, 405):
            raise GatewayError(f"{path}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise GatewayError(f"{path}: the answer is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("success"), bool):
            raise GatewayError(f"{path}: the answer is not the documented JSON")
        return data

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
