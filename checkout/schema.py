"""The store's schema revision at start, read without Alembic.

A web worker needs Alembic (some 10 MB of a worker's memory, with Mako and its
dependencies) only when its database is not at the code's revision: to upgrade it (a
sandbox) or to say why it refuses to start (production). So at start (:func:`init_app`)
the database's revision is read here with plain SQLAlchemy, and the code's from the
scripts' ``revision`` lines; only when they differ, or cannot be told apart this way,
does :mod:`checkout.migrations` (Alembic) do what it always did. The ``flask db``
commands import it themselves (checkout/cli.py).

Also here: which ``flask`` command is loading the app (``db`` commands neither upgrade
nor refuse a database that is behind: they are how it catches up)."""
from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import click
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import Engine, inspect, text

from .store import reader

#: Alembic's scripts (checkout/migrations/versions) and its table of the revision.
VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
VERSION_TABLE = "alembic_version"
_REVISION = re.compile(r"""^revision\s*=\s*["']([^"']+)["']\s*$""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision\s*=\s*(?:None|["']([^"']+)["'])\s*$""", re.M)


@lru_cache(maxsize=1)
def head() -> str | None:
    """The code's revision as the scripts' ``revision``/``down_revision`` lines say: the
    one revision no other revises; None when a script does not say it in one plain line,
    or the scripts have several heads (then only Alembic can tell)."""
    revisions, revised = set(), set()
    for script in sorted(VERSIONS.glob("*.py")):
        if script.name == "__init__.py":
            continue
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(source), _DOWN_REVISION.findall(source)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0])
        revised.add(down[0])
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def current(engine: Engine) -> str | None:
    """The database's revision when it has exactly one (what Alembic reads); None when it
    has none or several."""
    with reader(engine).connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def at_head(engine: Engine) -> bool:
    """True when the database is at the code's revision, known without Alembic; False
    when it is not, or when only Alembic can tell."""
    needed = head()
    return needed is not None and current(engine) == needed


_FLASK_VALUE_OPTIONS = ("-A", "--app", "-e", "--env-file")


def _flask_command(args: Sequence[str]) -> str | None:
    """The command word of a ``flask [OPTIONS] COMMAND ...`` command line."""
    words = iter(args)
    for word in words:
        if word in _FLASK_VALUE_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def flask_command() -> str | None:
    """The ``flask`` command the app is being loaded for (``run``, ``worker``, ``db``...),
    or None when no ``flask`` command line loads it (gunicorn, tests)."""
    context = click.get_current_context(silent=True)
    if context is None or context.find_object(ScriptInfo) is None:
        return None
    return _flask_command(sys.argv[1:])


def loading_for_db_command() -> bool:
    """True while the ``flask`` command line loads the app to run ``flask ... db ...``.
    Those commands must work on a database that is behind (they are how it catches up)
    and show it as it is, so the app neither refuses it nor upgrades it by itself then.
    The Flask CLI calls the factory with no arguments, so the command line is the only
    place that says which command is coming."""
    return flask_command() == "db"


def init_app(app: Flask) -> None:
    """At start: the sandbox upgrades its database; production refuses one that is not at
    head (:class:`~checkout.config.ConfigError` naming ``flask --app checkout db upgrade``)."""
    engine = app.extensions["checkout.store"].engine
    if loading_for_db_command():
        return
    if not at_head(engine):
        # Imported here, not at the top: Alembic stays out of a worker whose database is
        # at head (the module's note). checkout.migrations does not import this module.
        from . import migrations
        if app.config["MODE"] == "sandbox":
            migrations.upgrade(engine)
        else:
            migrations.require_head(engine)
    # No connection stays open in the pool: a server that forks its workers after
    # create_app (gunicorn's preload_app) must not hand one connection to all of them.
    engine.dispose()
