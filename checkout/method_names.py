"""What customers read for each alternative method: a display name per paymentTypeId.

The seed's APM table (``checkout.methods``) keeps its ``name`` exactly as the document
spells it ("Hdfc Bank", "IDFC BANK", "Federal Bank LTD", "Maybank /bii (Support VA
Wallet Only)"): the merchant API, the gateway and the sandbox speak those. This table
is only for showing. Its rules:

* brands are spelled as the brand spells itself (HDFC Bank, ICICI Bank, IndusInd Bank,
  IDFC First Bank, Kotak Mahindra Bank, PhonePe, MobiKwik, Itaú, Pix, VietinBank,
  Kasikornbank), with "of", "and" in lower case and no "Ltd" / "Limited" / "PCL."
  (a legal form tells a customer nothing);
* where a bank's common short name is not its full name, both ("ACB (Asia Commercial
  Bank)"), so a search for either finds it;
* whatever is a word rather than a name goes through gettext: the qualifiers the seed
  puts in a name ("Corporate Net Banking", "(VA)", "(Support VA Wallet Only)",
  "(QR service)") become translatable patterns around the brand, and methods named by
  what they are ("Virtual Banking", "India Bank Selection", "Bank Transfer Payouts")
  become translatable words;
* a row not listed here shows its seed name (it is already right).

Rows that still read the same after this (the seed lists some banks twice: "Federal
Bank" 2016 and "Federal Bank LTD" 2084, "Bradesco Pague Facil" 1004 and 1005) are told
apart by ``checkout.methods.Method.label_for``, from what differs in their rows.
"""
from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


def qr(brand: str) -> LazyString:
    """A bank's or wallet's QR-code service (the seed's "(QR service)" rows)."""
    return _l("%(brand)s QR", brand=brand)


def virtual_account(brand: str) -> LazyString:
    """The seed's "(VA)" rows: the customer pays into a virtual account number."""
    return _l("%(brand)s virtual account", brand=brand)


def virtual_account_wallet(brand: str) -> LazyString:
    """The seed's "(Support VA Wallet Only)" rows: a virtual account paid from a wallet."""
    return _l("%(brand)s virtual account (wallet only)", brand=brand)


def corporate(brand: str) -> LazyString:
    """The seed's "Corporate" net banking rows (for business accounts)."""
    return _l("%(brand)s corporate net banking", brand=brand)


def retail(brand: str) -> LazyString:
    """The seed's "Retail Accounts" net banking row."""
    return _l("%(brand)s retail net banking", brand=brand)


