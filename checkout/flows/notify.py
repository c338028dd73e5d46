"""The outbox: what the merchant's server is told, and its delivery.

* **What.** :func:`checkout_notice` and :func:`payout_notice` are given to the store
  (:func:`init_app`), which asks them inside the transaction of every state change that
  moved a row; the notification they return is written in that same transaction. So a
  payment that completed is always told, once (a notification is unique per subject and
  key), even when the server dies right after.
* **The body** is the seed's notification (Payment Success and Failure fields) plus
  ``checkoutId``, ``event`` and ``notificationId``; the bytes are made once and sent the
  same every time. Headers: the seed's ``Content-HMAC`` over the body with the merchant's
  secret, and the Standard Webhooks trio (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature``: see :mod:`checkout.webhooks`).
* **Delivery** (:func:`deliver_due`, the worker): a 2xx answer with ``{"code":0}`` is
  delivered; anything else is tried again on ``NOTIFY_SCHEDULE`` (``Retry-After`` when
  the merchant asks for longer), every attempt recorded, then ``failed``. Workers take
  notifications with a lease (:class:`checkout.store.Outbox`): never two at once, and one
  killed mid-delivery leaves it to another once the lease is over.
* **Payment Check** (:func:`payment_check`): the seed's call to the merchant's
  ``checkUrl`` before a charge."""
from __future__ import annotations

import concurrent.futures
import json
import logging
import time
import uuid
from decimal import Decimal
from typing import Any

from flask import Flask, current_app

from .. import store as st
from ..gateway.base import DECLINED, STATUS_NAMES
from ..merchants import Merchant
from ..store import Attempt, Checkout, Notification, Outbound, Outbox, Payout
from .merchant import OPERATIONS, card_fields, json_body, post_signed
from .payment import CANCELLED_STATUS, EXPIRED_STATUS, pending_status, transaction_number

log = logging.getLogger(__name__)

#: The events a checkout's notification carries, by the state it reached.
EVENTS = {st.COMPLETED: "checkout.completed", st.DECLINED: "checkout.declined", st.PENDING: "checkout.pending",
          st.CANCELLED: "checkout.cancelled", st.EXPIRED: "checkout.expired"}
#: A notification's states (``GET /notifications?state=``).
STATES = st.NOTIFICATION_STATES
#: A payout's events, by its status.
PAYOUT_EVENTS = {"PENDING": "payout.pending", "PROCESSED": "payout.completed", "REJECTED": "payout.rejected",
                 "FAILED": "payout.failed"}


def outbox() -> Outbox:
    return current_app.extensions["checkout.outbox"]


def _registry():
    return current_app.extensions["checkout.merchants"]


def _new_id() -> str:
    return "ntf_" + uuid.uuid4().hex


# -- what the merchant is told ---------------------------------------------------------------
def checkout_event(c: Checkout, payload: dict, max_declines: int) -> str | None:
    """The event of the state ``c`` reached, or None (nothing to tell): a decline only
    once no more tries are left (a direct link has one)."""
    if c.state == st.DECLINED and payload.get("mode") != "apm" and c.declines < max_declines:
        return None
    return EVENTS.get(c.state)


def checkout_fields(c: Checkout, payload: dict) -> dict[str, Any]:
    """The seed's notification fields for checkout ``c`` (no ``event`` or ids)."""
    if c.state == st.PENDING:
        status, code = pending_status(c)
    elif c.state == st.CANCELLED:
        status, code = CANCELLED_STATUS
    elif c.state == st.EXPIRED:
        status, code = EXPIRED_STATUS
    elif c.state == st.DECLINED:
        status, code = c.status or STATUS_NAMES[DECLINED], c.status_code or DECLINED
    else:
        status, code = c.status, c.status_code
    return {
        "transactionId": transaction_number(c.transaction_id), "amount": float(Decimal(c.amount)),
        "currency": c.currency,
        "dateTime": st.iso(c.updated_at), "invoiceId": payload.get("invoiceId"),
        "accountId": payload.get("accountId"), "operationTypeCode": 1, "operationType": OPERATIONS[1],
        "status": status, "statusCode": code, **card_fields(c.masked_pan, c.brand), "cardExpDate": c.expiry,
        "name": c.holder, "token": c.saved_token, "reason": c.reason, "reasonCode": c.reason_code,
    }


