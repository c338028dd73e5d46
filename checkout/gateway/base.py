"""The small interface every gateway module implements, and the answers it gives."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

# The seed's Transaction Status dictionary: the gateway's numeric codes, named once.
AWAITING_AUTHENTICATION = 1
COMPLETED = 4
REFUND_COMPLETED = 5
PAYOUT_COMPLETED = 7
CREATED = 10
DECLINED = 99
STATUS_NAMES = {AWAITING_AUTHENTICATION: "AwaitingAuthentication", COMPLETED: "Completed",
                REFUND_COMPLETED: "RefundCompleted", PAYOUT_COMPLETED: "PayoutCompleted",
                CREATED: "Created", DECLINED: "Declined"}
#: Codes of a transaction that is neither paid nor declined yet.
WAITING_CODES = (AWAITING_AUTHENTICATION, CREATED)

#: What one gateway answer means for the payment: paid, declined, a 3-D Secure form to
#: post to the ACS, a page to send the customer to, or not known yet.
OutcomeKind = Literal["completed", "declined", "3ds", "redirect", "pending"]


class GatewayError(Exception):
    """The gateway could not be asked or gave no usable answer (timeout, connection
    reset, 5xx, a body that is not the documented JSON): the outcome is unknown."""


@dataclass(frozen=True)
class Outcome:
    """What the gateway said about one transaction."""

    kind: OutcomeKind
    transaction_id: str | None = None
    status: str | None = None
    status_code: int | None = None
    reason: str | None = None
    reason_code: int | None = None
    message: str | None = None
    amount: str | None = None
    currency: str | None = None
    invoice_id: str | None = None
    acs_url: str | None = None
    pa_req: str | None = None
    redirect_url: str | None = None
    token: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)
    crypto: CryptoQuote | None = None  # a crypto method's deposit address and exact amount

    @property
    def final(self) -> bool:
        return self.kind in ("completed", "declined")

    @property
    def declined_status(self) -> tuple[str, int]:
        """(status, statusCode) of a decline: the gateway's, or the dictionary's Declined."""
        return self.status or STATUS_NAMES[DECLINED], self.status_code or DECLINED


@dataclass(frozen=True)
class CryptoQuote:
    """Where and how much to pay for a crypto pay-in: the exact ``amount`` of ``asset``
    (a decimal string) to send to ``address`` on ``network`` before ``expires_at``
    (ISO 8601, UTC), after which the quoted rate no longer holds (the OMS seed's quote)."""

    address: str
    amount: str
    asset: str
    network: str | None
    expires_at: str

    def seconds_left(self, now: float | None = None) -> int:
        """Whole seconds until the quote expires (0 once it has, or when the gateway's
        ``expiresAt`` cannot be read: an unreadable deadline is no deadline to pay by)."""
        try:
            at = datetime.fromisoformat(self.expires_at.replace("Z", "+00:00"))
        except ValueError:
            return 0
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return max(0, int(at.timestamp() - (time.time() if now is None else now)))


@dataclass(frozen=True)
class SavedCard:
    """One of a customer's saved cards: never more than the masked PAN."""

    token: str
    masked_pan: str
    brand: str | None
    expiry_month: int | None
    expiry_year: int | None

    @property
    def last4(self) -> str:
        return self.masked_pan[-4:]


class Gateway(Protocol):
    """What flows type against: one module per gateway implements it."""

    def test(self) -> bool: ...

    def charge_card(self, *, amount: str, currency: str, name: str, description: str,
                    pan: str, cvv: str, expiry_month: int, expiry_year: int,
                    invoice_id: str | None = None, account_id: str | None = None,
                    ip: str | None = None, data: dict | None = None,
                    success_url: str | None = None, failure_url: str | None = None,
                    pending_url: str | None = None) -> Outcome: ...

    def post3ds(self, transaction_id: str, pa_res: str) -> Outcome: ...

    def status(self, transaction_id: str) -> Outcome: ...

    def status_invoice(self, invoice_id: str) -> list[Outcome]: ...

    def link(self, *, amount: str, currency: str, description: str, payment_type_id: int,
             invoice_id: str | None = None, account_id: str | None = None, ip: str | None = None,
             data: dict | None = None, success_url: str | None = None, failure_url: str | None = None,
             pending_url: str | None = None, cancel_url: str | None = None,
             locale: str | None = None) -> Outcome: ...

    def payout_token(self, token: str, amount: str, currency: str, account_id: str,
                     invoice_id: str | None = None) -> Outcome: ...

    def payout_card(self, pan: str, name: str, amount: str, currency: str, invoice_id: str | None = None,
                    data: dict | None = None) -> Outcome: ...

    def apm_payout(self, amount: str, currency: str, invoice_id: str | None, data: dict, *,
                   payment_type_id: int | None = None, account_id: str | None = None,
                   name: str | None = None, description: str | None = None) -> Outcome: ...

    def saved_cards(self, account_id: str) -> list[SavedCard]: ...

    def charge_token(self, card_token: str, amount: str, currency: str, cvv: str | None = None, *,
                     account_id: str | None = None, invoice_id: str | None = None, description: str = "",
                     name: str | None = None, ip: str | None = None, data: dict | None = None) -> Outcome: ...

    def refund(self, transaction_id: str, amount: str | None = None) -> Outcome: ...

    def apm_refund(self, transaction_id: str, amount: str) -> Outcome: ...

    def list_transactions(self, date, timezone: str | None = None) -> list[dict]: ...

    def balance(self) -> list[dict]: ...
