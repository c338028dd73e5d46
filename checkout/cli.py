"""``flask --app checkout ...`` commands."""
from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .links import RequestError, create_link

link_cli = AppGroup("link", help="Checkout links.")


@link_cli.command("create")
@click.option("--merchant", default="pbid_test", show_default=True, help="The merchant's publicId.")
@click.option("--amount", required=True)
@click.option("--currency", required=True)
@click.option("--description", default="")
@click.option("--invoice-id")
@click.option("--account-id")
@click.option("--success-url", default="http://127.0.0.1:5000/demo/result/success", show_default=True)
@click.option("--failure-url", default="http://127.0.0.1:5000/demo/result/failure", show_default=True)
@click.option("--pending-url")
@click.option("--cancel-url")
@click.option("--locale")
@click.option("--theme")
@click.option("--expires-in", type=int, help="Seconds the link stays valid.")
@click.option("--page", "page_json", help="The seed's page object, as JSON.")
@click.option("--data", "data_json", help="The seed's data object, as JSON.")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True,
              help="The base of the printed link (PUBLIC_URL, when set, wins).")
def create(merchant, amount, currency, description, invoice_id, account_id, success_url, failure_url,
           pending_url, cancel_url, locale, theme, expires_in, page_json, data_json, base_url):
    """Print a checkout link for the same input as POST /checkout/link."""
    found = current_app.extensions["checkout.merchants"].get(merchant)
    if found is None:
        raise click.UsageError(f"unknown merchant {merchant!r}")
    body = {"amount": amount, "currency": currency, "description": description, "invoiceId": invoice_id,
            "accountId": account_id, "successUrl": success_url, "failureUrl": failure_url,
            "pendingUrl": pending_url, "cancelUrl": cancel_url, "locale": locale, "theme": theme,
            "expiresIn": expires_in}
    try:
        if page_json:
            body["page"] = json.loads(page_json)
        if data_json:
            body["data"] = json.loads(data_json)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"--page/--data must be JSON: {exc}") from None
    body = {k: v for k, v in body.items() if v is not None}
    with current_app.test_request_context(base_url=base_url):
        try:
            click.echo(create_link(body, found))
        except RequestError as exc:
            for key, reason in exc.errors.items():
                click.echo(f"{key}: {reason}", err=True)
            sys.exit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(link_cli)
