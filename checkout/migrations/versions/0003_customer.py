"""What the customer's pages need: the last form sent (post/redirect/get), the bank's step
of a 3-D Secure under way (to resume it), and the transactions of authentications the
customer left for another card; a payout's last form sent too.

Revision ID: 0003
Revises: 0002
Created: 2026-12-02"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkouts") as batch:
        batch.add_column(sa.Column("draft", sa.Text()))
        batch.add_column(sa.Column("bank", sa.Text()))
        batch.add_column(sa.Column("abandoned", sa.Text(), nullable=False, server_default=sa.text("''")))
    with op.batch_alter_table("payouts") as batch:
        batch.add_column(sa.Column("draft", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("payouts") as batch:
        batch.drop_column("draft")
    with op.batch_alter_table("checkouts") as batch:
        for name in ("abandoned", "bank", "draft"):
            batch.drop_column(name)
