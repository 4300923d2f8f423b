"""Create the leases and reservations tables.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

IPV4_INT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LEASE_INDEXED_COLUMNS = ("state", "expires", "mac", "client_id", "hostname", "subnet", "interface")


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("ip", IPV4_INT, primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("starts", sa.Double(), nullable=False),
        sa.Column("expires", sa.Double(), nullable=False),
        sa.Column("mac", sa.LargeBinary(16)),
        sa.Column("client_id", sa.LargeBinary(255)),
        sa.Column("hostname", sa.String(255)),
        sa.Column("subnet", sa.String(18)),
        sa.Column("interface", sa.String(64)),
        sa.Column("ifindex", sa.Integer()),
        sa.Column("vlan", sa.SmallInteger()),
        sa.Column("inner_vlan", sa.SmallInteger()),
        sa.Column("relay", sa.String(15)),
        sa.Column("circuit_id", sa.LargeBinary(255)),
        sa.Column("remote_id", sa.LargeBinary(255)),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("ip", name="pk_leases"),
    )
    for column in LEASE_INDEXED_COLUMNS:
        op.create_index(f"ix_leases_{column}", "leases", [column])

    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("mac", sa.LargeBinary(16)),
        sa.Column("client_id", sa.LargeBinary(255)),
        sa.Column("circuit_id", sa.LargeBinary(255)),
        sa.Column("ip", IPV4_INT, nullable=False),
        sa.Column("hostname", sa.String(255)),
        sa.Column("options", sa.JSON()),
        sa.Column("subnet", sa.String(18)),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reservations"),
        sa.UniqueConstraint("mac", name="uq_reservations_mac"),
        sa.UniqueConstraint("client_id", name="uq_reservations_client_id"),
        sa.UniqueConstraint("circuit_id", name="uq_reservations_circuit_id"),
        sa.UniqueConstraint("ip", name="uq_reservations_ip"),
    )
    op.create_index("ix_reservations_subnet", "reservations", ["subnet"])


def downgrade() -> None:
    op.drop_table("reservations")
    op.drop_table("leases")
