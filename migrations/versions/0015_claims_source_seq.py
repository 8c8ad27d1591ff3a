"""claims keyed to their source by the source's seq

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 11:00:00.000000

Decision 0044: ``claims`` and ``claim_versions`` get ``source_seq``, the seq of the cited
source's registration entry (``sources.seq``), filled here from ``sources`` in one
statement per table; ``ix_claims_source_sha256`` (a random 64-hex key: every batch's
sources landed on pages all over it) gives way to ``ix_claims_source_seq (source_seq,
seq)``, whose key grows with the log, so a batch's claims are added at its end. The
source, URI and publisher filters find the sources first (their own indexes on
``sources``), then the claims by ``source_seq``.

The column is added with ``DEFAULT -1`` (no source is at seq -1) so that adding it is a
change of the schema only on both databases; the UPDATE then fills every row. PostgreSQL
drops the default afterwards; SQLite cannot drop it without copying the table (and its
FTS5 index and expression indexes with it), so it stays there: the store always writes
the column, and ``verify`` compares it with what the log implies.

PostgreSQL: the two tables are analyzed when they hold rows (the filters' plans need the
new column's statistics; a server with autovacuum off never gathers them), and
``ledger_change_claims`` (migration 0014, decision 0031) is replaced by the
same function with ``source_seq`` among the columns it writes and those set by the
extraction that a change may never touch. Downgrading puts the index, the function and
the columns back as 0014 left them.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TABLES = ("claims", "claim_versions")
_FUNCTIONS = importlib.import_module("migrations.versions.0014_projection_functions")
"""Migration 0014, whose text of ``ledger_change_claims`` is formatted here again."""


def _fill(table: str, dialect: str) -> int:
    """Every row's ``source_seq`` from ``sources``, one statement (a join on PostgreSQL, a
    lookup of ``sources``' key per row on SQLite); returns how many rows it set."""
    # Only the constant table names of _TABLES are formatted in.
    if dialect == "postgresql":
        sql = (
            f"UPDATE {table} AS c SET source_seq = s.seq FROM sources AS s "  # noqa: S608
            "WHERE s.sha256 = c.source_sha256"
        )
    else:
        sql = (
            f"UPDATE {table} SET source_seq = "  # noqa: S608
            f"(SELECT s.seq FROM sources AS s WHERE s.sha256 = {table}.source_sha256)"
        )
    return int(op.get_bind().exec_driver_sql(sql).rowcount)


def _change_claims(columns: Sequence[str], fixed: Sequence[str]) -> None:
    """``ledger_change_claims`` writing ``columns`` and refusing a change to ``fixed``
    (PostgreSQL; ownership and EXECUTE grants are kept by CREATE OR REPLACE)."""
    bind = op.get_bind()
    schema = bind.exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()
    sql = _FUNCTIONS._CHANGE_CLAIMS.format(
        path=f"{schema}, pg_temp",
        fixed=_FUNCTIONS._first_changed(fixed),
        content=_FUNCTIONS._first_changed(_FUNCTIONS._CONTENT),
        columns=", ".join(f'"{c}"' for c in columns),
        values=", ".join(f'r."{c}"' for c in columns),
    )
    bind.exec_driver_sql(sql.replace("%", "%%"))  # the driver reads % as a placeholder


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_claims_source_sha256", table_name="claims")
    filled = []
    for table in _TABLES:
        op.add_column(
            table, sa.Column("source_seq", _SEQ, nullable=False, server_default=sa.text("-1"))
        )
        if _fill(table, dialect):
            filled.append(table)
        if dialect == "postgresql":
            op.alter_column(table, "source_seq", server_default=None)
    op.create_index("ix_claims_source_seq", "claims", ["source_seq", "seq"])
    if dialect == "postgresql":
        if filled:  # the planner's statistics of the new column (a server may never analyze)
            op.execute(f"ANALYZE {', '.join(filled)}")
        _change_claims(
            (*_FUNCTIONS._CLAIM_COLUMNS, "source_seq"), (*_FUNCTIONS._FIXED, "source_seq")
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _change_claims(_FUNCTIONS._CLAIM_COLUMNS, _FUNCTIONS._FIXED)
    op.drop_index("ix_claims_source_seq", table_name="claims")
    for table in _TABLES:
        op.drop_column(table, "source_seq")
    op.create_index("ix_claims_source_sha256", "claims", ["source_sha256"])
