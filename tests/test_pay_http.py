"""The customer's way through the payment page over HTTP (Flask test client, the real
sandbox gateway in-process): paying, declines, 3-D Secure both ways, gateway trouble,
cancelling, and the protections around it (CSRF, cross-site posts, headers, escaping,
no card data in pages or logs)."""
from __future__ import annotations

import logging
import re
import threading
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import EXTRA_FIELDS, base_config, follow, hand_over_target, seed_request
from sqlalchemy import select

from checkout import create_app, results
from checkout.store import checkouts

PAN = "4242424242424242"
SECRET = "test_secret"


# -- helpers ---------------------------------------------------------------------------
class Forms(HTMLParser):
    """Forms, inputs and labels of a page."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self.inputs: list[dict] = []
        self.labels: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"), "fields": {}})
        elif tag == "input":
            self.inputs.append(a)
            if self.forms:
                self.forms[-1]["fields"][a.get("name", "")] = a.get("value", "")
        elif tag == "label" and "for" in a:
            self.labels.append(a["for"])


def text(response) -> str:
    return response.get_data(as_text=True)


def card_form(html: str) -> dict:
    """The card form (the page has other forms too: saved cards, other methods)."""
    forms = Forms(html).forms
    card = [f for f in forms if f["action"].split("?")[0].endswith("/card")]
    return (card or forms)[-1]


def csrf(html: str) -> str:
    return card_form(html)["fields"].get("csrf_token", "") if "csrf_token" in html else ""


def card_data(html: str, number=PAN, cvv="123", expiry="12 / 39", name="Jane Doe") -> dict:
    return {**EXTRA_FIELDS, "csrf_token": csrf(html), "name": name, "number": number, "expiry": expiry,
            "cvv": cvv}


def posted(client, response):
    """A form post of the payment page: a 303 (post/redirect/get), followed as a browser
    does to the page that shows its outcome (a merchant URL is returned as it is)."""
    assert response.status_code == 303, (response.status_code, text(response)[:500])
    return follow(client, response)


#: The payment page's answers while it takes a card: as the last post left it (post/redirect/get).
PAGE_STATUSES = (200, 402, 403, 422, 429, 503)


def pay(client, path, **card):
    """Open the payment page (as the last post left it: a decline's page answers 402) and
    send the card form; the page the post's redirect leads to."""
    page = client.get(path)
    assert page.status_code in PAGE_STATUSES, page.status_code
    return posted(client, client.post(f"{path}/card", data=card_data(text(page), **card)))


def merchant_result(response, expected_base: str) -> dict[str, str]:
    """The signed result on the merchant's URL; it must verify with the merchant's secret."""
    assert response.status_code == 303, (response.status_code, text(response)[:500])
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == expected_base
    assert results.verify(parts.query, SECRET)
    return {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}


def ledger_count(app, invoice="990022") -> int:
    return app.extensions["sandbox.ledger"].count("pbid_test", invoice)


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# -- the page --------------------------------------------------------------------------
def test_page_shows_the_order(client, make_link):
    html = text(client.get(make_link()))
    assert "Payment for products" in html
    assert "Merchant #1" in html
    assert "$10.66" in html
    assert '<html lang="en' in html


def test_page_in_russian_formats_the_amount(client, make_link):
    html = text(client.get(make_link(locale="ru_RU")))
    assert "10,66 $" in html.replace("\xa0", " ").replace("\u202f", " ")
    assert '<html lang="ru' in html


def test_card_inputs_are_findable_by_autofill_and_labelled(client, make_link):
    forms = Forms(text(client.get(make_link())))
    visible = [i for i in forms.inputs if i.get("type") != "hidden"]
    by_name = {i["name"]: i for i in visible}
    tokens = {i.get("autocomplete") for i in visible}
    assert {"cc-name", "cc-number", "cc-csc"} <= tokens
    assert "cc-exp" in tokens or {"cc-exp-month", "cc-exp-year"} <= tokens
    for i in visible:
        if i.get("autocomplete") in ("cc-number", "cc-exp", "cc-exp-month", "cc-exp-year", "cc-csc"):
            assert i.get("inputmode") == "numeric", i
        assert i.get("id") and i["id"] in forms.labels, i
    assert by_name["number"]["autocomplete"] == "cc-number"


def test_page_headers(client, make_link):
    response = client.get(make_link())
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    csp = dict(d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
    nonce = re.search(r"'nonce-([A-Za-z0-9_-]{16,})'", csp["script-src"])[1]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert f'nonce="{nonce}"' in text(response)
    assert "http://localhost:*" in csp["frame-ancestors"].split()
    assert "https://example.com" in csp["form-action"].split()
    assert client.get(make_link()).headers["Content-Security-Policy"] != response.headers["Content-Security-Policy"]


def test_merchant_text_is_escaped(client, make_link):
    html = text(client.get(make_link(description="<script>alert(1)</script>",
                                     page={"merchantTitle": '"><img src=x onerror=alert(1)>'})))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html


# -- paying -------------------------------------------------------------------------------
def test_card_payment_completes_and_is_single_use(app, client, make_link):
    path = make_link()
    page = text(client.get(path))
    response = client.post(f"{path}/card", data=card_data(page, number="4242 4242 4242 4242"))
    result = merchant_result(response, "https://example.com/success")
    assert (result["status"], result["statusCode"], result["amount"], result["currency"], result["invoiceId"]) == (
        "Completed", "4", "10.66", "USD", "990022")
    assert result["transactionId"].isdigit() and result["reason"] == "Approved"
    assert ledger_count(app) == 1

    again = client.get(path)
    assert again.status_code == 200 and "already been paid" in text(again)
    # The old form posted again (a double click, a back button): no second charge.
    second = posted(client, client.post(f"{path}/card", data=card_data(page)))
    assert second.status_code == 200 and "already been paid" in text(second)
    assert ledger_count(app) == 1


def test_invalid_card_keeps_name_and_expiry_but_never_the_number_or_cvv(app, client, make_link):
    path = make_link()
    response = pay(client, path, number="4242 4242 4242 4241", cvv="987", name="Jane Q Doe", expiry="11 / 38")
    assert response.status_code == 422
    html = text(response)
    fields = card_form(html)["fields"]
    assert fields["name"] == "Jane Q Doe" and fields["expiry"] == "11 / 38"
    assert not fields.get("number") and not fields.get("cvv")
    assert "4242 4242 4242 4241" not in html and "4242424242424241" not in html and "987" not in html
    assert ledger_count(app) == 0


def _autofocused(html: str) -> list[str]:
    return re.findall(r'<(?:input|select)\b[^>]*\bid="([^"]+)"[^>]*\bautofocus\b', html)


def test_focus_goes_to_the_first_error_in_page_order(client, make_link):
    """The page shows contact details, then the card, then billing, then shipping (whatever
    the order of ``page.fields``): focus goes to the first field in error on the page."""
    path = make_link()  # the seed example: page.fields email, phone, shipping, billing
    page = client.get(path)
    response = posted(client, client.post(f"{path}/card", data={**card_data(text(page), name=""), "email": "x@"}))
    assert response.status_code == 422
    html = text(response)
    assert 'aria-invalid="true" aria-describedby="name-error"' in html  # the name is in error too
    assert _autofocused(html) == ["email"]
    # Shipping comes before billing in page.fields, after it on the page.
    data = {**card_data(text(page)), "shipping_address-line1": "", "billing_address-postcode": ""}
    response = posted(client, client.post(f"{path}/card", data=data))
    assert response.status_code == 422
    html = text(response)
    assert html.index('id="billing_address-postcode"') < html.index('id="shipping_address-line1"')
    assert _autofocused(html) == ["billing_address-postcode"]


def test_three_declines_go_to_the_failure_url(app, client, make_link):
    path = make_link()
    for attempt in (1, 2):
        response = pay(client, path, cvv="333")
        assert response.status_code == 402, attempt
        assert "Insufficient Funds" in text(response)
    result = merchant_result(pay(client, path, cvv="333"), "https://example.com/failure")
    assert (result["status"], result["statusCode"], result["reason"], result["reasonCode"]) == (
        "Declined", "99", "Insufficient Funds", "5051")
    assert ledger_count(app) == 3
    # The link is used up: no fourth try reaches the gateway.
    assert client.get(path).status_code == 303
    assert ledger_count(app) == 3


def test_a_decline_then_success(app, client, make_link):
    path = make_link()
    assert pay(client, path, cvv="333").status_code == 402
    merchant_result(pay(client, path), "https://example.com/success")
    assert ledger_count(app) == 2


def test_decline_limit_per_client_address(tmp_path):
    # The test client's 127.0.0.1 is left alone in sandbox mode unless LIMIT_LOOPBACK says so.
    app = create_app(base_config(tmp_path, MAX_DECLINES_PER_IP=2, LIMIT_LOOPBACK=True))
    client = app.test_client()

    def link(invoice):
        body = seed_request(invoiceId=invoice)
        return local(client.post("/checkout/link", json=body, auth=("pbid_test", SECRET)).json["link"]["action"])

    first, second = link("inv-a"), link("inv-b")
    assert pay(client, first, cvv="333").status_code == 402
    assert pay(client, first, cvv="333").status_code == 402
    # A fresh link from the same address: refused before the gateway is asked.
    response = pay(client, second)
    assert response.status_code == 429
    assert "Too many declined payments" in text(response)
    # ... and it says when: the first decline leaves the hour's window in just under an hour.
    assert 3500 < int(response.headers["Retry-After"]) <= 3600
    assert re.search(r"You can try again in (59|60) minutes\.", text(response)), text(response)
    assert ledger_count(app, "inv-b") == 0
    # Another address is not affected.
    other = app.test_client()
    page = other.get(second, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    paid = other.post(f"{second}/card", data=card_data(text(page)), environ_base={"REMOTE_ADDR": "10.9.9.9"})
    merchant_result(paid, "https://example.com/success")


def test_simultaneous_submissions_charge_once(app, make_link):
    path = make_link()
    page = text(app.test_client().get(path))
    data = card_data(page)
    barrier = threading.Barrier(6)
    answers: list[tuple[int, str]] = []

    def submit():
        c = app.test_client()
        barrier.wait()
        response = c.post(f"{path}/card", data=data)
        answers.append((response.status_code, response.headers.get("Location", "")))

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Every post answers 303; only one goes to the merchant paid, the others to the page.
    assert [status for status, _ in answers] == [303] * 6, answers
    paid = [loc for _, loc in answers if loc.startswith("https://example.com/success?")]
    assert len(paid) == 1, answers
    assert all(urlsplit(loc).path == path for _, loc in answers if loc not in paid), answers
    assert ledger_count(app) == 1


@pytest.mark.parametrize("token", ["", "forged", "other-checkout"])
def test_missing_or_forged_csrf_token_is_refused(app, client, make_link, token):
    path = make_link()
    data = card_data(text(client.get(path)))
    if token == "other-checkout":  # a genuine token, for another checkout
        data["csrf_token"] = csrf(text(client.get(make_link())))
    elif token == "forged":
        data["csrf_token"] = data["csrf_token"][:-4] + "AAAA"
    else:
        del data["csrf_token"]
    response = posted(client, client.post(f"{path}/card", data=data))
    assert response.status_code == 422
    assert "expired" in text(response)
    assert ledger_count(app) == 0


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "https://evil.example"}])
def test_cross_site_posts_are_refused(app, client, make_link, headers):
    path = make_link()
    data = card_data(text(client.get(path)))
    response = client.post(f"{path}/card", data=data, headers=headers)
    assert response.status_code == 403
    assert ledger_count(app) == 0


