"""``flask --app checkout ...`` commands."""
from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import store as st
from . import themes
from .flows import notify, worker
from .links import RequestError, create_link
from .pci import pci_cli

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


themes_cli = AppGroup("themes", help="Theme presets: list them, lint them.")


@themes_cli.command("list")
def themes_list():
    """Print the preset names (themes/*.json)."""
    for name in themes.presets():
        click.echo(name)


@themes_cli.command("lint")
@click.argument("target", required=False, metavar="[NAME|FILE]")
def themes_lint(target):
    """Check a preset NAME or a theme FILE (JSON page keys; the rest from the default
    theme), or every preset: the value grammar, the logo, and the WCAG 2.1 contrast of
    each text colour on its background. Exits 1 when anything fails."""
    if target is None:
        reports = [themes.lint_preset(name) for name in themes.presets()]
    elif themes.preset_path(target) and not target.endswith(".json"):
        reports = [themes.lint_preset(target)]
    elif target.endswith(".json") or "/" in target or Path(target).is_file():
        reports = [themes.lint_file(target)]
    else:
        raise click.UsageError(f"{target!r} is neither a preset ({', '.join(themes.presets())}) nor a file")
    for i, report in enumerate(reports):
        click.echo(("\n" if i else "") + "\n".join(report.report()))
    failed = [r.name for r in reports if not r.ok]
    if len(reports) > 1:
        click.echo(f"\n{len(reports)} themes: {len(reports) - len(failed)} pass"
                   + (f", {len(failed)} fail ({', '.join(failed)})" if failed else ""))
    sys.exit(1 if failed else 0)


db_cli = AppGroup("db", help="The store's schema: Alembic migrations.")


def _engine():
    return current_app.extensions["checkout.store"].engine


def _migrations():
    """:mod:`checkout.migrations`, imported by the ``db`` commands when they run, not with
    this module: it imports Alembic (some 10 MB), which a web worker whose database is at
    head never needs (checkout/schema.py)."""
    from . import migrations
    return migrations


@db_cli.command("upgrade")
def db_upgrade():
    """Apply the migrations up to the newest. Safe on a database in use and from several
    servers at once (they take turns); a database made before the migrations keeps its rows."""
    migrations = _migrations()
    before = migrations.current(_engine())
    after = migrations.upgrade(_engine())
    click.echo(f"database at revision {after} (head)" if before == after
               else f"database upgraded from revision {before or 'none'} to {after} (head)")


@db_cli.command("current")
def db_current():
    """Print the database's revision ("none" when it has none)."""
    click.echo(_migrations().current(_engine()) or "none")


@db_cli.command("check")
def db_check():
    """Exit 1, saying what to run, when the database is not at the code's revision."""
    migrations = _migrations()
    problem = migrations.behind(_engine())
    if problem:
        click.echo(problem, err=True)
        sys.exit(1)
    click.echo(f"database at revision {migrations.head()} (head)")


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the revision does (its file name).")
@click.option("--autogenerate", is_flag=True, help="Draft it from the tables in checkout/store.py.")
def db_revision(message, autogenerate):
    """For developers: write checkout/migrations/versions/NNNN_<message>.py after the head
    (on an upgraded database when --autogenerate); review it before committing."""
    click.echo(_migrations().new_revision(message, autogenerate, _engine()))


@click.command("worker")
@click.option("--once", is_flag=True, help="One round, then exit (what it did is printed).")
@click.option("--interval", type=float, help="Seconds between rounds (default WORKER_INTERVAL).")
def worker_command(once, interval):
    """Deliver the notifications and settle the checkouts nobody is watching. Run one or
    more next to the servers: they share the work through the database."""
    if once:
        done = worker.run_round(worker.worker_id())
        click.echo(f"notified {done.notified}, settled {done.settled}, expired {done.expired}, "
                   f"gateway notices {done.gateway_notices}")
        return
    stop = threading.Event()
    click.echo("worker running; Ctrl+C stops it", err=True)
    try:
        worker.run(current_app._get_current_object(), stop, interval)
    except KeyboardInterrupt:
        stop.set()


notifications_cli = AppGroup("notifications", help="Notifications to the merchants: list, show, resend.")


@notifications_cli.command("list")
@click.option("--state", type=click.Choice(st.NOTIFICATION_STATES), help="Only those in this state.")
@click.option("--merchant", help="Only this merchant's (publicId).")
@click.option("--limit", type=int, default=50, show_default=True)
def notifications_list(state, merchant, limit):
    """One line per notification, newest first: id, state, attempts, event, subject, last answer."""
    found = notify.outbox().of(merchant=merchant, state=state, limit=limit)
    for n in found:
        last = notify.outbox().attempts(n.id)[-1:] or [None]
        answer = (f"HTTP {last[0].http_status}" if last[0] and last[0].http_status else
                  (last[0].error if last[0] else "not tried yet"))
        click.echo(f"{n.id}  {n.state:9}  {n.attempts:2} tries  {n.event:20}  {n.subject}  {n.merchant}  {answer}")
    if not found:
        click.echo("no notifications" + (f" in state {state}" if state else ""), err=True)


@notifications_cli.command("show")
@click.argument("notification_id")
def notifications_show(notification_id):
    """A notification's body and every attempt (JSON)."""
    n = notify.outbox().get(notification_id)
    if n is None:
        raise click.UsageError(f"no notification {notification_id!r}")
    click.echo(json.dumps(notify.as_json(n, notify.outbox().attempts(n.id)), indent=2, ensure_ascii=False))


@notifications_cli.command("resend")
@click.argument("notification_id")
def notifications_resend(notification_id):
    """Send a notification again (a failed one, or any): the worker delivers it next,
    with the same notificationId and body, on a fresh schedule."""
    if not notify.resend(notification_id):
        raise click.UsageError(f"no notification {notification_id!r}")
    click.echo(f"{notification_id} will be sent again")


def init_app(app: Flask) -> None:
    app.cli.add_command(link_cli)
    app.cli.add_command(themes_cli)
    app.cli.add_command(db_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(pci_cli)
