"""payouts on the ledger: a PaySys payout is a payments row on the `paysys` rail, named at PaySys by its
partner_transaction_id (unique for life, see bot.domain.payouts)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


# Plain ALTER TABLE ADD COLUMN and CREATE INDEX, which SQLite does in place: batch mode would copy `payments` and
# drop the old table, which its foreign keys refuse once other tables point at rows.
def upgrade() -> None:
    op.add_column("payments", sa.Column("partner_id", sa.BigInteger()))
    op.create_index("uq_payments_partner_id", "payments", ["partner_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_payments_partner_id", table_name="payments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("partner_id")