def test_same_origin_post_with_fetch_metadata_is_accepted(app, client, make_link):
    path = make_link()
    data = card_data(text(client.get(path)))
    response = client.post(f"{path}/card", data=data,
                           headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"})
    merchant_result(response, "https://example.com/success")


def test_expired_link(client, make_link, monkeypatch, app):
    path = make_link()
    later = time.time() + app.config["TOKEN_MAX_AGE"] + 10
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.get(path)
    assert response.status_code == 410
    assert "expired" in text(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_paid_link_past_its_expiry_still_says_it_is_paid(client, make_link, monkeypatch, app):
    path = make_link()
    merchant_result(pay(client, path), "https://example.com/success")
    later = time.time() + app.config["TOKEN_MAX_AGE"] + 10
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.get(path)
    assert response.status_code == 200 and "This payment is complete" in text(response)
    assert "expired" not in text(response)
    # and it takes no new payment: the link's form is refused outright
    refused = client.post(f"{path}/card", data=card_data(text(response)))
    assert refused.status_code == 410 and ledger_count(app) == 1


def test_a_finally_declined_link_past_its_expiry_goes_to_the_failure_url(client, make_link, monkeypatch, app):
    path = make_link()
    for _ in range(2):
        assert pay(client, path, cvv="333").status_code == 402
    merchant_result(pay(client, path, cvv="333"), "https://example.com/failure")
    later = time.time() + app.config["TOKEN_MAX_AGE"] + 10
    monkeypatch.setattr(time, "time", lambda: later)
    result = merchant_result(client.get(path), "https://example.com/failure")
    assert result["status"] == "Declined"


def test_tampered_link(client, make_link):
    path = make_link()
    middle = len(path) // 2 + 10  # inside the token (after /c/): its ciphertext
    tampered = path[:middle] + ("AAA" if path[middle:middle + 3] != "AAA" else "BBB") + path[middle + 3:]
    response = client.get(tampered)
    assert response.status_code == 404
    assert "not valid" in text(response)
    assert client.get("/c/nonsense").status_code == 404


# -- 3-D Secure --------------------------------------------------------------------------
def _bank_form(html: str) -> dict:
    """The form of the bank page that goes on to the ACS (the page has "Use another card" too)."""
    forms = [f for f in Forms(html).forms if "PaReq" in f["fields"]]
    assert len(forms) == 1, Forms(html).forms
    return forms[0]


def _start_3ds(client, path) -> dict:
    page = client.get(path)
    sent = client.post(f"{path}/card", data=card_data(text(page), number="4111 1111 1111 1111"))
    assert sent.status_code == 303 and urlsplit(sent.headers["Location"]).path == f"{path}/bank"
    response = follow(client, sent)
    assert response.status_code == 200 and "data-bank-auto" in text(response)
    form = _bank_form(text(response))
    assert "/sandbox/acs" in form["action"]
    assert {"PaReq", "MD", "TermUrl"} <= set(form["fields"])
    assert form["fields"]["TermUrl"].endswith(f"{path}/3ds")
    csp = response.headers["Content-Security-Policy"]
    assert "http://localhost" in csp.split("form-action", 1)[1].split(";")[0]
    return form["fields"]


def _acs(client, fields: dict, passphrase: str) -> dict:
    """The customer at the sandbox bank's page."""
    page = client.post("/sandbox/acs", data=fields)
    assert page.status_code == 200
    response = client.post("/sandbox/acs/submit", data={**fields, "passphrase": passphrase})
    assert response.status_code == 200
    form = Forms(text(response)).forms[-1]
    assert form["action"] == fields["TermUrl"]
    return form["fields"]


def test_advanced_3ds_success(app, client, make_link):
    path = make_link()
    fields = _start_3ds(client, path)
    back = _acs(client, fields, "4")
    assert set(back) == {"PaRes", "MD"}

    bank = app.test_client()  # the ACS posts cross-site, without our cookies
    headers = {"Sec-Fetch-Site": "cross-site", "Origin": "null"}
    response = bank.post(local(fields["TermUrl"]), data=back, headers=headers)
    result = merchant_result(response, "https://example.com/success")
    assert result["status"] == "Completed" and result["transactionId"] == fields["MD"]

    replay = posted(bank, bank.post(local(fields["TermUrl"]), data=back, headers=headers))
    assert replay.status_code == 200 and "This payment is complete" in text(replay)
    assert ledger_count(app) == 1


def test_the_3ds_hand_over_page_wears_the_checkout_theme(client, make_link):
    path = make_link(page={"payButtonColor": "#123456", "rightContainerBackgroundColor": "#fafaf0"})
    response = pay(client, path, number="4111 1111 1111 1111")
    assert response.status_code == 200 and "data-bank-auto" in text(response)
    style = re.search(r"<style nonce=[^>]*>(.*?)</style>", text(response), re.S)
    assert style and "--pay-bg:#123456;" in style[1] and "--right-bg:#fafaf0;" in style[1]


def test_advanced_3ds_wrong_passphrase_declines(app, client, make_link):
    path = make_link()
    fields = _start_3ds(client, path)
    back = _acs(client, fields, "wrong")
    bank = app.test_client()
    response = posted(bank, bank.post(local(fields["TermUrl"]), data=back, headers={"Sec-Fetch-Site": "cross-site"}))
    assert response.status_code == 402
    assert "3-D Secure authentication failed" in text(response)
    # The customer may try again with the form that came back.
    assert csrf(text(response))


def test_3ds_left_unfinished_opens_the_form_again(tmp_path, monkeypatch):
    """The customer closed the bank's page: the page offers the bank again (and another
    card) while the bank waits; once the gateway gives the authentication up (declined),
    the form opens again, and a late answer from the bank's page charges nothing."""
    app = create_app(base_config(tmp_path, SANDBOX_3DS_SECONDS=600))
    client = app.test_client()
    path = local(client.post("/checkout/link", json=seed_request(), auth=("pbid_test", SECRET)).json["link"]["action"])
    fields = _start_3ds(client, path)
    for waiting in (client.get(path), client.get(f"{path}/return")):
        assert waiting.status_code == 200 and "data-bank-auto" not in text(waiting)
        assert "Your bank is waiting for you to confirm the payment" in text(waiting)
        assert _bank_form(text(waiting))["fields"]["MD"] == fields["MD"]  # the same authentication again
        assert "Use another card" in text(waiting)
    later = time.time() + 601
    monkeypatch.setattr(time, "time", lambda: later)
    again = client.get(f"{path}/return")
    assert again.status_code == 402 and "3-D Secure was not completed in time" in text(again)
    assert csrf(text(again))
    late = client.post("/sandbox/acs/submit", data={**fields, "passphrase": "4"})
    back = Forms(text(late)).forms[-1]["fields"]
    bank = app.test_client()
    refused = bank.post(local(fields["TermUrl"]), data=back, headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 303 and urlsplit(refused.headers["Location"]).path == path
    assert posted(bank, refused).status_code in (200, 402)
    with app.app_context():
        row = app.extensions["sandbox.ledger"].find(id=int(fields["MD"]))
    assert row["status_code"] == 99  # declined at the gateway: no money moved
    merchant_result(pay(client, path, number="4242 4242 4242 4242"), "https://example.com/success")


def test_3ds_term_url_refuses_an_unknown_md(app, client, make_link):
    path = make_link()
    fields = _start_3ds(client, path)
    back = _acs(client, fields, "4")
    bank = app.test_client()
    response = posted(bank, bank.post(local(fields["TermUrl"]), data={**back, "MD": "999999"}))
    # still waiting for the bank; nothing settled
    assert response.status_code == 200 and "Your bank is waiting for you to confirm the payment" in text(response)
    status = app.extensions["sandbox.ledger"].find(id=int(fields["MD"]))["status_code"]
    assert status == 1


def test_redirect_3ds(app, client, make_link):
    path = make_link()
    response = pay(client, path, number="4200 0000 0000 0000")
    redirect_url = hand_over_target(response)
    assert urlsplit(redirect_url).path == "/sandbox/redirect/"
    bank_page = client.get(local(redirect_url))
    assert bank_page.status_code == 200
    reference = parse_qs(urlsplit(redirect_url).query)["link_reference"][0]
    back = client.post("/sandbox/redirect/", data={"link_reference": reference, "passphrase": "4"})
    assert back.status_code == 303
    assert urlsplit(back.headers["Location"]).path == f"{path}/return"
    result = merchant_result(client.get(local(back.headers["Location"])), "https://example.com/success")
    assert result["status"] == "Completed"
    assert ledger_count(app) == 1


def test_redirect_3ds_wrong_passphrase_declines(app, client, make_link):
    path = make_link()
    redirect_url = hand_over_target(pay(client, path, number="4200000000000000"))
    reference = parse_qs(urlsplit(redirect_url).query)["link_reference"][0]
    back = client.post("/sandbox/redirect/", data={"link_reference": reference, "passphrase": "5"})
    response = client.get(local(back.headers["Location"]))
    assert response.status_code == 402
    assert "3-D Secure authentication failed" in text(response)


def test_return_does_not_trust_the_query_string(app, client, make_link):
    path = make_link()
    assert "/sandbox/redirect/" in hand_over_target(pay(client, path, number="4200 0000 0000 0000"))
    response = client.get(f"{path}/return?status=Completed&statusCode=4")
    # the gateway still says AwaitingAuthentication: the bank still waits, nothing is final
    assert response.status_code == 200 and "Location" not in response.headers
    assert "Your bank is waiting for you to confirm the payment" in text(response)
    assert "/sandbox/redirect/" in text(response)


# -- gateway trouble -------------------------------------------------------------------------
def test_charged_but_no_answer_is_settled_by_status(app, client, make_link):
    path = make_link()
    response = pay(client, path, number="4000 0000 0000 0507")
    assert response.status_code == 202
    assert "We are confirming your payment" in text(response)
    # The page is complete as it stands (its status line speaks): never marked busy for good.
    assert 'aria-busy="' not in text(response)
    store = app.extensions["checkout.store"]
    with store.engine.connect() as db:
        cid = db.execute(select(checkouts.c.id)).scalar_one()
    assert store.get(cid).state == "pending"
    # Paying again from another tab while pending: no new charge.
    assert client.get(path).status_code == 202
    result = merchant_result(client.get(f"{path}/return"), "https://example.com/success")
    assert result["status"] == "Completed"
    assert store.get(cid).state == "completed"
    assert ledger_count(app) == 1


def test_nothing_charged_lets_the_customer_try_again(tmp_path):
    app = create_app(base_config(tmp_path, PENDING_GRACE=0))
    client = app.test_client()
    link = client.post("/checkout/link", json=seed_request(), auth=("pbid_test", SECRET)).json["link"]["action"]
    path = local(link)
    response = pay(client, path, number="4000 0000 0000 0705")
    assert response.status_code == 202
    again = client.get(f"{path}/return")
    assert again.status_code == 200
    html = text(again)
    assert "nothing was charged" in html
    assert csrf(html)
    # The confirming page's script asks in the background, then loads the page again:
    # that second rendering (and the link itself) must still say so.
    assert "nothing was charged" in text(client.get(f"{path}/return"))
    assert "nothing was charged" in text(client.get(path))
    assert ledger_count(app) == 0
    merchant_result(pay(client, path), "https://example.com/success")


def test_a_charge_after_a_decline_is_settled_as_itself(app, client, make_link):
    """Declined once, then a charge whose answer is lost: the status check must ask about
    the new charge (completed), not the declined one, and the customer is charged once."""
    path = make_link()
    assert pay(client, path, cvv="333").status_code == 402
    assert pay(client, path, number="4000 0000 0000 0507").status_code == 202  # charged, answer lost
    result = merchant_result(client.get(f"{path}/return"), "https://example.com/success")
    assert result["status"] == "Completed"
    assert pay(client, path).status_code == 200  # paid: no second charge
    with app.app_context():
        rows = app.extensions["sandbox.ledger"].for_invoice("pbid_test", "990022")
    assert [r["status_code"] for r in rows] == [99, 4]


def test_pending_result_goes_to_the_pending_url(app, client, make_link):
    path = make_link()
    html = text(pay(client, path, number="4000 0000 0000 0507"))
    leave = [a for a in re.findall(r'href="([^"]+)"', html) if "/finish/pending" in a]
    assert len(leave) == 1
    # Signed when the customer follows the link, not when the page was drawn.
    result = merchant_result(client.get(leave[0].replace("&amp;", "&")), "https://example.com/pending")
    assert result["statusCode"] == "10" and abs(int(result["ts"]) - time.time()) < 5


# -- cancel ---------------------------------------------------------------------------------
def test_cancel(client, make_link):
    path = make_link()
    result = merchant_result(client.get(f"{path}/cancel"), "https://example.com/cancel")
    assert result["status"] == "Cancelled"
    page = client.get(path)
    assert page.status_code == 200 and "cancelled" in text(page)
    again = posted(client, client.post(f"{path}/card", data=card_data(text(page))))
    assert again.status_code == 200 and "cancelled" in text(again)


def test_cannot_cancel_a_paid_checkout(app, client, make_link):
    path = make_link()
    merchant_result(pay(client, path), "https://example.com/success")
    response = client.get(f"{path}/cancel")
    assert response.status_code == 200 and "already been paid" in text(response)


# -- no card data in logs -------------------------------------------------------------------
def test_card_data_never_logged(app, client, make_link, caplog):
    caplog.set_level(logging.DEBUG)
    merchant_result(pay(client, make_link(), number="4242 4242 4242 4242", cvv="123"),
                    "https://example.com/success")
    pay(client, make_link(invoiceId="inv-2"), number=PAN, cvv="333")
    pay(client, make_link(invoiceId="inv-3"), number="4000000000000507")
    pay(client, make_link(invoiceId="inv-4"), number="4111111111111111")
    assert ledger_count(app) == 1
    assert any(r.name.startswith("checkout") for r in caplog.records)  # the warning of the 507 card
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    for secret in (PAN, "4242 4242 4242 4242", "4000000000000507", "4111111111111111"):
        assert secret not in logged


def test_unanswered_charge_is_not_confused_with_another_link_for_the_same_invoice(tmp_path):
    app = create_app(base_config(tmp_path, PENDING_GRACE=0))
    client = app.test_client()

    def link():
        return local(client.post("/checkout/link", json=seed_request(), auth=("pbid_test", SECRET))
                     .json["link"]["action"])

    first = link()
    assert pay(client, first, cvv="333").status_code == 402  # a declined charge on invoice 990022
    second = link()  # the merchant's new link for the same order
    assert pay(client, second, number="4000 0000 0000 0705").status_code == 202  # nothing charged
    again = client.get(f"{second}/return")
    # Nothing was charged on this link: the customer gets the form back, no decline counted.
    assert again.status_code == 200 and "nothing was charged" in text(again)
