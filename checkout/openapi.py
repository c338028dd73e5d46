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
    "locale": {"type": "string", "description": "en_US or ru_RU; others fall back to en_US",
               "example": "en_US"},
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
        "properties": {**CHECKOUT_PROPERTIES, "mode": {"type": "string", "enum": ["payment"]}},
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