def notification_url(merchant: Merchant, payload: dict | None = None) -> str:
    """Where this checkout's notifications go: its own ``notificationUrl``, else the merchant's."""
    return (payload or {}).get("notificationUrl") or merchant.notification_url


def checkout_notice(c: Checkout) -> Outbound | None:
    """The notification checkout ``c`` causes in the state it just reached (the store
    asks, inside the transaction that moved it)."""
    payload = c.data
    merchant = _registry().get(c.merchant)
    if payload is None or c.parent_id or merchant is None:
        return None  # a quote's checkout: the checkout it pays is told
    event = checkout_event(c, payload, int(current_app.config["MAX_DECLINES"]))
    url = notification_url(merchant, payload)
    if event is None or not url:
        return None
    nid = _new_id()
    fields = {**checkout_fields(c, payload), "checkoutId": c.id, "event": event, "notificationId": nid}
    # One notification per event, but a new one for each attempt that is pending again.
    key = f"{event}:{c.charges}" if event == "checkout.pending" else event
    return Outbound(id=nid, merchant=c.merchant, subject=c.id, event=event, key=key, url=url, body=json_body(fields))


def payout_notice(p: Payout) -> Outbound | None:
    """The notification a payout causes in the status it just reached (the seed's
    Payout Success and Failure fields)."""
    event = PAYOUT_EVENTS.get(p.status)
    merchant = _registry().get(p.merchant)
    if event is None or merchant is None or not merchant.notification_url:
        return None
    nid = _new_id()
    card = p.method == "card"
    fields = {
        "transactionId": transaction_number(p.transaction_id), "amount": float(Decimal(p.amount)),
        "currency": p.currency,
        "dateTime": st.iso(p.updated_at), "invoiceId": p.invoice_id, "accountId": p.customer.get("accountId"),
        "operationTypeCode": 3 if card else 4, "operationType": OPERATIONS[3 if card else 4],
        "status": p.gateway_status, "statusCode": p.status_code,
        **(card_fields(p.destination, p.brand) if card else {}), "name": p.full_name or None,
        "reason": p.reason, "reasonCode": p.reason_code,
        "payoutId": p.id, "payoutStatus": p.status, "event": event, "notificationId": nid,
    }
    return Outbound(id=nid, merchant=p.merchant, subject=p.id, event=event, key=event,
                    url=merchant.notification_url, body=json_body(fields))


