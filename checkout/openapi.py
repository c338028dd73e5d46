"""The OpenAPI document of the merchant API, served at ``/openapi.json``. Hand-written:
it is a contract, so it changes only on purpose (tests/test_openapi.py runs schemathesis
against it)."""
from __future__ import annotations

import copy

from .i18n import LOCALES

URL = {"type": "string", "maxLength": 2000, "pattern": "^https?://",
       "description": "http(s) URL; on the merchant's redirect hosts when it has any"}

#: The one text rule (checkout.textrules) every free text of a request follows.
TEXT_RULE = ("Text: no control characters or line breaks, no bidirectional embedding, override or isolate "
             "characters, no invisible formatting characters (zero width space, BOM, soft hyphen ...; ZWJ and "
             "ZWNJ are fine), no lone surrogates or noncharacters. Kept as sent (not normalised). The same rule "
             "for invoiceId, accountId, every data value and the customer's fields.")

CHECKOUT_PROPERTIES: dict = {
    "amount": {"description": "Greater than 0, with no more decimals than the currency has "
                              "(JPY none, KWD three). A number, or a string of the digits 0-9 with an optional "
                              "\".\" and decimals (no sign, exponent, underscore or spaces).",
               "anyOf": [{"type": "number", "exclusiveMinimum": True, "minimum": 0},
                         {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}],
               "example": 10.66},
    "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$", "description": "ISO 4217 code",
                 "example": "USD"},
    "description": {"type": "string", "maxLength": 255, "example": "Payment for products",
                    "description": TEXT_RULE},
    "invoiceId": {"anyOf": [{"type": "string", "maxLength": 64}, {"type": "integer"}], "example": "990022"},
    "accountId": {"anyOf": [{"type": "string", "maxLength": 255}, {"type": "integer"}],
                  "example": "john@doe.com"},
    "successUrl": {**URL, "example": "https://example.com/success"},
    "failureUrl": {**URL, "example": "https://example.com/failure"},
    "pendingUrl": {**URL, "example": "https://example.com/pending"},
    "cancelUrl": {**URL, "example": "https://example.com/cancel"},
    "locale": {"type": "string", "example": "en_US", "x-locales": list(LOCALES),
               "description": "The page's language: one of x-locales (the 50 locales the checkout has pages "
                              "in), as POSIX (pt_BR), BCP 47 (pt-BR) or a bare language (pt), in any case. "
                              "Absent or another: the customer's browser language, else en_US (never an error)"},
    "ip": {"type": "string", "description": "The payer's IPv4 or IPv6 address", "example": "10.20.30.40"},
    "data": {"type": "object", "maxProperties": 40,
             "description": "Customer data: names of letters, digits and _ (up to 40 characters), "
                            "values of at most 255 characters",
             "additionalProperties": {"anyOf": [{"type": "string", "maxLength": 255}, {"type": "number"}]},
             "example": {"firstName": "John", "lastName": "Doe"}},
    "page": {"type": "object", "description": "The seed's theme keys (colours, fonts, radius, footerIcons, "
                                              "footerText, fields, ...); every value is checked",
             "example": {"merchantTitle": "Merchant #1", "payButtonColor": "#172650"}},
    "theme": {"type": "string", "description": "A theme preset name", "example": "dark"},
    "expiresIn": {"type": "integer", "minimum": 60, "maximum": 604800,
                  "description": "Seconds the link lives (default 1800)"},
    "notificationUrl": {**URL, "example": "https://example.com/notifications",
                        "description": "Where this checkout's notifications go (default: the merchant's "
                                       "notificationUrl in the merchants file). http(s); on the merchant's "
                                       "redirect hosts when it has any"},
}

#: The events a notification carries.
EVENTS = ["checkout.completed", "checkout.declined", "checkout.pending", "checkout.cancelled", "checkout.expired",
          "payout.pending", "payout.completed", "payout.rejected", "payout.failed"]
