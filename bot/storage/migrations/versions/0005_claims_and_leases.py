"""claims and leases on payments: who holds a payment's provider call and until when; refund attempts counted;
intent keys unique per user instead of across all users

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Names the anonymous unique constraint of 0002 on reflection (SQLite), so that batch mode can drop it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_intent_constraint() -> str:
    return "payments_intent_key_key" if op.get_bind().dialect.name == "postgresql" else "uq_payments_intent_key"


def upgrade() -> None:
    with op.batch_alter_table("payments", naming_convention=NAMING) as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(64)))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("refund_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint(_old_intent_constraint(), type_="unique")
        batch.create_unique_constraint("uq_payments_user_intent", ["user_id", "intent_key"])
        batch.create_index("ix_payments_state_next_check", ["state", "next_check_at"])


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_index("ix_payments_state_next_check")
        batch.drop_constraint("uq_payments_user_intent", type_="unique")
        batch.create_unique_constraint(_old_intent_constraint(), ["intent_key"])
        batch.drop_column("refund_attempts")
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
