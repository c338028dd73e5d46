"""The OpenAPI document of the merchant API, served at ``/openapi.json``. Hand-written:
it is a contract, so it changes only on purpose (tests/test_openapi.py runs schemathesis
against it)."""
from __future__ import annotations

import copy

URL = {"type": "string", "maxLength": 2000, "pattern": "^https?://",
       "description": "http(s) URL; on the merchant's redirect hosts when it has any"}

CHECKOUT_PROPERTIES: dict = {
    "amount": {"description": "Greater than 0, with no more decimals than the currency has "
                              "(JPY none, KWD three). A number or a decimal string.",
               "anyOf": [{"type": "number", "exclusiveMinimum": True, "minimum": 0},
                         {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*$"}],
               "example": 10.66},
    "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$", "description": "ISO 4217 code",
                 "example": "USD"},
    "description": {"type": "string", "maxLength": 255, "example": "Payment for products"},
    "invoiceId": {"anyOf": [{"type": "string", "maxLength": 64}, {"type": "integer"}], "example": "990022"},
    "accountId": {"anyOf": [{"type": "string", "maxLength": 255}, {"type": "integer"}],
                  "example": "john@doe.com"},
    "successUrl": {**URL, "example": "https://example.com/success"},
    "failureUrl": {**URL, "example": "https://example.com/failure"},
    "pendingUrl": {**URL, "example": "https://example.com/pending"},
    "cancelUrl": {**URL, "example": "https://example.com/cancel"},
    "locale": {"type": "string", "example": "en_US",
               "description": "en_US or ru_RU; absent or another: the customer's browser language, else en_US"},
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
}

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
            "model": {"type": "object"},
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
                       "statusCode, amount, currency, reasonCode, reason, ts and signature.",
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
    },
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
    },
}


def document(server_url: str) -> dict:
    doc = copy.deepcopy(_DOCUMENT)
    doc["servers"] = [{"url": server_url}]
    return doc
