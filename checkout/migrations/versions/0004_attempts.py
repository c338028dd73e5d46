"""The tries to pay, for card-testing limits that cannot be raced: one row per try (card,
saved card, method, crypto quote, direct link), reserved before the gateway is asked,
with its checkout, merchant, client address, the card's keyed fingerprint (never its
number) and its outcome. It replaces ``declines``: each of its rows becomes a declined
try that knows only its address and time.

Revision ID: 0004
Revises: 0003
Created: 2026-12-03"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: Unix seconds: REAL on SQLite, DOUBLE PRECISION on PostgreSQL (its REAL is 4 bytes).
SECONDS = sa.REAL().with_variant(sa.DOUBLE_PRECISION(), "postgresql")
INDEXES = (("attempts_checkout", ["checkout_id", "at"]), ("attempts_ip", ["ip", "at"]),
           ("attempts_fingerprint", ["fingerprint", "at"]), ("attempts_merchant", ["merchant", "unsigned", "at"]))


def upgrade() -> None:
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", SECONDS, nullable=False),
        sa.Column("checkout_id", sa.Text()),
        sa.Column("merchant", sa.Text()),
        sa.Column("unsigned", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("ip", sa.Text()),
        sa.Column("fingerprint", sa.Text()),
        sa.Column("kind", sa.Text()),
        sa.Column("outcome", sa.Text(), nullable=False),
    )
    for name, columns in INDEXES:
        op.create_index(name, "attempts", columns)
    op.execute("INSERT INTO attempts (at, ip, outcome) SELECT at, ip, 'declined' FROM declines")
    op.drop_index("declines_ip", table_name="declines")
    op.drop_table("declines")


def downgrade() -> None:
    op.create_table("declines", sa.Column("ip", sa.Text(), nullable=False), sa.Column("at", SECONDS, nullable=False))
    op.create_index("declines_ip", "declines", ["ip", "at"])
    op.execute("INSERT INTO declines (ip, at) SELECT ip, at FROM attempts"
               " WHERE outcome = 'declined' AND ip IS NOT NULL")
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="attempts")
    op.drop_table("attempts")
