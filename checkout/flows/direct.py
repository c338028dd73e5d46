"""The direct link's flow (``/d/<token>``): one alternative method, no payment page.

Opening the link claims the checkout and calls the gateway's Link for the token's
``paymentTypeId``; the customer goes straight on to the method's page. The way back
asks the gateway. Declines are final here: there is no page of ours to try again on. A
crypto method's quote, once expired unpaid, may be made again (:func:`new_quote`)."""
from __future__ import annotations

import logging
import time

from .. import methods
from .. import store as st
from ..gateway import GatewayError, Outcome, open_gateway
from .payment import (
    IN_FLIGHT,
    Session,
    Step,
    bank_record,
    checked,
    find_charge,
    gateway_link,
    limits,
    note_siblings,
    reserve,
    stands,
    store,
)

log = logging.getLogger(__name__)


def _record_final(s: Session, outcome: Outcome, from_states: tuple[str, ...]) -> None:
    """Store a final outcome (completed or declined)."""
    fields = {"transaction_id": outcome.transaction_id, "status": outcome.status,
              "status_code": outcome.status_code, "reason": outcome.reason or outcome.message,
              "reason_code": outcome.reason_code}
    if outcome.kind == "completed":
        store().transition(s.id, from_states, st.COMPLETED, **fields)
    else:
        fields["status"], fields["status_code"] = outcome.declined_status
        store().transition(s.id, from_states, st.DECLINED, **fields)


def start(s: Session, m: methods.Method, values: dict, *, ip: str | None, locale: str | None, back_url: str,
          from_states: tuple[str, ...] = (st.OPEN,), **reset) -> Step:
    """Claim the checkout (never two payments at once), call the gateway's Link and say
    where the customer goes: the method's page (``handover``), the crypto quote
    (``quote``), or on (``settled``) when the method answered at once. ``reset`` clears
    the last attempt's answer (a new quote after one expired). The try is counted against
    the card-testing limits with the claim (``limited``: nothing started; see
    :func:`~checkout.flows.payment.reserve`)."""
    refused = reserve(s, "direct", ip=ip, from_states=from_states, **reset)
    if refused is not None:
        return refused  # limited, or another request started it
    if not checked(s):
        return Step("refused", s.checkout)
    data = {**s.data, **methods.clean_fields(m, values, payout=False)}
    with open_gateway(s.merchant) as gateway:
        try:
            note_siblings(s, gateway)
            outcome = gateway_link(s, gateway, m, data, ip=ip, locale=locale, back_url=back_url)
        except GatewayError as exc:
            log.warning("checkout %s: Link outcome unknown (%s); pending until the gateway says", s.id, exc)
            store().transition(s.id, (st.PROCESSING,), st.PENDING)
            return Step("pending", s.refresh())
    if outcome.final:
        _record_final(s, outcome, (st.PROCESSING,))
        return Step("settled", s.refresh())
    bank = bank_record(outcome.redirect_url, method=m.type_id) if outcome.redirect_url else None
    if not store().transition(s.id, (st.PROCESSING,), st.PENDING, transaction_id=outcome.transaction_id,
                              status=outcome.status, status_code=outcome.status_code, bank=bank):
        return stands(s)
    if methods.is_crypto(m) and outcome.crypto:
        return Step("quote", s.refresh(), quote=outcome.crypto)
    if outcome.redirect_url:
        return Step("handover", s.refresh(), url=outcome.redirect_url)
    return Step("pending", s.refresh())


def check(s: Session, m: methods.Method, *, now: float | None = None) -> Step:
    """Ask the gateway where the payment stands and record it: ``pending`` (with the
    ``quote`` while a crypto quote waits), ``settled`` once final, ``expired`` for a
    crypto quote that expired unpaid, ``open`` when nothing was made at the gateway."""
    lim = limits()
    c = s.checkout
    now = time.time() if now is None else now
    if c.state == st.PROCESSING and now - c.updated_at < lim.busy_seconds:
        return Step("pending", c)
    with open_gateway(s.merchant) as gateway:
        try:
            outcome = find_charge(s, gateway)
        except GatewayError as exc:
            log.warning("checkout %s: status unknown (%s)", s.id, exc)
            return Step("pending", c)
    if outcome is None:
        if now - c.updated_at >= lim.pending_grace and \
                store().transition(s.id, (st.PENDING, st.PROCESSING), st.OPEN):
            return Step("open", s.refresh())  # nothing was made: start again
        return Step("pending", c)
    if outcome.kind == "declined" and methods.is_crypto(m) and outcome.crypto \
            and outcome.crypto.seconds_left(now) <= 0 and not s.payload.get("parent"):
        # A hand-over's expired quote is a decline of its checkout; a direct link's may be made again.
        if outcome.transaction_id and not c.transaction_id:
            store().note(s.id, transaction_id=outcome.transaction_id)
        return Step("expired", s.refresh(), quote=outcome.crypto)
    if outcome.final:
        _record_final(s, outcome, IN_FLIGHT)
        return Step("settled", s.refresh())
    if outcome.transaction_id and not c.transaction_id:
        store().note(s.id, transaction_id=outcome.transaction_id, status=outcome.status,
                     status_code=outcome.status_code)
    if methods.is_crypto(m) and outcome.crypto:
        return Step("pending", s.refresh(), quote=outcome.crypto)
    return Step("pending", s.refresh())


def new_quote(s: Session, m: methods.Method, *, ip: str | None, locale: str | None, back_url: str) -> Step:
    """A new crypto quote once the gateway says the old one expired unpaid: re-claims the
    checkout from ``pending``. A quote still open, or paid, is kept (``open``: the page
    shows it)."""
    c = s.checkout
    if not methods.is_crypto(m) or c.state != st.PENDING or not c.transaction_id:
        return stands(s)
    with open_gateway(s.merchant) as gateway:
        try:
            outcome = gateway.status(c.transaction_id)
        except GatewayError as exc:
            log.warning("checkout %s: status unknown (%s)", s.id, exc)
            return Step("pending", c)
    if not (outcome.kind == "declined" and outcome.crypto and outcome.crypto.seconds_left() <= 0):
        return Step("open", c)
    return start(s, m, s.data, ip=ip, locale=locale, back_url=back_url, from_states=(st.PENDING,),
                 transaction_id=None, status=None, status_code=None)


def cancel(s: Session) -> Step:
    """Back to the merchant's cancelUrl before anything started."""
    if store().transition(s.id, (st.OPEN,), st.CANCELLED) or s.refresh().state == st.CANCELLED:
        return Step("merchant", s.refresh(), result="cancel")
    return stands(s)
