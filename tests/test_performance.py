"""What the performance work changed that a customer or an operator relies on (the
figures themselves are printed by ``make bench``, never asserted): pages and files
compressed, static files at content-hashed URLs cached for a year, the stylesheet in the
page, a page view that writes nothing, one gateway client per process, saved cards not
asked of the gateway on every view, and the app's time in ``Server-Timing``."""
from __future__ import annotations

import gzip
import re

import brotli
import pytest
from conftest import DEMO_AUTH, EXTRA_FIELDS, base_config, seed_request, text
from flask_babel import force_locale, gettext
from sqlalchemy import event

from checkout import create_app, fragments, tokens
from checkout.assets import IMMUTABLE

CARD = {**EXTRA_FIELDS, "name": "Jane Doe", "number": "4242 4242 4242 4242", "expiry": "12 / 39", "cvv": "123"}


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def api_link(client, **overrides) -> str:
    answer = client.post("/checkout/link", json=seed_request(**overrides), auth=DEMO_AUTH)
    assert answer.status_code == 200, answer.json
    return path_of(answer.json["link"]["action"])


def csrf(html: str) -> str:
    """The card form's CSRF token (a page with saved cards has other forms before it)."""
    card_form = html[re.search(r'<form method="post" action="[^"]*/card[?"]', html).start():]
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', card_form)[1]


class Statements:
    """The SQL statements the store's engine runs."""

    def __init__(self, app):
        self.seen: list[str] = []
        event.listen(app.extensions["checkout.store"].engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *rest: self.seen.append(" ".join(statement.split()[:2])))

    def writes(self) -> list[str]:
        return [s for s in self.seen if s.upper().startswith(("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE"))]


def test_a_page_view_writes_nothing_until_the_customer_pays(app, client):
    """A link made without the API (the CLI, the widget) has no row until something
    happens to it: viewing it, again and again, writes nothing; paying makes it."""
    result = app.test_cli_runner().invoke(args=["link", "create", "--amount", "10.66", "--currency", "USD",
                                                 "--base-url", "http://localhost"])
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    with app.app_context():
        cid = tokens.load_checkout(url.rsplit("/", 1)[1])["cid"]
    store = app.extensions["checkout.store"]
    statements = Statements(app)
    for _ in range(3):
        page = client.get(path_of(url))
        assert page.status_code == 200 and "Pay" in text(page)
    assert statements.writes() == [] and store.get(cid) is None
    paid = client.post(path_of(url) + "/card", data={**CARD, "csrf_token": csrf(text(page))})
    assert paid.status_code == 303 and store.get(cid).state == "completed"


def test_a_link_made_by_the_api_is_known_at_once_and_viewed_without_a_write(app, client):
    path = api_link(client)
    statements = Statements(app)
    assert client.get(path).status_code == 200 and client.get(path).status_code == 200
    assert statements.writes() == []


@pytest.mark.parametrize(("accepted", "coding"), [("br, gzip", "br"), ("gzip", "gzip"), ("identity", None)])
def test_pages_and_files_travel_compressed(client, accepted, coding):
    page = client.get(api_link(client), headers={"Accept-Encoding": accepted})
    assert page.status_code == 200 and page.headers.get("Content-Encoding") == coding
    assert "Accept-Encoding" in page.headers["Vary"]
    unpack = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda b: b}[coding]
    html = unpack(page.data).decode()
    assert html.startswith("<!doctype html>") and "</html>" in html
    script = re.search(r'<script src="(/assets/js/forms\.[0-9a-f]{12}\.js)"', html)[1]
    served = client.get(script, headers={"Accept-Encoding": accepted})
    assert served.headers.get("Content-Encoding") == coding
    plain = client.get(script, headers={"Accept-Encoding": "identity"}).data
    assert unpack(served.data) == plain and b"function" in plain


