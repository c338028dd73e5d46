"""The customer's side under real conditions, over HTTP (the Flask test client, the real
sandbox gateway in-process): post/redirect/get, a 3-D Secure left and resumed or
abandoned, the per-address limit a tester can live with, the link's last minutes and its
expiry, and the test-mode mark. The same in Chromium: tests/test_browser_customer.py."""
from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import DEMO_AUTH, EXTRA_FIELDS, Forms, base_config, follow, local, seed_request, text
from test_direct_links import direct_link
from test_payouts import create as create_payout

from checkout import create_app, results
from checkout import store as st
from checkout.flows import worker

SECRET = DEMO_AUTH[1]
ADVANCED_3DS, REDIRECT_3DS, APPROVED = "4111 1111 1111 1111", "4200 0000 0000 0000", "4242 4242 4242 4242"


def card_fields(html: str, number: str = APPROVED, cvv: str = "123", **extra) -> dict:
    form = Forms(html).form("/card")
    return {**EXTRA_FIELDS, "csrf_token": form["fields"]["csrf_token"], "name": "Jane Doe", "number": number,
            "expiry": "12 / 39", "cvv": cvv, **extra}


def post_card(client, path: str, **card):
    """The card form sent from the page, as a browser sends it: the POST's own answer."""
    return client.post(f"{path}/card", data=card_fields(text(client.get(path)), **card))


def ledger(app):
    return app.extensions["sandbox.ledger"]


def checkout_of(app, invoice: str) -> st.Checkout:
    """The one checkout of this invoice, as stored now."""
    (row,) = app.extensions["checkout.store"].of_merchant("pbid_test", invoice)
    return row


