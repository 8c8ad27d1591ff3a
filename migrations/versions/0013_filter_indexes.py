"""indexes for every claims filter

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 18:00:00.000000

Decision 0024: (signer, seq), (extractor_name, seq) and (claimant_name, seq) on claims, and
the reviewed claims (partial, ``review_count > 0``), so that a filter on any of them that
matches few claims finds them without reading the order's index to its end.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REVIEWED = "review_count > 0"  # ledger.store.tables.REVIEWED_CLAIMS, spelt out


def upgrade() -> None:
    op.create_index("ix_claims_signer_seq", "claims", ["signer", "seq"])
    op.create_index("ix_claims_extractor_seq", "claims", ["extractor_name", "seq"])
    op.create_index("ix_claims_claimant_seq", "claims", ["claimant_name", "seq"])
    op.create_index(
        "ix_claims_reviewed_seq",
        "claims",
        ["seq"],
        sqlite_where=sa.text(_REVIEWED),
        postgresql_where=sa.text(_REVIEWED),
    )


def downgrade() -> None:
    for name in (
        "ix_claims_reviewed_seq",
        "ix_claims_claimant_seq",
        "ix_claims_extractor_seq",
        "ix_claims_signer_seq",
    ):
        op.drop_index(name, table_name="claims")
