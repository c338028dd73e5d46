"""The worker: what happens when nobody is watching (``flask --app checkout worker``, and
a thread of the app in sandbox ``make run``).

Each round it

* delivers the notifications that are due (:func:`checkout.flows.notify.deliver_due`);
* settles checkouts in flight (``processing``, ``awaiting_3ds``, ``pending``): asks the
  gateway on a backoff (:data:`CHECK_BACKOFF`) and records its answer through the same
  flow a page would (:func:`checkout.flows.payment.reconcile`, or
  :func:`checkout.flows.direct.check` for a direct link), so a customer who closed the
  tab at the bank's page still ends as the gateway says, and the merchant is told;
* expires open checkouts past their link's expiry (``checkout.expired``);
* asks about the transactions of 3-D Secure authentications a customer left for another
  card until each is final (:func:`checkout.flows.payment.settle_abandoned`);
* asks the gateway about payouts it is still processing (``payout.*``);
* in sandbox mode, sends the embedded gateway's own notifications.

Several workers may run on several servers: a check is taken by compare-and-set on
``check_at`` and a notification by its lease, so none is done twice at once."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

from flask import Flask, current_app

from .. import methods, payouts
from .. import store as st
from ..gateway import sandbox
from ..store import Checkout
from . import direct, notify
from . import payout as payout_flow
from .payment import IN_FLIGHT, Limits, Session, Step, earlier_payment, limits, reconcile, store

log = logging.getLogger(__name__)

#: Seconds between the worker's looks at one checkout in flight, look after look (the
#: last repeats): soon at first (a charge that timed out usually has its answer a few
#: seconds later), then rarer (a customer at the bank's page has about 10 minutes).
CHECK_BACKOFF = (5, 10, 20, 30, 60, 120, 300, 600, 900, 1800, 3600)


def worker_id() -> str:
    """This worker's name in leases and attempt logs: host, process, and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def next_check(c: Checkout, now: float) -> float:
    """When to look at ``c`` again after this look: a claim still within the time a
    gateway call may take is looked at once that time is over."""
    delay = float(CHECK_BACKOFF[min(c.checks, len(CHECK_BACKOFF) - 1)])
    if c.state == st.PROCESSING:
        delay = max(delay, c.updated_at + limits().busy_seconds - now)
    return now + delay


def session_of(c: Checkout) -> Session | None:
    """The flows' session of a stored checkout (None without its payload or merchant)."""
    payload = c.data
    merchant = current_app.extensions["checkout.merchants"].get(c.merchant)
    if payload is None or merchant is None:
        return None
    return Session(payload, merchant, c)


def settle(c: Checkout, now: float | None = None) -> Step | None:
    """Ask the gateway where checkout ``c`` stands and record it, as its page would
    (None when it cannot be settled without its link: a row older than the payloads)."""
    s = session_of(c)
    if s is None:
        return None
    payload = s.payload
    if payload.get("mode") == "apm":
        m = methods.method(payload.get("paymentTypeId"))
        return direct.check(s, m, now=now) if m is not None else None
    return reconcile(s, now=now)


def settle_transaction(merchant_id: str, transaction_id: str | None, invoice_id: str | None) -> int:
    """The gateway told us about a transaction: settle the checkouts in flight it
    belongs to now (by transaction id, else by invoice). The number settled."""
    rows = store().with_transaction(merchant_id, transaction_id) if transaction_id else []
    if not rows and invoice_id:
        rows = store().of_merchant(merchant_id, invoice_id)
        if not rows:  # a checkout without invoiceId is known to the gateway by our id
            found = store().get(invoice_id)
            rows = [found] if found is not None and found.merchant == merchant_id else []
    done = 0
    for c in rows:
        if c.state in IN_FLIGHT and settle(c) is not None:
            done += 1
    return done


def settle_due(now: float | None = None, limit: int = 50) -> int:
    """Look at the checkouts in flight whose next look is due; the number looked at."""
    now = time.time() if now is None else now
    done = 0
    for c in store().due_checks(IN_FLIGHT, now, limit):
        if not store().claim_check(c.id, now, next_check(c, now)):
            continue  # another worker took this look
        try:
            settle(c, now)
        except Exception:  # one checkout's trouble must not stop the others
            log.exception("checkout %s: settling failed; tried again later", c.id)
        done += 1
    return done


