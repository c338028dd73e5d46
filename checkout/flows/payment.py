"""The payment flow: one checkout from the first claim to its final outcome.

Every way of paying takes the same steps: check the checkout may still be paid, count the
try against the card-testing limits and claim the checkout in one transaction
(:func:`reserve`; the claim is a compare-and-set: of two submissions one wins, so a link
is never charged twice), call the gateway, record its answer, and say where the customer
goes next as a :class:`Step`. A flow takes plain values (the checkout, its merchant, the
card once and never again, URLs the view made) and never touches ``flask.request`` or
renders a page; the views render its step, and the worker calls :func:`reconcile` for
checkouts nobody is watching.

An answer that never came (a timeout, a 5xx, a body that is not the documented JSON)
leaves the checkout ``pending``: the gateway is asked later, by transaction id or by
invoice, and nothing is charged again until it has said."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Literal

from flask import current_app

from .. import cards, fingerprints, methods
from .. import store as st
from ..config import flag
from ..gateway import GatewayError, Outcome, open_gateway
from ..gateway.base import CREATED, STATUS_NAMES, WAITING_CODES, CryptoQuote, Gateway, SavedCard
from ..merchants import Merchant
from ..store import Checkout, Store
from ..ttlcache import TTLCache
from .merchant import check_fields, payment_check

log = logging.getLogger(__name__)

#: A payment under way: the gateway has it, or may have it.
#: The most customers whose saved cards one process keeps (see :func:`saved_cards`).
SAVED_CARDS_KEPT = 10_000
IN_FLIGHT = (st.PROCESSING, st.AWAITING_3DS, st.PENDING)
#: States a new attempt may start from (declines within the limit).
PAYABLE = (st.OPEN, st.DECLINED)

#: The status of a checkout nobody paid that ended without a transaction (not in the
#: seed's dictionary: nothing was made at the gateway): cancelled by the customer, or
#: expired.
CANCELLED_STATUS = ("Cancelled", 0)
EXPIRED_STATUS = ("Expired", 0)

#: Which of the merchant's URLs a result goes to.
ResultKind = Literal["success", "failure", "pending", "cancel"]
#: What a step asks the view to show:
#: ``stands``   where the checkout stands now (another request won, or nothing moved);
#: ``merchant`` on to the merchant's ``result`` URL with the signed result;
#: ``declined`` the form again with the decline's reason (tries are left);
#: ``acs``      a form posted to the bank's ACS (``url``, ``fields``): Advanced 3-D Secure;
#: ``handover`` on to the gateway's page (``url``): Redirect 3-D Secure, a method's page;
#: ``quote``    a crypto quote (``quote``) waiting to be paid;
#: ``pending``  the payment is with the gateway, its outcome not known yet;
#: ``settled``  a final outcome was recorded just now (a direct link goes on from it);
#: ``open``     the checkout is open again (nothing was made at the gateway);
#: ``expired``  the crypto quote expired unpaid (``quote``);
#: ``limited``  a card-testing limit is reached (``limit``: which; ``retry_at``: when a try
#:              is allowed again): nothing was claimed or tried;
#: ``unreachable`` the gateway could not be asked before charging: nothing was charged;
#: ``refused``  the merchant's Payment Check refused the payment: nothing was charged.
StepKind = Literal["stands", "merchant", "declined", "acs", "handover", "quote", "pending", "settled",
                   "open", "expired", "limited", "unreachable", "refused"]
#: Which limit stopped a try: declines from the client's address, tries from it (an
#: unsigned checkout's lower limit included), tries with the card, tries on the checkout,
#: tries on the merchant's unsigned checkouts.
LimitKind = Literal["declines", "address", "card", "checkout", "merchant"]
#: What a try is: a card typed in, a saved card, an alternative method, a crypto quote,
#: a direct link's method.
TryKind = Literal["card", "saved", "method", "crypto", "direct"]


@dataclass(frozen=True)
class Step:
    """What a flow did and where the customer goes next."""

    kind: StepKind
    checkout: Checkout | None = None
    result: ResultKind | None = None
    url: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    quote: CryptoQuote | None = None
    limit: LimitKind | None = None
    retry_at: float | None = None


@dataclass(frozen=True)
class Limits:
    """The configured limits a flow applies (``MAX_DECLINES`` and friends), a merchant's
    ``limits`` over the app's (see :func:`reserve` for what each counts)."""

    max_declines: int
    max_declines_per_ip: int
    decline_window: float
    pending_grace: float
    #: How long a claim may stay ``processing`` before its status is asked: the time the
    #: merchant's Payment Check and a gateway call may take, and a little more.
    busy_seconds: float
    #: The limits that span checkouts (per address, per card, per merchant) leave loopback
    #: addresses alone: a tester on 127.0.0.1 in sandbox mode, paying with the sandbox's
    #: few test cards again and again, unless ``LIMIT_LOOPBACK`` says otherwise.
    exempt_loopback: bool = False
    max_attempts: int = 5
    max_attempts_per_ip: int = 20
    max_attempts_per_card: int = 5
    attempt_window: float = 3600
    unsigned_attempts_per_ip: int = 5
    unsigned_attempts_per_merchant: int = 100

    @classmethod
    def from_config(cls, config, merchant: Merchant | None = None) -> Limits:
        exempt = config.get("MODE") == "sandbox" and not flag(config.get("LIMIT_LOOPBACK"))
        values = {**config, **(merchant.limits if merchant is not None else {})}

        def count(key: str) -> int:
            return max(int(values[key]), 1)

        return cls(max_declines=int(config["MAX_DECLINES"]), max_declines_per_ip=count("MAX_DECLINES_PER_IP"),
                   decline_window=float(values["DECLINE_WINDOW"]), pending_grace=float(config["PENDING_GRACE"]),
                   busy_seconds=float(config["GATEWAY_TIMEOUT"]) + float(config.get("CHECK_TIMEOUT") or 0) + 5,
                   exempt_loopback=exempt, max_attempts=count("MAX_ATTEMPTS"),
                   max_attempts_per_ip=count("MAX_ATTEMPTS_PER_IP"),
                   max_attempts_per_card=count("MAX_ATTEMPTS_PER_CARD"),
                   attempt_window=float(values["ATTEMPT_WINDOW"]),
                   unsigned_attempts_per_ip=count("UNSIGNED_MAX_ATTEMPTS_PER_IP"),
                   unsigned_attempts_per_merchant=count("UNSIGNED_MAX_ATTEMPTS_PER_MERCHANT"))


