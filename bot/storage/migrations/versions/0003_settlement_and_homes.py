"""status checks of unsettled payments; saved accounts (homes) with reminders

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("status_checks", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_check_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("gave_up_at", sa.DateTime(timezone=True)))
    op.create_table(
        "homes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("service_name", sa.String(255), nullable=False),
        sa.Column("account", sa.JSON(), nullable=False),
        sa.Column("account_key", sa.String(512), nullable=False),
        sa.Column("account_display", sa.JSON(), nullable=False),
        sa.Column("reminder_day", sa.Integer()),
        sa.Column("last_reminded", sa.String(7)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "service_id", "account_key"),
    )


def downgrade() -> None:
    op.drop_table("homes")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("gave_up_at")
        batch.drop_column("next_check_at")
        batch.drop_column("status_checks")
