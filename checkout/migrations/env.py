"""Alembic's environment: the store's tables on the connection ``checkout.migrations``
hands over (inside its transaction and lock), or on ``sqlalchemy.url`` when none is."""
from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from checkout.store import make_engine, metadata


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")  # SQLite's ALTER is limited
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _migrate(connection)
    finally:
        engine.dispose()


run()
