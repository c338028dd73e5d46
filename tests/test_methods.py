"""The APM catalogue (checkout.methods) against the seed's "Alternative Payment Methods"
table, and the validation of the customer fields each method needs."""
from __future__ import annotations

import dataclasses
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import flask
import pytest
from conftest import Forms, hand_over_target, text
from flask_babel import Babel, LazyString

from checkout import methods
from checkout.method_names import DISPLAY_NAMES
from checkout.methods import VALIDATORS, catalogue, clean_fields, for_checkout, is_crypto, method, payout_methods

REPO = Path(__file__).resolve().parents[1]
SEEDS = Path(os.environ.get("CHECKOUT_SEEDS") or REPO.parent / "shared" / "seeds")
SEED = next(iter(sorted(SEEDS.glob("003_*.txt"))), None) if SEEDS.is_dir() else None
MISSING = f"the OdeonPay seed (003_*.txt) is not in {SEEDS} (set CHECKOUT_SEEDS to the seeds folder)"
HOW = {"Link": (True, False), "APM Payout": (False, True), "Link / APM Payout": (True, True)}


def seed_table(text: str) -> list[tuple[int, str, bool, bool, str | None]]:
    """The seed's APM table: the cells (one per non-blank line) between the table's
    header and its first request example. A row is a name, then its type id (digits),
    "Link" / "APM Payout", the country (absent for the test methods) and sometimes a
    request-example reference."""
    lines = text.splitlines()
    start = lines.index("Alternative Payment Methods", lines.index("Balance"))
    start = lines.index("Request example", start) + 1
    end = lines.index("{", start)
    cells = [line.strip() for line in lines[start:end] if line.strip()][:-1]  # the example's title
    starts = [i for i in range(len(cells) - 1) if cells[i + 1].isdigit()]
    rows = []
    for n, i in enumerate(starts):
        name, type_id, how, *rest = cells[i:starts[n + 1] if n + 1 < len(starts) else len(cells)]
        country = rest[0] if rest and "example" not in rest[0] else None
        rows.append((int(type_id), name, *HOW[how], country))
    return rows


@pytest.fixture(scope="module")
def table():
    if SEED is None:
        pytest.skip(MISSING)
    return seed_table(SEED.read_text(encoding="utf-8"))


@pytest.fixture
def ctx():
    app = flask.Flask(__name__)
    Babel(app)
    with app.test_request_context():
        yield


def test_the_catalogue_is_the_seed_table_row_for_row(table):
    assert len(table) == 151
    ours = [(m.type_id, m.name, m.payin, m.payout, m.country) for m in catalogue()]
    assert ours == table


def test_a_sample_of_rows_is_found_in_the_seed_text():
    if SEED is None:
        pytest.skip(MISSING)
    text = SEED.read_text(encoding="utf-8")
    for type_id, how, country in ((1, "Link", None), (2, "APM Payout", None), (2000, "Link", "India"),
                                  (3021, "APM Payout", "India"), (4012, "Link", "Brazil"),
                                  (6000, "APM Payout", "EU"), (7009, "Link / APM Payout", "Vietnam"),
                                  (10100, "Link", "Worldwide"), (50033, "Link / APM Payout", "South Korea"),
                                  (56501, "Link / APM Payout", "Pakistan")):
        m = method(type_id)
        cell = rf"{re.escape(m.name)}\n\n{type_id}\n\n{re.escape(how)}\n\n" + (re.escape(country) if country else "")
        assert re.search(cell, text), (type_id, m.name)


