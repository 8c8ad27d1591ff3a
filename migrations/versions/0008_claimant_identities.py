"""claimant identities and claim lines

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 08:54:47.280295

Tables derived from the log (decision 0009): claimant identities, the names and roles each
was reported under, each attributed claim's identity, claim lines and their points, and
the tree size they were computed at. Like every projection they hold nothing the log
does not imply: dropping them loses nothing (the next read recomputes them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "claim_claimants",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("claim_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("identity_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("claim_id"),
    )
    with op.batch_alter_table("claim_claimants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_claim_claimants_identity_id"), ["identity_id"], unique=False
        )

    op.create_table(
        "claim_lines",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column(
            "first_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("sources", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("claim_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_lines_first_seq"), ["first_seq"], unique=False)

    op.create_table(
        "claimant_identities",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "first_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("claimant_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_claimant_identities_first_seq"), ["first_seq"], unique=False
        )

    op.create_table(
        "claimant_names",
        sa.Column("identity_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("folded", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("romanized", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("identity_id", "position"),
    )
    with op.batch_alter_table("claimant_names", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_claimant_names_romanized"), ["romanized"], unique=False
        )

    op.create_table(
        "claimant_roles",
        sa.Column("identity_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("first_made", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("last_made", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.PrimaryKeyConstraint("identity_id", "position"),
    )
    op.create_table(
        "derived_state",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rules", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "line_points",
        sa.Column("line_id", sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("point_id", sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
        sa.Column("claim_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "log_order", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("high", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("bound", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("identity_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("claimant_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("source_entry", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("made_on", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("made_on_precision", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("published", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.PrimaryKeyConstraint("line_id", "position"),
    )
    with op.batch_alter_table("line_points", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_line_points_claim_id"), ["claim_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("line_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_line_points_claim_id"))

    op.drop_table("line_points")
    op.drop_table("derived_state")
    op.drop_table("claimant_roles")
    with op.batch_alter_table("claimant_names", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claimant_names_romanized"))

    op.drop_table("claimant_names")
    with op.batch_alter_table("claimant_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claimant_identities_first_seq"))

    op.drop_table("claimant_identities")
    with op.batch_alter_table("claim_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_lines_first_seq"))

    op.drop_table("claim_lines")
    with op.batch_alter_table("claim_claimants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_claimants_identity_id"))

    op.drop_table("claim_claimants")