def test_static_files_are_at_content_hashed_urls_cached_for_a_year(client):
    html = text(client.get(api_link(client)))
    urls = re.findall(r'(?:src)="(/assets/[^"]+)"', html)
    assert any(u.startswith("/assets/js/") for u in urls) and any(u.startswith("/assets/icons/") for u in urls)
    for url in urls:
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
        assert client.get(url, headers={"If-None-Match": answer.headers["ETag"]}).status_code == 304
    forms = next(u for u in urls if "/js/forms." in u)
    stale = re.sub(r"\.[0-9a-f]{12}\.js$", ".000000000000.js", forms)
    assert client.get(stale).status_code == 404  # never another file's bytes under an immutable URL
    for hostile in ("/assets/../checkout/config.py", "/assets/js/forms.js", "/assets/%2e%2e/pyproject.toml"):
        assert client.get(hostile).status_code == 404
    assert client.get("/static/js/forms.js").status_code == 200  # the plain name still answers


def test_the_stylesheet_is_in_the_page_under_its_nonce(client):
    page = client.get(api_link(client))
    html = text(page)
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"])[1]
    style = re.search(r'<style nonce="([^"]+)">(.*?)</style>', html, re.S)
    assert style and style[1] == nonce and ".checkout" in style[2] and ":root{" in style[2]
    assert 'rel="stylesheet"' not in html  # nothing to fetch before the first paint


def test_one_gateway_client_per_process(app, client):
    for i in range(2):
        path = api_link(client, invoiceId=f"gateway-client-{i}")
        page = client.get(path)
        assert client.post(path + "/card", data={**CARD, "csrf_token": csrf(text(page))}).status_code == 303
    paid = app.extensions["checkout.store"].of_merchant("pbid_test")
    assert [c.state for c in paid] == ["completed", "completed"]
    clients = app.extensions["checkout.gateway_clients"]
    assert len(clients) == 1  # one merchant, one gateway: the same client for every call


def test_saved_cards_are_not_asked_of_the_gateway_on_every_view(app, client):
    """``Server-Timing``'s gateway share: the first view asks for the customer's saved
    cards, a reload does not; a payment that saves a card shows it on the next view."""
    path = api_link(client, accountId="returning@example.com", invoiceId="first")
    first = client.get(path)
    assert gateway_ms(first) > 0
    again = client.get(path)
    assert gateway_ms(again) == 0
    assert client.post(path + "/card", data={**CARD, "csrf_token": csrf(text(again))}).status_code == 303
    assert app.extensions["checkout.store"].of_merchant("pbid_test", "first")[0].state == "completed"
    later = client.get(api_link(client, accountId="returning@example.com", invoiceId="second"))
    assert gateway_ms(later) > 0 and "···· 4242" in text(later)  # forgotten by the payment, asked again


def gateway_ms(response) -> float:
    timing = dict(part.strip().split(";dur=") for part in response.headers["Server-Timing"].split(","))
    return float(timing["gateway"])


def test_server_timing_says_the_apps_time_and_can_be_turned_off(client, tmp_path):
    timing = client.get(api_link(client)).headers["Server-Timing"]
    assert re.fullmatch(r"app;dur=[0-9.]+, view;dur=[0-9.]+, gateway;dur=[0-9.]+", timing)
    quiet = create_app(base_config(tmp_path, SERVER_TIMING="0", DATABASE=str(tmp_path / "q.sqlite3"))).test_client()
    assert "Server-Timing" not in quiet.get(api_link(quiet)).headers


def test_the_kept_option_lists_are_escaped_as_jinja_would():
    options = fragments.country_options((("GB", "United Kingdom"), ("X&", "<b>Bold</b>")), "X&")
    assert str(options) == ('<option value="GB">United Kingdom</option>\n'
                            '<option value="X&amp;" selected>&lt;b&gt;Bold&lt;/b&gt;</option>')


def apm_csrf(html: str) -> str:
    methods = html[re.search(r'<form method="post" action="[^"]*/apm[?"]', html).start():]
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', methods)[1]


def card_form_of(html: str) -> str:
    start = re.search(r'<form method="post" action="[^"]*/card[?"]', html).start()
    return html[start:html.index("</form>", start)]


