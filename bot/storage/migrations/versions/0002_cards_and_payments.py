"""cards, card add locks, payments and their events

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("vault", sa.String(16), nullable=False),
        sa.Column("provider_card_id", sa.String(128), nullable=False),
        sa.Column("masked_number", sa.String(32), nullable=False),
        sa.Column("expire", sa.String(8), nullable=False),
        sa.Column("owner", sa.String(128)),
        sa.Column("vendor", sa.String(64)),
        sa.Column("bank_id", sa.String(64)),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "vault", "provider_card_id"),
    )
    op.create_table(
        "card_add_locks",
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("intent_key", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("service_name", sa.String(255), nullable=False),
        sa.Column("account", sa.JSON(), nullable=False),
        sa.Column("account_display", sa.JSON(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("card_id", sa.Integer(), sa.ForeignKey("cards.id", ondelete="SET NULL")),
        sa.Column("provider_card_id", sa.String(128), nullable=False),
        sa.Column("card_masked", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("transaction_id", sa.String(128), unique=True),
        sa.Column("otp_phone", sa.String(32)),
        sa.Column("otp_failures", sa.Integer(), nullable=False),
        sa.Column("payment_ref", sa.String(64)),
        sa.Column("epos_merchant", sa.String(64)),
        sa.Column("epos_terminal", sa.String(64)),
        sa.Column("paid_at", sa.String(32)),
        sa.Column("error_code", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "payment_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("payments.id"), nullable=False, index=True),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(255)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payment_events")
    op.drop_table("payments")
    op.drop_table("card_add_locks")
    op.drop_table("cards")
