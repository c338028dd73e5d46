"""The merchant API (POST /checkout/link), production start-up checks and the
``flask link create`` command."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from conftest import DEMO_AUTH, base_config, seed_request, upgraded

from checkout import create_app
from checkout.config import ConfigError, database_url
from checkout.signatures import content_hmac


def post(client, body, auth=DEMO_AUTH, **kwargs):
    return client.post("/checkout/link", json=body, auth=auth, **kwargs)


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def test_seed_checkout_request_gives_the_documented_answer(client):
    response = post(client, seed_request())
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"success", "message", "model", "link"}
    assert (body["success"], body["message"]) == (True, None)
    assert set(body["model"]) == {"checkoutId", "expiresAt"}
    assert set(body["link"]) == {"method", "action"} and body["link"]["method"] == "get"
    assert body["link"]["action"].startswith("http://localhost/c/")
    page = client.get(path_of(body["link"]["action"]))
    assert page.status_code == 200
    assert "Payment for products" in page.get_data(as_text=True)


def test_public_url_is_the_base_of_the_link(tmp_path):
    app = create_app(base_config(tmp_path, PUBLIC_URL="https://pay.example/"))
    response = post(app.test_client(), seed_request())
    assert response.json["link"]["action"].startswith("https://pay.example/c/")


@pytest.mark.parametrize("auth", [None, ("pbid_test", "wrong"), ("pbid_other", "test_secret"), ("", "")])
def test_bad_credentials_get_401(client, auth):
    response = post(client, seed_request(), auth=auth)
    assert response.status_code == 401
    assert response.json["success"] is False
    assert "link" not in response.json
    assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("overrides, field", [
    ({"amount": 0}, "amount"),
    ({"amount": -1}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"amount": None}, "amount"),
    ({"amount": True}, "amount"),
    ({"amount": "NaN"}, "amount"),
    ({"amount": "Infinity"}, "amount"),
    ({"amount": 10.666}, "amount"),
    ({"amount": 10.5, "currency": "JPY"}, "amount"),
    ({"amount": 1.2345, "currency": "KWD"}, "amount"),
    ({"currency": "XXZ"}, "currency"),
    ({"currency": "US"}, "currency"),
    ({"currency": None}, "currency"),
    ({"currency": 840}, "currency"),
    ({"successUrl": "javascript:alert(1)"}, "successUrl"),
    ({"successUrl": "ftp://x"}, "successUrl"),
    ({"successUrl": None}, "successUrl"),
    ({"failureUrl": "//evil.example/x"}, "failureUrl"),
    ({"cancelUrl": "https://user:pass@example.com/"}, "cancelUrl"),
    ({"pendingUrl": "data:text/html,hi"}, "pendingUrl"),
    ({"ip": "999.1.1.1"}, "ip"),
    ({"ip": "not an ip"}, "ip"),
    ({"description": "x" * 256}, "description"),
    ({"description": "line\nbreak"}, "description"),
    ({"invoiceId": ["a"]}, "invoiceId"),
    ({"data": {"bad key": "x"}}, "data.bad key"),
    ({"data": {"nested": {"a": 1}}}, "data.nested"),
])
def test_bad_fields_get_400_naming_the_field(client, overrides, field):
    response = post(client, seed_request(**overrides))  # a None override drops the field
    assert response.status_code == 400, response.json
    body = response.json
    assert body["success"] is False
    assert field in body["errors"], body
    assert field in body["message"] or len(body["errors"]) > 1


@pytest.mark.parametrize("page_key, value", [
    ("payButtonColor", "red;}body{display:none}"),
    ("leftContainerBackgroundColor", "url(javascript:x)"),
    ("formLabelColor", "expression(alert(1))"),
    ("footerColor", "</style><script>alert(1)</script>"),
    ("priceHeadingColor", "#fff;background:url(//evil)"),
    ("bodyFont", "Arial; background: red"),
    ("bodyFont", "Arial</style>"),
    ("formControlBorderRadius", "999px"),
    ("formControlBorderRadius", "6px;color:red"),
    ("footerIcons", ["evil"]),
    ("footerIcons", "secure-connection"),
    ("fields", ["ssn"]),
    ("payButtonWithPrice", "yes"),
    ("logo", "../../etc/passwd"),
    ("unknownKey", "x"),
])
def test_hostile_page_values_are_refused(client, page_key, value):
    page = {**seed_request()["page"], page_key: value}
    response = post(client, seed_request(page=page))
    assert response.status_code == 400, response.json
    assert f"page.{page_key}" in response.json["errors"]


def test_page_must_be_an_object(client):
    response = post(client, seed_request(page=["x"]))
    assert response.status_code == 400 and "page" in response.json["errors"]


@pytest.mark.parametrize("amount, currency, shown", [(1.234, "KWD", "KWD1.234"), (1000, "JPY", "¥1,000"),
                                                     ("10.66", "USD", "$10.66"), (10, "USD", "$10.00"),
                                                     (10.66, "usd", "$10.66")])
def test_amounts_within_the_currency_precision_are_accepted(client, amount, currency, shown):
    response = post(client, seed_request(amount=amount, currency=currency))
    assert response.status_code == 200, response.json
    html = client.get(path_of(response.json["link"]["action"])).get_data(as_text=True)
    assert shown in html


@pytest.mark.parametrize("currency, accepted", [("XXX", False), ("XTS", False), ("XAU", False), ("XDR", False),
                                                 ("XOF", True), ("XAF", True), ("XCD", True)])
def test_only_currencies_people_pay_in(client, currency, accepted):
    """ISO 4217's testing, "no currency", gold and IMF codes are not money to charge."""
    response = post(client, seed_request(currency=currency, amount=10))
    assert (response.status_code == 200) == accepted, response.json
    if not accepted:
        assert response.json["errors"]["currency"].startswith("must be an ISO 4217 currency code")