def test_sample_rows():
    assert len(catalogue()) == 151 and len({m.type_id for m in catalogue()}) == 151
    assert catalogue()[0].type_id == 1 and catalogue()[-1].type_id == 56501
    rows = {m.type_id: (m.name, m.country, m.country_code, m.payin, m.payout, m.currencies) for m in catalogue()}
    assert rows[1] == ("APM Test Payment", None, None, True, False, ())
    assert rows[2] == ("APM Test Payout", None, None, False, True, ())
    assert rows[2000] == ("UPI", "India", "IN", True, False, ("INR",))
    assert rows[3020] == ("UPI Payouts", "India", "IN", False, True, ("INR",))
    assert rows[3021] == ("Bank Transfer Payouts", "India", "IN", False, True, ("INR",))
    assert rows[2041] == ("VISA/MC/RuPay", "Worldwide", None, True, False, ("INR",))
    assert rows[1000] == ("Banco Itau", "Brazil", "BR", True, False, ("BRL", "USD"))  # the seed's Link example
    assert rows[4011] == ("Boleto", "Brazil", "BR", True, False, ("BRL",))
    assert rows[4012] == ("Direct PIX", "Brazil", "BR", True, False, ("BRL",))
    assert rows[6000] == ("SEPA Credit Transfer", "EU", None, False, True, ("EUR",))
    assert rows[6001] == ("SEPA Transfer", "EU", None, True, False, ("EUR",))
    assert rows[7022] == ("Standard Chartered Bank (Thai) PCL.", "Thailand", "TH", True, True, ("THB",))
    assert rows[10100] == ("BTC, Bitcoin", "Worldwide", None, True, False, ())
    assert rows[50033] == ("Virtual Banking", "South Korea", "KR", True, True, ("KRW",))
    assert rows[56500] == ("EasyPaisa", "Pakistan", "PK", True, True, ("PKR",))
    assert rows[201][1:3] == ("Russia", "RU") and rows[201][5] == ("RUB",)
    assert rows[7024][2] == "ID" and rows[7024][5] == ("IDR",)
    assert rows[7000][2] == "VN" and rows[7000][5] == ("VND",)


def test_crypto_methods():
    crypto = {m.type_id: (m.asset, m.network) for m in catalogue() if is_crypto(m)}
    assert crypto == {10100: ("BTC", "bitcoin"), 7009: ("USDT", "ERC20"), 7010: ("USDT", "BEP20"),
                      7072: ("USDT", "ERC20"), 7073: ("USDT", "BEP20"), 7082: ("USDT", "ERC20"),
                      7083: ("USDT", "BEP20")}
    for type_id in crypto:
        m = method(type_id)
        assert m.fields == () and m.currencies == ()
        if m.payout:
            assert [f.name for f in m.payout_fields] == ["blockchainAddress"]


def test_fields_come_from_the_seed_examples():
    def names(type_id, payout=False):
        return [f.name for f in method(type_id).fields_for(payout)]

    assert names(1) == ["personId"] and names(2, payout=True) == ["personId"]
    for type_id in (56500, 56501):
        assert names(type_id) == names(type_id, payout=True) == ["personId", "phone", "documentId"]
    assert names(3020, payout=True) == ["personId", "phone"]
    assert method(3020).fields_for(True)[0].validator == "upi_vpa"
    assert names(3021, payout=True) == ["personId", "ifsc", "name", "phone"]
    assert names(6000, payout=True) == ["bankAccountNumber", "name"]
    assert method(6000).payout_fields[0].validator == "iban"
    assert names(50033, payout=True) == ["personId", "bankName", "bankAccountNumber", "bankAccountHolder"]
    assert names(7022) == ["firstName", "lastName"]
    assert names(7022, payout=True) == ["firstName", "lastName", "bankAccountNumber"]
    # Every field's validator exists; a payout-only method's fields are its payout fields.
    for m in catalogue():
        for f in (*m.fields, *m.payout_fields):
            assert f.validator is None or f.validator in VALIDATORS, (m.type_id, f)
        if not m.payin:
            assert m.fields == m.payout_fields
        if not m.payout:
            assert m.payout_fields == ()


def test_method_lookup():
    assert method(2000).name == "UPI" and method("2000").name == "UPI"
    assert method(999) is None and method(None) is None and method("x") is None and method(True) is None


