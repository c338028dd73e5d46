"""Payouts over HTTP (Flask test client, the sandbox gateway in-process): the merchant API
(the OMNO payout: create -> iframeUrls, status, confirm / reject), the customer's card and
APM payout forms with the seed's payout test cards and APM Test Payout credentials, and
the promises around them (never paid out twice, no card or account number kept, CSRF,
embedding)."""
from __future__ import annotations

import base64
import json
import re
import threading
import time
from html.parser import HTMLParser

import pytest
from conftest import DEMO_AUTH, base_config

from checkout import create_app, payouts
from checkout.gateway.base import GatewayError
from checkout.gateway.client import OdeonPayClient
from checkout.signatures import content_hmac

PENDING_SECONDS = 1
GOOD_IBAN = "DE89 3704 0044 0532 0130 00"
CUSTOMER = {"externalUserId": "user-42", "firstName": "John", "lastName": "Doe", "email": "john@doe.com",
            "phoneNumber": "+49 30 1234567", "dateOfBirth": "1980-11-25",
            "billing": {"address": "Wall street 65", "city": "Berlin", "state": "BE", "countryCode": "DE",
                        "postalCode": "10115"}}


def payout_request(**overrides) -> dict:
    """The OMNO seed's create-payout body (``orderId``, ``value`` as ``amount``, ...)."""
    body = {"orderId": "po-" + str(time.time_ns()), "amount": 12.30, "currency": "EUR", "kycVerified": True,
            "customer": json.loads(json.dumps(CUSTOMER)), "locale": "en_US",
            "successUrl": "https://shop.example/payout/ok", "failureUrl": "https://shop.example/payout/no"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
def app(tmp_path, database):
    return create_app(base_config(tmp_path, DATABASE=database, SANDBOX_PENDING_SECONDS=PENDING_SECONDS))


@pytest.fixture
def client(app):
    return app.test_client()


class Forms(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self.inputs: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"), "fields": {}})
        elif tag == "input":
            self.inputs.append(a)
            if self.forms:
                self.forms[-1]["fields"][a.get("name", "")] = a.get("value", "")


def text(response) -> str:
    return response.get_data(as_text=True)


def local(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def create(client, auth=DEMO_AUTH, **overrides) -> dict:
    response = client.post("/payouts", json=payout_request(**overrides), auth=auth)
    assert response.status_code == 200, response.json
    return response.json


def form_fields(html: str) -> dict:
    return Forms(html).forms[0]["fields"]


def card_payout(client, answer: dict, number: str, name: str = "John Doe", **headers):
    path = local(answer["iframeUrls"]["card"])
    page = client.get(path)
    assert page.status_code in (200, 422)  # 422: the page of the last form sent, with its errors
    return client.post(path, data={**form_fields(text(page)), "name": name, "number": number}, headers=headers)


def status_of(client, payout_id: str) -> dict:
    response = client.get(f"/payouts/{payout_id}", auth=DEMO_AUTH)
    assert response.status_code == 200, response.json
    return response.json


def ledger(app):
    return app.extensions["sandbox.ledger"]


def follow(client, response):
    assert response.status_code == 303, text(response)
    return client.get(response.headers["Location"])


# -- the merchant API ----------------------------------------------------------------------
def test_create_answers_the_payout_id_status_and_iframe_urls(app, client):
    answer = create(client)
    assert answer["success"] is True and answer["status"] == "CREATED"
    assert re.fullmatch(r"po_[0-9a-f]{32}", answer["payoutId"])
    card, apm = answer["iframeUrls"]["card"], answer["iframeUrls"]["apm"]
    assert re.fullmatch(r"http://localhost/p/[^/]+/card", card)
    assert apm == card[:-len("card")] + "apm"
    with app.app_context():
        payload = payouts.load_token(card.split("/p/", 1)[1].split("/")[0])
    assert payload["pid"] == answer["payoutId"] and payload["m"] == "pbid_test"
    assert abs(payload["exp"] - time.time() - app.config["TOKEN_MAX_AGE"]) < 5
    got = status_of(client, answer["payoutId"])
    assert (got["status"], got["amount"], got["currency"], got["kycVerified"]) == ("CREATED", 12.3, "EUR", True)
    assert got["customer"]["billing"]["countryCode"] == "DE" and got["destination"] is None


def test_create_accepts_the_omno_names(client):
    answer = create(client, amount=None, value="7.5", orderId=None, externalId="ext-1",
                    kycVerified=None, customer={**CUSTOMER, "kycVerified": False})
    got = status_of(client, answer["payoutId"])
    assert (got["amount"], got["orderId"], got["kycVerified"]) == (7.5, "ext-1", False)


@pytest.mark.parametrize("overrides, field", [
    ({"amount": None}, "amount"), ({"amount": -1}, "amount"), ({"amount": "1.234"}, "amount"),
    ({"currency": "EURO"}, "currency"), ({"customer": None}, "customer"),
    ({"customer": {"firstName": "John"}}, "customer.externalUserId"),
    ({"customer": {**CUSTOMER, "email": "not-an-email"}}, "customer.email"),
    ({"customer": {**CUSTOMER, "billing": {"countryCode": "Germany"}}}, "customer.billing.countryCode"),
    ({"kycVerified": "yes"}, "kycVerified"), ({"successUrl": "javascript:alert(1)"}, "successUrl"),
    ({"orderId": "a", "invoiceId": "b"}, "orderId"), ({"expiresIn": 5}, "expiresIn"),
])
def test_bad_requests_get_400_with_errors(client, overrides, field):
    response = client.post("/payouts", json=payout_request(**overrides), auth=DEMO_AUTH)
    assert response.status_code == 400
    assert response.json["success"] is False and field in response.json["errors"], response.json
    assert response.json["message"].startswith(field) or field in response.json["message"]


def test_auth_content_type_and_hmac(client):
    assert client.post("/payouts", json=payout_request()).status_code == 401
    wrong = client.post("/payouts", json=payout_request(), auth=("pbid_test", "nope"))
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic")
    answer = create(client)
    assert client.get(f"/payouts/{answer['payoutId']}").status_code == 401
    assert client.get(f"/payouts/{answer['payoutId']}", auth=("pbid_test", "nope")).status_code == 401
    assert client.post(f"/payouts/{answer['payoutId']}/reject", auth=("x", "y")).status_code == 401
    assert client.post("/payouts", data="amount=1", auth=DEMO_AUTH).status_code == 415
    body = json.dumps(payout_request()).encode()
    headers = {"Content-Type": "application/json"}
    bad = client.post("/payouts", data=body, auth=DEMO_AUTH, headers={**headers, "Content-HMAC": "Zm9v"})
    assert bad.status_code == 401 and "Content-HMAC" in bad.json["errors"]
    good = client.post("/payouts", data=body, auth=DEMO_AUTH,
                       headers={**headers, "Content-HMAC": content_hmac(body, "test_secret")})
    assert good.status_code == 200 and good.json["status"] == "CREATED"
    assert client.get("/payouts/po_unknown", auth=DEMO_AUTH).status_code == 404


def test_the_same_order_id_gives_the_same_payout_and_another_body_409(client):
    body = payout_request()
    first = client.post("/payouts", json=body, auth=DEMO_AUTH).json
    again = client.post("/payouts", json=body, auth=DEMO_AUTH)
    assert again.status_code == 200 and again.json["payoutId"] == first["payoutId"]
    other = client.post("/payouts", json={**body, "amount": 99}, auth=DEMO_AUTH)
    assert other.status_code == 409 and "orderId" in other.json["errors"]


# -- card payouts: the seed's "Cards for Card Payout Operation tests" -----------------------------
def test_card_4242_is_processed(app, client):
    answer = create(client)
    response = card_payout(client, answer, "4242 4242 4242 4242")
    page = follow(client, response)
    assert page.status_code == 200
    html = text(page)
    assert 'data-payout-status="PROCESSED"' in html and "Your payout has been sent" in html
    assert "€12.30 has been sent to 424242******4242." in html and "Status: Sent" in html
    assert "https://shop.example/payout/ok?payoutId=" in html  # full page: back to the merchant
    got = status_of(client, answer["payoutId"])
    assert (got["status"], got["method"], got["destination"], got["brand"]) == \
        ("PROCESSED", "card", "424242******4242", "visa")
    assert (got["gatewayStatus"], got["statusCode"]) == ("PayoutCompleted", 7) and got["transactionId"]
    row = ledger(app).find(id=int(got["transactionId"]))
    assert (row["invoice_id"], row["amount"], row["currency"], row["name"]) == \
        (got["orderId"], "12.3", "EUR", "John Doe")
    assert ledger(app).count("pbid_test", got["orderId"]) == 1


def test_card_4111_is_rejected(client):
    answer = create(client)
    html = text(follow(client, card_payout(client, answer, "4111111111111111")))
    assert 'data-payout-status="REJECTED"' in html and "Your payout was declined" in html
    assert "https://shop.example/payout/no?payoutId=" in html
    got = status_of(client, answer["payoutId"])
    assert (got["status"], got["statusCode"], got["reason"]) == ("REJECTED", 99, "Payout declined")


def test_card_4200_is_pending_then_processed(client):
    answer = create(client)
    page = follow(client, card_payout(client, answer, "4200000000000000"))
    assert page.status_code == 202  # pending.js keeps polling while it gets 202
    html = text(page)
    assert 'data-payout-status="PENDING"' in html and "Your payout is being processed" in html
    status_path = local(answer["iframeUrls"]["card"])[: -len("/card")]
    assert f'data-poll="{status_path}"' in html
    assert f'<meta http-equiv="refresh" content="3;url={status_path}">' in html  # without scripts
    assert status_of(client, answer["payoutId"])["status"] == "PENDING"
    time.sleep(PENDING_SECONDS + 0.2)
    page = client.get(status_path)
    assert page.status_code == 200 and 'data-payout-status="PROCESSED"' in text(page)
    assert status_of(client, answer["payoutId"])["status"] == "PROCESSED"


def test_an_invalid_card_number_keeps_the_name_and_shows_the_error(app, client):
    answer = create(client)
    posted = card_payout(client, answer, "4242 4242 4242 4241", name="Jane Roe")
    assert posted.status_code == 303  # post/redirect/get: the form's page shows what was wrong
    response = follow(client, posted)
    assert response.status_code == 422
    html = text(response)
    assert "This card number is not valid." in html and "Please check the highlighted fields." in html
    assert 'value="Jane Roe"' in html and "4242 4242 4242 4241" not in html and "4241" not in html
    assert 'aria-invalid="true" aria-describedby="number-error"' in html
    assert status_of(client, answer["payoutId"])["status"] == "CREATED"
    assert ledger(app).count() == 0
    unknown = follow(client, card_payout(client, answer, "6062 8200 0000 0000"))  # Hipercard: not accepted
    assert unknown.status_code == 422 and "We do not accept this card brand." in text(unknown)


def test_the_card_form_is_findable_by_autofill(client):
    html = text(client.get(local(create(client)["iframeUrls"]["card"])))
    inputs = {i.get("name"): i for i in Forms(html).inputs}
    assert inputs["number"]["autocomplete"] == "cc-number" and inputs["number"]["inputmode"] == "numeric"
    assert inputs["name"]["autocomplete"] == "cc-name" and inputs["name"]["value"] == "John Doe"
    assert set(inputs) == {"csrf_token", "name", "number"}  # no expiry, no CVV for a payout
    assert '<label for="number">' in html and '<label for="name">' in html


def test_double_submit_pays_out_once(app, client):
    answer = create(client)
    path = local(answer["iframeUrls"]["card"])
    data = {**form_fields(text(client.get(path))), "name": "John Doe", "number": "4242424242424242"}
    first = client.post(path, data=data)
    second = client.post(path, data=data)
    assert first.status_code == second.status_code == 303
    assert "data-payout-status=\"PROCESSED\"" in text(client.get(second.headers["Location"]))
    assert ledger(app).count("pbid_test", status_of(client, answer["payoutId"])["orderId"]) == 1


def test_simultaneous_submissions_pay_out_once(app):
    answer = create(app.test_client())
    path = local(answer["iframeUrls"]["card"])
    data = {**form_fields(text(app.test_client().get(path))), "name": "John Doe", "number": "4242424242424242"}
    barrier = threading.Barrier(6)
    codes = []

    def submit():
        c = app.test_client()
        barrier.wait()
        codes.append(c.post(path, data=data).status_code)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [303] * 6
    order = status_of(app.test_client(), answer["payoutId"])["orderId"]
    assert ledger(app).count("pbid_test", order) == 1


def test_an_unanswered_payout_stays_pending_and_is_found_by_its_invoice(app, client, monkeypatch):
    """The gateway paid out but its answer never came: PENDING, then the status page finds
    the payout by invoice and shows it PROCESSED; the customer can never send it again."""
    real = OdeonPayClient.payout_card

    def lost_answer(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise GatewayError("payments/payout/card: ReadTimeout")

    monkeypatch.setattr(OdeonPayClient, "payout_card", lost_answer)
    answer = create(client)
    response = card_payout(client, answer, "4242424242424242")
    monkeypatch.setattr(OdeonPayClient, "payout_card", real)
    assert payouts.store(app).get(answer["payoutId"]).status == "PENDING"
    assert payouts.store(app).get(answer["payoutId"]).transaction_id is None
    page = follow(client, response)
    assert page.status_code == 200 and 'data-payout-status="PROCESSED"' in text(page)
    got = status_of(client, answer["payoutId"])
    assert got["status"] == "PROCESSED" and got["transactionId"]
    again = client.get(local(answer["iframeUrls"]["card"]))
    assert again.status_code == 303 and ledger(app).count("pbid_test", got["orderId"]) == 1


# -- APM payouts ----------------------------------------------------------------------------
def test_the_apm_form_lists_the_methods_that_fit(client):
    answer = create(client)
    html = text(client.get(local(answer["iframeUrls"]["apm"])))
    form = Forms(html).forms[0]
    assert form["method"] == "get"
    radios = [i["value"] for i in Forms(html).inputs if i.get("name") == "method"]
    assert radios == ["2", "6000"]  # APM Test Payout (any currency), SEPA Credit Transfer (EUR)
    assert "SEPA Credit Transfer" in html and "APM Test Payout" in html
    inr = create(client, currency="INR", amount=500, customer={**CUSTOMER, "billing": {"countryCode": "IN"}})
    radios = [i["value"] for i in Forms(text(client.get(local(inr["iframeUrls"]["apm"])))).inputs
              if i.get("name") == "method"]
    assert {"3020", "3021", "2053"} <= set(radios) and "6000" not in radios


def test_sepa_payout_refuses_a_bad_iban_and_accepts_a_good_one(app, client):
    answer = create(client)
    path = local(answer["iframeUrls"]["apm"]) + "?method=6000"
    page = client.get(path)
    html = text(page)
    fields = form_fields(html)
    assert fields["method"] == "6000" and fields["name"] == "John Doe"  # the holder, from the customer
    inputs = {i.get("name"): i for i in Forms(html).inputs}
    assert inputs["bankAccountNumber"]["autocomplete"] == "off"
    posted = client.post(path, data={**fields, "bankAccountNumber": "DE89 3704 0044 0532 0130 01"})
    assert posted.status_code == 303
    bad = follow(client, posted)
    assert bad.status_code == 422 and "Enter a valid IBAN." in text(bad)
    assert 'value="DE89 3704 0044 0532 0130 01"' in text(bad)  # what was typed stays, to be corrected
    assert status_of(client, answer["payoutId"])["status"] == "CREATED" and ledger(app).count() == 0
    good = client.post(path, data={**form_fields(text(bad)), "bankAccountNumber": GOOD_IBAN})
    page = follow(client, good)
    assert page.status_code == 202 and 'data-payout-status="PENDING"' in text(page)  # APM payouts: Created first
    got = status_of(client, answer["payoutId"])
    assert (got["status"], got["method"], got["paymentTypeId"], got["destination"]) == \
        ("PENDING", "apm", 6000, "DE****************3000")
    row = ledger(app).find(id=int(got["transactionId"]))
    assert (row["payment_type_id"], row["name"], row["account_id"]) == (6000, "John Doe", "john@doe.com")
    time.sleep(PENDING_SECONDS + 0.2)
    page = client.get(good.headers["Location"])
    assert page.status_code == 200 and "has been sent to DE****************3000" in text(page)


@pytest.mark.parametrize("person, status", [("success@bank", "PROCESSED"), ("failure@bank", "REJECTED")])
def test_apm_test_payout_with_the_seed_credentials(app, client, person, status):
    answer = create(client, currency="USD", customer={**CUSTOMER, "billing": {"countryCode": "US"}})
    path = local(answer["iframeUrls"]["apm"])
    html = text(client.get(path))  # one method fits USD: its form comes straight away
    assert "APM Test Payout" in html and "success@bank is paid out" in html
    response = client.post(path, data={**form_fields(html), "personId": person})
    page = follow(client, response)
    assert page.status_code == 200 and f'data-payout-status="{status}"' in text(page)
    got = status_of(client, answer["payoutId"])
    assert (got["status"], got["paymentTypeId"]) == (status, 2)
    assert ledger(app).find(id=int(got["transactionId"]))["person_id"] == person


def test_apm_needs_a_method_that_fits(client):
    answer = create(client)
    path = local(answer["iframeUrls"]["apm"])
    fields = form_fields(text(client.get(path + "?method=6000")))
    posted = client.post(path, data={**fields, "method": "3020", "personId": "x@upi", "phone": "9555777666"})
    response = follow(client, posted)
    assert posted.status_code == 303 and response.status_code == 422 and "Choose a payout method." in text(response)


def test_no_full_card_or_account_number_is_kept(app, client, stored_bytes):
    card = create(client)
    follow(client, card_payout(client, card, "4242424242424242"))
    sepa = create(client)
    path = local(sepa["iframeUrls"]["apm"]) + "?method=6000"
    follow(client, client.post(path, data={**form_fields(text(client.get(path))), "bankAccountNumber": GOOD_IBAN}))
    raw = stored_bytes(app)
    assert b"po_" in raw  # the payouts are there...
    for secret in ("4242424242424242", GOOD_IBAN.replace(" ", ""), GOOD_IBAN, "370400440532013000"):
        assert secret.encode() not in raw  # ...but never a whole card or account number


# -- confirmation (the seed's confirm / reject) --------------------------------------------------
@pytest.fixture
def confirming(tmp_path):
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([{"publicId": "pbid_test", "secret": "test_secret", "name": "Demo Store",
                                      "allowedOrigins": ["http://localhost:*"],
                                      "requirePayoutConfirmation": True}]))
    return create_app(base_config(tmp_path, MERCHANTS_FILE=str(merchants))).test_client()


def test_confirmation_opens_the_forms(confirming):
    client = confirming
    answer = create(client)
    assert answer["status"] == "WAITING_FOR_CONFIRMATION"
    card_path = local(answer["iframeUrls"]["card"])
    waiting = client.get(card_path)
    assert waiting.status_code == 202 and f'data-poll="{card_path}"' in text(waiting)
    assert "Your payout is waiting for approval" in text(waiting) and not Forms(text(waiting)).forms
    assert client.put(f"/payouts/{answer['payoutId']}/confirm", auth=DEMO_AUTH).json["status"] == "CREATED"
    again = client.put(f"/payouts/{answer['payoutId']}/confirm", auth=DEMO_AUTH)
    assert again.status_code == 409 and again.json["errors"] == {"status": "CREATED"}
    assert client.get(card_path).status_code == 200
    follow(client, card_payout(client, answer, "4242424242424242"))
    assert status_of(client, answer["payoutId"])["status"] == "PROCESSED"
    late = client.post(f"/payouts/{answer['payoutId']}/reject", auth=DEMO_AUTH)
    assert late.status_code == 409 and late.json["errors"] == {"status": "PROCESSED"}


def test_a_rejected_payout_is_never_sent(confirming):
    client = confirming
    answer = create(client)
    rejected = client.put(f"/payouts/{answer['payoutId']}/reject", auth=DEMO_AUTH)
    assert rejected.status_code == 200 and rejected.json["status"] == "REJECTED"
    page = client.get(local(answer["iframeUrls"]["apm"]))
    assert page.status_code == 303
    html = text(client.get(page.headers["Location"]))
    assert 'data-payout-status="REJECTED"' in html and "No money was sent." in html
    assert status_of(client, answer["payoutId"])["reason"] == "Rejected by the merchant"


# -- the pages: embedding, protections, language ----------------------------------------------------
def test_embedded_pages_frame_for_the_origin_and_tell_the_parent(client):
    answer = create(client)
    origin = "http://localhost:8123"
    path = local(answer["iframeUrls"]["card"]) + "?embed=1&origin=" + origin
    page = client.get(path)
    assert page.status_code == 200
    assert f"frame-ancestors {origin}" in page.headers["Content-Security-Policy"]
    html = text(page)
    assert f'data-parent-origin="{origin}"' in html and "/assets/js/embed." in html
    action = Forms(html).forms[0]["action"]
    assert action.endswith("/card?embed=1&origin=http://localhost:8123") or "embed=1" in action
    response = client.post(action, data={**form_fields(html), "number": "4242424242424242"})
    assert "embed=1" in response.headers["Location"]
    html = text(client.get(response.headers["Location"]))
    assert 'data-payout-result="processed"' in html and f'data-payout-id="{answer["payoutId"]}"' in html
    assert "/assets/js/payout-embed." in html and "shop.example" not in html  # the parent handles the result
    refused = client.get(local(answer["iframeUrls"]["card"]) + "?embed=1&origin=https://evil.example")
    assert refused.status_code == 403


def test_headers_csrf_and_cross_site_posts(client):
    answer = create(client)
    path = local(answer["iframeUrls"]["card"])
    page = client.get(path)
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    forged = follow(client, client.post(path, data={"csrf_token": "nope", "name": "John Doe",
                                                    "number": "4242424242424242"}))
    assert forged.status_code == 422 and "This form has expired" in text(forged)
    other = create(client)  # a CSRF token of another payout does not fit this one
    stolen = form_fields(text(client.get(local(other["iframeUrls"]["card"]))))["csrf_token"]
    refused = follow(client, client.post(path, data={"csrf_token": stolen, "name": "J", "number": "4242424242424242"}))
    assert refused.status_code == 422 and "This form has expired" in text(refused)
    data = {**form_fields(text(page)), "number": "4242424242424242"}
    assert client.post(path, data=data, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post(path, data=data, headers={"Origin": "https://evil.example"}).status_code == 403
    assert status_of(client, answer["payoutId"])["status"] == "CREATED"


def test_bad_and_expired_links(app, client, make_link, monkeypatch):
    answer = create(client)
    token = answer["iframeUrls"]["card"].split("/p/", 1)[1].split("/")[0]
    assert client.get(f"/p/{token[:-3]}xyz/card").status_code == 404
    checkout_token = make_link().split("/c/", 1)[1]  # a checkout token is no payout token
    assert client.get(f"/p/{checkout_token}/card").status_code == 404
    later = time.time() + app.config["TOKEN_MAX_AGE"] + 10
    monkeypatch.setattr(payouts.time, "time", lambda: later)
    assert client.get(f"/p/{token}/card").status_code == 410
    assert client.get(f"/p/{token}").status_code == 200  # the status stays viewable


@pytest.fixture
def make_link(client):
    def make() -> str:
        body = {"amount": 1, "currency": "EUR", "successUrl": "https://shop.example/ok",
                "failureUrl": "https://shop.example/no"}
        return local(client.post("/checkout/link", json=body, auth=DEMO_AUTH).json["link"]["action"])
    return make


def test_pages_in_russian(client):
    answer = create(client, locale="ru_RU")
    html = text(client.get(local(answer["iframeUrls"]["card"])))
    assert '<html lang="ru-RU"' in html and "Номер карты" in html and "Получить" in html
    html = text(follow(client, card_payout(client, answer, "4242424242424242")))
    assert "Выплата отправлена" in html and "Статус: Отправлена" in html
    assert "Your payout" not in html


def test_basic_auth_header_form(client):
    """Plain ``Authorization: Basic`` as merchants' HTTP libraries send it."""
    header = "Basic " + base64.b64encode(b"pbid_test:test_secret").decode()
    response = client.post("/payouts", json=payout_request(), headers={"Authorization": header})
    assert response.status_code == 200
