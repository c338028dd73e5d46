"""The outbox and what the worker needs: notifications and their attempts; checkouts keep
their payload, expiry, the card's expiry, holder and token (for the notification), the
parent of a crypto quote's checkout, and the worker's next check.

Columns are added nullable (or with a default), so rows made before keep working: a
checkout without a payload is one the worker cannot settle alone (its page still can).

Revision ID: 0002
Revises: 0001
Created: 2026-12-02"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Unix seconds: REAL on SQLite, DOUBLE PRECISION on PostgreSQL (its REAL is 4 bytes).
SECONDS = sa.REAL().with_variant(sa.DOUBLE_PRECISION(), "postgresql")

CHECKOUT_COLUMNS = (
    ("payload", sa.Text()), ("expires_at", SECONDS), ("parent_id", sa.Text()), ("expiry", sa.Text()),
    ("holder", sa.Text()), ("saved_token", sa.Text()), ("check_at", SECONDS),
)


def upgrade() -> None:
    with op.batch_alter_table("checkouts") as batch:
        for name, kind in CHECKOUT_COLUMNS:
            batch.add_column(sa.Column(name, kind))
        batch.add_column(sa.Column("checks", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.create_index("checkouts_state", "checkouts", ["state", "check_at"])
    op.create_index("checkouts_invoice", "checkouts", ["merchant", "invoice_id"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("merchant", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("round", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("next_at", SECONDS, nullable=False),
        sa.Column("lease_until", SECONDS),
        sa.Column("leased_by", sa.Text()),
        sa.Column("created_at", SECONDS, nullable=False),
        sa.Column("updated_at", SECONDS, nullable=False),
        sa.Column("delivered_at", SECONDS),
    )
    op.create_index("notifications_key", "notifications", ["subject", "key"], unique=True)
    op.create_index("notifications_due", "notifications", ["state", "next_at"])
    op.create_index("notifications_merchant", "notifications", ["merchant", "state", "created_at"])
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("notification_id", sa.Text(), nullable=False),
        sa.Column("at", SECONDS, nullable=False),
        sa.Column("http_status", sa.Integer()),
        sa.Column("answer", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("worker", sa.Text()),
    )
    op.create_index("notification_attempts_of", "notification_attempts", ["notification_id", "at"])


def downgrade() -> None:
    op.drop_index("notification_attempts_of", table_name="notification_attempts")
    op.drop_table("notification_attempts")
    for name in ("notifications_merchant", "notifications_due", "notifications_key"):
        op.drop_index(name, table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("checkouts_invoice", table_name="checkouts")
    op.drop_index("checkouts_state", table_name="checkouts")
    with op.batch_alter_table("checkouts") as batch:
        batch.drop_column("checks")
        for name, _kind in reversed(CHECKOUT_COLUMNS):
            batch.drop_column(name)
