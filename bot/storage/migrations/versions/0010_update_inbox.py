"""the update inbox: one row per Telegram update_id, claimed before the update is handled and marked done after,
so a re-sent update is never run twice and one whose holder died is run again; rows are kept 48 hours

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "update_inbox",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_update_inbox_created_at", "update_inbox", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_update_inbox_created_at", table_name="update_inbox")
    op.drop_table("update_inbox")