# paymentTypeId -> display name (a str for a brand, a lazy string for words).
# fmt: off
DISPLAY_NAMES: dict[int, str | LazyString] = {
    # test methods (sandbox only): the seed's names, translatable
    1: _l("APM Test Payment"),
    2: _l("APM Test Payout"),
    # Russia
    201: "YooMoney",
    # Brazil
    1000: "Itaú",
    1004: "Bradesco Pague Fácil",
    1005: "Bradesco Pague Fácil",
    1006: "Caixa Econômica Federal",
    1007: "Itaú Boleto",
    4012: "Pix",
    4013: "Boleto Flash Itaú",
    # India: wallets and apps
    2003: "Airtel Money",
    2005: "Freecharge",
    2006: "PhonePe",
    2007: "Amazon Pay",
    2008: "Ola Money",
    2009: "MobiKwik",
    2042: "Paytm",
    2080: qr("UPI"),
    3020: "UPI",
    # India: banks
    2010: "Bank of Maharashtra",
    2011: "Central Bank of India",
    2012: "HDFC Bank",
    2014: "Bank of India",
    2016: "Federal Bank",
    2017: "ICICI Bank",
    2020: "IDBI Bank",  # "Industrial Development Bank Of India": the bank calls itself IDBI Bank
    2021: "IndusInd Bank",
    2022: "Jammu & Kashmir Bank",
    2023: "Karnataka Bank",
    2025: "State Bank of India",
    2027: "Kotak Mahindra Bank",
    2028: "Union Bank of India",
    2029: retail("Bank of Baroda"),
    2032: "UCO Bank",
    2033: "CSB Bank (Catholic Syrian Bank)",
    2035: corporate("Dhanlaxmi Bank"),
    2036: corporate("Lakshmi Vilas Bank"),
    2039: "Punjab & Sind Bank",
    2040: "Saraswat Co-operative Bank",
    2041: "Visa / Mastercard / RuPay",
    2053: "IDFC First Bank",
    2060: _l("Net banking: choose your bank"),
    2083: "Bank of Baroda",
    2084: "Federal Bank",
    2086: "India Post Payments Bank",
    2087: "Jammu & Kashmir Bank",
    2088: "Karnataka Bank",
    2091: "Paytm Payments Bank",
    3021: _l("Bank transfer"),
    # Vietnam
    7003: "ACB (Asia Commercial Bank)",
    7004: "DongA Bank",
    7005: "VietinBank",
    7006: "BIDV",
    7009: "USDT (ERC-20)",
    7010: "USDT (BEP-20)",
    7061: qr("ACB"),
    7062: qr("BIDV"),
    7063: qr("Vietcombank"),
    7064: qr("VietinBank"),
    7065: qr("MoMo"),
    7066: qr("ZaloPay"),
    7067: "ZaloPay",
    7068: qr("VPBank"),
    7069: qr("MB Bank"),
    7070: qr("Techcombank"),
    22011: "VietQR",
    # Thailand
    7011: "Krungthai Bank",
    7012: "SCB (Siam Commercial Bank)",
    7013: "Bangkok Bank",
    7014: "KBank (Kasikornbank)",
    7015: "TMB (Thai Military Bank)",
    7016: "Krungsri (Bank of Ayudhya)",
    7017: "CIMB Thai",
    7018: "GSB (Government Savings Bank)",
    7019: "UOB Thailand",
    7020: "GH Bank (Government Housing Bank)",
    7021: "HSBC Thailand",
    7022: "Standard Chartered Thailand",
    7023: "LH Bank (Land and Houses Bank)",
    7071: "PromptPay QR",  # "Thai QR Payment": the PromptPay QR standard
    7072: "USDT (ERC-20)",
    7073: "USDT (BEP-20)",
    7088: "UOB Thailand",
    7089: "ttb (TMBThanachart Bank)",
    # Indonesia
    7024: "BCA (Bank Central Asia)",
    7025: "BNI (Bank Negara Indonesia)",
    7026: "Bank Mandiri",
    7027: "BRI (Bank Rakyat Indonesia)",
    7028: virtual_account_wallet("Bank Artha Graha"),
    7029: virtual_account_wallet("Bank Bukopin"),
    7030: virtual_account_wallet("Bank Commonwealth"),
    7031: virtual_account_wallet("Bank Danamon"),
    7032: virtual_account_wallet("Bank Mega"),
    7033: virtual_account_wallet("Bank Maspion"),
    7034: virtual_account_wallet("Bank Mestika"),
    7035: virtual_account_wallet("Panin Bank"),
    7036: virtual_account_wallet("Bank Sumut"),
    7037: virtual_account_wallet("Bank Sinarmas"),
    7038: virtual_account_wallet("BTPN"),
    7039: virtual_account_wallet("CIMB Niaga"),
    7040: virtual_account_wallet("HSBC Indonesia"),
    7041: virtual_account_wallet("Maybank Indonesia"),
    7042: virtual_account_wallet("OCBC Indonesia"),
    7043: virtual_account_wallet("PermataBank"),
    7044: virtual_account_wallet("UOB Indonesia"),
    7074: virtual_account("BNI"),
    7075: virtual_account("Bank Mandiri"),
    7076: virtual_account("BRI"),
    7077: virtual_account("Maybank Indonesia"),
    7078: virtual_account("Bank Sahabat Sampoerna"),
    7079: virtual_account("Bank Sinarmas"),
    7080: virtual_account("CIMB Niaga"),
    7081: virtual_account("PermataBank"),
    7082: "USDT (ERC-20)",
    7083: "USDT (BEP-20)",
    # EU
    6000: _l("SEPA Credit Transfer"),
    6001: _l("SEPA bank transfer"),
    # Worldwide
    10100: "Bitcoin (BTC)",
    # South Korea
    50033: _l("Virtual account (bank transfer)"),
}
# fmt: on
