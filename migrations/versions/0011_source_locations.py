"""source locations: where the command line read each source from (decision 0016)

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source_locations",
        sa.Column("location", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.AutoString(length=27), nullable=False),
        sa.PrimaryKeyConstraint("location", "sha256"),
    )


def downgrade() -> None:
    op.drop_table("source_locations")
