"""Other ways to pay on the payment page over HTTP (Flask test client, the real sandbox
gateway in-process): an alternative method asks only for what the request's ``data``
lacks (and never lets the customer change what it gives), and a saved card is paid with
its security code asked again when the merchant says so."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from conftest import DEMO_AUTH, Forms, base_config, follow, hand_over_target, local, seed_request, text

from checkout import create_app


def link(client, auth=DEMO_AUTH, **overrides) -> str:
    body = seed_request(**overrides)
    body.pop("page", None)
    response = client.post("/checkout/link", json=body, auth=auth)
    assert response.status_code == 200, response.json
    return local(response.json["link"]["action"])


def ledger(app):
    return app.extensions["sandbox.ledger"]


def posted(client, response, to: str | None = None):
    """A form post: a 303 (post/redirect/get; ``to``: the path it must lead to), followed
    as a browser does to the page that shows its outcome."""
    assert response.status_code == 303, (response.status_code, text(response)[:300])
    if to is not None:
        assert urlsplit(response.headers["Location"]).path == to, response.headers["Location"]
    return follow(client, response)


# -- an alternative method asks only for the missing fields ------------------------------------
def choose(client, path: str, type_id: int):
    form = Forms(text(client.get(path))).form("/apm")
    return posted(client, client.post(form["action"], data={**form["fields"], "paymentTypeId": str(type_id)}),
                  to=f"{path}/method/{type_id}")


def asked(html: str) -> set[str]:
    return set(Forms(html).inputs) - {"csrf_token", "paymentTypeId", "step"}


def test_upi_asks_only_for_what_data_lacks(client):
    path = link(client, currency="INR", amount=500, invoiceId="upi-1",
                data={"countryCode": "IN", "firstName": "John", "lastName": "Doe"})
    page = choose(client, path, 2000)
    assert page.status_code == 200 and "Pay with UPI" in text(page)
    assert asked(text(page)) == {"personId", "phone"}  # no first or last name: data has them
    assert "firstName" not in text(page) and "lastName" not in text(page)


def test_values_given_in_data_cannot_be_changed_by_the_customer(app, client):
    path = link(client, currency="INR", amount=500, invoiceId="upi-2",
                data={"countryCode": "IN", "firstName": "John", "lastName": "Doe", "personId": "john@okaxis"})
    page = choose(client, path, 2000)
    assert asked(text(page)) == {"phone"}
    form = Forms(text(page)).form("/apm")
    sent = client.post(form["action"], data={**form["fields"], "phone": "9876543210",
                                             "personId": "someone.else@okbank", "firstName": "Mallory"})
    assert "/sandbox/apm/" in hand_over_target(posted(client, sent, to=f"{path}/bank"))
    assert ledger(app).find(invoice_id="upi-2")["person_id"] == "john@okaxis"


def test_a_value_data_gives_that_the_method_refuses_is_asked_with_its_error(client):
    path = link(client, currency="INR", amount=500, invoiceId="upi-3",
                data={"countryCode": "IN", "firstName": "John", "lastName": "Doe", "personId": "not a upi id",
                      "phone": "9876543210"})
    page = choose(client, path, 2000)
    html = text(page)
    assert asked(html) == {"personId"}
    assert Forms(html).inputs["personId"]["value"] == "not a upi id"
    assert "Enter a valid UPI ID, like name@bank." in html
    form = Forms(html).form("/apm")
    wrong = posted(client, client.post(form["action"], data={**form["fields"], "personId": "still wrong"}),
                   to=f"{path}/method/2000")
    assert wrong.status_code == 422 and asked(text(wrong)) == {"personId"}
    # what was sent stays, with why it is refused
    assert Forms(text(wrong)).inputs["personId"]["value"] == "still wrong"
    assert "Enter a valid UPI ID, like name@bank." in text(wrong)
    right = client.post(form["action"], data={**form["fields"], "personId": "john@okaxis"})
    assert "/sandbox/apm/" in hand_over_target(posted(client, right, to=f"{path}/bank"))


# -- a saved card, with its security code asked again -------------------------------------------
@pytest.fixture
def cvv_app(tmp_path):
    merchants = tmp_path / "merchants.json"
    merchants.write_text(json.dumps([{"publicId": "pbid_cvv", "secret": "cvv_secret_0123456789",
                                      "name": "CVV Shop", "savedCardCvv": True}]))
    return create_app(base_config(tmp_path, MERCHANTS_FILE=str(merchants)))


def test_a_saved_card_is_paid_with_the_security_code_asked_again(cvv_app):
    client = cvv_app.test_client()
    auth = ("pbid_cvv", "cvv_secret_0123456789")
    first = link(client, auth, invoiceId="first", data=None)
    card = Forms(text(client.get(first))).form("/card")
    paid = client.post(card["action"], data={**card["fields"], "name": "Jane Doe", "number": "4242424242424242",
                                             "expiry": "12 / 39", "cvv": "123"})
    assert paid.status_code == 303 and urlsplit(paid.headers["Location"]).path == "/success"

    second = link(client, auth, invoiceId="second", data=None)
    html = text(client.get(second))
    assert "Visa ···· 4242" in html
    cvv_input = Forms(html).inputs["saved_cvv"]
    assert cvv_input["autocomplete"] == "cc-csc" and "required" in cvv_input
    saved = Forms(html).form("/saved")
    missing = posted(client, client.post(saved["action"], data={**saved["fields"], "saved_cvv": ""}), to=second)
    assert missing.status_code == 422 and "Enter the security code." in text(missing)
    assert ledger(cvv_app).count("pbid_cvv", "second") == 0  # nothing was charged
    # The code goes to the gateway with the token: 333 is the sandbox's declining code.
    declined = posted(client, client.post(saved["action"], data={**saved["fields"], "saved_cvv": "333"}), to=second)
    assert declined.status_code == 402 and "Insufficient Funds" in text(declined)
    retry = Forms(text(declined)).form("/saved")
    assert retry["fields"]["saved_cvv"] == ""  # never echoed back
    approved = client.post(retry["action"], data={**retry["fields"], "saved_cvv": "123"})
    assert approved.status_code == 303 and urlsplit(approved.headers["Location"]).path == "/success"
    assert ledger(cvv_app).count("pbid_cvv", "second") == 2
