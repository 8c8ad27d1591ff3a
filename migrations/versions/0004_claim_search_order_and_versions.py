"""claim search, order indexes and past versions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 22:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from ledger.search import search_text
from migrations import search_index

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _backfill_search_text() -> None:
    """Fill the new column of existing claims (it is derived from statement and quote)."""
    bind = op.get_bind()
    claims = sa.table(
        "claims",
        sa.column("claim_id"),
        sa.column("statement"),
        sa.column("exact"),
        sa.column("search_text"),
    )
    rows = bind.execute(sa.select(claims.c.claim_id, claims.c.statement, claims.c.exact)).all()
    for claim_id, statement, exact in rows:
        bind.execute(
            claims.update()
            .where(claims.c.claim_id == claim_id)
            .values(search_text=search_text(statement, exact))
        )


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "source_published", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True
            )
        )
    _backfill_search_text()
    op.execute(
        "UPDATE claims SET source_published = "
        "(SELECT published FROM sources WHERE sources.sha256 = claims.source_sha256)"
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.alter_column("search_text", existing_type=sa.Text(), nullable=False)
        batch_op.drop_index("ix_claims_made_on")  # ix_claims_order_made_on serves its filter
        batch_op.create_index("ix_claims_score_seq", ["score", "seq"], unique=False)
    # Past claim states start empty: a ledger upgraded from 0003 fills them with
    # `claims-ledger rebuild` (verify reports them missing until then).
    op.create_table(
        "claim_versions",
        sa.Column(
            "to_seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("claim_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_entry", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("source_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("exact", sa.Text(), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("suffix", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("claimant_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("claimant_role", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("claimant_affiliation", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("reporting", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("made_on", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("quantities", sa.Text(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("extractor_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("extractor_version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "extractor_rules_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        ),
        sa.Column("signer", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.AutoString(length=27), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("head", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("head_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.AutoString(length=27), nullable=False),
        sa.Column("review_count", sa.Integer(), nullable=False),
        sa.Column("last_rating", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("source_published", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.PrimaryKeyConstraint("to_seq"),
    )
    search_index.install_claims_search()
    search_index.install_order_indexes()


def downgrade() -> None:
    search_index.remove_order_indexes()
    search_index.remove_claims_search()
    op.drop_table("claim_versions")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_score_seq")
        batch_op.create_index("ix_claims_made_on", ["made_on"], unique=False)
        batch_op.drop_column("source_published")
        batch_op.drop_column("search_text")
