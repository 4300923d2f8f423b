"""Index the leases' updated_at, so that servers sharing one database can read what changed since a moment.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_leases_updated_at", "leases", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_leases_updated_at", "leases")
