"""Calls to the merchant's own server: signed JSON POSTs that must be confirmed with the
seed's ``{"code":0}`` (notifications, and the Payment Check before a charge).

Each call answers an :class:`Answer` (the attempt as recorded, whether it was
confirmed, the merchant's ``Retry-After``), never an exception: a merchant that is down
is an answer like any other."""
from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from flask import current_app

from .. import cards, webhooks
from .. import store as st
from ..gateway.base import CREATED, STATUS_NAMES
from ..gateway.client import ThreadedWSGITransport
from ..merchants import Merchant
from ..store import Attempt, Checkout
from ..urls import DEFAULT_BASE

log = logging.getLogger(__name__)

#: The seed's Transaction Operations (and ours for APM payouts).
OPERATIONS = {1: "Payment", 2: "Refund", 3: "CardPayout", 4: "ApmPayout"}
#: How long the merchant has to answer a Payment Check (the issue's 10 s).
CHECK_TIMEOUT = 10.0
#: Characters of the merchant's answer kept per attempt.
ANSWER_CHARS = 200


def json_body(fields: dict[str, Any]) -> str:
    """The compact JSON the merchant gets (signed as these exact bytes)."""
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def card_fields(masked_pan: str | None, brand: str | None) -> dict[str, Any]:
    """The seed's cardFirstSix, cardLastFour and cardType of a masked PAN."""
    return {"cardFirstSix": masked_pan[:6] if masked_pan else None,
            "cardLastFour": masked_pan[-4:] if masked_pan else None,
            "cardType": cards.BRAND_NAMES.get(brand or "", brand) if brand else None}


@dataclass(frozen=True)
class Answer:
    """What one delivery got back."""

    attempt: Attempt
    confirmed: bool
    retry_after: float | None = None


def _transport(url: str) -> tuple[str, httpx.BaseTransport | None]:
    """A path (the demo store's receiver) is this app's own: delivered in-process."""
    if url.startswith("/"):
        base = (current_app.config.get("PUBLIC_URL") or DEFAULT_BASE).rstrip("/")
        return base + url, ThreadedWSGITransport(app=current_app._get_current_object())
    return url, None


def post_signed(url: str, body: str, secret: str, message_id: str, timeout: float) -> Answer:
    """POST ``body`` to ``url`` signed both ways; the answer, never an exception."""
    at = time.time()
    url, transport = _transport(url)
    # The signed timestamp is always the real clock (receivers compare it with theirs);
    # ``now`` only places the attempt on the schedule.
    headers = {"Content-Type": "application/json", "User-Agent": "checkout-notifications/1",
               **webhooks.headers(body, secret, message_id, int(time.time()))}
    try:
        with httpx.Client(transport=transport, timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
                          follow_redirects=False) as client:
            response = client.post(url, content=body.encode(), headers=headers)
    except httpx.TimeoutException as exc:
        return Answer(Attempt(at=at, http_status=None, answer=None, error=f"no answer within {timeout:g} s "
                                                                          f"({type(exc).__name__})"), False)
    except httpx.HTTPError as exc:
        return Answer(Attempt(at=at, http_status=None, answer=None, error=f"{type(exc).__name__}: {exc}"[:200]),
                      False)
    text = response.text[:ANSWER_CHARS]
    confirmed, why = webhooks.confirmation(response.status_code, response.content)
    return Answer(Attempt(at=at, http_status=response.status_code, answer=text, error=why), confirmed,
                  webhooks.retry_after(response.headers.get("Retry-After"), at))




# -- Payment Check ------------------------------------------------------------------------------
def check_fields(c: Checkout, payload: dict, *, name: str | None, masked_pan: str | None, brand: str | None,
                 card_expiry: str | None) -> dict[str, Any]:
    """The seed's Payment Check fields (``Created``: nothing is charged yet, so no
    ``transactionId`` either) plus ``checkoutId``."""
    return {"transactionId": None, "amount": float(Decimal(c.amount)), "currency": c.currency,
            "dateTime": st.iso(time.time()), "invoiceId": payload.get("invoiceId"),
            "accountId": payload.get("accountId"), "name": name, "operationTypeCode": 1,
            "operationType": OPERATIONS[1], **card_fields(masked_pan, brand), "cardExpDate": card_expiry,
            "status": STATUS_NAMES[CREATED], "statusCode": CREATED, "checkoutId": c.id}


def payment_check(merchant: Merchant, fields: dict[str, Any]) -> tuple[bool, str]:
    """Ask the merchant's ``checkUrl`` (True, "" when there is none). ``{"code":0}``
    within 10 s lets the charge go on; anything else refuses it: (False, why)."""
    if not merchant.check_url:
        return True, ""
    answer = post_signed(merchant.check_url, json_body(fields), merchant.secret, "chk_" + uuid.uuid4().hex,
                         float(current_app.config.get("CHECK_TIMEOUT", CHECK_TIMEOUT)))
    if not answer.confirmed:
        log.info("payment check for checkout %s refused: %s", fields.get("checkoutId"), answer.attempt.error)
    return answer.confirmed, answer.attempt.error or ""


