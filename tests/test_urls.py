"""URLs read as browsers read them (checkout/weburl.py): the hosts a merchant allows are
compared after the WHATWG rules (backslashes, IDNA, case, trailing dots), what is kept is
what the browser will follow, and no URL or origin a client sends makes a 500."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from conftest import DEMO_AUTH, base_config, seed_request
from test_pay_http import card_data, text

from checkout import create_app, weburl

SHOP_AUTH = ("pbid_shop", "shop_secret_0123456789")
URL_KEYS = ("successUrl", "failureUrl", "pendingUrl", "cancelUrl")


def shop(tmp_path, **merchant):
    path = tmp_path / "merchants.json"
    path.write_text(json.dumps([{"publicId": "pbid_shop", "secret": "shop_secret_0123456789", "name": "Shop",
                                 "allowedOrigins": ["https://shop.example", "http://localhost:*"], **merchant}]))
    return create_app(base_config(tmp_path, MERCHANTS_FILE=str(path))).test_client()


def link(client, auth=SHOP_AUTH, **urls):
    return client.post("/checkout/link", json=seed_request(**urls), auth=auth)


def path_of(answer) -> str:
    return "/" + answer.json["link"]["action"].split("://", 1)[1].split("/", 1)[1]


OWN = {key: f"https://pay.shop.example/{key}" for key in URL_KEYS}


def test_a_backslash_does_not_get_past_a_wildcard_host(tmp_path):
    """Finding 1: ``urlsplit`` read the host as ``evil.example\\.shop.example``, which ends
    with ``.shop.example``; Chromium goes to evil.example."""
    client = shop(tmp_path, redirectHosts=["*.shop.example"])
    assert link(client, **OWN).status_code == 200
    for key in URL_KEYS:
        answer = link(client, **{**OWN, key: "https://evil.example\\.shop.example/"})
        assert answer.status_code == 400, key
        assert answer.json["errors"][key] == "host evil.example is not one of the merchant's redirect hosts"


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
    "//evil.example/", "https:evil.example/", "https:///evil.example/", "https:\\\\evil.example/",
    "https://user:pw@pay.shop.example/", "https://pay.shop.example@evil.example/",
    "https://pay.shop.example\t.evil.example/", "https://pay.shop.example/\n", "https://pay.shop.example/\x00",
    "https://pay.shop.example/\x7f", "https://pay.shop.example/\u0085", " https://pay.shop.example/",
    "https://evil.example%2F.shop.example/", "https://pay.shop.example.evil.example/",
    "https://evil.example\\@pay.shop.example/", "https://evil。example/", "http://[::1", "http://[",
    "https://evil.example#.shop.example", "https://evil.example?.shop.example", "ftp://pay.shop.example/",
    "file:///etc/passwd", "https://", "https://shop.example", "https://xshop.example/",
])
def test_redirect_urls_a_browser_would_follow_elsewhere_are_refused(tmp_path, url):
    client = shop(tmp_path, redirectHosts=["*.shop.example"])
    for key in ("successUrl", "cancelUrl"):
        answer = link(client, **{**OWN, key: url})
        assert answer.status_code == 400, (key, url, answer.json)
        assert key in answer.json["errors"]


@pytest.mark.parametrize("url, kept", [
    ("https://PAY.Shop.Example/ok", "https://pay.shop.example/ok"),
    ("https://pay.shop.example./ok", "https://pay.shop.example./ok"),
    ("https://pay.shop.example:443/ok", "https://pay.shop.example/ok"),
    ("https://pay.shop.example/a b?q=ü", None),  # a space: refused, not "fixed"
    ("https://pay.shop.example/ü?q=ü#x", "https://pay.shop.example/%C3%BC?q=%C3%BC#x"),
    ("https://pay.shop.example/a/../b", "https://pay.shop.example/b"),
])
def test_what_is_kept_is_what_the_browser_reads(tmp_path, url, kept):
    client = shop(tmp_path, redirectHosts=["*.shop.example"])
    answer = link(client, **{**OWN, "successUrl": url})
    if kept is None:
        assert answer.status_code == 400
        return
    assert answer.status_code == 200, answer.json
    page = client.get(path_of(answer))
    assert page.status_code == 200
    paid = client.post(f"{path_of(answer)}/card", data=card_data(text(page)))
    assert paid.status_code == 303
    went, meant = urlsplit(paid.headers["Location"]), urlsplit(kept)
    assert (went.scheme, went.netloc, went.path, went.fragment) == (meant.scheme, meant.netloc, meant.path,
                                                                    meant.fragment)
    assert went.query.startswith(meant.query)


def test_an_internationalised_shop_host_works_in_punycode(tmp_path):
    """Finding 5: ``https://магазин.example/s`` was accepted, then every page of the
    checkout failed (a raw non-ASCII host in the CSP header)."""
    client = shop(tmp_path, redirectHosts=["*.магазин.example", "магазин.example"])
    urls = {key: f"https://магазин.example/{key}" for key in URL_KEYS}
    made = link(client, **urls)
    assert made.status_code == 200, made.json
    page = client.get(path_of(made))
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert csp.isascii() and "https://xn--80aairftm.example" in csp
    paid = client.post(f"{path_of(made)}/card", data=card_data(text(page)))
    assert paid.status_code == 303
    assert paid.headers["Location"].startswith("https://xn--80aairftm.example/successUrl?")
    # A subdomain in Unicode matches the pattern in Unicode; the punycode spelling is the same host.
    assert link(client, **{**urls, "cancelUrl": "https://www.xn--80aairftm.example/c"}).status_code == 200
    assert link(client, **{**urls, "cancelUrl": "https://xn--80aairftm.example.evil.example/c"}).status_code == 400


def test_the_demo_merchant_takes_an_internationalised_host_too(client):
    made = link(client, auth=DEMO_AUTH, successUrl="https://Магазин.example/s")
    assert made.status_code == 200
    page = client.get(path_of(made))
    assert page.status_code == 200 and "xn--80aairftm.example" in page.headers["Content-Security-Policy"]


@pytest.mark.parametrize("origin", ["http://[", "http://%5B", "http://[::1", "https://магазин.example",
                                    "http://localhost:99999999", "javascript:x", "http://\x00", "%"])
def test_an_origin_a_client_names_never_makes_a_500(client, origin):
    """Finding 6: ``origin=http://[`` was a 500 on the widget, the embed page and the card post."""
    widget = client.get("/widget/checkout", query_string={"publicId": "pbid_test", "amount": "0.01",
                                                          "currency": "USD", "origin": origin},
                        headers={"Sec-Fetch-Dest": "iframe"})
    assert widget.status_code == 403, widget.status_code
    made = link(client, auth=DEMO_AUTH)
    path = path_of(made)
    embedded = client.get(path, query_string={"embed": "1", "origin": origin})
    assert embedded.status_code == 403
    page = client.get(path)
    posted = client.post(f"{path}/card", query_string={"embed": "1", "origin": origin}, data=card_data(text(page)))
    assert posted.status_code == 403