#: The states ``GET /checkout/{checkoutId}`` reports.
CHECKOUT_STATES = ["open", "processing", "awaiting_3ds", "pending", "completed", "declined", "cancelled", "expired"]
#: The states of a notification's delivery.
NOTIFICATION_STATES = ["pending", "delivered", "failed"]

_TEXT = {"type": "string", "nullable": True}
_INT = {"type": "integer", "nullable": True}
_TIME = {"type": "string", "description": "ISO 8601, UTC", "example": "2026-12-02T07:16:37Z"}

SCHEMAS: dict = {
    "CheckoutRequest": {
        "type": "object",
        "required": ["amount", "currency", "successUrl", "failureUrl"],
        "properties": {
            **CHECKOUT_PROPERTIES,
            "mode": {"type": "string", "enum": ["payment", "cashier"],
                     "description": "payment (the default): a payment page for amount; cashier: the "
                                    "customer chooses the amount (cashier options) and may withdraw"},
            "cashier": {
                "type": "object", "description": "With mode cashier: the amounts offered and the limits",
                "properties": {
                    "presets": {"type": "array", "maxItems": 8, "items": CHECKOUT_PROPERTIES["amount"],
                                "example": [10, 25, 50]},
                    "min": {**CHECKOUT_PROPERTIES["amount"], "example": 5},
                    "max": {**CHECKOUT_PROPERTIES["amount"], "example": 500},
                    "payouts": {"type": "boolean", "description": "Offer a withdraw tab (merchants that "
                                                                    "allow payouts)"},
                },
            },
        },
    },
    "LinkRequest": {
        "type": "object",
        "description": "The seed's Link request: a checkout for the alternative payment method "
                       "data.paymentTypeId",
        "required": ["amount", "currency", "successUrl", "failureUrl", "data"],
        "properties": {
            **CHECKOUT_PROPERTIES,
            "data": {**CHECKOUT_PROPERTIES["data"],
                     "required": ["paymentTypeId"],
                     "properties": {"paymentTypeId": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}},
                     "example": {"firstName": "John", "lastName": "Doe", "paymentTypeId": 1}},
            "mode": {"type": "string", "enum": ["apm"]},
        },
    },
    "LinkAnswer": {
        "type": "object",
        "required": ["success", "message", "model", "link"],
        "properties": {
            "success": {"type": "boolean", "enum": [True]},
            "message": {"type": "string", "nullable": True},
            "model": {"type": "object", "required": ["checkoutId", "expiresAt"],
                      "properties": {"checkoutId": {"type": "string", "description": "GET /checkout/{checkoutId}"},
                                     "expiresAt": {**_TIME, "description": "When the link expires (ISO 8601, "
                                                                           "UTC)"}}},
            "link": {"type": "object", "required": ["method", "action"],
                     "properties": {"method": {"type": "string", "enum": ["get"]},
                                    "action": {"type": "string", "pattern": "^https?://"}}},
        },
    },
    "PayoutRequest": {
        "type": "object",
        "description": "The OMNO create-payout request: the customer then says where the money goes "
                       "on iframeUrls.card or iframeUrls.apm",
        "required": ["amount", "currency", "customer"],
        "properties": {
            "amount": CHECKOUT_PROPERTIES["amount"],
            "currency": CHECKOUT_PROPERTIES["currency"],
            "orderId": {"type": "string", "maxLength": 64, "description": "The merchant's id (or externalId, "
                                                                          "invoiceId): one payout per id"},
            "description": {"type": "string", "maxLength": 255},
            "locale": CHECKOUT_PROPERTIES["locale"],
            "kycVerified": {"type": "boolean"},
            "successUrl": URL, "failureUrl": URL,
            "expiresIn": CHECKOUT_PROPERTIES["expiresIn"],
            "customer": {
                "type": "object", "required": ["externalUserId", "firstName", "lastName"],
                "properties": {
                    "externalUserId": {"type": "string", "maxLength": 128},
                    "firstName": {"type": "string", "maxLength": 100},
                    "lastName": {"type": "string", "maxLength": 100},
                    "email": {"type": "string", "maxLength": 254},
                    "phoneNumber": {"type": "string", "maxLength": 32},
                    "dateOfBirth": {"type": "string", "description": "YYYY-MM-DD"},
                    "kycVerified": {"type": "boolean"},
                    "billing": {"type": "object", "properties": {
                        "address": {"type": "string"}, "city": {"type": "string"}, "state": {"type": "string"},
                        "countryCode": {"type": "string", "description": "ISO 3166-1 alpha-2"},
                        "postalCode": {"type": "string"}}},
                },
            },
        },
    },
    "PayoutCreated": {
        "type": "object", "required": ["success", "payoutId", "status", "iframeUrls"],
        "properties": {
            "success": {"type": "boolean", "enum": [True]},
            "message": {"type": "string", "nullable": True},
            "payoutId": {"type": "string"},
            "status": {"$ref": "#/components/schemas/PayoutStatus"},
            "iframeUrls": {"type": "object", "required": ["card", "apm"],
                           "properties": {"card": {"type": "string"}, "apm": {"type": "string"}}},
            "expiresAt": {"type": "string", "description": "ISO 8601, UTC"},
        },
    },
    "PayoutStatus": {"type": "string", "enum": ["CREATED", "WAITING_FOR_CONFIRMATION", "PENDING", "PROCESSED",
                                                "REJECTED", "FAILED"]},
    "Payout": {
        "type": "object", "required": ["success", "payoutId", "status"],
        "properties": {"success": {"type": "boolean", "enum": [True]}, "payoutId": {"type": "string"},
                       "status": {"$ref": "#/components/schemas/PayoutStatus"}},
        "description": "Also amount, currency, orderId, customer, method, paymentTypeId, destination "
                       "(masked), transactionId, gatewayStatus, statusCode, reasonCode, reason, createdAt, "
                       "updatedAt",
    },
    "CheckoutState": {
        "type": "string", "enum": CHECKOUT_STATES,
        "description": "open: may be paid (also after a decline while tries are left); processing: a charge "
                       "is in flight; awaiting_3ds: at the customer's bank; pending: the gateway has not "
                       "decided; completed; declined: no tries left; cancelled; expired",
    },
    "Checkout": {
        "type": "object", "description": "Where a checkout stands",
        "required": ["checkoutId", "state", "status", "statusCode", "transactionId", "amount", "currency",
                     "invoiceId", "accountId", "reason", "reasonCode", "attempts", "declines", "createdAt",
                     "updatedAt", "expiresAt"],
        "properties": {
            "checkoutId": {"type": "string"},
            "state": {"$ref": "#/components/schemas/CheckoutState"},
            "status": {**_TEXT, "description": "The gateway's Transaction Status (Completed, Declined, ...)"},
            "statusCode": {**_INT, "description": "Its code (4 Completed, 99 Declined, ...)"},
            "transactionId": {"anyOf": [{"type": "integer"}, {"type": "string"}], "nullable": True,
                              "description": "The gateway's transaction of the latest attempt (an integer, "
                                             "as the seed writes it, when the gateway's id is one)"},
            "amount": {"type": "number"},
            "currency": {"type": "string"},
            "invoiceId": _TEXT, "accountId": _TEXT, "reason": _TEXT, "reasonCode": _INT,
            "attempts": {"type": "integer", "description": "Charges tried"},
            "declines": {"type": "integer"},
            "createdAt": _TIME, "updatedAt": _TIME,
            "expiresAt": {**_TIME, "nullable": True},
        },
    },
    "CheckoutAnswer": {
        "type": "object", "required": ["success", "message", "model"],
        "properties": {"success": {"type": "boolean", "enum": [True]}, "message": _TEXT,
                       "model": {"$ref": "#/components/schemas/Checkout"}},
    },
    "CheckoutList": {
        "type": "object", "required": ["success", "message", "checkouts"],
        "properties": {"success": {"type": "boolean", "enum": [True]}, "message": _TEXT,
                       "checkouts": {"type": "array", "maxItems": 100,
                                     "items": {"$ref": "#/components/schemas/Checkout"},
                                     "description": "Newest first (at most 100)"}},
    },
    "ExpireRefused": {
        "type": "object", "required": ["success", "message", "model"],
        "properties": {"success": {"type": "boolean", "enum": [False]},
                       "message": {"type": "string", "example": "This checkout is completed: it cannot be expired"},
                       "model": {"$ref": "#/components/schemas/Checkout"}},
    },
    "Notification": {
        "type": "object",
        "description": "What the merchant's server is told: a POST of this JSON to the checkout's "
                       "notificationUrl (else the merchant's, in the merchants file; payouts: the merchant's), "
                       "once per outcome. The seed's notification fields (Payment or Payout Success and "
                       "Failure) plus checkoutId (or payoutId and payoutStatus), event and notificationId. "
                       "Signed over the raw body: Content-HMAC (base64 of the hex HMAC-SHA256, key = the "
                       "merchant's secret) and the Standard Webhooks headers webhook-id (= notificationId, the "
                       "same on every retry), webhook-timestamp (Unix seconds of this attempt) and "
                       "webhook-signature (v1,<base64 of the HMAC-SHA256 of \"id.timestamp.body\">, key = "
                       "the secret's UTF-8 bytes). Confirmed by HTTP 2xx with {\"code\":0} within "
                       "NOTIFY_TIMEOUT (15 s); else tried again after each delay of NOTIFY_SCHEDULE (10s, 1m, "
                       "5m, 30m, 2h, 6h, 12h, 24h, 24h, 24h; a longer Retry-After is honoured, up to a day), "
                       "then failed (GET /notifications?state=failed).",
        "required": ["event", "notificationId", "amount", "currency", "dateTime", "operationTypeCode",
                     "operationType", "status", "statusCode"],
        "properties": {
            "event": {"type": "string", "enum": EVENTS,
                      "description": "checkout.declined only once no tries are left (a direct link: the "
                                     "first decline); checkout.pending once per attempt that goes pending"},
            "notificationId": {"type": "string", "example": "ntf_8b1f0c0e5b0d4c5e9a0e1d2c3b4a5f60",
                               "description": "The same on every retry: do the work once per id"},
            "checkoutId": {"type": "string", "description": "Checkouts' events"},
            "payoutId": {"type": "string", "description": "Payouts' events"},
            "payoutStatus": {"$ref": "#/components/schemas/PayoutStatus"},
            "transactionId": {"anyOf": [{"type": "integer"}, {"type": "string"}], "nullable": True},
            "amount": {"type": "number", "example": 10.66},
            "currency": {"type": "string", "example": "USD"},
            "dateTime": _TIME,
            "invoiceId": _TEXT, "accountId": _TEXT,
            "operationTypeCode": {"type": "integer", "enum": [1, 3, 4],
                                  "description": "1 Payment, 3 CardPayout, 4 ApmPayout"},
            "operationType": {"type": "string", "enum": ["Payment", "CardPayout", "ApmPayout"]},
            "status": {"type": "string", "nullable": True, "example": "Completed"},
            "statusCode": {"type": "integer", "nullable": True, "example": 4},
            "cardFirstSix": _TEXT, "cardLastFour": _TEXT, "cardType": _TEXT, "cardExpDate": _TEXT,
            "name": _TEXT, "token": {**_TEXT, "description": "The saved card's token (checkouts with accountId)"},
            "reason": _TEXT, "reasonCode": _INT,
        },
    },
    "PaymentCheck": {
        "type": "object",
        "description": "The seed's Payment Check: POSTed to the merchant's checkUrl (merchants file) before "
                       "each charge, signed as notifications are (webhook-id chk_...). {\"code\":0} within "
                       "CHECK_TIMEOUT (10 s) lets the charge go on; anything else refuses it, nothing charged.",
        "required": ["checkoutId", "amount", "currency", "status", "statusCode"],
        "properties": {
            "checkoutId": {"type": "string"},
            "transactionId": {"type": "integer", "nullable": True, "description": "null: nothing is charged yet"},
            "amount": {"type": "number"}, "currency": {"type": "string"}, "dateTime": _TIME,
            "invoiceId": _TEXT, "accountId": _TEXT, "name": _TEXT,
            "operationTypeCode": {"type": "integer", "enum": [1]},
            "operationType": {"type": "string", "enum": ["Payment"]},
            "cardFirstSix": _TEXT, "cardLastFour": _TEXT, "cardType": _TEXT, "cardExpDate": _TEXT,
            "status": {"type": "string", "enum": ["Created"]}, "statusCode": {"type": "integer", "enum": [10]},
        },
    },
    "Confirmation": {
        "type": "object", "required": ["code"],
        "properties": {"code": {"type": "integer", "enum": [0]}},
        "description": "The seed's confirmation: {\"code\":0}",
    },
    "Attempt": {
        "type": "object", "required": ["at", "httpStatus", "answer", "error"],
        "properties": {"at": _TIME, "httpStatus": _INT,
                       "answer": {**_TEXT, "description": "The first 200 characters of the merchant's answer"},
                       "error": {**_TEXT, "description": "Why it did not count (null: confirmed)"}},
    },
    "NotificationDelivery": {
        "type": "object", "description": "A notification and its delivery",
        "required": ["notificationId", "event", "subject", "state", "url", "attempts", "createdAt",
                     "nextAttemptAt", "deliveredAt", "body"],
        "properties": {
            "notificationId": {"type": "string"},
            "event": {"type": "string", "enum": EVENTS},
            "subject": {"type": "string", "description": "The checkoutId or payoutId"},
            "state": {"type": "string", "enum": NOTIFICATION_STATES},
            "url": {"type": "string"},
            "attempts": {"type": "integer"},
            "createdAt": _TIME,
            "nextAttemptAt": {**_TIME, "nullable": True, "description": "While pending"},
            "deliveredAt": {**_TIME, "nullable": True},
            "body": {"$ref": "#/components/schemas/Notification"},
            "attemptLog": {"type": "array", "items": {"$ref": "#/components/schemas/Attempt"}},
        },
    },
    "NotificationList": {
        "type": "object", "required": ["success", "message", "notifications"],
        "properties": {"success": {"type": "boolean", "enum": [True]}, "message": _TEXT,
                       "notifications": {"type": "array", "maxItems": 100,
                                         "items": {"$ref": "#/components/schemas/NotificationDelivery"},
                                         "description": "Newest first (at most 100)"}},
    },
    "GatewayNotification": {
        "type": "object",
        "description": "The gateway's own notification (the seed's Notifications): transactionId, invoiceId, "
                       "status, statusCode, ...; paymentTransactionId marks a refund's. Its status is not "
                       "trusted: the checkout it is about is settled by asking the gateway.",
        "properties": {"transactionId": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                       "invoiceId": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                       "paymentTransactionId": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                       "status": {"type": "string"}, "statusCode": {"type": "integer"}},
    },
    "GatewayAnswer": {
        "type": "object", "required": ["code"],
        "properties": {"code": {"type": "integer", "enum": [0, 1, 2],
                                "description": "0 confirmed; 1 Content-HMAC does not match; 2 not a JSON object"},
                       "message": {"type": "string"}},
    },
    "Error": {
        "type": "object",
        "required": ["success", "message"],
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "message": {"type": "string", "example": "amount: USD allows at most 2 decimals"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "What is wrong, by field (nested fields as data.x, page.x)"},
        },
    },
}