@dataclass
class Session:
    """One checkout as the flows see it: the token's payload, its merchant and its row."""

    payload: dict
    merchant: Merchant
    checkout: Checkout
    saved: bool = True  # False: its row is not made yet (see open_session)

    @property
    def id(self) -> str:
        return self.payload["cid"]

    @property
    def invoice(self) -> str:
        """What the gateway knows this checkout by: the merchant's invoiceId, or our id."""
        return self.payload.get("invoiceId") or self.id

    @property
    def data(self) -> dict:
        return self.payload.get("data") or {}

    def refresh(self) -> Checkout:
        found = store().get(self.id)
        if found is not None:
            self.checkout, self.saved = found, True
        return self.checkout

    def after(self, moved: Checkout | None) -> Checkout:
        """The checkout after a move: as this call moved it (the move's own row, no second
        read), or as it stands now when the move was not this call's."""
        if moved is None:
            return self.refresh()
        self.checkout, self.saved = moved, True
        return moved


@dataclass(frozen=True)
class CardDetails:
    """A card as the customer typed it: used for one gateway call, never kept."""

    name: str
    pan: str
    cvv: str
    expiry_month: int
    expiry_year: int


def store() -> Store:
    return current_app.extensions["checkout.store"]


def limits(merchant: Merchant | None = None) -> Limits:
    return Limits.from_config(current_app.config, merchant)


def open_session(payload: dict, merchant: Merchant, *, create: bool = True) -> Session:
    """The checkout of a verified token, its row made on first sight. ``create=False``
    (a page's GET): a row not made yet stays unmade, and the session holds the checkout
    as it would be made (open, nothing tried), so that showing a page writes nothing;
    :func:`stored` makes it before any change."""
    if not create:
        found = store().get(payload["cid"])
        if found is not None and (found.payload is not None or payload is None):
            return Session(payload, merchant, found)
        if found is None:
            return Session(payload, merchant, st.unsaved_checkout(
                payload["cid"], merchant.public_id, payload.get("invoiceId"), payload["amount"],
                payload["currency"], payload=payload), saved=False)
    row = store().ensure(payload["cid"], merchant.public_id, payload.get("invoiceId"), payload["amount"],
                         payload["currency"], payload=payload)
    return Session(payload, merchant, row)


def stored(s: Session) -> Session:
    """``s`` with its checkout's row made (see :func:`open_session`)."""
    if not s.saved:
        s.checkout = store().ensure(s.id, s.merchant.public_id, s.payload.get("invoiceId"), s.payload["amount"],
                                    s.payload["currency"], payload=s.payload)
        s.saved = True
    return s


def known_session(checkout_id: str, merchant: Merchant) -> Session | None:
    """A checkout of ``merchant`` by its id, without its link (None: no such checkout of
    this merchant; a crypto quote's own checkout is part of the one it pays)."""
    c = store().get(checkout_id)
    if c is None or c.merchant != merchant.public_id or c.parent_id:
        return None
    payload = c.data or {"cid": c.id, "m": c.merchant, "amount": c.amount, "currency": c.currency,
                         **({"invoiceId": c.invoice_id} if c.invoice_id else {})}
    return Session(payload, merchant, c)


