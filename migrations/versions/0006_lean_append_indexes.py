"""leaner indexes on the append path; claims keyed by seq

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 01:30:00

Every appended claim paid for fourteen index insertions. Four indexes served no query
well: ``claims.status``, ``claims.signer`` and ``claims.extractor_name`` hold a few values
each (a filter on the order's index scan answers them, and sorted pages no longer risk a
plan that reads the filter's index and then sorts), and the claimant filter is a
substring match that no B-tree serves. Status keeps a partial index over the claims no
longer active (the rare values a filter would otherwise scan for). ``entries.kind`` and
``entries.subject`` are now partial indexes over the rare entries: key entries are still
found without a scan, and a claim's history is its extraction (by ``hash``) followed by
the revisions, retractions and reviews naming it (decision 0006).

``claims`` is keyed by ``seq`` instead of ``claim_id``: a claim id is its extraction's
entry hash, which the unique index of ``entries.hash`` already finds, so a second random
64-character index on every claim bought nothing; on SQLite ``seq`` becomes the rowid
(the table is rebuilt, with its FTS5 index and order indexes).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations import search_index

# As ledger/store/tables.py spells them (a migration keeps its own copy).
ABOUT_A_CLAIM = "subject IS NOT NULL AND kind <> 'claim.extracted'"
RARE_KINDS = "kind NOT IN ('claim.extracted', 'source.registered')"
CHANGED_CLAIMS = "status <> 'active'"

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED_CLAIM_INDEXES = ("claimant_name", "extractor_name", "signer", "status")


def _partial(where: str) -> dict[str, sa.TextClause]:
    return {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}


def _rekey_claims(key: str, *, drop_unique: str | None, add_unique: str | None) -> None:
    """Make ``key`` the primary key of claims; drop or add a unique constraint."""
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("claims_pkey", "claims", type_="primary")
        if drop_unique:
            op.drop_constraint(f"claims_{drop_unique}_key", "claims", type_="unique")
        op.create_primary_key("claims_pkey", "claims", [key])
        if add_unique:
            op.create_unique_constraint(f"claims_{add_unique}_key", "claims", [add_unique])
        return
    # SQLite changes a primary key by copying the table; the FTS5 table and the expression
    # indexes that refer to claims are dropped first and rebuilt after.
    search_index.remove_claims_search()
    search_index.remove_order_indexes()
    names = {"uq": "uq_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s"}
    with op.batch_alter_table("claims", recreate="always", naming_convention=names) as batch_op:
        if drop_unique:
            batch_op.drop_constraint(f"uq_claims_{drop_unique}", type_="unique")
        batch_op.drop_constraint("pk_claims", type_="primary")
        batch_op.create_primary_key("pk_claims", [key])
        if add_unique:
            batch_op.create_unique_constraint(f"uq_claims_{add_unique}", [add_unique])
    search_index.install_order_indexes()
    search_index.install_claims_search()


def upgrade() -> None:
    for column in _DROPPED_CLAIM_INDEXES:
        op.drop_index(f"ix_claims_{column}", table_name="claims")
    _rekey_claims("seq", drop_unique="seq", add_unique=None)
    op.create_index("ix_claims_status_seq", "claims", ["status", "seq"], **_partial(CHANGED_CLAIMS))
    op.drop_index("ix_entries_kind", table_name="entries")
    op.drop_index("ix_entries_subject_seq", table_name="entries")
    op.create_index(
        "ix_entries_subject_seq", "entries", ["subject", "seq"], **_partial(ABOUT_A_CLAIM)
    )
    op.create_index("ix_entries_rare_kind_seq", "entries", ["kind", "seq"], **_partial(RARE_KINDS))


def downgrade() -> None:
    op.drop_index("ix_entries_rare_kind_seq", table_name="entries")
    op.drop_index("ix_entries_subject_seq", table_name="entries")
    op.create_index("ix_entries_subject_seq", "entries", ["subject", "seq"])
    op.create_index("ix_entries_kind", "entries", ["kind"])
    op.drop_index("ix_claims_status_seq", table_name="claims")
    _rekey_claims("claim_id", drop_unique=None, add_unique="seq")
    for column in _DROPPED_CLAIM_INDEXES:
        op.create_index(f"ix_claims_{column}", "claims", [column])