def test_currency_is_normalised_to_upper_case(app, client):
    from checkout import tokens

    response = post(client, seed_request(currency="usd"))
    token = response.json["link"]["action"].rsplit("/c/", 1)[1]
    with app.app_context():
        assert tokens.load_checkout(token)["currency"] == "USD"


def test_unknown_locale_falls_back_to_english(client):
    response = post(client, seed_request(locale="sr_RS"))  # no pages in Serbian: no error, English
    assert response.status_code == 200
    page = client.get(path_of(response.json["link"]["action"]))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="en' in html and "Pay with card" in html


def test_body_that_is_not_a_json_object(client):
    bad_json = client.post("/checkout/link", data=b"{not json", auth=DEMO_AUTH, content_type="application/json")
    assert bad_json.status_code == 400 and bad_json.json["success"] is False
    a_list = post(client, [seed_request()])
    assert a_list.status_code == 400 and "body" in a_list.json["errors"]


def test_content_hmac_is_verified_when_present(client):
    body = json.dumps(seed_request()).encode()
    good = client.post("/checkout/link", data=body, auth=DEMO_AUTH, content_type="application/json",
                       headers={"Content-HMAC": content_hmac(body, "test_secret")})
    assert good.status_code == 200 and good.json["success"] is True
    for wrong in (content_hmac(body + b" ", "test_secret"), content_hmac(body, "other"), "", "x"):
        bad = client.post("/checkout/link", data=body, auth=DEMO_AUTH, content_type="application/json",
                          headers={"Content-HMAC": wrong})
        assert bad.status_code == 401, wrong
        assert "link" not in bad.json


def _merchants_file(tmp_path, **extra) -> str:
    path = tmp_path / "merchants.json"
    path.write_text(json.dumps({"merchants": [{"publicId": "pbid_shop", "secret": "shop_secret_0123456789",
                                               "name": "Shop", **extra}]}))
    return str(path)


