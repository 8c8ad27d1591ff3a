"""drop indexes no query uses

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 23:40:00

``entries.signer`` and ``claims.source_entry`` are never searched by (claims are found by
their source's SHA-256, entries by seq, hash or subject); their indexes cost about 160
bytes an appended claim.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_entries_signer", table_name="entries")
    op.drop_index("ix_claims_source_entry", table_name="claims")


def downgrade() -> None:
    op.create_index("ix_claims_source_entry", "claims", ["source_entry"], unique=False)
    op.create_index("ix_entries_signer", "entries", ["signer"], unique=False)