def settle_abandoned_due(now: float | None = None, limit: int = 50) -> int:
    """Ask, on the same backoff, about transactions of authentications customers left
    for another card: one that completes pays its checkout, or is refunded when another
    charge paid it. The number looked at."""
    now = time.time() if now is None else now
    done = 0
    for c in store().with_abandoned(now, limit):
        s = session_of(c)
        if s is None or not store().claim_check(c.id, now, next_check(c, now)):
            continue
        try:
            earlier_payment(s)
        except Exception:
            log.exception("checkout %s: asking about abandoned 3-D Secure failed; tried again later", c.id)
        done += 1
    return done


def expire_due(now: float | None = None, limit: int = 100) -> int:
    """Open checkouts past their expiry become ``expired`` (and the merchant is told)."""
    now = time.time() if now is None else now
    lim = limits()
    done = 0
    for c in store().past_expiry(lim.max_declines, now, limit):
        if store().transition(c.id, (st.OPEN,), st.EXPIRED) or \
                store().transition(c.id, (st.DECLINED,), st.EXPIRED, max_declines=lim.max_declines):
            done += 1
    return done


#: Seconds between the worker's questions about one payout the gateway is still processing.
PAYOUT_CHECK_SECONDS = 10.0


def refresh_payouts(now: float | None = None, limit: int = 20) -> int:
    """Ask the gateway about payouts it is processing (an APM payout is asynchronous):
    a final status is recorded, and the merchant told."""
    now = time.time() if now is None else now
    done = 0
    for p in payouts.store().unchanged_since(payouts.PENDING, now - PAYOUT_CHECK_SECONDS, limit):
        merchant = current_app.extensions["checkout.merchants"].get(p.merchant)
        if merchant is not None:
            after = payout_flow.refresh(p, merchant)
            if after.status == p.status and after.updated_at == p.updated_at:
                # The gateway had nothing new (or no answer): still asked, so it waits its
                # turn behind the others instead of being asked every round.
                payouts.store().note(p.id, p.status)
            done += 1
    return done


#: Seconds between two clean-ups of old payment tries (one DELETE, not one per round).
FORGET_EVERY = 300


def forget_old_tries(now: float | None = None) -> int:
    """Drop the payment tries that no limit counts any more (older than the longest
    window of the app's and every merchant's limits): the table stays small."""
    now = time.time() if now is None else now
    merchants = current_app.extensions["checkout.merchants"]
    windows = [max(lim.attempt_window, lim.decline_window)
               for lim in (Limits.from_config(current_app.config, m) for m in (None, *merchants))]
    return store().forget_tries(now - max(windows))


@dataclass(frozen=True)
class Round:
    """What one round did."""

    notified: int
    settled: int
    expired: int
    gateway_notices: int


def run_round(worker: str, now: float | None = None) -> Round:
    """One round of everything the worker does: what it settles or expires is told in
    the same round."""
    notices = 0
    if current_app.config["GATEWAY_URL"] == "sandbox":  # the gateway's notices first: they settle at once
        notices = sandbox.deliver_notices(current_app._get_current_object(), now)
    settled = settle_due(now) + settle_abandoned_due(now) + refresh_payouts(now)
    expired = expire_due(now)
    clock = time.time() if now is None else now
    if clock - current_app.extensions.get("checkout.tries_forgotten_at", 0) >= FORGET_EVERY:
        current_app.extensions["checkout.tries_forgotten_at"] = clock
        forget_old_tries(now)
    return Round(notified=notify.deliver_due(worker, now), settled=settled, expired=expired,
                 gateway_notices=notices)


def run(app: Flask, stop: threading.Event, interval: float | None = None, worker: str | None = None) -> None:
    """Rounds until ``stop`` is set; a round that fails (the database is down) is logged
    and the next one tries again."""
    worker = worker or worker_id()
    interval = float(app.config["WORKER_INTERVAL"] if interval is None else interval)
    log.info("worker %s started", worker)
    while not stop.is_set():
        try:
            with app.app_context():
                run_round(worker)
        except Exception:
            log.exception("worker %s: the round failed; trying again", worker)
        stop.wait(interval)
    log.info("worker %s stopped", worker)


def start_in_process(app: Flask) -> threading.Event:
    """A worker in a daemon thread of this process (sandbox ``make run``); set the
    returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run, args=(app, stop), name="checkout-worker", daemon=True).start()
    return stop
