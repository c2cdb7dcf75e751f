"""cashback and operator refunds: the cashback ledger (entries summed, never edited), what PaySys answered to a
payout's prepare, the refund's link to its bill, and the database's own guards: one open cashback payout per user,
one live refund per bill

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OPEN_CASHBACK = "rail = 'paysys' AND service_id = 'cashback' AND state NOT IN ('paid', 'failed', 'reversed')"
OPEN_REFUND = "refund_of IS NOT NULL AND state NOT IN ('failed', 'reversed')"


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("recipient_name", sa.String(128)))
        batch.add_column(sa.Column("payout_total", sa.BigInteger()))
        batch.add_column(sa.Column("payout_commission", sa.String(16)))
        batch.add_column(sa.Column("payout_step", sa.String(8)))
        batch.add_column(sa.Column("completed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("refund_of", sa.Integer(),
                                   sa.ForeignKey("payments.id", name="fk_payments_refund_of")))
    op.create_index("uq_payments_open_cashback", "payments", ["user_id"], unique=True,
                    sqlite_where=sa.text(OPEN_CASHBACK), postgresql_where=sa.text(OPEN_CASHBACK))
    op.create_index("uq_payments_open_refund", "payments", ["refund_of"], unique=True,
                    sqlite_where=sa.text(OPEN_REFUND), postgresql_where=sa.text(OPEN_REFUND))
    op.create_table(
        "cashback_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("payment_id", "kind", name="uq_cashback_payment_kind"),
    )
    op.create_index("ix_cashback_entries_user_id", "cashback_entries", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_cashback_entries_user_id", table_name="cashback_entries")
    op.drop_table("cashback_entries")
    op.drop_index("uq_payments_open_refund", table_name="payments")
    op.drop_index("uq_payments_open_cashback", table_name="payments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("refund_of")
        batch.drop_column("completed_at")
        batch.drop_column("payout_step")
        batch.drop_column("payout_commission")
        batch.drop_column("payout_total")
        batch.drop_column("recipient_name")
