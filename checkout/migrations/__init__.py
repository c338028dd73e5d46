"""Alembic migrations of the checkout store, configured in code (no ``alembic.ini``):
the scripts are this package's ``versions/``, the database is the app's engine.

At start (:func:`checkout.schema.init_app`, which imports this module only when the
database is not at head: Alembic is some 10 MB of a worker) a sandbox upgrades its
database by itself; production refuses to start on a database that is behind (or ahead
of) the code and names the command to run. Upgrades are serialised, so several servers
or gunicorn workers starting at once against one database take turns: on PostgreSQL
under an advisory lock, on SQLite inside one ``BEGIN IMMEDIATE`` transaction (the
file's write lock), and the whole upgrade, version row included, commits or rolls back
as one.

A database made before the migrations (the tables made by ``CREATE TABLE IF NOT
EXISTS`` at start, no ``alembic_version``) upgrades with its rows kept: the first
revision is that schema, written ``IF NOT EXISTS`` too, so on such a file it only adds
what is missing and records the revision."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text

from ..config import ConfigError
from ..store import reader

HERE = Path(__file__).resolve().parent
#: The PostgreSQL advisory lock that serialises upgrades (any constant all servers share).
LOCK_KEY = 0x636B6F7574  # "ckout"
UPGRADE_COMMAND = "flask --app checkout db upgrade"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for this package; with ``connection``, env.py migrates on
    it (inside the caller's transaction) and ``sqlalchemy.url`` says which database it is."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if connection is not None:
        url = connection.engine.url.render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        cfg.attributes["connection"] = connection
    return cfg


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The revision the code needs."""
    return scripts().get_current_head()


def current(engine: Engine) -> str | None:
    """The database's revision; None when it has none (empty, or made before the migrations)."""
    with reader(engine).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Apply the migrations up to ``revision``; the revision the database is then at.
    Safe to run from several processes at once (they take turns; see the module's note)."""
    with engine.begin() as connection:  # on SQLite: BEGIN IMMEDIATE, held to the commit
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        command.upgrade(alembic_config(connection), revision)
        return MigrationContext.configure(connection).get_current_revision()


def behind(engine: Engine) -> str | None:
    """Why the database does not fit the code (behind, or at a revision this code does not
    know), naming what to do; None when it is at head."""
    at, needed = current(engine), head()
    if at == needed:
        return None
    try:
        known = at is None or scripts().get_revision(at) is not None
    except CommandError:
        known = False
    if not known:
        return (f"the database is at revision {at}, which this code does not know (newer code migrated it): "
                f"run that code, or a database made for this one")
    return f"the database is at revision {at or 'none'}, the code needs {needed}: run `{UPGRADE_COMMAND}`"


def require_head(engine: Engine) -> None:
    """Raise :class:`ConfigError` unless the database is at the code's revision."""
    problem = behind(engine)
    if problem:
        raise ConfigError(problem)


def new_revision(message: str, autogenerate: bool, engine: Engine) -> str:
    """Write ``versions/NNNN_<message>.py`` after the head (for developers); its path."""
    number = f"{int(head()) + 1:04d}"
    with engine.begin() as connection:
        script = command.revision(alembic_config(connection), message=message, autogenerate=autogenerate,
                                  rev_id=number)
    return script.path
