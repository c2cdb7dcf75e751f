"""card page sessions: one-time bindings the chat opens for the card page; a Payme token saved for one user only

Before the unique index, a token saved for more than one user (possible before this revision: any user could post
any verified token) is kept for the user who saved it first; the later rows are deleted, so that their users can
neither pay with it nor remove it at Payme on its owner's behalf (payments keep their own copy of the card).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PAYME_ONLY = sa.text("vault = 'payme'")


def upgrade() -> None:
    op.create_table(
        "card_page_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("token_hash", sa.String(64)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("status", sa.Integer()),
        sa.Column("answer", sa.JSON()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_card_page_sessions_user_id", "card_page_sessions", ["user_id"])
    op.create_index("ix_card_page_sessions_expires_at", "card_page_sessions", ["expires_at"])
    op.execute(
        "DELETE FROM cards WHERE vault = 'payme' AND EXISTS (SELECT 1 FROM cards AS first WHERE "
        "first.vault = 'payme' AND first.provider_card_id = cards.provider_card_id AND first.id < cards.id)"
    )
    op.create_index("uq_cards_payme_token", "cards", ["provider_card_id"], unique=True,
                    sqlite_where=PAYME_ONLY, postgresql_where=PAYME_ONLY)


def downgrade() -> None:
    op.drop_index("uq_cards_payme_token", table_name="cards")
    op.drop_index("ix_card_page_sessions_expires_at", table_name="card_page_sessions")
    op.drop_index("ix_card_page_sessions_user_id", table_name="card_page_sessions")
    op.drop_table("card_page_sessions")
