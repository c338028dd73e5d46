"""The alternative payment method (APM) catalogue: every row of the OdeonPay document's
"Alternative Payment Methods" table, with the currencies and customer fields each
method needs, and the validation of those fields.

Where things come from:

* ``type_id``, ``name``, ``country``, ``payin`` ("Link") and ``payout`` ("APM Payout"):
  the seed's table, row for row, in its order (151 rows; the table itself repeats some
  names, e.g. "Bradesco Pague Facil" 1004 and 1005, "USDT Crypto ERC20" in three
  countries: they are different type ids, so they stay different methods).
* ``currencies`` (ISO 4217; an empty tuple means "any currency"), by this rule:

  - a method of one country takes that country's currency (India INR, Brazil BRL,
    Pakistan PKR, South Korea KRW, Vietnam VND, Thailand THB, Indonesia IDR, Russia
    RUB), which is also what the seed's examples use where it gives one (UPI 2000 INR,
    Virtual Banking 50033 KRW, EasyPaisa/JazzCash PKR, "certain methods" THB), plus any
    other currency a seed example shows for that method (``SEED_CURRENCIES``: the
    seed's main Link example pays Banco Itau 1000, countryCode BR, in USD);
  - "EU" (the SEPA methods) takes EUR, as its examples do;
  - "VISA/MC/RuPay" (2041) says "Worldwide" but sits among the Indian methods and
    carries RuPay, India's scheme: INR;
  - the test methods (1, 2) take any currency;
  - crypto methods (BTC 10100 and the USDT rows) take any currency: the gateway quotes
    the checkout's amount into the asset for a short window (the OMS seed's quote), and
    the seed's BTC example prices the payment in BTC itself. Their ``country`` still
    limits where they are offered, as the table says.

* ``fields`` (what the customer gives for a pay-in) and ``payout_fields`` (for a payout),
  from the seed's request examples; each group below names the example it follows and
  says so where the seed has none. A field's ``name`` is its key in the request's
  ``data`` object, except ``name``, which is the request's own top-level ``name`` (the
  APM Payout body's "Funds recipient name"). For a payout-only method ``fields`` is
  its payout fields (what the customer fills in is the same).
* Validation (``validate_fields``) uses python-stdnum where a public format and a
  well-kept implementation exist (IBAN, Pakistani CNIC, Bitcoin addresses); the rest
  are strict patterns, each with its reason next to it.
* How customers see the methods (the section "how customers see the methods" below):
  each method's group (cards, banks, wallets, QR codes, crypto), the display names of
  ``checkout.method_names`` (``name`` stays the seed's: the merchant API and the gateway
  use it), labels that tell near duplicates apart, and the page's order (a country's
  most used methods first).

Seed examples that do not pass these checks (they are placeholders, so the checks stay
strict): the SEPA payout IBAN ``LT837500018004669430`` (its check digits are wrong),
the India payout IFSC ``ABCD1234567`` (the fifth character of an IFSC is always 0),
the EasyPaisa/JazzCash CNIC ``3440289238550`` (the last digit, the holder's gender, is
never 0) and the Korean account ``123456789`` (9 digits; Korean accounts have 10-14).
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache

from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from stdnum import bitcoin, iban
from stdnum.exceptions import ValidationError
from stdnum.pk import cnic

from . import textrules
from .method_names import DISPLAY_NAMES

__all__ = ["Field", "Method", "catalogue", "method", "for_checkout", "payout_methods",
           "validate_fields", "clean_fields", "is_crypto", "country_of_currency",
           "GROUPS", "GROUP_LEGENDS", "POPULAR", "MethodGroup", "Offer", "arrange", "display_name", "group_of",
           "label", "search_key"]


@dataclass(frozen=True)
class Field:
    """One value the customer gives. ``kind`` is the input type (text, tel, email);
    ``validator`` names a check in ``VALIDATORS`` (None: only required-ness)."""

    name: str
    label: object  # a lazy_gettext string
    kind: str = "text"
    required: bool = True
    validator: str | None = None


@dataclass(frozen=True)
class Method:
    type_id: int
    name: str
    country: str | None  # as the table says ("India", "EU", "Worldwide"); None for the test rows
    country_code: str | None  # ISO 3166-1 alpha-2 when the row names one country
    payin: bool  # "Link"
    payout: bool  # "APM Payout"
    currencies: tuple[str, ...]  # ISO 4217; () = any
    fields: tuple[Field, ...]
    payout_fields: tuple[Field, ...] = ()
    countries: tuple[str, ...] = ()  # where it is offered; () = anywhere
    asset: str | None = None  # crypto: the asset paid or paid out (BTC, USDT)
    network: str | None = None  # crypto: bitcoin, ERC20, BEP20
    test: bool = False  # the seed's APM Test Payment / Test Payout

    def fields_for(self, payout: bool = False) -> tuple[Field, ...]:
        return self.payout_fields if payout else self.fields

    @property
    def display_name(self) -> str:
        """What a customer reads (see :func:`display_name`); ``name`` stays the seed's."""
        return display_name(self)

    @property
    def group(self) -> str:
        """One of :data:`GROUPS` (see :func:`group_of`)."""
        return group_of(self)

    def label_for(self, payout: bool = False) -> str:
        """The display name, told apart from the methods offered with it (see :func:`label`)."""
        return label(self, payout)

    def search_key_for(self, payout: bool = False) -> str:
        """What the payment page's search box matches (see :func:`search_key`)."""
        return search_key(self, payout)


IN, OUT, BOTH = (True, False), (False, True), (True, True)

