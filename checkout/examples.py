"""The seed's "Checkout request example" (the OdeonPay document), word for word: what the
tests, the benchmarks and the documentation's examples send as a merchant would."""
from __future__ import annotations

SEED_CHECKOUT_REQUEST = {
    "amount": 10.66, "currency": "USD", "description": "Payment for products", "invoiceId": "990022",
    "accountId": "john@doe.com", "successUrl": "https://example.com/success",
    "failureUrl": "https://example.com/failure", "pendingUrl": "https://example.com/pending",
    "cancelUrl": "https://example.com/cancel", "locale": "en_US", "ip": "10.20.30.40",
    "data": {"firstName": "John", "lastName": "Doe"},
    "page": {
        "logo": "merchant-logo", "leftContainerBackgroundColor": "#172650", "merchantTitle": "Merchant #1",
        "priceHeadingColor": "#fff", "backLinkColor": "#5D6784", "backLinkHoverColor": "#fff",
        "bodyFont": "BlinkMacSystemFont, Segoe UI, Roboto, Helvetica Neue, Ubuntu, sans-serif",
        "payButtonColor": "#172650", "payButtonTextColor": "#9b8a8a", "payButtonWithPrice": True,
        "rightContainerBackgroundColor": "#fff", "rightContainerHeadingColor": "#2E2522",
        "formLabelColor": "#514643", "formErrorColor": "#DC2F2E", "formControlBorderColor": "#e0e0e0",
        "formControlBorderRadius": "6px", "footerColor": "#A2A8B9",
        "footerIcons": ["secure-connection", "verified-by-visa", "mastercard-secure-code", "mir-accept",
                        "american-express", "pci-dss"],
        "footerText": "This is footer text that is displayed",
        "fields": ["email", "phone", "shipping_address", "billing_address"],
    },
}