# -- delivery -------------------------------------------------------------------------------
def parse_schedule(text: str) -> list[float]:
    """``"10s,1m,5m,30m,2h"`` -> seconds; raises ValueError naming the bad part."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    out = []
    for part in (p.strip() for p in str(text).split(",") if p.strip()):
        number, unit = (part[:-1], part[-1]) if part[-1] in units else (part, "s")
        try:
            seconds = float(number) * units[unit]
        except ValueError:
            raise ValueError(f"NOTIFY_SCHEDULE: {part!r} is not a delay such as 10s, 5m, 2h or 1d") from None
        if seconds < 0:
            raise ValueError(f"NOTIFY_SCHEDULE: {part!r} is negative")
        out.append(seconds)
    if not out:
        raise ValueError("NOTIFY_SCHEDULE must list at least one delay")
    return out


def next_try(schedule: list[float], tries: int, now: float, retry_after: float | None) -> float | None:
    """When to try again after ``tries`` tries (None: that was the last). The merchant's
    ``Retry-After`` wins when it asks for longer (up to a day)."""
    if tries > len(schedule):
        return None
    delay = schedule[tries - 1]
    if retry_after is not None:
        delay = max(delay, min(retry_after, 86400.0))
    return now + delay


def deliver(n: Notification, worker: str, now: float | None = None) -> bool:
    """One delivery of ``n`` (leased by ``worker``), recorded; True when confirmed."""
    merchant = _registry().get(n.merchant)
    schedule = current_app.extensions["checkout.notify_schedule"]
    if merchant is None:
        attempt = Attempt(at=time.time(), http_status=None, answer=None, error="the merchant is no longer configured")
        outbox().finish(n.id, worker, attempt, False, None)
        return False
    answer = post_signed(n.url, n.body, merchant.secret, n.id, float(current_app.config["NOTIFY_TIMEOUT"]))
    base = answer.attempt.at if now is None else now  # ``now``: the round's clock (tests move it)
    later = None if answer.confirmed else next_try(schedule, n.round + 1, base, answer.retry_after)
    outbox().finish(n.id, worker, answer.attempt, answer.confirmed, later)
    if not answer.confirmed:
        log.info("notification %s (%s) to %s not confirmed: %s; %s", n.id, n.event, n.merchant,
                 answer.attempt.error, "again later" if later else "failed: no more tries")
    return answer.confirmed


#: Notifications delivered side by side by one worker (a slow merchant does not hold up the rest).
PARALLEL = 8


def lease_seconds() -> float:
    """How long a worker holds a notification: one attempt (connect, and the merchant's
    answer within NOTIFY_TIMEOUT) with room to spare, so another worker takes it only
    from a worker that died."""
    return float(current_app.config["NOTIFY_TIMEOUT"]) * 4 + 30


def deliver_due(worker: str, now: float | None = None, limit: int = 48) -> int:
    """Deliver what is due now, :data:`PARALLEL` at a time (each batch claimed just
    before it is sent, so every claim is sent within its lease); the number tried."""
    app = current_app._get_current_object()

    def one(n: Notification) -> bool:
        with app.app_context():
            return deliver(n, worker, now)

    def claim(tried: int) -> list[Notification]:
        return outbox().claim(worker, time.time() if now is None else now, lease_seconds(),
                              min(PARALLEL, limit - tried))

    taken = claim(0)
    if not taken:
        return 0  # most rounds: no thread pool for nothing
    tried = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        while taken:
            list(pool.map(one, taken))
            tried += len(taken)
            taken = claim(tried) if len(taken) == PARALLEL and tried < limit else []
    return tried


def resend(nid: str) -> bool:
    """Send notification ``nid`` again from the start of the schedule."""
    return outbox().resend(nid)


def as_json(n: Notification, attempts: list[Attempt] | None = None) -> dict[str, Any]:
    """The merchant API's view of a notification (``GET /notifications``)."""
    out = {"notificationId": n.id, "event": n.event, "subject": n.subject, "state": n.state,
           "url": n.url, "attempts": n.attempts, "createdAt": st.iso(n.created_at),
           "nextAttemptAt": st.iso(n.next_at) if n.state == st.NOTIFY_PENDING else None,
           "deliveredAt": st.iso(n.delivered_at) if n.delivered_at else None, "body": json.loads(n.body)}
    if attempts is not None:
        out["attemptLog"] = [{"at": st.iso(a.at), "httpStatus": a.http_status, "answer": a.answer,
                              "error": a.error} for a in attempts]
    return out


def init_app(app: Flask) -> None:
    """Give the stores the notices they write with each state change."""
    # Parsed once: a bad schedule refuses to start, and no delivery parses it again.
    app.extensions["checkout.notify_schedule"] = parse_schedule(app.config["NOTIFY_SCHEDULE"])
    app.extensions["checkout.store"].notices = checkout_notice
    app.extensions["checkout.payouts"].notices = payout_notice
