"""The payout flow: create, pay out (to a card or by an alternative method), refresh.

A submission claims the payout (``CREATED`` -> ``PENDING``, compare-and-set) before the
gateway is called, so it is never paid out twice; the card or account number goes to
the gateway in that call and nowhere else (the record keeps it masked). An answer that
never came leaves the payout ``PENDING``: the gateway is asked later, never guessed."""
from __future__ import annotations

import hashlib
import json
import logging
import time

from flask import current_app

from .. import cards, methods, payouts
from ..gateway import GatewayError, Outcome, open_gateway
from ..merchants import Merchant
from ..payouts import Payout

log = logging.getLogger(__name__)


class PayoutConflict(Exception):
    """The order id was used for another payout (another body)."""

    def __init__(self, payout: Payout):
        super().__init__(payout.id)
        self.payout = payout


def create(merchant: Merchant, body, customer_required: tuple[str, ...] = payouts.CUSTOMER_REQUIRED
           ) -> tuple[Payout, int]:
    """A payout from a create-payout request: (the payout, its forms' expiry in Unix
    seconds). The same order id with the same body gives the same payout back. Raises
    ``validation.RequestError`` (bad input) or :class:`PayoutConflict`."""
    cfg = current_app.config
    fields = payouts.validate_request(body, merchant, cfg["TOKEN_LIMIT_AGE"], cfg["TOKEN_MAX_AGE"],
                                      customer_required)
    ttl = fields.pop("ttl")
    request_hash = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    status = payouts.WAITING_FOR_CONFIRMATION if payouts.needs_confirmation(merchant) else payouts.CREATED
    payout, created = payouts.store().create(merchant=merchant.public_id, request_hash=request_hash,
                                             status=status, **fields)
    if not created and payout.request_hash != request_hash:
        raise PayoutConflict(payout)
    return payout, int(time.time()) + ttl


def confirm(pid: str) -> tuple[bool, Payout]:
    """WAITING_FOR_CONFIRMATION -> CREATED (the customer's forms open): (moved, payout)."""
    moved = payouts.store().transition(pid, (payouts.WAITING_FOR_CONFIRMATION,), payouts.CREATED)
    return moved, payouts.store().get(pid)


def reject(pid: str) -> tuple[bool, Payout]:
    """WAITING_FOR_CONFIRMATION or CREATED -> REJECTED: never sent to the gateway."""
    moved = payouts.store().transition(pid, (payouts.WAITING_FOR_CONFIRMATION, payouts.CREATED),
                                       payouts.REJECTED, reason="Rejected by the merchant")
    return moved, payouts.store().get(pid)


def keep_draft(payout: Payout, draft: dict | None) -> None:
    """Keep what the customer's last payout form post left for the page that shows it."""
    payouts.store().keep_draft(payout.id, draft)


def record(payout: Payout, outcome: Outcome) -> Payout:
    """Record the gateway's answer for a PENDING payout."""
    status = payouts.status_for(outcome)
    fields = payouts.outcome_fields(outcome)
    if status == payouts.PENDING:
        payouts.store().note(payout.id, payouts.PENDING, **fields)
    else:
        payouts.store().transition(payout.id, (payouts.PENDING,), status, **fields)
    return payouts.store().get(payout.id)


def refresh(payout: Payout, merchant: Merchant) -> Payout:
    """A PENDING payout: ask the gateway (by transaction id, or by invoice when the answer
    to the payout request never came). Unknown stays PENDING: never guess."""
    if payout.status != payouts.PENDING:
        return payout
    with open_gateway(merchant) as gateway:
        try:
            if payout.transaction_id:
                outcome = gateway.status(payout.transaction_id)
            else:
                found = [o for o in gateway.status_invoice(payout.invoice)
                         if payouts.is_payout(o) and o.currency == payout.currency and o.amount is not None
                         and float(o.amount) == float(payout.amount)]
                outcome = found[-1] if found else None
        except GatewayError as exc:
            log.warning("payout %s: status unknown (%s)", payout.id, exc)
            return payout
    return record(payout, outcome) if outcome is not None else payout


def _recipient_data(payout: Payout) -> dict:
    """The seed's "Payout recipient additional data" from the customer record."""
    c = payout.customer
    billing = c.get("billing") or {}
    values = {"phone": c.get("phoneNumber"), "address": billing.get("address"), "city": billing.get("city"),
              "countryCode": billing.get("countryCode"), "birthDate": c.get("dateOfBirth")}
    return {k: v for k, v in values.items() if v}


def _claim(payout: Payout, **fields) -> Payout | None:
    """CREATED -> PENDING before the gateway is called: of two submissions one wins."""
    if not payouts.store().transition(payout.id, (payouts.CREATED,), payouts.PENDING, **fields):
        return None
    return payouts.store().get(payout.id)


def pay_out_card(payout: Payout, merchant: Merchant, pan: str, name: str) -> Payout | None:
    """The seed's "Payout to card": the payout after the gateway's answer, or None when
    another submission claimed it first."""
    p = _claim(payout, method="card", destination=cards.mask_pan(pan), brand=cards.card_brand(pan))
    if p is None:
        return None  # never paid out twice
    with open_gateway(merchant) as gateway:
        try:
            outcome = gateway.payout_card(pan, name, p.amount, p.currency, invoice_id=p.invoice,
                                          data=_recipient_data(p))
        except GatewayError as exc:
            log.warning("payout %s: card payout outcome unknown (%s); pending until the gateway says", p.id, exc)
            return p
    return record(p, outcome)


#: The field of an APM payout that says where the money goes (kept masked).
DESTINATION_FIELDS = ("bankAccountNumber", "personId", "blockchainAddress")


def pay_out_method(payout: Payout, merchant: Merchant, m: methods.Method, values: dict) -> Payout | None:
    """The seed's "APM Payout" with the method's fields (validated): the payout after the
    gateway's answer, or None when another submission claimed it first."""
    clean = methods.clean_fields(m, values, payout=True)
    where = next((clean[k] for k in DESTINATION_FIELDS if clean.get(k)), "")
    p = _claim(payout, method="apm", payment_type_id=m.type_id,
               destination=payouts.mask_account(where) if where else None)
    if p is None:
        return None
    name = clean.pop("name", None) or p.full_name or None
    with open_gateway(merchant) as gateway:
        try:
            outcome = gateway.apm_payout(p.amount, p.currency, p.invoice, clean, payment_type_id=m.type_id,
                                         account_id=p.customer.get("email"), name=name,
                                         description=p.description or None)
        except GatewayError as exc:
            log.warning("payout %s: APM payout outcome unknown (%s); pending until the gateway says", p.id, exc)
            return p
    return record(p, outcome)