def on_merchant(response, base: str) -> dict:
    assert response.status_code == 303, (response.status_code, text(response)[:300])
    parts = urlsplit(response.headers["Location"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == base
    assert results.verify(parts.query, SECRET)
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


# -- post/redirect/get ----------------------------------------------------------------------
def test_a_decline_answers_303_and_a_reload_sends_nothing_again(app, client, make_link):
    path = make_link(invoiceId="prg-decline")
    posted = post_card(client, path, cvv="333")
    assert posted.status_code == 303 and local(posted.headers["Location"]) == path
    shown = client.get(path)
    html = text(shown)
    assert shown.status_code == 402
    assert "Your card was declined: Insufficient Funds." in html and "You can try 2 more times." in html
    assert 'value="Jane Doe"' in html and 'value="12 / 39"' in html  # kept: name, expiry, the sections
    assert 'value="john@doe.com"' in html
    assert "4242" not in html and 'value="333"' not in html  # never the card number or CVV
    for _ in range(3):  # Refresh: a GET; the gateway sees no new attempt
        again = client.get(path)
        assert again.status_code == 402 and "You can try 2 more times." in text(again)
    assert ledger(app).count("pbid_test", "prg-decline") == 1
    kept = checkout_of(app, "prg-decline").form_draft
    # By value, not by the raw JSON: the draft's timestamp is a float whose digits may hold "333".
    sent = [v for values in kept["values"].values() for v in values]
    assert "Jane Doe" in sent and "12 / 39" in sent
    assert not any("4242" in v or "333" in v for v in sent)
    assert not any(key in kept["values"] for key in ("number", "cvv", "csrf_token"))
    assert "csrf" not in json.dumps({k: v for k, v in kept.items() if k != "at"})
    assert "4242" not in (kept["notice"] or "") and "333" not in json.dumps(kept["errors"])


def test_form_errors_are_shown_by_the_get_that_follows(app, client, make_link):
    path = make_link(invoiceId="prg-errors")
    posted = post_card(client, path, expiry="13 / 20", name="Jane Q")
    assert posted.status_code == 303
    shown = follow(client, posted)
    html = text(shown)
    assert shown.status_code == 422 and "Please check the highlighted fields." in html
    assert 'id="expiry-error"' in html and 'value="Jane Q"' in html and "4242" not in html
    assert ledger(app).count("pbid_test", "prg-errors") == 0
    # The form sent again with the mistake fixed pays; the errors do not outlive it.
    paid = post_card(client, path)
    on_merchant(paid, "https://example.com/success")


def test_back_after_success_shows_the_checkout_state(client, make_link):
    path = make_link(invoiceId="prg-success")
    on_merchant(post_card(client, path), "https://example.com/success")
    back = client.get(path)  # Back: the GET of the payment page, never the POST
    assert back.status_code == 200 and "This payment is complete" in text(back)
    assert "You will not be charged again." in text(back)


def test_a_stale_form_post_after_success_charges_nothing(app, client, make_link):
    path = make_link(invoiceId="prg-stale")
    html = text(client.get(path))
    on_merchant(client.post(f"{path}/card", data=card_fields(html)), "https://example.com/success")
    again = client.post(f"{path}/card", data=card_fields(html))  # the old page's form, sent again
    assert again.status_code == 303 and "This payment is complete" in text(follow(client, again))
    assert ledger(app).count("pbid_test", "prg-stale") == 1


# -- 3-D Secure: resumed, or left for another card ------------------------------------------
def start_3ds(client, path: str) -> dict:
    """The card form with the Advanced 3-D Secure card: on to our bank page, whose form
    goes to the ACS (the fields it posts)."""
    posted = post_card(client, path, number=ADVANCED_3DS)
    assert posted.status_code == 303 and urlsplit(posted.headers["Location"]).path == f"{path}/bank"
    bank = client.get(local(posted.headers["Location"]))
    assert bank.status_code == 200 and "data-bank-auto" in text(bank) and "/assets/js/bank." in text(bank)
    form = Forms(text(bank)).form("/sandbox/acs")
    assert {"PaReq", "MD", "TermUrl"} <= set(form["fields"])
    return form["fields"]


def at_the_bank(client, fields: dict, passphrase: str = "4") -> dict:
    """The customer at the sandbox's ACS: what it posts back to our TermUrl."""
    assert client.post("/sandbox/acs", data=fields).status_code == 200
    answer = client.post("/sandbox/acs/submit", data={**fields, "passphrase": passphrase})
    return Forms(text(answer)).forms[-1]["fields"]


def test_coming_back_while_the_bank_waits_offers_the_bank_again_or_another_card(app, client, make_link):
    path = make_link(invoiceId="3ds-resume")
    fields = start_3ds(client, path)
    page = client.get(path)  # Back from the bank's page, or the link opened again
    html = text(page)
    assert page.status_code == 200
    assert "Continue to your bank" in html and "Use another card" in html and "data-bank-auto" not in html
    again = Forms(html).form("/sandbox/acs")["fields"]
    assert again == fields  # the same authentication, not a new charge
    csp = page.headers["Content-Security-Policy"].split("form-action", 1)[1].split(";")[0]
    assert "http://localhost" in csp
    back = at_the_bank(client, again)
    paid = app.test_client().post(local(fields["TermUrl"]), data=back, headers={"Sec-Fetch-Site": "cross-site"})
    on_merchant(paid, "https://example.com/success")
    assert ledger(app).count("pbid_test", "3ds-resume") == 1


def test_another_card_after_leaving_the_bank_pays_once(app, client, make_link):
    path = make_link(invoiceId="3ds-abandon")
    fields = start_3ds(client, path)
    page = text(client.get(path))
    abandon = Forms(page).form("/abandon")
    left = client.post(local(abandon["action"]), data=abandon["fields"])
    assert left.status_code == 303
    reopened = client.get(path)
    assert reopened.status_code == 200 and "Continue to your bank" not in text(reopened)
    assert Forms(text(reopened)).form("/card")
    assert checkout_of(app, "3ds-abandon").state == st.OPEN
    # The bank's page was still open in another tab: its answer is refused from now on.
    back = at_the_bank(client, fields)
    late = app.test_client().post(local(fields["TermUrl"]), data=back, headers={"Sec-Fetch-Site": "cross-site"})
    assert late.status_code == 303 and "example.com" not in late.headers["Location"]
    assert checkout_of(app, "3ds-abandon").state == st.OPEN
    on_merchant(post_card(client, path), "https://example.com/success")
    rows = ledger(app).for_invoice("pbid_test", "3ds-abandon")
    assert [r["status_code"] for r in rows].count(4) == 1  # one completed transaction for the invoice
    # The left authentication never completes (its answer is refused): asked about until
    # the gateway gives it up, then no more.
    assert checkout_of(app, "3ds-abandon").abandoned_transactions == [fields["MD"]]
    app.config["SANDBOX_3DS_SECONDS"] = 0  # the gateway gives the authentication up
    with app.app_context():
        assert worker.settle_abandoned_due(time.time() + 3600) == 1
    assert checkout_of(app, "3ds-abandon").abandoned_transactions == []
    assert ledger(app).find(id=int(fields["MD"]))["status_code"] != 4


def test_abandon_needs_its_csrf_token_and_our_own_page(client, make_link):
    path = make_link(invoiceId="3ds-abandon-csrf")
    start_3ds(client, path)
    assert client.post(f"{path}/abandon", data={"csrf_token": "forged"}).status_code == 303
    assert "Continue to your bank" in text(client.get(path))  # nothing changed
    token = Forms(text(client.get(path))).form("/abandon")["fields"]["csrf_token"]
    refused = client.post(f"{path}/abandon", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403


def leave_redirect_3ds(client, path: str) -> str:
    """The Redirect 3-D Secure card, then "Use another card" on our bank page; the bank
    page's reference (its tab, still open elsewhere, can finish it later)."""
    bank = follow(client, post_card(client, path, number=REDIRECT_3DS))
    target = next(a for a in text(bank).split('href="')[1:] if "/sandbox/redirect/" in a).split('"')[0]
    reference = parse_qs(urlsplit(target.replace("&amp;", "&")).query)["link_reference"][0]
    abandon = Forms(text(bank)).form("/abandon")
    assert client.post(local(abandon["action"]), data=abandon["fields"]).status_code == 303
    return reference


def finish_at_the_bank(client, reference: str) -> None:
    """The bank's page of a left Redirect 3-D Secure, finished after all."""
    assert client.post("/sandbox/redirect/", data={"link_reference": reference, "passphrase": "4"}).status_code == 303


def test_a_redirect_3ds_completed_after_the_customer_left_it_pays_without_a_new_charge(app, client, make_link):
    path = make_link(invoiceId="3ds-redirect-late")
    reference = leave_redirect_3ds(client, path)
    finish_at_the_bank(client, reference)  # the bank's page, still open elsewhere: the gateway has the money
    # The next card is not charged: the earlier authentication pays the checkout.
    on_merchant(post_card(client, path), "https://example.com/success")
    rows = ledger(app).for_invoice("pbid_test", "3ds-redirect-late")
    assert len(rows) == 1 and rows[0]["status_code"] == 4


def test_the_worker_refunds_an_abandoned_authentication_that_completes_after_another_card_paid(
        app, client, make_link):
    path = make_link(invoiceId="3ds-refund")
    reference = leave_redirect_3ds(client, path)
    on_merchant(post_card(client, path), "https://example.com/success")  # the other card pays
    finish_at_the_bank(client, reference)  # then the first is finished at the bank after all
    with app.app_context():
        assert worker.settle_abandoned_due(time.time() + 3600) == 1
    rows = ledger(app).for_invoice("pbid_test", "3ds-refund")
    payments = [r for r in rows if r["status_code"] == 4]
    refunds = [r for r in rows if r["id"] not in {p["id"] for p in payments}]
    c = checkout_of(app, "3ds-refund")
    assert c.state == st.COMPLETED and c.abandoned_transactions == []
    assert refunds, [dict(r) for r in rows]  # the late one is given back: one payment stands


# -- limits ---------------------------------------------------------------------------------
def decline_links(client, count: int) -> None:
    """``count`` declines from the test client's address (127.0.0.1), three per link."""
    for n in range(count):
        if n % 3 == 0:
            body = seed_request(invoiceId=f"limit-{n}")
            path = local(client.post("/checkout/link", json=body, auth=DEMO_AUTH).json["link"]["action"])
        assert follow(client, post_card(client, path, cvv="333")).status_code in (303, 402)


def test_ten_declines_from_loopback_leave_the_eleventh_allowed_in_sandbox_mode(tmp_path):
    app = create_app(base_config(tmp_path))
    client = app.test_client()
    decline_links(client, 10)
    path = local(client.post("/checkout/link", json=seed_request(invoiceId="limit-11"),
                             auth=DEMO_AUTH).json["link"]["action"])
    on_merchant(post_card(client, path), "https://example.com/success")


def test_where_the_limit_applies_the_page_says_when_to_try_again(tmp_path, monkeypatch):
    app = create_app(base_config(tmp_path, LIMIT_LOOPBACK=True, MAX_DECLINES_PER_IP=2, DECLINE_WINDOW=600))
    client = app.test_client()
    decline_links(client, 2)
    path = local(client.post("/checkout/link", json=seed_request(invoiceId="limited"),
                             auth=DEMO_AUTH).json["link"]["action"])
    shown = follow(client, post_card(client, path))
    assert shown.status_code == 429
    assert 590 <= int(shown.headers["Retry-After"]) <= 600
    assert "Too many declined payments from your connection. You can try again in 10 minutes." in text(shown)
    assert ledger(app).count("pbid_test", "limited") == 0
    later = time.time() + 601  # the window has passed: the plain page, and paying works
    monkeypatch.setattr(time, "time", lambda: later)
    page = client.get(path)
    assert page.status_code == 200 and "Retry-After" not in page.headers
    on_merchant(post_card(client, path), "https://example.com/success")


def test_the_limit_message_in_russian(tmp_path):
    app = create_app(base_config(tmp_path, LIMIT_LOOPBACK=True, MAX_DECLINES_PER_IP=1))
    client = app.test_client()
    decline_links(client, 1)
    path = local(client.post("/checkout/link", json=seed_request(invoiceId="limited-ru", locale="ru_RU"),
                             auth=DEMO_AUTH).json["link"]["action"])
    shown = follow(client, post_card(client, path))
    assert shown.status_code == 429 and "Слишком много отклонённых платежей" in text(shown)
    assert "60 минут" in text(shown)


# -- the link's last minutes, and after --------------------------------------------------------
def test_the_last_five_minutes_say_how_long_is_left(client, make_link, monkeypatch):
    path = make_link(invoiceId="expiring")
    assert 'data-countdown' not in text(client.get(path))
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 30 * 60 - 4 * 60 - 1)  # links live 30 minutes
    html = text(client.get(path))
    assert "This payment link expires soon. Time left:" in html
    seconds, shown = re.search(r'data-countdown data-seconds="(\d+)".*?>(\d:\d\d)</span>', html, re.S).groups()
    assert 230 <= int(seconds) <= 241 and shown in ("3:59", "4:00") and "/assets/js/countdown." in html


def test_the_expired_page_keeps_the_merchant_and_a_way_back(app, client, make_link, monkeypatch):
    path = make_link(invoiceId="expired")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 31 * 60)
    page = client.get(path)
    html = text(page)
    assert page.status_code == 410 and "This payment link has expired" in html
    assert "Merchant #1" in html and "#172650" in html  # the merchant's name and theme
    back = Forms(html)
    link = next(a for a in html.split('href="')[1:] if "/finish/cancel" in a).split('"')[0]
    result = on_merchant(client.get(local(link.replace("&amp;", "&"))), "https://example.com/cancel")
    assert (result["status"], result["statusCode"], result["invoiceId"]) == ("Expired", "0", "expired")
    assert checkout_of(app, "expired").state == st.EXPIRED
    assert back.forms == []  # nothing to pay with


# -- test mode ---------------------------------------------------------------------------------
@pytest.mark.parametrize("locale, mark", [("en_US", "Test mode: no real money moves"),
                                          ("ru_RU", "Тестовый режим: реальные деньги не списываются")])
def test_every_customer_page_shows_the_test_mode_mark_in_sandbox_mode(client, make_link, locale, mark):
    path = make_link(invoiceId=f"mark-{locale}", locale=locale)
    assert mark in text(client.get(path))
    declined = follow(client, post_card(client, path, cvv="333"))
    assert mark in text(declined)
    bank = follow(client, post_card(client, path, number=ADVANCED_3DS))
    assert mark in text(bank)


# -- post/redirect/get on the other forms a customer sends -------------------------------------
def test_a_payout_card_form_with_a_mistake_answers_303_and_keeps_the_name(app, client):
    answer = create_payout(client)
    path = local(answer["iframeUrls"]["card"])
    fields = Forms(text(client.get(path))).forms[0]["fields"]
    posted = client.post(path, data={**fields, "name": "Jane Roe", "number": "4242 4242 4242 4241"})
    assert posted.status_code == 303 and local(posted.headers["Location"]) == path
    shown = client.get(path)
    html = text(shown)
    assert shown.status_code == 422 and "Please check the highlighted fields." in html
    assert 'value="Jane Roe"' in html and "4241" not in html
    assert client.get(path).status_code == 422  # Refresh: the same page, nothing sent


def test_a_direct_link_with_a_wrong_field_answers_303_and_keeps_what_was_typed(client):
    path = direct_link(client, 2000, {"firstName": "Jane", "lastName": "Doe"}, currency="INR", amount=500,
                       invoiceId="direct-prg")
    csrf_token = Forms(text(client.get(path))).forms[0]["fields"]["csrf_token"]
    posted = client.post(path, data={"csrf_token": csrf_token, "personId": "not a upi id", "phone": "12345"})
    assert posted.status_code == 303 and local(posted.headers["Location"]) == path
    shown = client.get(path)
    assert shown.status_code == 422 and 'value="not a upi id"' in text(shown)
    assert "Please check the highlighted fields." in text(shown)


def test_the_cashier_amount_with_a_mistake_answers_303(client):
    body = seed_request(mode="cashier", amount=None, invoiceId="cashier-prg",
                        cashier={"presets": [10, 25], "min": 5, "max": 500})
    path = local(client.post("/checkout/link", json=body, auth=DEMO_AUTH).json["link"]["action"])
    fields = Forms(text(client.get(path))).form("/amount")["fields"]
    posted = client.post(f"{path}/amount", data={**fields, "custom_amount": "9999"})
    assert posted.status_code == 303 and local(posted.headers["Location"]) == path
    shown = client.get(path)
    assert shown.status_code == 422 and 'value="9999"' in text(shown)


def test_an_abandoned_authentication_completed_after_a_cancel_is_refunded(app, client, make_link):
    path = make_link(invoiceId="3ds-cancelled")
    reference = leave_redirect_3ds(client, path)
    on_merchant(client.get(f"{path}/cancel"), "https://example.com/cancel")
    finish_at_the_bank(client, reference)
    with app.app_context():
        assert worker.settle_abandoned_due(time.time() + 3600) == 1
    rows = ledger(app).for_invoice("pbid_test", "3ds-cancelled")
    assert len(rows) == 2 and rows[0]["status_code"] == 4 and rows[1]["id"] != rows[0]["id"]  # paid, refunded
    c = checkout_of(app, "3ds-cancelled")
    assert c.state == st.CANCELLED and c.abandoned_transactions == []


def test_another_card_is_refused_while_the_banks_answer_is_on_its_way(app, client, make_link):
    """The ACS's answer took its context (the TermUrl is sending it to the gateway): the
    checkout cannot be abandoned for another card in that moment, so the two never both
    complete."""
    path = make_link(invoiceId="3ds-race")
    fields = start_3ds(client, path)
    abandon = Forms(text(client.get(path))).form("/abandon")
    with app.app_context():
        assert app.extensions["checkout.store"].take_3ds(fields["MD"], checkout_of(app, "3ds-race").id)
    assert client.post(local(abandon["action"]), data=abandon["fields"]).status_code == 303
    assert checkout_of(app, "3ds-race").state == st.AWAITING_3DS  # not abandoned
    assert "Continue to your bank" in text(client.get(path))