# The seed's table, in its order: (type id, name, Link / APM Payout, country).
# fmt: off
_TABLE: tuple[tuple[int, str, tuple[bool, bool], str | None], ...] = (
    # test methods
    (1, 'APM Test Payment', IN, None),
    (2, 'APM Test Payout', OUT, None),
    # Russia
    (201, 'YooMoney (Yandex Money)', IN, 'Russia'),
    (501, 'WebMoney', IN, 'Russia'),
    # Brazil
    (1000, 'Banco Itau', IN, 'Brazil'),
    (1001, 'Santander Brasil', IN, 'Brazil'),
    (1002, 'Banco do Brasil', IN, 'Brazil'),
    (1003, 'Banrisul', IN, 'Brazil'),
    (1004, 'Bradesco Pague Facil', IN, 'Brazil'),
    (1005, 'Bradesco Pague Facil', IN, 'Brazil'),
    (1006, 'Caixa Econômica Federal', IN, 'Brazil'),
    (1007, 'Banco Itau Boleto', IN, 'Brazil'),
    # India
    (2000, 'UPI', IN, 'India'),
    (2001, 'Google Pay', IN, 'India'),
    (2002, 'JioMoney', IN, 'India'),
    (2003, 'Airtel Money Wallet', IN, 'India'),
    (2004, 'Reliance Jio Wallet', IN, 'India'),
    (2005, 'Freecharge Wallet', IN, 'India'),
    (2006, 'Phonepe Wallet', IN, 'India'),
    (2007, 'Amazon Wallet', IN, 'India'),
    (2008, 'Ola Money Wallet', IN, 'India'),
    (2009, 'Mobikwik Wallet', IN, 'India'),
    (2010, 'Bank Of Maharashtra', IN, 'India'),
    (2011, 'Central Bank Of India', IN, 'India'),
    (2012, 'Hdfc Bank', IN, 'India'),
    (2013, 'Canara Bank', IN, 'India'),
    (2014, 'Bank Of India', IN, 'India'),
    (2015, 'City Union Bank', IN, 'India'),
    (2016, 'Federal Bank', IN, 'India'),
    (2017, 'Icici Bank', IN, 'India'),
    (2018, 'Indian Bank', IN, 'India'),
    (2019, 'Indian Overseas Bank', IN, 'India'),
    (2020, 'Industrial Development Bank Of India', IN, 'India'),
    (2021, 'Indusind Bank', IN, 'India'),
    (2022, 'Jammu And Kashmir Bank', IN, 'India'),
    (2023, 'Karnataka Bank Ltd', IN, 'India'),
    (2024, 'Karur Vysya Bank', IN, 'India'),
    (2025, 'State Bank Of India', IN, 'India'),
    (2026, 'South Indian Bank', IN, 'India'),
    (2027, 'Kotak Bank', IN, 'India'),
    (2028, 'Union Bank Of India', IN, 'India'),
    (2029, 'Bank Of Baroda Retail Accounts', IN, 'India'),
    (2030, 'Yes Bank', IN, 'India'),
    (2031, 'Andhra Bank', IN, 'India'),
    (2032, 'Uco Bank', IN, 'India'),
    (2033, 'Catholic Syrian Bank', IN, 'India'),
    (2034, 'Allahabad Bank', IN, 'India'),
    (2035, 'Dhanalaxmi Bank Corporate', IN, 'India'),
    (2036, 'Laxmi Vilas Bank - Corporate Net Banking', IN, 'India'),
    (2037, 'Punjab National Bank', IN, 'India'),
    (2038, 'Standard Chartered Bank', IN, 'India'),
    (2039, 'Punjab And Sind Bank', IN, 'India'),
    (2040, 'Saraswat Cooperative Bank', IN, 'India'),
    # Worldwide
    (2041, 'VISA/MC/RuPay', IN, 'Worldwide'),
    # India
    (2042, 'Paytm, IN, Online', IN, 'India'),
    (2053, 'IDFC BANK', BOTH, 'India'),
    (2060, 'India Bank Selection', IN, 'India'),
    (2080, 'UPI QR', IN, 'India'),
    (2081, 'Axis Bank', BOTH, 'India'),
    (2082, 'Bandhan Bank', BOTH, 'India'),
    (2083, 'Bank Of Baroda', BOTH, 'India'),
    (2084, 'Federal Bank LTD', BOTH, 'India'),
    (2085, 'IDBI Bank', BOTH, 'India'),
    (2086, 'India Post Payment Bank', BOTH, 'India'),
    (2087, 'Jammu and Kashmir Bank Limited', BOTH, 'India'),
    (2088, 'Karnataka Bank Limited', BOTH, 'India'),
    (2090, 'Lakshmi Vilas Bank', BOTH, 'India'),
    (2091, 'PAYTM Payments Bank LTD', BOTH, 'India'),
    (2092, 'Ujjivan Small Finance Bank', BOTH, 'India'),
    (3020, 'UPI Payouts', OUT, 'India'),
    (3021, 'Bank Transfer Payouts', OUT, 'India'),
    # Vietnam
    (7000, 'Techcombank', BOTH, 'Vietnam'),
    (7001, 'Sacombank', BOTH, 'Vietnam'),
    (7002, 'Vietcombank', BOTH, 'Vietnam'),
    (7003, 'Asia Commercial Bank', BOTH, 'Vietnam'),
    (7004, 'DongA Bank', BOTH, 'Vietnam'),
    (7005, 'Vietinbank', BOTH, 'Vietnam'),
    (7006, 'BIDV Bank', BOTH, 'Vietnam'),
    (7007, 'Eximbank', BOTH, 'Vietnam'),
    (7008, 'Agribank', BOTH, 'Vietnam'),
    (7009, 'USDT Crypto ERC20', BOTH, 'Vietnam'),
    (7010, 'USDT Crypto BEP20', BOTH, 'Vietnam'),
    (7061, 'Asia Commercial Bank (QR service)', BOTH, 'Vietnam'),
    (7062, 'BIDV Bank (QR service)', BOTH, 'Vietnam'),
    (7063, 'Vietcombank (QR service)', BOTH, 'Vietnam'),
    (7064, 'Vietinbank (QR service)', BOTH, 'Vietnam'),
    (7065, 'Momo QR Payment (QR service)', BOTH, 'Vietnam'),
    (7066, 'Zalo QR Payment (QR service)', BOTH, 'Vietnam'),
    (7067, 'Zalo H5 Payment (H5 service)', BOTH, 'Vietnam'),
    (7068, 'Vietnam Prosperity Joint-Stock Commercial Bank (QR Service)', BOTH, 'Vietnam'),
    (7069, 'Military Commercial Bank (QR Service)', BOTH, 'Vietnam'),
    (7070, 'Techcombank (QR Service)', BOTH, 'Vietnam'),
    (22011, 'Vietnam QR', IN, 'Vietnam'),
    # Thailand
    (7011, 'Krung Thai Bank', BOTH, 'Thailand'),
    (7012, 'Siam Commercial Bank', BOTH, 'Thailand'),
    (7013, 'Bangkok bank', BOTH, 'Thailand'),
    (7014, 'Kasikorn Bank', BOTH, 'Thailand'),
    (7015, 'Thai Military Bank', BOTH, 'Thailand'),
    (7016, 'Krungsri bank', BOTH, 'Thailand'),
    (7017, 'CIMB Thai Bank Public Company Limited', BOTH, 'Thailand'),
    (7018, 'Government Savings Bank', BOTH, 'Thailand'),
    (7019, 'United Overseas Bank (Thai) PCL.', BOTH, 'Thailand'),
    (7020, 'Government Housing Bank', BOTH, 'Thailand'),
    (7021, 'Hong Kong Shanghai Bank', BOTH, 'Thailand'),
    (7022, 'Standard Chartered Bank (Thai) PCL.', BOTH, 'Thailand'),
    (7023, 'Land and Houses Bank Public Company Limited', BOTH, 'Thailand'),
    (7071, 'Thai QR Payment', BOTH, 'Thailand'),
    (7072, 'USDT Crypto ERC20', BOTH, 'Thailand'),
    (7073, 'USDT Crypto BEP20', BOTH, 'Thailand'),
    (7088, 'UOB Bank', OUT, 'Thailand'),
    (7089, 'TMBThanachart Bank', OUT, 'Thailand'),
    # Indonesia
    (7024, 'Bank Central Asia', BOTH, 'Indonesia'),
    (7025, 'Bank Negara Indonesia', BOTH, 'Indonesia'),
    (7026, 'Bank Mandiri', BOTH, 'Indonesia'),
    (7027, 'Bank Rakyat Indonesia', BOTH, 'Indonesia'),
    (7028, 'Bank Artha Graha (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7029, 'Bank Bukopin (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7030, 'Bank Commonwealth (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7031, 'Bank Danamon (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7032, 'Bank Mega (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7033, 'Bank Maspion (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7034, 'Bank Mestika (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7035, 'Bank Panin (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7036, 'Bank Sumut (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7037, 'Bank Sinar Mas (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7038, 'Bank Btpn (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7039, 'CIMB Niaga (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7040, 'HSBC Indonesia (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7041, 'Maybank /bii (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7042, 'OCBC Indonesia (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7043, 'Bank Permata (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7044, 'UOB Indonesia (Support VA Wallet Only)', BOTH, 'Indonesia'),
    (7074, 'Bank Negara Indonesia (VA)', BOTH, 'Indonesia'),
    (7075, 'Bank Mandiri (VA)', BOTH, 'Indonesia'),
    (7076, 'Bank Rakyat Indonesia (VA)', BOTH, 'Indonesia'),
    (7077, 'Maybank Indonesia (VA)', BOTH, 'Indonesia'),
    (7078, 'Bank Sahabat Sampoerna (VA)', BOTH, 'Indonesia'),
    (7079, 'Bank Sinarmas (VA)', BOTH, 'Indonesia'),
    (7080, 'CIMB Niaga (VA)', BOTH, 'Indonesia'),
    (7081, 'Bank Permata (VA)', BOTH, 'Indonesia'),
    (7082, 'USDT Crypto ERC20', BOTH, 'Indonesia'),
    (7083, 'USDT Crypto BEP20', BOTH, 'Indonesia'),
    # Brazil
    (4011, 'Boleto', IN, 'Brazil'),
    (4012, 'Direct PIX', IN, 'Brazil'),
    (4013, 'Boleto Flash Itau', IN, 'Brazil'),
    # EU
    (6000, 'SEPA Credit Transfer', OUT, 'EU'),
    (6001, 'SEPA Transfer', IN, 'EU'),
    # Worldwide
    (10100, 'BTC, Bitcoin', IN, 'Worldwide'),
    # South Korea
    (50033, 'Virtual Banking', BOTH, 'South Korea'),
    # Pakistan
    (56500, 'EasyPaisa', BOTH, 'Pakistan'),
    (56501, 'JazzCash', BOTH, 'Pakistan'),
)
# fmt: on

#: Currencies the seed's examples show for a method besides its country's: the main
#: Link example (amount 10.66 USD, countryCode BR, paymentTypeId 1000).
SEED_CURRENCIES = {1000: ("USD",)}

_COUNTRY_CODES = {"Russia": "RU", "Brazil": "BR", "India": "IN", "Vietnam": "VN", "Thailand": "TH",
                  "Indonesia": "ID", "South Korea": "KR", "Pakistan": "PK"}
#: "EU" in the table: the member states of the European Union.
EU = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
      "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK")
_COUNTRY_CURRENCY = {"Russia": "RUB", "Brazil": "BRL", "India": "INR", "Vietnam": "VND", "Thailand": "THB",
                     "Indonesia": "IDR", "South Korea": "KRW", "Pakistan": "PKR", "EU": "EUR"}
#: A currency's country, when a checkout says nothing of the customer's country. EUR
#: has none (many countries use it): a country-specific method then fits by currency.
_CURRENCY_COUNTRY = {"RUB": "RU", "BRL": "BR", "INR": "IN", "VND": "VN", "THB": "TH", "IDR": "ID",
                     "KRW": "KR", "PKR": "PK", "USD": "US", "GBP": "GB", "CAD": "CA", "AUD": "AU",
                     "JPY": "JP", "CHF": "CH", "PLN": "PL", "CZK": "CZ", "SEK": "SE", "NOK": "NO",
                     "DKK": "DK", "HUF": "HU", "RON": "RO", "TRY": "TR", "MXN": "MX", "ZAR": "ZA",
                     "CNY": "CN", "HKD": "HK", "SGD": "SG", "MYR": "MY", "PHP": "PH", "UAH": "UA",
                     "KZT": "KZ", "GEL": "GE", "AED": "AE", "NGN": "NG", "BDT": "BD"}

# -- fields ------------------------------------------------------------------------------
FIRST_NAME = Field("firstName", _l("First name"), "text", True, "name")
LAST_NAME = Field("lastName", _l("Last name"), "text", True, "name")
NAMES = (FIRST_NAME, LAST_NAME)
HOLDER = Field("name", _l("Account holder name"), "text", True, "name")  # top-level ``name``
IN_PHONE = Field("phone", _l("Mobile number"), "tel", True, "in_mobile")
PK_PHONE = Field("phone", _l("Mobile number"), "tel", True, "pk_mobile")
PHONE = Field("phone", _l("Phone number"), "tel", True, "phone")

# APM Test Payment (1) / Test Payout (2): personId success@bank or failure@bank (the
# seed's testing credentials); any other value goes to the sandbox's APM page.
TEST_FIELDS = (Field("personId", _l("Test account"), "text", True, None),)
# Russia (YooMoney, WebMoney): the seed has no example for them; the customer signs in
# at the provider's page, so we ask for the names the general Link example carries.
RUSSIA_FIELDS = NAMES
# Brazil: the general Link example (countryCode BR, paymentTypeId 1000) carries
# personId (the payer's document number), firstName and lastName.
BRAZIL_FIELDS = (Field("personId", _l("Document number"), "text", True, "document"), *NAMES)
# India: "Link request example for APM UPI Payment (2000)" (personId is the UPI id).
UPI_FIELDS = (Field("personId", _l("UPI ID"), "text", True, "upi_vpa"), *NAMES, IN_PHONE)
# India wallets, net banking, bank selection, UPI QR, cards: the PhonePe (2006),
# Netbanking (2014) and bank-selection (2060) examples: names and phone.
INDIA_FIELDS = (*NAMES, IN_PHONE)
# "APM Payout example for UPI (3020)": personId is the UPI id (9555777666@upi).
UPI_PAYOUT_FIELDS = (Field("personId", _l("UPI ID"), "text", True, "upi_vpa"), IN_PHONE)
# "APM Payout example to India bank account (3021)": personId is the account number,
# ifsc the branch; the recipient's name is the request's ``name``. The Indian banks
# with "Link / APM Payout" have no payout example of their own: the same fields.
INDIA_BANK_PAYOUT_FIELDS = (Field("personId", _l("Account number"), "text", True, "in_account"),
                            Field("ifsc", _l("IFSC code"), "text", True, "ifsc"), HOLDER, IN_PHONE)
# Vietnam, Thailand, Indonesia banks: "Link request example for certain methods (1)"
# (firstName, lastName) and "APM Payout request example for certain methods (1)"
# (firstName, lastName, bankAccountNumber).
SEA_FIELDS = NAMES
SEA_PAYOUT_FIELDS = (*NAMES, Field("bankAccountNumber", _l("Account number"), "text", True, "bank_account"))
# UOB Bank 7088 (and TMBThanachart 7089, payout only, next to it): "APM Payout request
# example for certain methods (2)": bankAccountNumber and "ifsc" (the example's value is
# the placeholder "IFSC"; Thai banks have no IFSC, so only required-ness is checked).
THAI_PAYOUT_2_FIELDS = (Field("bankAccountNumber", _l("Account number"), "text", True, "bank_account"),
                        Field("ifsc", _l("Bank branch code"), "text", True, None), HOLDER)
# SEPA Transfer 6001 (pay-in): its Link example carries names, phone and address; the
# customer pays by bank transfer, so no IBAN is asked. The phone is optional here.
SEPA_FIELDS = (*NAMES, Field("phone", _l("Phone number"), "tel", False, "phone"))
# SEPA Credit Transfer 6000 (payout): bankAccountNumber is the IBAN in the seed's
# example; no BIC is sent (SEPA routes by IBAN); the holder is the request's ``name``.
SEPA_PAYOUT_FIELDS = (Field("bankAccountNumber", _l("IBAN"), "text", True, "iban"), HOLDER)
# "Link request example for Virtual Banking, South Korea (50033)": personId, names, phone.
KOREA_FIELDS = (Field("personId", _l("Customer ID"), "text", True, None), *NAMES, PHONE)
# "APM Payout for Virtual Banking, South Korea (50033)".
KOREA_PAYOUT_FIELDS = (Field("personId", _l("Customer ID"), "text", True, None),
                       Field("bankName", _l("Bank name"), "text", True, None),
                       Field("bankAccountNumber", _l("Account number"), "text", True, "kr_account"),
                       Field("bankAccountHolder", _l("Account holder name"), "text", True, "name"))
# EasyPaisa / JazzCash, pay-in and payout examples: personId (the payer's wallet
# account number, which is their mobile number), phone, documentId (the CNIC).
PAKISTAN_FIELDS = (Field("personId", _l("Wallet account number"), "tel", True, "pk_mobile"), PK_PHONE,
                   Field("documentId", _l("CNIC number"), "text", True, "cnic"))
# Crypto: nothing to ask for a pay-in (the gateway gives an address and the amount). For
# a payout the seed has no example: the destination address, named as the OMS seed
# names it (destination.wallet.blockchainAddress).
def _wallet(network: str) -> tuple[Field, ...]:
    return (Field("blockchainAddress", _l("Wallet address"), "text", True, f"{network.lower()}_address"),)


_CRYPTO = {10100: ("BTC", "bitcoin"), 7009: ("USDT", "ERC20"), 7010: ("USDT", "BEP20"),
           7072: ("USDT", "ERC20"), 7073: ("USDT", "BEP20"), 7082: ("USDT", "ERC20"), 7083: ("USDT", "BEP20")}
_INDIA_BANK_PAYOUTS = {2053, *range(2081, 2093), 3021}


def _fields(type_id: int, country: str | None) -> tuple[tuple[Field, ...], tuple[Field, ...]]:
    """(pay-in fields, payout fields) of a row; ``_build`` keeps only the directions the
    table gives the method."""
    if type_id in (1, 2):
        return TEST_FIELDS, TEST_FIELDS
    if type_id in _CRYPTO:
        return (), _wallet(_CRYPTO[type_id][1])
    if type_id == 3020:
        return (), UPI_PAYOUT_FIELDS
    if type_id in (7088, 7089):
        return (), THAI_PAYOUT_2_FIELDS
    if type_id in (6000, 6001):
        return SEPA_FIELDS, SEPA_PAYOUT_FIELDS
    if type_id == 50033:
        return KOREA_FIELDS, KOREA_PAYOUT_FIELDS
    if type_id in (56500, 56501):
        return PAKISTAN_FIELDS, PAKISTAN_FIELDS
    if type_id == 2000:
        return UPI_FIELDS, ()
    if type_id in _INDIA_BANK_PAYOUTS:
        return INDIA_FIELDS, INDIA_BANK_PAYOUT_FIELDS
    if type_id == 2041 or country == "India":
        return INDIA_FIELDS, ()
    if country in ("Vietnam", "Thailand", "Indonesia"):
        return SEA_FIELDS, SEA_PAYOUT_FIELDS
    if country == "Brazil":
        return BRAZIL_FIELDS, ()
    if country == "Russia":
        return RUSSIA_FIELDS, ()
    raise AssertionError(f"no fields for APM {type_id}")  # every row is covered above


def _build() -> tuple[Method, ...]:
    methods = []
    for type_id, name, (payin, payout), country in _TABLE:
        crypto = _CRYPTO.get(type_id)
        code = _COUNTRY_CODES.get(country or "")
        countries = (code,) if code else EU if country == "EU" else ()
        if crypto or type_id in (1, 2):
            currencies: tuple[str, ...] = ()
        elif type_id == 2041:
            currencies = ("INR",)
        else:
            currencies = (_COUNTRY_CURRENCY[country], *SEED_CURRENCIES.get(type_id, ()))
        fields, payout_fields = _fields(type_id, country)
        methods.append(Method(
            type_id=type_id, name=name, country=country, country_code=code, payin=payin, payout=payout,
            currencies=currencies, fields=fields if payin else payout_fields,
            payout_fields=payout_fields if payout else (), countries=countries,
            asset=crypto[0] if crypto else None, network=crypto[1] if crypto else None,
            test=type_id in (1, 2)))
    return tuple(methods)


_METHODS = _build()
_BY_ID = {m.type_id: m for m in _METHODS}


def catalogue() -> list[Method]:
    """Every method of the seed's APM table, in the table's order."""
    return list(_METHODS)


def method(type_id) -> Method | None:
    """The method of this paymentTypeId (an int or its ASCII digits), or None. Not
    ``int()`` on any text: it reads " 12", "1_2" and "١٢" (Arabic-Indic) as 12."""
    if isinstance(type_id, bool):
        return None
    if isinstance(type_id, str) and textrules.ascii_digits(type_id):
        type_id = int(type_id)
    return _BY_ID.get(type_id) if isinstance(type_id, int) else None


def is_crypto(m: Method) -> bool:
    return m.asset is not None


def country_of_currency(currency: str) -> str | None:
    return _CURRENCY_COUNTRY.get((currency or "").upper())


def _fits(m: Method, currency: str, country_code: str | None) -> bool:
    currency = (currency or "").upper()
    if m.currencies and currency not in m.currencies:
        return False
    if not m.countries:
        return True
    country = (country_code or "").upper() or country_of_currency(currency)
    if country:
        return country in m.countries
    # No country known (e.g. EUR and no data.countryCode): a country-specific method
    # fits only through a currency it names (SEPA for EUR), not as an any-currency one.
    return bool(m.currencies)


def for_checkout(currency: str, country_code: str | None = None, *, include_test: bool = True) -> list[Method]:
    """The pay-in methods that fit a checkout: the currency is one the method takes (or
    it takes any), and, for a country-specific method, the customer's country
    (``data.countryCode``, else the currency's country) is one of its countries."""
    return [m for m in _METHODS if m.payin and (include_test or not m.test) and _fits(m, currency, country_code)]


def payout_methods(currency: str, country_code: str | None = None, *, include_test: bool = True) -> list[Method]:
    """The payout methods that fit, by the same rule as :func:`for_checkout`."""
    return [m for m in _METHODS if m.payout and (include_test or not m.test) and _fits(m, currency, country_code)]


# -- how customers see the methods: groups, names, order --------------------------------------
#: The groups of the payment page, in their default order (the group of a country's most
#: used method comes first: see :func:`arrange`).
GROUPS = ("cards", "banks", "wallets", "qr", "crypto", "test")
GROUP_LEGENDS = {
    "cards": _l("Cards"),
    "banks": _l("Banks and bank transfers"),
    "wallets": _l("Wallets and payment apps"),
    "qr": _l("QR code payments"),
    "crypto": _l("Cryptocurrencies"),
    "test": _l("Test methods"),
}
#: The groups the seed's names do not say, by type id. The seed's table says what a
#: method is only in its names; read row by row:
#: - cards: "VISA/MC/RuPay" (2041);
#: - wallets and payment apps: the Indian rows named "... Wallet" (2003-2009) with Google
#:   Pay, JioMoney and Paytm (2001, 2002, 2042), UPI (2000, and its payouts 3020: an
#:   app-to-app instant payment), Brazil's Pix (4012, the same kind of scheme),
#:   YooMoney and WebMoney (201, 501), EasyPaisa and JazzCash (56500, 56501: mobile
#:   wallets), Zalo's "H5" in-app payment (7067);
#: - QR code payments: every row whose name says "QR" (:data:`_QR_NAME`);
#: - crypto (:func:`is_crypto`) and the two test rows have their own groups;
#: - banks: all the rest, which are banks' own methods: India's net banking (2010-2040:
#:   the seed's "Netbanking" example is 2014) and bank list (2060), its banks with
#:   payouts (2053, 2081-2092: account transfers), Brazil's banks and boletos (bank
#:   slips), the Vietnamese, Thai and Indonesian banks and virtual accounts ("(VA)"),
#:   Korea's "Virtual Banking" (50033), SEPA (6000, 6001) and India's bank payouts (3021).
_GROUP_BY_ID = {2041: "cards", 3020: "wallets",
                **dict.fromkeys((201, 501, *range(2000, 2010), 2042, 4012, 7067, 56500, 56501), "wallets")}
_QR_NAME = re.compile(r"\bQR\b")

#: The most used methods of a country, most used first: they lead the page, the rest
#: follow alphabetically. Our own judgement of market share (public payment statistics
#: and general knowledge of each market, not a measured source), limited to what the
#: catalogue has:
#: - India: UPI carries most online payments (NPCI's monthly figures), then the largest
#:   banks' net banking (SBI, HDFC, ICICI, Axis, Kotak), UPI by QR, then the big wallets;
#: - Brazil: Pix, then boletos (Itaú's and the generic one), then the largest banks;
#: - Thailand: PromptPay (Thai QR), then the largest banks (KBank, SCB, Bangkok Bank,
#:   Krungthai, Krungsri);
#: - Indonesia: QRIS would lead, but the catalogue has none: the virtual accounts of the
#:   largest banks (BCA, BNI, Mandiri, BRI, Permata, CIMB Niaga), then their transfers;
#: - Vietnam: VietQR, MoMo, then the largest banks by QR and directly;
#: - Pakistan: JazzCash, then EasyPaisa; Korea: its one virtual-account method;
#:   Russia: YooMoney, then WebMoney; the EU: SEPA.
POPULAR: dict[str, tuple[int, ...]] = {
    "IN": (2000, 2025, 2012, 2017, 2081, 2027, 2080, 2006, 2042, 2001),
    "BR": (4012, 4011, 4013, 1007, 1000, 1002, 1004, 1005, 1006, 1001),
    "TH": (7071, 7014, 7012, 7013, 7011, 7016),
    "ID": (7024, 7074, 7075, 7076, 7081, 7080, 7026, 7027, 7025),
    "VN": (22011, 7065, 7063, 7070, 7064, 7062, 7002, 7000, 7005, 7006, 7008),
    "PK": (56501, 56500),
    "KR": (50033,),
    "RU": (201, 501),
    **dict.fromkeys(EU, (6001,)),
}

#: What tells apart two Indian rows of the same bank: the seed's 2010-2040 block is net
#: banking (its "Netbanking" example, 2014); the 2053 and 2081-2092 rows also pay out,
#: so they are transfers to and from the customer's account.
_KINDS = {**dict.fromkeys(range(2010, 2041), _l("net banking")),
          **dict.fromkeys((2053, *range(2081, 2093)), _l("bank transfer"))}


def group_of(m: Method) -> str:
    """The method's group, one of :data:`GROUPS`, by the rule of :data:`_GROUP_BY_ID`."""
    if m.test:
        return "test"
    if is_crypto(m):
        return "crypto"
    if m.type_id in _GROUP_BY_ID:
        return _GROUP_BY_ID[m.type_id]
    return "qr" if _QR_NAME.search(m.name) else "banks"


def display_name(m: Method) -> str:
    """The method's name for customers, in the current locale (``checkout.method_names``)."""
    return str(DISPLAY_NAMES.get(m.type_id, m.name))


def _fold(text: str) -> str:
    """Case and accents aside ("Itaú" is "itau"), for sorting and searching."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().split())


def _together(a: Method, b: Method) -> bool:
    """Whether one checkout can offer both (see ``_fits``): their countries and their
    currencies meet (an empty tuple is "anywhere" / "any")."""
    return ((not a.countries or not b.countries or bool(set(a.countries) & set(b.countries)))
            and (not a.currencies or not b.currencies or bool(set(a.currencies) & set(b.currencies))))


def _twins(payout: bool) -> dict[int, tuple[Method, ...]]:
    """Methods whose display names read the same (in the catalogue's own, English, names)
    and that can be offered together: type id -> them all, in table order."""
    rows = [m for m in _METHODS if (m.payout if payout else m.payin)]
    by_name: dict[str, list[Method]] = {}  # each name folded once, not once per pair of rows
    for m in rows:
        by_name.setdefault(_fold(display_name(m)), []).append(m)
    twins: dict[int, tuple[Method, ...]] = {}
    for m in rows:
        same = tuple(o for o in by_name[_fold(display_name(m))] if _together(m, o))
        if len(same) > 1:
            twins[m.type_id] = same
    return twins


_TWINS = {False: _twins(False), True: _twins(True)}


def _country_name(m: Method) -> str | None:
    code = m.country_code or ("EU" if m.country == "EU" else None)
    if code is None:
        return m.country
    locale = get_locale()
    return locale.territories.get(code, code) if locale else code


def _detail(m: Method, twins: tuple[Method, ...]) -> str:
    """What differs between ``m`` and its twins, read from their rows: the country, then
    the network, then the kind of payment; the type id when the rows differ in nothing
    else (the seed's "Bradesco Pague Facil" 1004 and 1005)."""
    for value in (_country_name, lambda t: t.network, lambda t: _KINDS.get(t.type_id)):
        values = [value(t) for t in twins]
        if None not in values and len({str(v) for v in values}) == len(values):
            return str(value(m))
    return gettext("no. %(number)s", number=m.type_id)


def label(m: Method, payout: bool = False) -> str:
    """The method's display name, with what tells it apart when another method that can
    be offered with it (pay-in, or ``payout``) reads the same: never two identical
    labels in one list."""
    twins = _TWINS[payout].get(m.type_id)
    if not twins:
        return display_name(m)
    return gettext("%(name)s (%(detail)s)", name=display_name(m), detail=_detail(m, twins))


def search_key(m: Method, payout: bool = False) -> str:
    """The label and the seed's name, case and accents aside: a search for "itau" or for
    "federal bank ltd" finds what the customer knows by either."""
    shown, seed = _fold(label(m, payout)), _fold(m.name)
    return shown if seed in shown else f"{shown} {seed}"


@dataclass(frozen=True)
class MethodGroup:
    """One group of the payment page: its key (of :data:`GROUPS`) and its methods, in order."""

    key: str
    methods: tuple[Method, ...]

    @property
    def legend(self) -> str:
        return str(GROUP_LEGENDS[self.key])


class Offer(list):
    """Methods in the order the page shows them (see :func:`arrange`), with their groups:
    a list, so whoever only needs the methods uses it as one."""

    @cached_property
    def groups(self) -> list[MethodGroup]:
        """The groups in order of their first method (each group's methods together)."""
        by_key: dict[str, list[Method]] = {}
        for m in self:
            by_key.setdefault(group_of(m), []).append(m)
        return [MethodGroup(key, tuple(ms)) for key, ms in by_key.items()]


def arrange(found: list[Method], country: str | None = None) -> Offer:
    """The methods in the page's order for a customer in ``country``: groups first by the
    best :data:`POPULAR` rank among their methods, then in :data:`GROUPS` order; within a
    group the popular methods by rank, then the rest alphabetically by display name in
    the current locale (case and accents aside; a full per-language collation would need
    ICU, which we do not ship), then by type id."""
    rank = {type_id: i for i, type_id in enumerate(POPULAR.get((country or "").upper(), ()))}
    best: dict[str, float] = {}
    for m in found:
        best[group_of(m)] = min(best.get(group_of(m), math.inf), rank.get(m.type_id, math.inf))

    def order(m: Method) -> tuple:
        name = display_name(m)
        group = group_of(m)
        return best[group], GROUPS.index(group), rank.get(m.type_id, math.inf), _fold(name), name, m.type_id

    return Offer(sorted(found, key=order))


def offer(currency: str, country_code: str | None = None, *, include_test: bool = True,
          crypto: bool = False) -> Offer:
    """The payment page's methods: :func:`for_checkout` (crypto only when ``crypto``, for
    deposits) in :func:`arrange`'s order for the current locale. Kept per currency,
    country and locale: working it out walks the whole table and sorts by translated
    names, and every view of a page asks again. The Offer is shared: read it, do not
    change it."""
    return _offer((currency or "").upper(), (country_code or "").upper() or None, include_test, crypto,
                  str(get_locale()))


@lru_cache(maxsize=2048)
def _offer(currency: str, country_code: str | None, include_test: bool, crypto: bool, locale: str) -> Offer:
    found = [m for m in for_checkout(currency, country_code, include_test=include_test)
             if crypto or not is_crypto(m)]
    return arrange(found, country_code or country_of_currency(currency))


# -- validation --------------------------------------------------------------------------
def _compact(value: str) -> str:
    return re.sub(r"[\s\-.]", "", value, flags=re.ASCII)


def _iban(value: str) -> bool:
    return iban.is_valid(value)


def _cnic(value: str) -> bool:
    # stdnum.pk.cnic: 13 digits (dashes allowed), a known province digit first and the
    # gender digit (1-9) last.
    return cnic.is_valid(value)


# IFSC: python-stdnum has no Indian IFSC module (stdnum.in_ has aadhaar, epic, gstin,
# pan, vid), so the RBI's published shape: 4 letters (the bank), a 0 reserved for
# future use, 6 letters or digits (the branch).
_IFSC = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")
# UPI virtual payment address: handle@provider (NPCI's allowed characters).
_UPI = re.compile(r"^[a-zA-Z0-9.\-_]{2,256}@[a-zA-Z]{2,64}$")
# Korean bank accounts: digits with optional dashes, 10 to 14 digits.
_KR_ACCOUNT = re.compile(r"^[0-9](?:-?[0-9]){9,13}$")
# Indian bank accounts: 9 to 18 digits (the range Indian banks issue).
_IN_ACCOUNT = re.compile(r"^[0-9]{9,18}$")
# Other bank accounts: digits (some with letters), 6 to 34 characters.
_BANK_ACCOUNT = re.compile(r"^[A-Za-z0-9]{6,34}$")
# Mobile numbers: India 10 digits starting 6-9; Pakistan 03xx + 7 digits; with the
# country prefix allowed.
_IN_MOBILE = re.compile(r"^(?:\+?91|0)?[6-9][0-9]{9}$")
_PK_MOBILE = re.compile(r"^(?:\+?92|0)?3[0-9]{9}$")
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
_DOCUMENT = re.compile(r"^[A-Za-z0-9]{4,32}$")
# Wallet addresses: ERC20 and BEP20 are Ethereum-style (0x + 40 hex); TRC20 is TRON's
# base58 "T" + 33 characters.
_EVM = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TRON = re.compile(r"^T[1-9A-HJ-NP-Za-km-z]{33}$")


def _name(value: str) -> bool:
    # The characters are the one text rule's (validate_fields): ZWNJ in a Persian name is fine.
    return len(value) <= 100 and any(ch.isalpha() for ch in value)


def _btc(value: str) -> bool:
    # stdnum.bitcoin: P2PKH and P2SH (base58check) and bech32, checksums included.
    return bitcoin.is_valid(value)


VALIDATORS = {
    "iban": (_iban, _l("Enter a valid IBAN.")),
    "ifsc": (lambda v: v.isascii() and bool(_IFSC.match(v.upper())),  # "ﬀ".upper() is "FF"
             _l("Enter a valid IFSC code (11 characters, like SBIN0001234).")),
    "cnic": (_cnic, _l("Enter a valid 13-digit CNIC number.")),
    "upi_vpa": (lambda v: bool(_UPI.match(v)), _l("Enter a valid UPI ID, like name@bank.")),
    "kr_account": (lambda v: bool(_KR_ACCOUNT.match(v.replace(" ", ""))),
                   _l("Enter an account number of 10 to 14 digits.")),
    "in_account": (lambda v: bool(_IN_ACCOUNT.match(_compact(v))), _l("Enter an account number of 9 to 18 digits.")),
    "bank_account": (lambda v: bool(_BANK_ACCOUNT.match(_compact(v))), _l("Enter a valid account number.")),
    "in_mobile": (lambda v: bool(_IN_MOBILE.match(_compact(v))), _l("Enter a valid Indian mobile number.")),
    "pk_mobile": (lambda v: bool(_PK_MOBILE.match(_compact(v))), _l("Enter a valid Pakistani mobile number.")),
    "phone": (lambda v: bool(_PHONE.match(re.sub(r"[\s\-.()]", "", v, flags=re.ASCII))),
              _l("Enter a valid phone number.")),
    "document": (lambda v: bool(_DOCUMENT.match(_compact(v).replace("/", ""))), _l("Enter a valid document number.")),
    "name": (_name, _l("Enter a name.")),
    "bitcoin_address": (_btc, _l("Enter a valid Bitcoin address.")),
    "erc20_address": (lambda v: bool(_EVM.match(v)), _l("Enter a valid address: 0x and 40 hexadecimal characters.")),
    "bep20_address": (lambda v: bool(_EVM.match(v)), _l("Enter a valid address: 0x and 40 hexadecimal characters.")),
    "trc20_address": (lambda v: bool(_TRON.match(v)), _l("Enter a valid TRON address: T and 33 characters.")),
}
REQUIRED = _l("This field is required.")
TOO_LONG = _l("This value is too long.")
#: A value the one text rule refuses (:mod:`checkout.textrules`).
HIDDEN_CHARACTER = _l("This contains a hidden or control character that cannot be used. Please type it again.")
MAX_LENGTH = 256


def _value(values: dict, name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value).strip()


def validate_fields(m: Method, values: dict, *, payout: bool | None = None) -> dict[str, object]:
    """Field errors (name -> lazy message) of ``values`` for ``m``'s pay-in fields, or
    its payout fields with ``payout=True`` (default: pay-in when the method has one).
    Empty when every field is fine. Optional fields are checked only when given."""
    payout = (not m.payin) if payout is None else payout
    errors: dict[str, object] = {}
    for f in m.fields_for(payout):
        value = _value(values, f.name)
        if not value:
            if f.required:
                errors[f.name] = REQUIRED
            continue
        if len(value) > MAX_LENGTH:
            errors[f.name] = TOO_LONG
            continue
        if textrules.refused(value):
            errors[f.name] = HIDDEN_CHARACTER
            continue
        if f.validator:
            check, message = VALIDATORS[f.validator]
            if not check(value):
                errors[f.name] = message
    return errors


_CLEAN = {"iban": lambda v: iban.compact(v), "ifsc": str.upper, "cnic": lambda v: cnic.compact(v),
          "in_account": _compact, "kr_account": lambda v: v.replace(" ", ""),
          "bank_account": _compact, "in_mobile": _compact, "pk_mobile": _compact}


def clean_fields(m: Method, values: dict, *, payout: bool | None = None) -> dict[str, str]:
    """The method's fields from ``values``, stripped and in their compact form (IBAN
    without spaces, IFSC upper-case, ...), ready for the gateway's ``data``. Validate
    first: this does not check."""
    payout = (not m.payin) if payout is None else payout
    out = {}
    for f in m.fields_for(payout):
        value = _value(values, f.name)
        if value:
            try:
                out[f.name] = _CLEAN.get(f.validator, str)(value)
            except ValidationError:
                out[f.name] = value
    return out


def missing_fields(m: Method, values: dict) -> list[Field]:
    """The method's pay-in fields that ``values`` (the request's ``data``) lacks or has a
    value the method refuses: the only ones a customer is asked for (on the payment page
    and a direct link's page); the rest of ``data`` stands as the merchant sent it."""
    errors = validate_fields(m, values, payout=False)
    return [f for f in m.fields_for(payout=False) if f.name in errors]
