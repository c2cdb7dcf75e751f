"""the Payme rail: a card's vault and whether its token still works; a payment's rail and Payme receipt;
the days already reconciled

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cards") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("rail", sa.String(8), nullable=False, server_default="paylov"))
        batch.add_column(sa.Column("receipt_id", sa.String(64)))
        batch.add_column(sa.Column("receipt_state", sa.Integer()))
        batch.add_column(sa.Column("charged_at", sa.String(32)))
        batch.create_unique_constraint("uq_payments_receipt_id", ["receipt_id"])
    op.create_table(
        "reconciliations",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("mismatches", sa.Integer(), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reconciliations")
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint("uq_payments_receipt_id", type_="unique")
        batch.drop_column("charged_at")
        batch.drop_column("receipt_state")
        batch.drop_column("receipt_id")
        batch.drop_column("rail")
    with op.batch_alter_table("cards") as batch:
        batch.drop_column("active")