def test_allowed_origins_compare_as_browsers_send_them(tmp_path):
    client = shop(tmp_path, allowedOrigins=["https://Shop.Example", "https://магазин.example", "http://localhost:*"])
    path = path_of(link(client, **OWN))
    for origin in ("https://shop.example", "https://shop.example:443", "https://xn--80aairftm.example",
                   "https://магазин.example", "http://localhost:5000", "http://localhost"):
        page = client.get(path, query_string={"embed": "1", "origin": origin})
        assert page.status_code == 200, origin
        assert page.headers["Content-Security-Policy"].isascii()
    for origin in ("https://shop.example:8443", "http://shop.example", "https://evil.example\\.shop.example",
                   "http://localhost:5000@evil.example", "http://localhost.evil.example"):
        assert client.get(path, query_string={"embed": "1", "origin": origin}).status_code == 403, origin


@pytest.mark.parametrize("key, value", [
    ("allowedOrigins", ["shop.example"]), ("allowedOrigins", ["https://"]), ("allowedOrigins", "https://a.example"),
    ("redirectHosts", ["https://shop.example/"]), ("redirectHosts", ["shop.example/x"]), ("redirectHosts", [""]),
    ("notificationUrl", "javascript:alert(1)"), ("checkUrl", "https://user:pw@shop.example/"),
])
def test_a_merchants_file_with_a_pattern_that_is_no_host_is_refused(tmp_path, key, value):
    with pytest.raises(ValueError, match=key):
        shop(tmp_path, **{key: value})


def test_the_one_url_rule():
    assert weburl.parse("https://evil.example\\.shop.example/").host == "evil.example"
    assert weburl.parse("https://МАГАЗИН.example./s").host == "xn--80aairftm.example"
    assert weburl.origin("https://магазин.example:443/s") == "https://xn--80aairftm.example"
    assert weburl.host_pattern("*.Магазин.Example.") == "*.xn--80aairftm.example"
    assert weburl.host_matches("a.xn--80aairftm.example", "*.магазин.example")
    assert not weburl.host_matches("xn--80aairftm.example.evil", "*.магазин.example")
    assert weburl.parse("http://[") is None and weburl.origin(None) is None
    assert weburl.problem("https://shop.example/ok") is None