def _error(description: str, headers: dict | None = None) -> dict:
    response = {"description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if headers:
        response["headers"] = headers
    return response


def _html(description: str) -> dict:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _link_operation(summary: str, request_schema: str, description: str) -> dict:
    return {
        "summary": summary,
        "description": description,
        "security": [{"basicAuth": []}],
        "parameters": [{"$ref": "#/components/parameters/ContentHMAC"},
                       {"$ref": "#/components/parameters/IdempotencyKey"}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{request_schema}"}}}},
        "responses": {
            "200": {"description": "The link", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/LinkAnswer"}}}},
            "400": _error("Bad input: not JSON, or a field is wrong (errors names each)"),
            "401": _error("Bad credentials, or a Content-HMAC that does not match the body",
                          {"WWW-Authenticate": {"schema": {"type": "string"}}}),
            "409": _error("This Idempotency-Key was used with another body"),
            "413": _error("The body is larger than 64 KiB"),
            "415": _error("The body is not sent as application/json"),
        },
        "callbacks": {"notification": {"$ref": "#/components/callbacks/Notification"},
                      "paymentCheck": {"$ref": "#/components/callbacks/PaymentCheck"}},
    }


def _json(description: str, schema: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


_PAYOUT_ID = {"name": "payoutId", "in": "path", "required": True, "schema": {"type": "string"}}
_AUTH_ERRORS = {"401": _error("Bad credentials", {"WWW-Authenticate": {"schema": {"type": "string"}}}),
                "404": _error("Not one of this merchant's payouts")}


def _payout_decision(summary: str, description: str) -> dict:
    return {"summary": summary, "description": description, "security": [{"basicAuth": []}],
            "parameters": [_PAYOUT_ID],
            "responses": {"200": _json("The payout's new status", "Payout"), **_AUTH_ERRORS,
                          "409": _error("The payout is not in a status this can change")}}


_CHECKOUT_ID = {"name": "checkoutId", "in": "path", "required": True, "schema": {"type": "string"},
                "description": "The link answer's model.checkoutId"}
_CHECKOUT_ERRORS = {"401": _AUTH_ERRORS["401"], "404": _error("Not one of this merchant's checkouts")}

#: The headers every call to the merchant's server carries (notifications, Payment Check).
_SIGNATURE_HEADERS = [
    {"name": "Content-HMAC", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "base64 of the hex HMAC-SHA256 of the raw body, keyed by the merchant's secret"},
    {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "The notificationId: the same on every retry"},
    {"name": "webhook-timestamp", "in": "header", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"},
     "description": "Unix seconds of this attempt (refuse one far from your clock: 5 minutes)"},
    {"name": "webhook-signature", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Standard Webhooks: v1,<base64 of the HMAC-SHA256 of \"webhook-id.webhook-timestamp.body\">, "
                    "keyed by the merchant's secret as UTF-8 bytes (the specification's libraries take it as "
                    "base64(secret))"},
]


def _merchant_call(summary: str, description: str, schema: str) -> dict:
    """A POST this server makes to the merchant's server (a callback, a webhook)."""
    return {"post": {
        "summary": summary, "description": description, "parameters": _SIGNATURE_HEADERS,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{schema}"}}}},
        "responses": {
            "200": _json("Confirmed (any 2xx with this body)", "Confirmation"),
            "default": {"description": "Anything else, or no answer in time: not confirmed"},
        },
    }}


_NOTIFICATION = _merchant_call(
    "A notification to the merchant's server",
    "Sent by the worker for every outcome; retried until confirmed (see the Notification schema).",
    "Notification")
_PAYMENT_CHECK = _merchant_call(
    "The Payment Check (merchants with checkUrl)",
    "Before each charge; not confirmed: the charge is refused and nothing is charged.", "PaymentCheck")

_REDIRECT_PARAMETERS = [
    {"name": "publicId", "in": "path", "required": True, "schema": {"type": "string"}},
    *({"name": name, "in": "query", "required": name in ("amount", "currency", "successUrl", "failureUrl"),
       "schema": {"type": "string"}} for name in
      ("amount", "description", "currency", "invoiceId", "accountId", "successUrl", "failureUrl",
       "pendingUrl", "cancelUrl", "locale")),
    {"name": "signature", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "base64(hex(HMAC-SHA256(secret, urlencode(sorted(the other parameters))))); "
                    "required unless the merchant allows unsigned redirect links"},
]

_DOCUMENT: dict = {
    "openapi": "3.0.3",
    "info": {
        "title": "Checkout merchant API",
        "version": "1",
        "description": "Create checkout links (card) and APM links; send customers to signed redirect "
                       "links. JSON bodies, HTTP Basic auth publicId:secret. The customer comes back to "
                       "successUrl/failureUrl/pendingUrl/cancelUrl with invoiceId, transactionId, status, "
                       "statusCode, amount, currency, reasonCode, reason, ts and signature. The merchant's "
                       "server is told every outcome (components.schemas.Notification; the callbacks of the "
                       "link operations), and may ask where a checkout stands (GET /checkout/{checkoutId}).",
    },
    "paths": {
        "/checkout/link": {"post": _link_operation(
            "Create a checkout link", "CheckoutRequest",
            "The seed's Checkout request. Answer: link.action is the payment page.")},
        "/payments/link": {"post": _link_operation(
            "Create an APM payment link", "LinkRequest",
            "The seed's Link request. Answer: link.action is a direct link (/d/<token>) that takes "
            "the customer straight to the method data.paymentTypeId.")},
        "/payments/redirect/{publicId}": {"get": {
            "summary": "A redirect link (the seed's Payment via Redirect)",
            "description": "Signed with the merchant's secret in the seed's HMAC form over the other query "
                           "parameters sorted by name and URL-encoded. A valid link makes a checkout and "
                           "redirects the customer to its payment page.",
            "parameters": _REDIRECT_PARAMETERS,
            "responses": {
                "303": {"description": "To the payment page",
                        "headers": {"Location": {"schema": {"type": "string"}}}},
                "400": _html("The parameters are not valid (the page says which)"),
                "403": _html("The signature is missing or wrong: \"This payment link is not valid\""),
                "404": _html("Unknown publicId"),
            },
        }},
        "/payouts": {"post": {
            "summary": "Create a payout (OMNO)",
            "description": "The customer chooses where the money goes on iframeUrls.card (a card) or "
                           "iframeUrls.apm (a bank account or wallet). The same orderId with the same body "
                           "gives the same payout; with another body, 409.",
            "security": [{"basicAuth": []}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/PayoutRequest"}}}},
            "responses": {"200": _json("The payout and its forms", "PayoutCreated"),
                          "400": _error("Bad input (errors names each field)"),
                          "401": _AUTH_ERRORS["401"],
                          "409": _error("This orderId was used for another payout"),
                          "413": _error("The body is larger than 64 KiB"),
                          "415": _error("The body is not sent as application/json")},
        }},
        "/payouts/{payoutId}": {"get": {
            "summary": "A payout's status", "security": [{"basicAuth": []}], "parameters": [_PAYOUT_ID],
            "responses": {"200": _json("The payout", "Payout"), **_AUTH_ERRORS},
        }},
        "/payouts/{payoutId}/confirm": {
            method: _payout_decision("Confirm a payout", "WAITING_FOR_CONFIRMATION -> CREATED: the forms open")
            for method in ("post", "put")},
        "/payouts/{payoutId}/reject": {
            method: _payout_decision("Reject a payout", "WAITING_FOR_CONFIRMATION or CREATED -> REJECTED")
            for method in ("post", "put")},
        "/checkout/{checkoutId}": {"get": {
            "summary": "Where a checkout stands",
            "description": "The merchant's own checkouts only: any other id is 404.",
            "security": [{"basicAuth": []}], "parameters": [_CHECKOUT_ID],
            "responses": {"200": _json("The checkout", "CheckoutAnswer"), **_CHECKOUT_ERRORS},
        }},
        "/checkout": {"get": {
            "summary": "The checkouts of one invoice",
            "description": "Newest first, at most 100.",
            "security": [{"basicAuth": []}],
            "parameters": [{"name": "invoiceId", "in": "query", "required": True, "schema": {"type": "string"},
                            "example": "990022"}],
            "responses": {"200": _json("The invoice's checkouts (none: an empty list)", "CheckoutList"),
                          "400": _error("No invoiceId"), "401": _AUTH_ERRORS["401"]},
        }},
        "/checkout/{checkoutId}/expire": {"post": {
            "summary": "Expire a checkout",
            "description": "An open checkout (or one declined with tries left) can no longer be paid; the "
                           "merchant is told (checkout.expired).",
            "security": [{"basicAuth": []}], "parameters": [_CHECKOUT_ID],
            "responses": {"200": _json("Expired", "CheckoutAnswer"), **_CHECKOUT_ERRORS,
                          "409": _json("In flight or final: nothing changed", "ExpireRefused")},
        }},
        "/notifications": {"get": {
            "summary": "The merchant's notifications and their delivery",
            "description": "Newest first, at most 100, each with every attempt. state=failed: those never "
                           "confirmed (flask --app checkout notifications resend ID sends one again).",
            "security": [{"basicAuth": []}],
            "parameters": [{"name": "state", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": NOTIFICATION_STATES}}],
            "responses": {"200": _json("The notifications", "NotificationList"),
                          "400": _error("state is not one of pending, delivered, failed"),
                          "401": _AUTH_ERRORS["401"]},
        }},
        "/gateway/notifications/{publicId}": {"post": {
            "summary": "The gateway's own notifications",
            "description": "The address to set at the gateway for the merchant publicId. Verified by its "
                           "Content-HMAC with the merchant's gateway secret (no Basic auth); the checkout it "
                           "is about is settled at once, by asking the gateway.",
            "parameters": [{"name": "publicId", "in": "path", "required": True, "schema": {"type": "string"},
                            "example": "pbid_test"},
                           {"name": "Content-HMAC", "in": "header", "required": True, "schema": {"type": "string"},
                            "description": "base64 of the hex HMAC-SHA256 of the body, keyed by the "
                                           "merchant's gateway secret"}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/GatewayNotification"}}}},
            "responses": {"200": _json("Confirmed: {\"code\":0}", "GatewayAnswer"),
                          "400": _json("Not a JSON object: {\"code\":2}", "GatewayAnswer"),
                          "401": _json("Unknown publicId, or a Content-HMAC that does not match: {\"code\":1}",
                                       "GatewayAnswer")},
        }},
    },
    # OpenAPI 3.0 has no webhooks section (3.1's `webhooks`): the calls to the merchant's
    # server are callbacks of the link operations (components.callbacks), and here too
    # for the tools that read this extension.
    "x-webhooks": {"notification": _NOTIFICATION, "paymentCheck": _PAYMENT_CHECK},
    "components": {
        "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic",
                                          "description": "publicId as the user name, the API secret as "
                                                         "the password"}},
        "parameters": {
            "ContentHMAC": {"name": "Content-HMAC", "in": "header", "required": False,
                            "schema": {"type": "string"},
                            "description": "base64 of the hex HMAC-SHA256 of the body, keyed by the secret. "
                                           "Verified when sent; required when the merchant is configured "
                                           "with requireHmac."},
            "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": False,
                               "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                                          "pattern": "^[ -~]+$"},
                               "description": "The same key and body return the same link; the same key "
                                              "with another body is a 409."},
        },
        "schemas": SCHEMAS,
        "callbacks": {
            # The checkout's notificationUrl, else the merchant's (merchants file).
            "Notification": {"{$request.body#/notificationUrl}": _NOTIFICATION},
            # The merchant's checkUrl (merchants file): no request field names it.
            "PaymentCheck": {"https://merchant.example/checkUrl": _PAYMENT_CHECK},
        },
    },
}


def document(server_url: str) -> dict:
    doc = copy.deepcopy(_DOCUMENT)
    doc["servers"] = [{"url": server_url}]
    return doc
