"""job leases for N replicas: a home's monthly reminder and a day's reconciliation report are leased by the replica
that sends them and marked done after; a replica that dies holding a lease lets another send once it runs out

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("homes") as batch:
        batch.add_column(sa.Column("reminder_lease_owner", sa.String(128)))
        batch.add_column(sa.Column("reminder_lease_until", sa.DateTime(timezone=True)))
    with op.batch_alter_table("reconciliations") as batch:
        # Days reconciled before this revision were sent: they are done.
        batch.add_column(sa.Column("state", sa.String(8), nullable=False, server_default="done"))
        batch.add_column(sa.Column("lease_owner", sa.String(128)))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("reconciliations") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
        batch.drop_column("state")
    with op.batch_alter_table("homes") as batch:
        batch.drop_column("reminder_lease_until")
        batch.drop_column("reminder_lease_owner")
