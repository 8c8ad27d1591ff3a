"""checkpoint cosignatures

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 12:45:00.000000

Witness cosignatures on the log's checkpoints (decision 0011, docs/formats/witness.md):
append-only like the checkpoints they sign, each verified before it is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from migrations import append_only

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkpoint_cosignatures",
        sa.Column(
            "size",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("witness", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.AutoString(length=27), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness", "key_id"),
    )
    append_only.install("checkpoint_cosignatures")


def downgrade() -> None:
    append_only.remove("checkpoint_cosignatures")
    op.drop_table("checkpoint_cosignatures")