def checkouts_of(merchant: Merchant, invoice_id: str, limit: int = 100) -> list[Checkout]:
    """The merchant's checkouts of one invoice, newest first."""
    return store().of_merchant(merchant.public_id, invoice_id, limit)


def transaction_number(value: str | None) -> int | str | None:
    """A gateway's transaction id as the seed writes it (an integer), when it is one."""
    if value is None:
        return None
    return int(value) if str(value).isdigit() and str(value).isascii() else str(value)


def iso(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC (``2026-12-02T07:16:37Z``)."""
    return None if ts is None else st.iso(ts)


#: The states the merchant API reports (``declined`` only once no more tries are left:
#: before that the customer may still pay, and the checkout is ``open``).
API_STATES = (st.OPEN, st.PROCESSING, st.AWAITING_3DS, st.PENDING, st.COMPLETED, st.DECLINED, st.CANCELLED,
              st.EXPIRED)


def api_state(c: Checkout, lim: Limits | None = None) -> str:
    return st.OPEN if c.state == st.DECLINED and payable(c, lim) else c.state


def summary(c: Checkout) -> dict:
    """Where a checkout stands, as the merchant API answers it (``GET /checkout/<id>``)."""
    payload = c.data or {}
    return {"checkoutId": c.id, "state": api_state(c), "status": c.status, "statusCode": c.status_code,
            "transactionId": transaction_number(c.transaction_id), "amount": float(c.amount), "currency": c.currency,
            "invoiceId": c.invoice_id, "accountId": payload.get("accountId"), "reason": c.reason,
            "reasonCode": c.reason_code, "attempts": c.charges, "declines": c.declines,
            "createdAt": iso(c.created_at), "updatedAt": iso(c.updated_at), "expiresAt": iso(c.expires_at)}


def keep_draft(s: Session, draft: dict | None) -> None:
    """Keep what the customer's last form post left for the page that shows it."""
    store().keep_draft(s.id, draft)


def expire(s: Session) -> bool:
    """The merchant ends an open checkout (``POST /checkout/<id>/expire``): it can no
    longer be paid. False when it is in flight or final (nothing changes)."""
    lim = limits()
    stored(s)
    moved = store().transition(s.id, (st.OPEN,), st.EXPIRED) or \
        store().transition(s.id, (st.DECLINED,), st.EXPIRED, max_declines=lim.max_declines)
    s.refresh()
    return moved


def checked(s: Session, *, name: str | None = None, masked_pan: str | None = None, brand: str | None = None,
            expiry: str | None = None) -> bool:
    """The merchant's Payment Check for the claim just made (True: go on). A refusal
    opens the checkout again: nothing was charged."""
    if not s.merchant.check_url:
        return True
    ok, _why = payment_check(s.merchant, check_fields(s.refresh(), s.payload, name=name, masked_pan=masked_pan,
                                                      brand=brand, card_expiry=expiry))
    if not ok:
        store().release(s.id)  # nothing went to the gateway: the try is not counted
        s.refresh()
    return ok


# -- where a checkout stands ---------------------------------------------------------------
def payable(c: Checkout, lim: Limits | None = None) -> bool:
    """The customer may still try to pay (open, or declined with tries left)."""
    lim = lim or limits()
    return c.state == st.OPEN or (c.state == st.DECLINED and c.declines < lim.max_declines)


def final_result(c: Checkout, lim: Limits | None = None) -> ResultKind | None:
    """The merchant URL of a checkout that is over (paid, cancelled or expired, out of tries)."""
    lim = lim or limits()
    if c.state == st.COMPLETED:
        return "success"
    if c.state in (st.CANCELLED, st.EXPIRED):  # an expired checkout goes back as a cancel does
        return "cancel"
    if c.state == st.DECLINED and c.declines >= lim.max_declines:
        return "failure"
    return None


def standing(c: Checkout, lim: Limits | None = None) -> ResultKind | None:
    """The result where the checkout stands (a payment in flight is ``pending``), or None
    while the customer may still pay."""
    if c.state in IN_FLIGHT:
        return "pending"
    return final_result(c, lim)


def pending_status(c: Checkout) -> tuple[str, int]:
    """(status, statusCode) a pending result carries: the gateway's while it is one of
    the waiting codes, else Created."""
    code = c.status_code if c.status_code in WAITING_CODES else CREATED
    return STATUS_NAMES[code], code


def stands(s: Session) -> Step:
    return Step("stands", s.refresh())


def settled(s: Session) -> Step:
    """A final outcome goes on to the merchant; anything else shows where it stands."""
    c = s.refresh()
    kind = final_result(c)
    return Step("merchant", c, result=kind) if kind else Step("stands", c)


def quote_checkout_id(checkout_id: str, type_id: int) -> str:
    """The id of the crypto quote's checkout that ``checkout_id`` hands over to."""
    return f"{checkout_id}.{type_id}"


def live_quote(s: Session) -> methods.Method | None:
    """The crypto method of the quote this checkout waits for, if one is live."""
    c = s.checkout
    if c.state not in IN_FLIGHT or not c.transaction_id:
        return None
    for m in (m for m in methods.catalogue() if methods.is_crypto(m)):
        quote = store().get(quote_checkout_id(s.id, m.type_id))
        if quote is not None and quote.state in IN_FLIGHT and quote.transaction_id == c.transaction_id:
            return m
    return None


# -- card-testing limits ----------------------------------------------------------------------
def card_fingerprint(pan: str) -> str:
    """The card's keyed fingerprint (never its number), by the first of ``SECRET_KEYS``."""
    return fingerprints.card(pan, current_app.config["SECRET_KEYS"][0])


def saved_card_fingerprint(card: SavedCard) -> str:
    return fingerprints.saved_card(card.token, current_app.config["SECRET_KEYS"][0])


def quotas(s: Session, ip: str | None, fingerprint: str | None, lim: Limits) -> list[st.Quota]:
    """The limits one try on this checkout counts against, over sliding windows:

    * the checkout: ``max_attempts`` tries (its declines are ``max_declines``, by its row);
    * the client's address: ``max_attempts_per_ip`` tries and ``max_declines_per_ip``
      declines, a try in flight counted as a decline until its answer;
    * the card (its fingerprint): ``max_attempts_per_card`` tries across all checkouts,
      approvals included;
    * an unsigned checkout (options nobody's server signed: the widget's ``publicId``
      ones, an unsigned redirect link): ``unsigned_attempts_per_ip`` such tries from the
      address and ``unsigned_attempts_per_merchant`` on all the merchant's.

    Those that span checkouts leave a loopback client alone in sandbox mode unless
    ``LIMIT_LOOPBACK`` (:attr:`Limits.exempt_loopback`)."""
    window = lim.attempt_window
    found = [st.Quota("checkout", (("checkout_id", s.id),), lim.max_attempts, window)]
    if lim.exempt_loopback and fingerprints.is_loopback(ip):
        return found
    address = fingerprints.address_key(ip)
    unsigned = bool(s.payload.get("unsigned"))
    if address:
        found += [st.Quota("address", (("ip", address),), lim.max_attempts_per_ip, window),
                  st.Quota("declines", (("ip", address),), lim.max_declines_per_ip, lim.decline_window,
                           st.DECLINING)]
        if unsigned:
            found.append(st.Quota("address", (("ip", address), ("unsigned", 1)), lim.unsigned_attempts_per_ip, window))
    if fingerprint:
        found.append(st.Quota("card", (("fingerprint", fingerprint),), lim.max_attempts_per_card, window))
    if unsigned:
        found.append(st.Quota("merchant", (("merchant", s.merchant.public_id), ("unsigned", 1)),
                              lim.unsigned_attempts_per_merchant, window))
    return found


def reserve(s: Session, kind: TryKind, *, ip: str | None, fingerprint: str | None = None,
            from_states: tuple[str, ...] = PAYABLE, **fields) -> Step | None:
    """Every way to pay, before anything goes to the gateway: this try counted against
    every limit (:func:`quotas`) and the checkout claimed (``from_states`` ->
    ``processing`` with ``fields``) in one transaction (:meth:`Store.reserve`), so that
    simultaneous tries can neither all pass one count nor charge twice. None: go on to
    the gateway. ``limited`` (with which limit and when to try again): nothing was
    claimed or tried. ``stands``: another submission holds the claim."""
    lim = limits(s.merchant)
    attempt = st.Try(checkout_id=s.id, merchant=s.merchant.public_id, kind=kind,
                     ip=fingerprints.address_key(ip), fingerprint=fingerprint, unsigned=bool(s.payload.get("unsigned")))
    max_declines = lim.max_declines if st.DECLINED in from_states else None
    got = store().reserve(attempt, quotas(s, ip, fingerprint, lim), from_states, max_declines, **fields)
    if got.retry_at is not None:
        log.info("checkout %s: %s try refused by the %s limit until %s", s.id, kind, got.limit, iso(got.retry_at))
        return Step("limited", s.checkout, limit=got.limit, retry_at=got.retry_at)
    if not got.claimed:
        return stands(s)  # another submission won: never charge twice
    return None


# -- recording the gateway's answer ---------------------------------------------------------
def _answer_fields(outcome: Outcome) -> dict:
    return {"transaction_id": outcome.transaction_id, "status": outcome.status,
            "status_code": outcome.status_code}


def record(s: Session, outcome: Outcome, from_states: tuple[str, ...], ip: str | None) -> Step:
    """Record what the gateway said (from one of ``from_states``) and say what comes next.
    A decline counts per checkout and, by its try (see :func:`reserve`), per client
    address; the last one allowed goes to the merchant's failure URL. The try in flight
    gets its outcome with the move (``Store.transition``)."""
    fields = _answer_fields(outcome)
    if outcome.kind == "completed":
        forget_saved_cards(s)
        c = s.after(store().moved(s.id, from_states, st.COMPLETED, reason=outcome.reason,
                                  reason_code=outcome.reason_code, saved_token=outcome.token, **fields))
        return Step("merchant", c, result="success") if c.state == st.COMPLETED else Step("stands", c)
    if outcome.kind == "declined":
        status, code = outcome.declined_status
        fields.update(status=status, status_code=code, reason=outcome.reason or outcome.message,
                      reason_code=outcome.reason_code)
        moved = store().declined(s.id, from_states, fingerprints.address_key(ip), **fields)
        if moved is None:
            return stands(s)
        c = s.after(moved)
        if c.declines >= limits().max_declines:
            return Step("merchant", c, result="failure")
        return Step("declined", c)
    if outcome.kind == "3ds":
        acs_fields = {"PaReq": outcome.pa_req, "MD": outcome.transaction_id}
        bank = bank_record(outcome.acs_url, acs_fields)
        moved = store().await_3ds(s.id, from_states, outcome.transaction_id, bank=bank, **fields)
        if moved is None:
            return stands(s)
        return Step("acs", s.after(moved), url=outcome.acs_url, fields=acs_fields)
    if outcome.kind == "redirect":
        moved = store().moved(s.id, from_states, st.AWAITING_3DS, bank=bank_record(outcome.redirect_url), **fields)
        if moved is None:
            return stands(s)
        return Step("handover", s.after(moved), url=outcome.redirect_url)
    store().transition(s.id, from_states, st.PENDING, **fields)
    return stands(s)


def bank_record(url: str | None, fields: dict | None = None, method: int | None = None) -> str:
    """The bank's step as kept for resuming it (see ``Checkout.bank_step``); ``method``:
    the alternative method whose page it is."""
    step = {"url": url, **({"fields": fields} if fields else {}), **({"method": method} if method else {})}
    return json.dumps(step, separators=(",", ":"))


def _unanswered(s: Session, what: str, exc: GatewayError, from_state: str = st.PROCESSING) -> None:
    """The gateway may have the payment but did not say: pending until it does."""
    log.warning("checkout %s: %s outcome unknown (%s); pending until the gateway says", s.id, what, exc)
    store().transition(s.id, (from_state,), st.PENDING)


def note_siblings(s: Session, gateway: Gateway) -> None:
    """Other links share this invoice: note their transactions first, so that a charge
    whose answer never came is never confused with one of theirs. Raises GatewayError."""
    if s.payload.get("invoiceId") and store().has_siblings(s.id, s.merchant.public_id, s.invoice):
        store().add_seen(s.id, [o.transaction_id for o in gateway.status_invoice(s.invoice)])


def find_charge(s: Session, gateway: Gateway) -> Outcome | None:
    """What the gateway knows of this checkout's latest charge: by transaction id, or
    (when the answer to the charge never came) by invoice, among the transactions that
    are not another attempt's or another link's. Raises GatewayError."""
    c = s.checkout
    if c.transaction_id:
        return gateway.status(c.transaction_id)
    seen = set(c.transactions)
    found = [o for o in gateway.status_invoice(s.invoice)
             if o.transaction_id not in seen and o.amount is not None
             and o.raw.get("operationTypeCode") in (None, 1)  # a payment: never the invoice's refund
             and o.currency == s.payload["currency"] and float(o.amount) == float(s.payload["amount"])]
    return found[-1] if found else None


# -- ways of paying -------------------------------------------------------------------------
def pay_card(s: Session, card: CardDetails, *, ip: str | None, back_url: str, data: dict) -> Step:
    """A card payment: the card goes to the gateway in this one call and nowhere else.
    ``back_url``: where the gateway sends the customer back to (Redirect 3-D Secure)."""
    if not payable(s.checkout):
        return stands(s)
    earlier = earlier_payment(s)
    if earlier is not None:
        return earlier
    masked, brand, expiry = cards.mask_pan(card.pan), cards.card_brand(card.pan), card_expiry(card)
    refused = reserve(s, "card", ip=ip, fingerprint=card_fingerprint(card.pan), masked_pan=masked, brand=brand,
                      expiry=expiry, holder=card.name or None)
    if refused is not None:
        return refused
    if not checked(s, name=card.name, masked_pan=masked, brand=brand, expiry=expiry):
        return Step("refused", s.checkout)
    with open_gateway(s.merchant) as gateway:
        try:
            note_siblings(s, gateway)
        except GatewayError as exc:
            log.warning("checkout %s: gateway unreachable before charging (%s)", s.id, exc)
            store().release(s.id)
            return Step("unreachable", s.refresh())
        try:
            outcome = gateway.charge_card(
                amount=s.payload["amount"], currency=s.payload["currency"], name=card.name,
                description=s.payload.get("description", ""), pan=card.pan, cvv=card.cvv,
                expiry_month=card.expiry_month, expiry_year=card.expiry_year, invoice_id=s.invoice,
                account_id=s.payload.get("accountId"), ip=s.payload.get("ip") or ip, data=data,
                success_url=back_url, failure_url=back_url, pending_url=back_url)
        except GatewayError as exc:
            _unanswered(s, "charge", exc)
            return stands(s)
    return record(s, outcome, (st.PROCESSING,), ip)


def card_expiry(card: CardDetails) -> str:
    """The card's expiry as the seed's notifications write it: MM/YYYY."""
    year = card.expiry_year + 2000 if card.expiry_year < 100 else card.expiry_year
    return f"{card.expiry_month:02d}/{year}"


def _saved_cards_cache() -> TTLCache:
    cache = current_app.extensions.get("checkout.saved_cards")
    if cache is None:
        cache = current_app.extensions.setdefault(
            "checkout.saved_cards", TTLCache(SAVED_CARDS_KEPT, float(current_app.config["SAVED_CARDS_SECONDS"])))
    return cache


def saved_cards(s: Session) -> list[SavedCard]:
    """The customer's saved cards (by the checkout's accountId), or none when the gateway
    cannot say right now: the page still works with a new card. Unsigned checkouts get
    none: whoever typed the accountId is not known to own it.

    Asked of the gateway once per ``SAVED_CARDS_SECONDS`` per customer and process, not
    on every view (a reload, a form sent back with an error): a payment of this process
    that completes for the customer forgets them (:func:`record`), so a card just saved
    shows at once; one saved elsewhere shows within the period. A failed answer is not
    kept."""
    account = s.payload.get("accountId")
    if not account or s.payload.get("unsigned"):
        return []
    cache, key = _saved_cards_cache(), (s.merchant.public_id, account)
    found = cache.get(key)
    if found is not None:
        return list(found)
    with open_gateway(s.merchant) as gateway:
        try:
            found = tuple(gateway.saved_cards(account))
        except GatewayError as exc:
            log.info("checkout %s: saved cards unavailable (%s)", s.id, exc)
            return []
    cache.set(key, found)
    return list(found)


def forget_saved_cards(s: Session) -> None:
    """The customer's saved cards are asked again on the next view (a card may be saved)."""
    if s.payload.get("accountId"):
        _saved_cards_cache().discard((s.merchant.public_id, s.payload["accountId"]))


def pay_saved(s: Session, card: SavedCard, cvv: str | None, *, ip: str | None) -> Step:
    """Pay with one of the customer's saved cards (a token the gateway keeps)."""
    if not payable(s.checkout):
        return stands(s)
    earlier = earlier_payment(s)
    if earlier is not None:
        return earlier
    expiry = f"{card.expiry_month:02d}/{card.expiry_year}" if card.expiry_month and card.expiry_year else None
    refused = reserve(s, "saved", ip=ip, fingerprint=saved_card_fingerprint(card), masked_pan=card.masked_pan,
                      brand=card.brand, expiry=expiry)
    if refused is not None:
        return refused
    if not checked(s, masked_pan=card.masked_pan, brand=card.brand, expiry=expiry):
        return Step("refused", s.checkout)
    with open_gateway(s.merchant) as gateway:
        try:
            outcome = gateway.charge_token(
                card.token, s.payload["amount"], s.payload["currency"], cvv or None,
                account_id=s.payload.get("accountId"), invoice_id=s.invoice,
                description=s.payload.get("description", ""), ip=s.payload.get("ip") or ip, data=s.payload.get("data"))
        except GatewayError as exc:
            _unanswered(s, "saved-card charge", exc)
            return stands(s)
    return record(s, outcome, (st.PROCESSING,), ip)


def gateway_link(s: Session, gateway: Gateway, m: methods.Method, data: dict, *, ip: str | None,
                 locale: str | None, back_url: str) -> Outcome:
    """The gateway's Link for this checkout and method; every way back is ``back_url``
    (which asks the gateway's status). Raises GatewayError when the answer is unknown."""
    return gateway.link(
        amount=s.payload["amount"], currency=s.payload["currency"], description=s.payload.get("description", ""),
        payment_type_id=m.type_id, invoice_id=s.invoice, account_id=s.payload.get("accountId"),
        ip=s.payload.get("ip") or ip, locale=locale, data=data,
        success_url=back_url, failure_url=back_url, pending_url=back_url, cancel_url=back_url)


def pay_method(s: Session, m: methods.Method, values: dict, *, ip: str | None, locale: str | None,
               back_url: str) -> Step:
    """An alternative method chosen on the payment page, its fields validated: the
    gateway's Link, then on to the method's page (``handover``)."""
    if not payable(s.checkout):
        return stands(s)
    earlier = earlier_payment(s)
    if earlier is not None:
        return earlier
    refused = reserve(s, "method", ip=ip, masked_pan=None, brand=None, expiry=None, holder=None)
    if refused is not None:
        return refused
    if not checked(s):
        return Step("refused", s.checkout)
    data = {**s.data, **methods.clean_fields(m, values, payout=False)}
    with open_gateway(s.merchant) as gateway:
        try:
            outcome = gateway_link(s, gateway, m, data, ip=ip, locale=locale, back_url=back_url)
        except GatewayError as exc:
            _unanswered(s, "link", exc)
            return stands(s)
    if outcome.kind == "pending" and outcome.redirect_url:
        store().transition(s.id, (st.PROCESSING,), st.PENDING, bank=bank_record(outcome.redirect_url, method=m.type_id),
                           **_answer_fields(outcome))
        return Step("handover", s.refresh(), url=outcome.redirect_url)
    return record(s, outcome, (st.PROCESSING,), ip)


def quote_crypto(s: Session, m: methods.Method, *, ip: str | None, locale: str | None, back_url: str) -> Step:
    """BTC or USDT chosen on the payment page (a cashier's deposit): a single-use quote.

    * This checkout is claimed first (the same compare-and-set as a card payment), the
      gateway's Link makes the quote, and this checkout then waits ``pending`` with the
      quote's transaction id. While it waits it takes no other payment: every form of it
      answers with where it stands, and where it stands is that quote (:func:`live_quote`).
      Its way back (:func:`reconcile`) asks the gateway for that transaction, like any
      pending payment: completed goes to the merchant; declined, or the quote expired, is
      a decline here (the form opens again with the reason, counted as any decline).
    * The quote is shown by a direct link whose checkout id is derived from this one's and
      the method's (:func:`quote_checkout_id`): choosing the method again, or opening this
      link again, leads to that same quote. It never makes a quote itself, so a new quote
      needs this checkout's claim first, and one checkout is never paid twice."""
    if not payable(s.checkout):
        return stands(s)
    earlier = earlier_payment(s)
    if earlier is not None:
        return earlier
    # Not a card; ``stands``: another payment, or another quote, came first.
    refused = reserve(s, "crypto", ip=ip, masked_pan=None, brand=None, expiry=None, holder=None)
    if refused is not None:
        return refused
    if not checked(s):
        return Step("refused", s.checkout)
    quote_id = quote_checkout_id(s.id, m.type_id)
    store().ensure(quote_id, s.merchant.public_id, s.payload.get("invoiceId"), s.payload["amount"],
                   s.payload["currency"], parent_id=s.id)
    with open_gateway(s.merchant) as gateway:
        try:
            outcome = gateway_link(s, gateway, m, s.data, ip=ip, locale=locale, back_url=back_url)
        except GatewayError as exc:
            _unanswered(s, "crypto quote", exc)
            return stands(s)  # the confirming page finds it by invoice, or opens again
    if outcome.kind != "pending" or outcome.crypto is None or not outcome.transaction_id:
        return record(s, outcome, (st.PROCESSING,), ip)
    fields = _answer_fields(outcome)
    store().transition(quote_id, tuple(x for x in st.STATES if x != st.COMPLETED), st.PENDING, **fields)
    store().transition(s.id, (st.PROCESSING,), st.PENDING, **fields)
    return Step("quote", s.refresh(), quote=outcome.crypto)


# -- leaving the bank's page ------------------------------------------------------------------
def abandon_3ds(s: Session) -> Step:
    """"Use another card" while the bank waits: the checkout opens again at once (nobody
    waits for the authentication to time out). The authentication left behind can never
    complete a second charge: its answer is refused at the TermUrl from now on (its
    context is used up), and before the next charge, and in the worker until it is
    final, the gateway is asked about its transaction (:func:`earlier_payment`,
    :func:`settle_abandoned`)."""
    if s.checkout.state == st.AWAITING_3DS and store().abandon_3ds(s.id):
        log.info("checkout %s: 3-D Secure of %s left for another card", s.id, s.checkout.transaction_id)
        return Step("open", s.refresh())
    return stands(s)


def earlier_payment(s: Session) -> Step | None:
    """Before a new charge: an authentication the customer left (:func:`abandon_3ds`)
    that completed after all pays this checkout, and nothing is charged again. None: go
    on with the new charge (``unreachable`` when the gateway cannot say)."""
    if not s.checkout.abandoned_transactions:
        return None
    with open_gateway(s.merchant) as gateway:
        try:
            return settle_abandoned(s, gateway)
        except GatewayError as exc:
            log.warning("checkout %s: abandoned 3-D Secure status unknown (%s); nothing charged", s.id, exc)
            return Step("unreachable", s.checkout)


def settle_abandoned(s: Session, gateway: Gateway) -> Step | None:
    """Ask about each abandoned transaction; a final answer ends the asking. A completed
    one pays the checkout while it can still be paid (``merchant`` success); one that
    completed once the checkout could no longer take it (another charge paid it, or it
    was cancelled, expired or out of tries) is refunded, so that one checkout is never
    paid twice and a cancelled one keeps nothing. Raises GatewayError."""
    for tx in s.checkout.abandoned_transactions:
        outcome = gateway.status(tx)
        if not outcome.final:
            continue
        if outcome.kind == "completed":
            c = s.refresh()
            if c.state in IN_FLIGHT:
                continue  # asked again once the payment under way has its outcome
            if payable(c):
                store().transition(s.id, PAYABLE, st.COMPLETED, max_declines=limits().max_declines,
                                   reason=outcome.reason, reason_code=outcome.reason_code, **_answer_fields(outcome))
                store().drop_abandoned(s.id, tx)
                if s.refresh().state == st.COMPLETED:
                    log.info("checkout %s: the abandoned 3-D Secure of %s completed; no new charge", s.id, tx)
                    return Step("merchant", s.checkout, result="success")
                continue
            if not (c.state == st.COMPLETED and c.transaction_id == tx):
                # Paid by another charge, or cancelled, expired or out of tries since: the
                # money of the authentication left behind goes back.
                refund = gateway.refund(tx)
                log.warning("checkout %s (%s): abandoned %s completed after all; refunded (%s)",
                            s.id, c.state, tx, refund.status)
        store().drop_abandoned(s.id, tx)
    s.refresh()
    return None


# -- coming back ----------------------------------------------------------------------------
def finish_3ds(s: Session, md: str, pa_res: str, *, ip: str | None) -> Step:
    """The ACS's answer (``MD``, ``PaRes``) for this checkout: taken once per MD."""
    if s.checkout.state != st.AWAITING_3DS or not md or not store().take_3ds(md, s.id):
        return stands(s)
    with open_gateway(s.merchant) as gateway:
        try:
            outcome = gateway.post3ds(md, pa_res)
        except GatewayError as exc:
            _unanswered(s, "post3ds", exc, st.AWAITING_3DS)
            return stands(s)
    return record(s, outcome, (st.AWAITING_3DS,), ip)


def reconcile(s: Session, *, ip: str | None = None, now: float | None = None) -> Step:
    """Where a payment in flight stands at the gateway, recorded here: the way back from
    a gateway's page, the confirming page's check, and the worker's settling of
    checkouts nobody is watching. Never trusts anything but the gateway's answer."""
    lim = limits()
    c = s.checkout
    now = time.time() if now is None else now
    busy = c.state == st.PROCESSING and now - c.updated_at < lim.busy_seconds
    if c.state not in IN_FLIGHT and c.abandoned_transactions and payable(c, lim):
        # Back from a bank's page the customer had left: it may have completed after all.
        return earlier_payment(s) or settled(s)
    if c.state not in IN_FLIGHT or busy:
        return settled(s)
    with open_gateway(s.merchant) as gateway:
        try:
            outcome = find_charge(s, gateway)
        except GatewayError as exc:
            log.warning("checkout %s: status unknown (%s)", s.id, exc)
            return stands(s)
    if outcome is None:
        if now - c.updated_at >= lim.pending_grace and \
                store().transition(s.id, (st.PENDING, st.PROCESSING), st.OPEN):
            log.info("checkout %s: no trace of the charge at the gateway; open again", s.id)
        return stands(s)
    if outcome.final:
        return record(s, outcome, IN_FLIGHT, ip)
    if outcome.transaction_id and not c.transaction_id:
        store().note(s.id, **_answer_fields(outcome))
    return stands(s)


def cancel(s: Session) -> Step:
    """Back to the merchant's cancelUrl: only a checkout nothing is paying."""
    if store().transition(s.id, PAYABLE, st.CANCELLED) or s.refresh().state == st.CANCELLED:
        return Step("merchant", s.refresh(), result="cancel")
    return stands(s)