@pytest.mark.parametrize("url, hosts, allowed", [
    ("https://shop.example./back", ["shop.example"], True),  # a trailing dot: the same host
    ("https://SHOP.EXAMPLE/back", ["shop.example"], True),
    ("https://shop.example/back", ["Shop.Example."], True),
    ("https://shop.example.evil.example/", ["shop.example"], False),
    ("https://evil.example\\@shop.example/", ["shop.example"], False),
    ("https://evil。example/", ["shop.example"], False),  # fullwidth dots: evil.example
    ("https://evil。example/", ["evil.example"], True),
    ("https://shоp.example/", ["shop.example"], False),  # a Cyrillic "о": xn--shp-..., another host
    ("https://xn--80aairftm.example/", ["магазин.example"], True),
    ("https://магазин.example/", ["xn--80aairftm.example"], True),
])
def test_hosts_compare_in_the_form_the_browser_goes_to(tmp_path, url, hosts, allowed):
    answer = link(shop(tmp_path, redirectHosts=hosts), **{key: url for key in URL_KEYS})
    assert (answer.status_code == 200) == allowed, (url, hosts, answer.json)
    if not allowed:
        assert "cancelUrl" in answer.json["errors"]


def test_the_frame_ancestors_of_an_internationalised_shop_are_ascii(tmp_path):
    """``allowedOrigins: ["https://магазин.example"]`` went into ``frame-ancestors`` as
    written (a 500 under gunicorn), and ``?embed=1`` without ``origin`` compared that raw
    pattern with itself in punycode: 403."""
    client = shop(tmp_path, allowedOrigins=["https://Магазин.example/"])
    path = path_of(link(client, **OWN))
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"].endswith("frame-ancestors https://xn--80aairftm.example")
    embedded = client.get(path, query_string={"embed": "1"})
    assert embedded.status_code == 200
    assert 'data-parent-origin="https://xn--80aairftm.example"' in text(embedded)
    # An origin no browser sends is refused, not replaced by the merchant's only one.
    assert client.get(path, query_string={"embed": "1", "origin": "http://["}).status_code == 403


def test_a_host_header_no_browser_sends_is_no_500_on_the_widget(client):
    """Without PUBLIC_URL the widget's own result page is on the request's host; one that
    is no host (``localhost:99999``) was an AttributeError."""
    answer = client.get("/widget/checkout", headers={"Host": "localhost:99999", "Sec-Fetch-Dest": "iframe"},
                        query_string={"publicId": "pbid_test", "amount": "1.00", "currency": "USD",
                                      "origin": "http://localhost:1"})
    assert answer.status_code == 400


def test_the_redirect_back_keeps_the_merchants_query_as_written(tmp_path):
    client = shop(tmp_path)
    made = link(client, **{**OWN, "successUrl": "https://магазин.example/s?ref=a%2Bb;c&status=forged&x"})
    page = client.get(path_of(made))
    paid = client.post(f"{path_of(made)}/card", data=card_data(text(page)))
    went = paid.headers["Location"]
    assert went.isascii() and went.startswith("https://xn--80aairftm.example/s?ref=a%2Bb;c&x&")
    assert "forged" not in went and "status=Completed" in went


def test_a_merchants_default_urls_are_kept_as_the_browser_reads_them(tmp_path):
    with pytest.raises(ValueError, match="cancelUrl"):
        shop(tmp_path, cancelUrl="javascript:alert(1)")
    client = shop(tmp_path, allowUnsignedWidget=True, redirectHosts=["магазин.example"],
                  **{key: f"https://Магазин.example/{key}" for key in URL_KEYS})
    answer = client.get("/widget/checkout", headers={"Sec-Fetch-Dest": "iframe"},
                        query_string={"publicId": "pbid_shop", "amount": "1.00", "currency": "USD",
                                      "origin": "https://shop.example"})
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"], headers={"Sec-Fetch-Dest": "iframe"})
    assert page.status_code == 200
    assert "https://xn--80aairftm.example" in page.headers["Content-Security-Policy"]


def test_origin_and_host_patterns():
    assert weburl.origin_source("https://Магазин.example/") == "https://xn--80aairftm.example"
    assert weburl.origin_source("http://LOCALHOST:*") == "http://localhost:*"
    assert weburl.origin_source("https://shop.example:443") == "https://shop.example"
    for pattern in ("shop.example", "https://shop.example/path", "https://u@shop.example", " https://shop.example",
                    "javascript:x", "https://shop.example?x"):
        assert weburl.origin_source(pattern) == "", pattern
    assert weburl.origin_matches("http://localhost:*", "http://localhost:5000")
    assert not weburl.origin_matches("http://localhost:*", "http://localhost.evil.example")
    for pattern in ("shop\t.example", "shop .example", "shop.example/", "*.", "shop.example:443"):
        assert weburl.host_pattern(pattern) == "", pattern