GOOD = {
    (6000, "bankAccountNumber"): ["DE89370400440532013000", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"],
    (3021, "ifsc"): ["SBIN0001234", "HDFC0000001", "sbin0001234"],
    (56500, "documentId"): ["34201-0891231-8", "4220103976408"],
    (3020, "personId"): ["9555777666@upi", "jane.doe-1@okaxis"],
    (50033, "bankAccountNumber"): ["1234567890", "110-123-456789", "12345678901234"],
    (56500, "personId"): ["03014333611", "+923014333611"],
    (3021, "personId"): ["24250100008333"],
    (7009, "blockchainAddress"): ["0x52908400098527886E0F7030069857D2E4169EE7"],
}
BAD = {
    # The seed's own placeholders fail: wrong IBAN check digits, IFSC without its 0,
    # a CNIC ending in 0, a 9-digit Korean account.
    (6000, "bankAccountNumber"): ["LT837500018004669430", "DE89370400440532013001", "DE8937040044", "hello"],
    (3021, "ifsc"): ["ABCD1234567", "SBIN1001234", "SBI00012345", "SBIN000123"],
    (56500, "documentId"): ["3440289238550", "342010891231", "84201-0891231-8", "34201O8912318"],
    (3020, "personId"): ["9555777666", "a@b", "name@bank1", "x@upi"],
    (50033, "bankAccountNumber"): ["123456789", "123456789012345", "12-34", "abcdefghij"],
    (56500, "personId"): ["0301433361", "04014333611"],
    (3021, "personId"): ["12345678", "SBIN12345678"],
    (7009, "blockchainAddress"): ["TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE", "0x5290840009852788", "bc1qxyz"],
}
VALID = {
    6000: {"bankAccountNumber": "DE89370400440532013000", "name": "Jane Doe"},
    3021: {"personId": "24250100008333", "ifsc": "SBIN0001234", "name": "Jane Doe", "phone": "9555777666"},
    56500: {"personId": "03014333611", "phone": "03014333611", "documentId": "3420108912318"},
    3020: {"personId": "9555777666@upi", "phone": "+91 95557 77666"},
    50033: {"personId": "john123", "bankName": "Kwangju Bank", "bankAccountNumber": "1234567890",
            "bankAccountHolder": "John Doe"},
    7009: {"blockchainAddress": "0x52908400098527886E0F7030069857D2E4169EE7"},
}


@pytest.mark.parametrize("key", GOOD)
def test_good_values_pass(ctx, key):
    type_id, name = key
    for value in GOOD[key]:
        assert methods.validate_fields(method(type_id), {**VALID[type_id], name: value}, payout=True) == {}, value


@pytest.mark.parametrize("key", BAD)
def test_bad_values_fail(ctx, key):
    type_id, name = key
    for value in BAD[key]:
        errors = methods.validate_fields(method(type_id), {**VALID[type_id], name: value}, payout=True)
        assert list(errors) == [name], value
        assert str(errors[name]).startswith("Enter "), errors


def test_bitcoin_addresses(ctx):
    check = VALIDATORS["bitcoin_address"][0]
    assert check("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq") and check("1NEDqZPvTWRaoho48qXuLLsrYomMXPABfD")
    assert not check("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx")  # checksum
    assert not check("0x52908400098527886E0F7030069857D2E4169EE7")
    assert VALIDATORS["trc20_address"][0]("TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE")


def test_required_and_optional_fields(ctx):
    errors = methods.validate_fields(method(56500), {"personId": "03014333611"})
    assert set(errors) == {"phone", "documentId"} and str(errors["phone"]) == "This field is required."
    assert methods.validate_fields(method(1), {"personId": "success@bank"}) == {}
    assert set(methods.validate_fields(method(1), {"personId": "  "})) == {"personId"}
    # SEPA Transfer's phone is optional: checked only when given.
    assert methods.validate_fields(method(6001), {"firstName": "Jane", "lastName": "Doe"}) == {}
    assert set(methods.validate_fields(method(6001), {"firstName": "Jane", "lastName": "Doe", "phone": "x"})) == {
        "phone"}
    # Pay-in by default; payout fields on demand; a payout-only method checks its payout fields.
    assert set(methods.validate_fields(method(50033), {})) == {"personId", "firstName", "lastName", "phone"}
    assert set(methods.validate_fields(method(50033), VALID[50033], payout=True)) == set()
    assert set(methods.validate_fields(method(6000), {})) == {"bankAccountNumber", "name"}
    assert methods.validate_fields(method(10100), {}) == {}
    assert set(methods.validate_fields(method(1), {"personId": "x" * 300})) == {"personId"}


def test_clean_fields():
    cleaned = clean_fields(method(6000), {"bankAccountNumber": " de89 3704 0044 0532 0130 00 ", "name": " Jane ",
                                          "other": "dropped"})
    assert cleaned == {"bankAccountNumber": "DE89370400440532013000", "name": "Jane"}
    assert clean_fields(method(3021), {"ifsc": "sbin0001234"})["ifsc"] == "SBIN0001234"
    assert clean_fields(method(56500), {"documentId": "34201-0891231-8"})["documentId"] == "3420108912318"


def ids(found):
    return {m.type_id for m in found}


def test_for_checkout_india_and_brazil():
    india = ids(for_checkout("INR", "IN"))
    assert {2000, 2060, 2014, 2006, 2053, 2041, 1, 10100} <= india
    assert not india & {3020, 3021, 4012, 7009}  # payout-only, other countries
    assert ids(for_checkout("INR", None)) == india  # the currency's country
    brazil = ids(for_checkout("BRL", "BR"))
    assert {4011, 4012, 4013, 1000, 1007} <= brazil and 2000 not in brazil
    assert ids(for_checkout("brl", None)) == brazil
    assert not ids(for_checkout("INR", "BR")) & {2000, 4012}  # India's methods need India
    assert ids(for_checkout("USD", "BR")) == {1, 1000, 10100}  # the seed's Link example: USD, countryCode BR
    assert 1000 not in ids(for_checkout("USD", None))
    assert 1 not in ids(for_checkout("INR", "IN", include_test=False))


def test_for_checkout_elsewhere():
    assert ids(for_checkout("EUR", "DE")) == {1, 6001, 10100}
    assert ids(for_checkout("EUR", None)) == {1, 6001, 10100}  # EUR names no country: SEPA by currency
    assert ids(for_checkout("EUR", "GB")) == {1, 10100}
    assert ids(for_checkout("USD", None)) == {1, 10100}  # USDT rows are offered in their countries only
    vietnam = ids(for_checkout("USD", "VN"))
    assert vietnam == {1, 10100, 7009, 7010}
    assert {7000, 22011, 7009} <= ids(for_checkout("VND", None))
    assert ids(for_checkout("PKR", "PK")) == {1, 10100, 56500, 56501}
    assert {50033} <= ids(for_checkout("KRW", "KR"))


def test_payout_methods():
    assert {3020, 3021, 2053, 2081, 2} <= ids(payout_methods("INR", "IN"))
    assert 2000 not in ids(payout_methods("INR", "IN"))
    assert ids(payout_methods("EUR", "LT")) == {2, 6000}
    assert ids(payout_methods("PKR", None)) == {2, 56500, 56501}
    assert ids(payout_methods("THB", "TH")) >= {7011, 7088, 7089, 7072, 7073}


# -- how customers see the methods: groups, display names, order -----------------------------
#: Every currency the catalogue names (and two it does not), every country a method is
#: offered in (and none, and two without methods of their own): every list a payment
#: page or a payout form can show is a part of one of these.
CURRENCIES = sorted({c for m in catalogue() for c in m.currencies} | {"USD", "GBP"})
COUNTRIES = [*sorted({c for m in catalogue() for c in m.countries}), None, "US", "GB"]


def offered(currency: str, country: str | None) -> methods.Offer:
    """What the payment page offers (crypto aside, as ``views.pay.offered_methods``)."""
    found = [m for m in for_checkout(currency, country) if not is_crypto(m)]
    return methods.arrange(found, country or methods.country_of_currency(currency))


def type_ids(found) -> list[int]:
    return [m.type_id for m in found]


def test_every_method_has_a_group_with_a_legend():
    for m in catalogue():
        assert m.group in methods.GROUPS, m
        assert isinstance(methods.GROUP_LEGENDS[m.group], LazyString)
    groups = {type_id: method(type_id).group for type_id in (
        2041, 2000, 2006, 4012, 56500, 201, 7067, 2080, 7071, 22011, 7065, 10100, 7009, 1, 2, 2012, 2060, 7074,
        7028, 6001, 50033, 4011, 3021, 3020)}
    assert groups == {2041: "cards", 2000: "wallets", 2006: "wallets", 4012: "wallets", 56500: "wallets",
                      201: "wallets", 7067: "wallets", 2080: "qr", 7071: "qr", 22011: "qr", 7065: "qr",
                      10100: "crypto", 7009: "crypto", 1: "test", 2: "test", 2012: "banks", 2060: "banks",
                      7074: "banks", 7028: "banks", 6001: "banks", 50033: "banks", 4011: "banks",
                      3021: "banks", 3020: "wallets"}


def test_india_starts_with_upi_then_the_big_banks(ctx):
    page = offered("INR", "IN")
    assert page[0].type_id == 2000 and page.groups[0].key == "wallets"
    assert [g.key for g in page.groups] == ["wallets", "banks", "qr", "cards", "test"]
    banks = page.groups[1].methods
    assert [m.display_name for m in banks[:5]] == ["State Bank of India", "HDFC Bank", "ICICI Bank", "Axis Bank",
                                                   "Kotak Mahindra Bank"]
    # The rest of a group: alphabetical by what the customer reads.
    rest = [m.display_name for m in banks[5:]]
    assert rest == sorted(rest, key=str.casefold) and rest[0] == "Allahabad Bank"
    assert len(page) == 58 and sorted(type_ids(page)) == sorted(type_ids(offered("INR", None)))
    # Every group's methods stay together, in the page's order.
    assert [m for g in page.groups for m in g.methods] == list(page)


def test_brazil_pix_then_boletos_and_thailand_promptpay(ctx):
    brazil = offered("BRL", "BR")
    assert [g.key for g in brazil.groups] == ["wallets", "banks", "test"]
    assert type_ids(brazil)[:4] == [4012, 4011, 4013, 1007]  # Pix, Boleto, Boleto Flash Itaú, Itaú Boleto
    thailand = offered("THB", "TH")
    assert thailand.groups[0].key == "qr" and thailand[0].display_name == "PromptPay QR"
    assert type_ids(thailand.groups[1].methods)[:5] == [7014, 7012, 7013, 7011, 7016]  # KBank, SCB, ...
    assert type_ids(offered("PKR", "PK"))[:2] == [56501, 56500]  # JazzCash, EasyPaisa
    assert offered("VND", "VN")[0].display_name == "VietQR"
    assert offered("IDR", "ID")[0].display_name == "BCA (Bank Central Asia)"
    # A country without a table: groups in their default order, names alphabetical.
    assert [g.key for g in offered("EUR", "DE").groups] == ["banks", "test"]
    usd = methods.arrange(for_checkout("USD", "BR"), "US")
    assert [g.key for g in usd.groups] == ["banks", "crypto", "test"]


def test_no_two_methods_in_one_list_read_the_same(ctx):
    lists = 0
    for currency in CURRENCIES:
        for country in COUNTRIES:
            for payout, found in ((False, for_checkout(currency, country)), (True, payout_methods(currency, country))):
                labels = [m.label_for(payout) for m in found]
                folded = [label.casefold() for label in labels]
                assert len(set(folded)) == len(folded), (currency, country, payout, sorted(labels))
                lists += bool(found)
    assert lists > 50


def test_near_duplicates_are_told_apart_by_what_differs_in_their_rows(ctx):
    def label(type_id, payout=False):
        return method(type_id).label_for(payout)

    # The same Indian bank twice: net banking (the seed's 2010-2040 block) and transfers.
    assert (label(2016), label(2084)) == ("Federal Bank (net banking)", "Federal Bank (bank transfer)")
    assert (label(2023), label(2088)) == ("Karnataka Bank (net banking)", "Karnataka Bank (bank transfer)")
    assert (label(2020), label(2085)) == ("IDBI Bank (net banking)", "IDBI Bank (bank transfer)")
    # Rows that differ in nothing but the type id.
    assert (label(1004), label(1005)) == ("Bradesco Pague Fácil (no. 1004)", "Bradesco Pague Fácil (no. 1005)")
    assert (label(7019, True), label(7088, True)) == ("UOB Thailand (no. 7019)", "UOB Thailand (no. 7088)")
    assert label(7019) == "UOB Thailand"  # 7088 takes no payments: no twin among pay-ins
    # The same name in three countries is never offered together: no suffix needed.
    assert {label(t) for t in (7009, 7072, 7082)} == {"USDT (ERC-20)"}
    assert label(7010) == "USDT (BEP-20)"


def test_display_names_normalise_casing_and_brands(ctx):
    names = {t: method(t).display_name for t in (2012, 2017, 2053, 2025, 2021, 2032, 2027, 2006, 2042, 7013,
                                                 1000, 4012, 10100, 2080, 7065, 7074)}
    assert names == {2012: "HDFC Bank", 2017: "ICICI Bank", 2053: "IDFC First Bank", 2025: "State Bank of India",
                     2021: "IndusInd Bank", 2032: "UCO Bank", 2027: "Kotak Mahindra Bank", 2006: "PhonePe",
                     2042: "Paytm", 7013: "Bangkok Bank", 1000: "Itaú", 4012: "Pix", 10100: "Bitcoin (BTC)",
                     2080: "UPI QR", 7065: "MoMo QR", 7074: "BNI virtual account"}
    for m in catalogue():
        shown = m.label_for(False) + " " + m.label_for(True)
        assert not re.search(r"\b(Of|And|Ltd|LTD|Limited|PCL)\b|Support VA|QR [Ss]ervice", shown), (m.type_id, shown)
        assert shown.strip() and not re.search(r"\b[A-Z][a-z]+ [A-Z]{4,}\b", m.display_name), m.type_id


def test_seed_names_stay_as_the_seed_spells_them():
    assert [method(t).name for t in (2012, 2053, 2084, 2023, 1004, 1005, 7041, 2042)] == [
        "Hdfc Bank", "IDFC BANK", "Federal Bank LTD", "Karnataka Bank Ltd", "Bradesco Pague Facil",
        "Bradesco Pague Facil", "Maybank /bii (Support VA Wallet Only)", "Paytm, IN, Online"]
    # The display name is not a field: the rows (and anything that copies them) are as they were.
    assert {"display_name", "group"}.isdisjoint(f.name for f in dataclasses.fields(methods.Method))
    assert set(DISPLAY_NAMES) <= {m.type_id for m in catalogue()}  # no name for a row that is not there


def test_words_go_through_gettext_and_brands_do_not():
    words = {1, 2, 2029, 2035, 2036, 2060, 2080, 3021, 6000, 6001, 50033, 7028, 7063, 7074}
    for type_id in words:
        assert isinstance(DISPLAY_NAMES[type_id], LazyString), type_id
    for type_id in (2012, 2053, 4012, 7071, 22011):
        assert isinstance(DISPLAY_NAMES[type_id], str), type_id


def test_the_search_key_has_the_label_and_the_seed_name(ctx):
    assert method(1000).search_key_for() == "itau banco itau"  # accents aside
    assert method(2084).search_key_for() == "federal bank (bank transfer) federal bank ltd"
    assert method(2000).search_key_for() == "upi"
    assert method(201).search_key_for() == "yoomoney yoomoney (yandex money)"


# -- the payment page over HTTP -------------------------------------------------------------------
class MethodGroups(HTMLParser):
    """The payment page's method groups: (legend, [(type id, label), ...]) in page order."""

    def __init__(self, html: str):
        super().__init__()
        self.groups: list[tuple[str, list[tuple[int, str]]]] = []
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "fieldset" and "data-method-group" in a:
            self.groups.append(("", []))
        elif self.groups and tag == "legend" and not self.groups[-1][0] and not self.groups[-1][1]:
            self._in = "legend"
        elif self.groups and tag == "input" and a.get("name") == "paymentTypeId":
            self.groups[-1][1].append((int(a["value"]), ""))
        elif self.groups and tag == "label" and self.groups[-1][1]:
            self._in = "label"

    def handle_endtag(self, tag):
        if tag in ("legend", "label"):
            self._in = None

    def handle_data(self, data):
        if self._in == "legend":
            self.groups[-1] = (self.groups[-1][0] + data.strip(), self.groups[-1][1])
        elif self._in == "label":
            type_id, label = self.groups[-1][1][-1]
            self.groups[-1][1][-1] = (type_id, label + data.strip())


INDIA = {"countryCode": "IN", "firstName": "John", "lastName": "Doe", "phone": "9876543210"}


def test_the_page_shows_the_groups_as_fieldsets_in_the_countrys_order(client, make_link):
    html = text(client.get(make_link(currency="INR", amount=500, invoiceId="groups-1", data=INDIA)))
    groups = MethodGroups(html).groups
    assert [legend for legend, _ in groups] == ["Wallets and payment apps", "Banks and bank transfers",
                                                "QR code payments", "Cards", "Test methods"]
    wallets, banks = groups[0][1], groups[1][1]
    assert wallets[0] == (2000, "UPI")
    assert [label for _, label in banks[:5]] == ["State Bank of India", "HDFC Bank", "ICICI Bank", "Axis Bank",
                                                 "Kotak Mahindra Bank"]
    labels = [label for _, items in groups for _, label in items]
    assert len(labels) == len(set(labels)) == 58
    assert "Federal Bank (net banking)" in labels and "Federal Bank (bank transfer)" in labels
    assert ">Hdfc Bank<" not in html and ">IDFC BANK<" not in html
    # One form, as before: its action, one field name, its CSRF token, the search box.
    form = Forms(html).form("/apm")
    assert set(form["fields"]) == {"csrf_token", "paymentTypeId", ""} and form["fields"]["csrf_token"]  # "": the
    # search box, which has no name: it is never sent
    assert html.count('name="paymentTypeId"') == 58 and html.count(" required") >= 1
    assert 'id="method-search"' in html and 'aria-controls="method-list"' in html and 'id="method-list"' in html
    assert "Matching methods: {shown} of 58" in html and "/assets/js/method-search." in html


def test_choosing_a_grouped_method_hands_over_to_its_page(app, client, make_link):
    path = make_link(currency="INR", amount=500, invoiceId="groups-2", data=INDIA)
    form = Forms(text(client.get(path))).form("/apm")
    chosen = client.post(form["action"], data={**form["fields"], "paymentTypeId": "2012"}, follow_redirects=True)
    assert "/sandbox/apm/" in hand_over_target(chosen)
    assert app.extensions["sandbox.ledger"].find(invoice_id="groups-2")["payment_type_id"] == 2012  # the type id


def test_a_short_list_has_groups_and_no_search_box(client, make_link):
    html = text(client.get(make_link(currency="PKR", amount=1000, invoiceId="groups-3", data={"countryCode": "PK"})))
    groups = MethodGroups(html).groups
    assert [(legend, [t for t, _ in items]) for legend, items in groups] == [
        ("Wallets and payment apps", [56501, 56500]), ("Test methods", [1])]
    assert 'id="method-search"' not in html