def test_content_hmac_required_when_the_merchant_says_so(tmp_path):
    app = create_app(base_config(tmp_path, MERCHANTS_FILE=_merchants_file(tmp_path, requireHmac=True)))
    client = app.test_client()
    auth = ("pbid_shop", "shop_secret_0123456789")
    body = json.dumps(seed_request()).encode()
    unsigned = client.post("/checkout/link", data=body, auth=auth, content_type="application/json")
    assert unsigned.status_code == 401
    signed = client.post("/checkout/link", data=body, auth=auth, content_type="application/json",
                         headers={"Content-HMAC": content_hmac(body, "shop_secret_0123456789")})
    assert signed.status_code == 200
    # With a merchants file, the demo merchant is gone.
    assert post(client, seed_request()).status_code == 401


def test_idempotency_key(client):
    headers = {"Idempotency-Key": "order-990022"}
    first = post(client, seed_request(), headers=headers)
    again = post(client, seed_request(), headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json == first.json
    other_body = post(client, seed_request(amount=11), headers=headers)
    assert other_body.status_code == 409 and other_body.json["success"] is False
    # Without the key, each request is a new checkout.
    assert post(client, seed_request()).json["link"] != post(client, seed_request()).json["link"]
    # Another key, same body: another checkout.
    assert post(client, seed_request(), headers={"Idempotency-Key": "k2"}).json["link"] != first.json["link"]
    too_long = post(client, seed_request(), headers={"Idempotency-Key": "k" * 256})
    assert too_long.status_code == 400


def test_idempotency_key_after_a_bad_request_is_not_burnt(client):
    headers = {"Idempotency-Key": "retry-me"}
    assert post(client, seed_request(amount=-1), headers=headers).status_code == 400
    fixed = post(client, seed_request(), headers=headers)
    assert fixed.status_code == 200


def test_redirect_hosts_of_the_merchant(tmp_path):
    app = create_app(base_config(tmp_path, MERCHANTS_FILE=_merchants_file(tmp_path, redirectHosts=["shop.example"])))
    client = app.test_client()
    auth = ("pbid_shop", "shop_secret_0123456789")
    urls = {k: f"https://shop.example/{k}" for k in ("successUrl", "failureUrl", "pendingUrl", "cancelUrl")}
    assert post(client, seed_request(**urls), auth=auth).status_code == 200
    for key in urls:
        for elsewhere in ("https://example.com/x", "https://shop.example.evil.com/x", "https://evil.shop.example/x"):
            response = post(client, seed_request(**{**urls, key: elsewhere}), auth=auth)
            assert response.status_code == 400, (key, elsewhere)
            assert key in response.json["errors"]


def _production(tmp_path, **extra) -> dict:
    return base_config(tmp_path, MODE="production", SECRET_KEYS="k" * 40,
                       DATABASE=upgraded(str(tmp_path / "checkout.sqlite3")), GATEWAY_URL="https://api.gateway.example",
                       MERCHANTS_FILE=_merchants_file(tmp_path), **{"PUBLIC_URL": "https://pay.shop.example", **extra})


def test_production_starts_with_a_proper_configuration(tmp_path):
    app = create_app(_production(tmp_path))
    client = app.test_client()
    assert post(client, seed_request()).status_code == 401  # no demo merchant
    ok = post(client, seed_request(), auth=("pbid_shop", "shop_secret_0123456789"))
    assert ok.status_code == 200
    assert client.get("/sandbox/acs").status_code == 404  # no embedded test gateway
    assert client.get("/demo/result/success").status_code == 404


@pytest.mark.parametrize("change", [
    {"SECRET_KEYS": "dev-insecure-checkout-key"},
    {"SECRET_KEYS": "short-key"},
    {"SECRET_KEYS": "k" * 40 + ",dev-insecure-checkout-key"},
    {"SECRET_KEYS": ""},
    {"GATEWAY_URL": "sandbox"},
    {"MERCHANTS_FILE": None},
    {"demo": True},
])
def test_production_refuses_unsafe_configuration(tmp_path, change):
    config = _production(tmp_path)
    if change.pop("demo", False):
        path = tmp_path / "demo.json"
        path.write_text(json.dumps([{"publicId": "pbid_test", "secret": "test_secret"}]))
        config["MERCHANTS_FILE"] = str(path)
    config.update(change)
    with pytest.raises(ConfigError):
        create_app(config)


@pytest.mark.parametrize("public_url, refusal", [
    (None, "it is not set"), ("", "it is not set"), ("http://pay.shop.example", "https URL"),
    ("https://pay.shop.example/?next=x", "no query"), ("https://user:pw@pay.shop.example", "credentials"),
    ("pay.shop.example", "absolute https URL"), ("javascript:alert(1)", "absolute https URL"),
])
def test_production_refuses_to_make_links_from_the_host_header(tmp_path, public_url, refusal):
    """Without PUBLIC_URL the links would be on whatever Host the client sends."""
    with pytest.raises(ConfigError, match=refusal):
        create_app(_production(tmp_path, PUBLIC_URL=public_url))


def test_production_links_ignore_the_host_header(tmp_path):
    client = create_app(_production(tmp_path)).test_client()
    made = post(client, seed_request(), auth=("pbid_shop", "shop_secret_0123456789"),
                headers={"Host": "evil.example"})
    assert made.json["link"]["action"].startswith("https://pay.shop.example/c/")
    document = client.get("/openapi.json", headers={"Host": "evil.example"})
    assert document.json["servers"] == [{"url": "https://pay.shop.example"}]


def test_the_sandbox_s_host_derived_api_document_is_never_shared_by_a_cache(client):
    document = client.get("/openapi.json", headers={"Host": "evil.example"})
    assert document.json["servers"] == [{"url": "http://evil.example"}]  # the sandbox follows its Host
    assert "public" not in document.headers["Cache-Control"] and "no-cache" in document.headers["Cache-Control"]
    assert "Host" in document.headers["Vary"]


@pytest.mark.parametrize("how", ["environment", "app.debug"])
def test_production_refuses_debug_mode(tmp_path, monkeypatch, how):
    """Werkzeug's debugger runs Python for whoever sees an error page."""
    if how == "environment":  # FLASK_DEBUG=1, or `flask --debug`, which sets it
        monkeypatch.setenv("FLASK_DEBUG", "1")
        with pytest.raises(ConfigError, match="debug"):
            create_app(_production(tmp_path))
    else:
        with pytest.raises(ConfigError, match="debug"):
            create_app(_production(tmp_path, DEBUG=True))


def test_production_mode_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CHECKOUT_MODE", "production")
    config = base_config(tmp_path)
    del config["MODE"]
    with pytest.raises(ConfigError):
        create_app(config)


@pytest.mark.parametrize("mode, refusal", [("prod", "MODE must be"), ("live", "MODE must be"),
                                           ("Production ", "default key"), ("production\n", "default key")])
def test_a_mistyped_mode_never_runs_as_the_sandbox(tmp_path, monkeypatch, mode, refusal):
    """An unknown mode is refused; a padded or capitalised "production" is production and
    gets its checks (here: the default key). Neither starts with the demo merchant."""
    monkeypatch.setenv("CHECKOUT_MODE", mode)
    config = base_config(tmp_path)
    del config["MODE"], config["SECRET_KEYS"]
    with pytest.raises(ConfigError, match=refusal):
        create_app(config)


def test_cli_link_create_prints_a_link_that_opens(app, client):
    result = app.test_cli_runner().invoke(args=["link", "create", "--amount", "10.66", "--currency", "USD",
                                                "--description", "CLI order"])
    assert result.exit_code == 0, result.output
    link = result.stdout.strip()
    assert link.startswith("http://127.0.0.1:5000/c/")
    page = client.get(path_of(link))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "CLI order" in html and "$10.66" in html


@pytest.mark.parametrize("args, message", [
    (["--amount", "abc", "--currency", "USD"], "amount: must be a number"),
    (["--amount", "10.666", "--currency", "USD"], "amount: USD allows at most 2 decimals"),
    (["--amount", "1", "--currency", "XXZ"], "currency:"),
])
def test_cli_link_create_refuses_bad_input(app, args, message):
    result = app.test_cli_runner().invoke(args=["link", "create", *args])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "/c/" not in result.stdout


def test_behind_a_proxy_each_customer_is_themselves(tmp_path):
    """TRUSTED_PROXIES=1: decline limits count the customer's address from X-Forwarded-For,
    and the same-origin check and links use the public https host the proxy was asked for."""
    from test_pay_http import card_data, local, merchant_result, text

    app = create_app(base_config(tmp_path, TRUSTED_PROXIES=1, MAX_DECLINES_PER_IP=1))
    client = app.test_client()
    public = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pay.shop.example"}

    def link(invoice):
        answer = client.post("/checkout/link", json=seed_request(invoiceId=invoice), auth=DEMO_AUTH, headers=public)
        assert answer.json["link"]["action"].startswith("https://pay.shop.example/c/")
        return local(answer.json["link"]["action"])

    def pay(path, customer, cvv):
        headers = {**public, "X-Forwarded-For": customer, "Origin": "https://pay.shop.example",
                   "Sec-Fetch-Site": "same-origin"}
        page = client.get(path, headers=headers)
        return client.post(f"{path}/card", data=card_data(text(page), cvv=cvv), headers=headers)

    def outcome(path, customer, cvv):
        """The page the post's 303 leads to (post/redirect/get), opened by that customer."""
        sent = pay(path, customer, cvv)
        assert sent.status_code == 303
        parts = urlsplit(sent.headers["Location"])
        assert parts.netloc in ("", "pay.shop.example") and parts.path == path, sent.headers["Location"]
        return client.get(path, headers={**public, "X-Forwarded-For": customer})

    assert outcome(link("a"), "203.0.113.7", "333").status_code == 402
    limited = outcome(link("b"), "203.0.113.7", "123")  # that customer's limit
    assert limited.status_code == 429 and "Too many declined payments" in text(limited)
    merchant_result(pay(link("c"), "198.51.100.9", "123"), "https://example.com/success")  # not the next one's


@pytest.mark.parametrize("url", ["redis://localhost:6379/0", "mysql://u:secret@db/checkout",
                                      "postgresql+psycopg2://u:secret@db/checkout", "sqlite://", "sqlite:///:memory:"])
def test_a_database_that_is_neither_sqlite_nor_postgresql_is_refused(tmp_path, url):
    with pytest.raises(ConfigError, match=r"SQLite file path, sqlite:///PATH, or postgresql\+psycopg://") as refused:
        create_app(base_config(tmp_path, DATABASE=url))
    assert "secret" not in str(refused.value)  # never the URL's password
    assert not list(tmp_path.glob("redis*")) and not list(tmp_path.glob("mysql*"))


@pytest.mark.parametrize("given, driver, database", [
    ("instance/checkout.sqlite3", "sqlite", "instance/checkout.sqlite3"),
    ("/var/lib/checkout/a?b.sqlite3", "sqlite", "/var/lib/checkout/a?b.sqlite3"),  # a path, never parsed
    ("sqlite:////var/lib/checkout.sqlite3", "sqlite", "/var/lib/checkout.sqlite3"),
    ("postgresql+psycopg://u:p@db:5432/checkout", "postgresql+psycopg", "checkout"),
    ("postgresql://u:p@db/checkout", "postgresql+psycopg", "checkout"),  # psycopg 3, the one installed
])
def test_database_takes_a_path_or_a_url(given, driver, database):
    url = database_url(given)
    assert (url.drivername, url.database) == (driver, database)
