"""The schema as it was before the migrations: checkouts, declines, threeds, idempotency
and payouts, with their indexes.

Written ``IF NOT EXISTS``, as that code made it at every start: on a database it made
(no ``alembic_version``) this revision keeps the tables and their rows, adds only what
is missing (a file older than the payouts has no payouts table) and records itself.
A copy of the types, not the live tables of ``checkout.store``: a revision stays what it
was when later ones change the tables.

Revision ID: 0001
Revises:
Created: 2025-12-01"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: Unix seconds: REAL on SQLite, DOUBLE PRECISION on PostgreSQL (its REAL is 4 bytes).
SECONDS = sa.REAL().with_variant(sa.DOUBLE_PRECISION(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "checkouts",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("merchant", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.Text()),
        sa.Column("amount", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False, server_default=sa.text("'open'")),
        sa.Column("transaction_id", sa.Text()),
        sa.Column("seen_transactions", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("status", sa.Text()),
        sa.Column("status_code", sa.Integer()),
        sa.Column("reason", sa.Text()),
        sa.Column("reason_code", sa.Integer()),
        sa.Column("masked_pan", sa.Text()),
        sa.Column("brand", sa.Text()),
        sa.Column("declines", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("charges", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", SECONDS, nullable=False),
        sa.Column("updated_at", SECONDS, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "declines",
        sa.Column("ip", sa.Text(), nullable=False),
        sa.Column("at", SECONDS, nullable=False),
        if_not_exists=True,
    )
    op.create_index("declines_ip", "declines", ["ip", "at"], if_not_exists=True)
    op.create_table(
        "threeds",
        sa.Column("md", sa.Text(), primary_key=True),
        sa.Column("checkout_id", sa.Text(), primary_key=True),
        sa.Column("created_at", SECONDS, nullable=False),
        sa.Column("used_at", SECONDS),
        if_not_exists=True,
    )
    op.create_table(
        "idempotency",
        sa.Column("merchant", sa.Text(), primary_key=True),
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("body_hash", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", SECONDS, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "payouts",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("merchant", sa.Text(), nullable=False),
        sa.Column("amount", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.Text()),
        sa.Column("description", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("customer", sa.Text(), nullable=False),
        sa.Column("kyc_verified", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("locale", sa.Text()),
        sa.Column("success_url", sa.Text()),
        sa.Column("failure_url", sa.Text()),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("method", sa.Text()),
        sa.Column("payment_type_id", sa.Integer()),
        sa.Column("destination", sa.Text()),
        sa.Column("brand", sa.Text()),
        sa.Column("transaction_id", sa.Text()),
        sa.Column("gateway_status", sa.Text()),
        sa.Column("status_code", sa.Integer()),
        sa.Column("reason_code", sa.Integer()),
        sa.Column("reason", sa.Text()),
        sa.Column("created_at", SECONDS, nullable=False),
        sa.Column("updated_at", SECONDS, nullable=False),
        if_not_exists=True,
    )
    invoice_given = sa.text("invoice_id IS NOT NULL")
    op.create_index("payouts_invoice", "payouts", ["merchant", "invoice_id"], unique=True,
                    sqlite_where=invoice_given, postgresql_where=invoice_given, if_not_exists=True)


def downgrade() -> None:
    op.drop_index("payouts_invoice", table_name="payouts")
    op.drop_table("payouts")
    op.drop_table("idempotency")
    op.drop_table("threeds")
    op.drop_index("declines_ip", table_name="declines")
    op.drop_table("declines")
    op.drop_table("checkouts")