def test_links_that_share_a_kept_card_form_each_get_their_own_url_and_token(app, client):
    """Two links of one locale and amount, without the customer's data, draw one kept
    card form (and one form of the other methods): each page's forms still post to its
    own link with tokens of its own, a token of one link is refused on the other, and
    each view's tokens are new."""
    a, b = (api_link(client, data=None, invoiceId=invoice) for invoice in ("kept-a", "kept-b"))
    page_a, again_a, page_b = text(client.get(a)), text(client.get(a)), text(client.get(b))
    assert f'action="{a}/card"' in card_form_of(page_a) and f'action="{b}/card"' in card_form_of(page_b)
    assert len({csrf(page_a), csrf(again_a), csrf(page_b)}) == 3
    forged = client.post(b + "/card", data={**CARD, "csrf_token": csrf(page_a)}, follow_redirects=True)
    assert "This form has expired" in text(forged)
    store = app.extensions["checkout.store"]
    assert store.of_merchant("pbid_test", "kept-b")[0].state == "open"
    # The other methods' form, kept per locale and offer, the same way.
    assert f'action="{a}/apm"' in page_a and f'action="{b}/apm"' in page_b
    assert len({apm_csrf(page_a), apm_csrf(again_a), apm_csrf(page_b)}) == 3
    forged = client.post(b + "/apm", data={"paymentTypeId": "1", "csrf_token": apm_csrf(page_a)},
                         follow_redirects=True)
    assert "This form has expired" in text(forged)
    chosen = client.post(b + "/apm", data={"paymentTypeId": "1", "csrf_token": apm_csrf(page_b)})
    assert chosen.status_code == 303 and chosen.headers["Location"].startswith(b + "/method/1")
    paid = client.post(a + "/card", data={**CARD, "csrf_token": csrf(again_a)})
    assert paid.status_code == 303 and "/success" in paid.headers["Location"]


def test_a_kept_card_form_never_shows_one_customers_data_on_anothers_page(client):
    """The customer's data prefills the form: a kept form is kept for those values only."""
    pages = {}
    for email, name in (("ann@example.com", "Ann"), ("bob@example.com", "Bob")):
        data = {**seed_request()["data"], "email": email, "address": f"{name} Street 1"}
        pages[email] = card_form_of(text(client.get(api_link(client, data=data))))
    assert 'value="ann@example.com"' in pages["ann@example.com"] and "Ann Street 1" in pages["ann@example.com"]
    assert "bob@example.com" not in pages["ann@example.com"] and "Bob Street" not in pages["ann@example.com"]
    assert 'value="bob@example.com"' in pages["bob@example.com"] and "ann@example.com" not in pages["bob@example.com"]


def test_a_kept_card_form_is_in_the_pages_language_and_amount(app, client):
    with app.test_request_context():
        with force_locale("de_DE"):
            number_label, pay = gettext("Card number"), gettext("Pay %(amount)s", amount="")
    english = card_form_of(text(client.get(api_link(client, locale="en_US", amount="10.00"))))
    german = card_form_of(text(client.get(api_link(client, locale="de_DE", amount="10.00"))))
    other_amount = card_form_of(text(client.get(api_link(client, locale="en_US", amount="12.34"))))
    assert number_label != "Card number" and f">{number_label} <" in german and "Card number" not in german
    assert pay.strip() in german and ">Card number <" in english
    assert "12.34" in other_amount and "12.34" not in english and "10.00" in english


def test_a_kept_form_in_an_iframe_posts_to_its_embedded_url(client):
    """The form URL put back in a kept form is escaped as the page's own would be (an
    embedded page's has ``&``), and a full page and an iframe of one link differ by it."""
    path = api_link(client, data=None)
    embedded = f"{path}?embed=1&origin=http%3A%2F%2Flocalhost%3A8000"
    headers = {"Sec-Fetch-Dest": "iframe"}
    full, framed = text(client.get(path)), text(client.get(embedded, headers=headers))
    again = text(client.get(embedded, headers=headers))
    assert f'action="{path}/card"' in full
    for page in (framed, again):
        assert f'action="{path}/card?embed=1&amp;origin=http://localhost:8000"' in card_form_of(page)
    paid = client.post(f"{path}/card?embed=1&origin=http%3A%2F%2Flocalhost%3A8000",
                       data={**CARD, "csrf_token": csrf(again)}, headers=headers)
    assert paid.status_code in (200, 303) and "This form has expired" not in text(paid)
