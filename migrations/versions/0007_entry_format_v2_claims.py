"""entry format version 2: date precision, claimant kind and cited sources, quantity bounds

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:00:00

Claims get ``made_on_precision`` (``day`` for every claim with a date: version 1 entries
knew no other), ``claimant_kind`` (null) and ``claimant_cites`` (canonical JSON, ``[]``),
and their ``quantities`` JSON takes the version 2 shape: ``approximate`` becomes ``bound``
(``approximate`` or ``exact``) and every quantity gets ``high`` (null). These are exactly
the rows the projection of the same version 1 entries writes (``ledger.state``), so a
migrated ledger verifies without a rebuild. The same for ``claim_versions``.

Columns are added in place (no table copy: SQLite's FTS5 index and the expression indexes
on ``claims`` stay as they are); ``claimant_cites`` carries a server default of ``[]``.
Downgrading turns the quantities back (any bound but ``exact`` is approximate; ``high``
is lost): a ledger holding version 2 entries cannot be served by the older code anyway.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from ledger.canonical import canonical_json

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = {"claims": "seq", "claim_versions": "to_seq"}
_BATCH = 5000


def _v2_quantity(q: dict[str, Any]) -> dict[str, Any]:
    if "bound" in q:
        return q
    bound = "approximate" if q["approximate"] else "exact"
    return {"value": q["value"], "unit": q["unit"], "bound": bound, "high": None, "text": q["text"]}


def _v1_quantity(q: dict[str, Any]) -> dict[str, Any]:
    if "approximate" in q:
        return q
    approximate = q["bound"] != "exact"
    return {"value": q["value"], "unit": q["unit"], "approximate": approximate, "text": q["text"]}


def _rewrite_quantities(table: str, key: str, shape: Callable[[dict[str, Any]], Any]) -> None:
    """Every row's quantities JSON in another shape, in batches of updates."""
    bind = op.get_bind()
    t = sa.table(table, sa.column(key), sa.column("quantities"))
    after = -1
    while True:
        rows = bind.execute(
            sa.select(t.c[key], t.c.quantities)
            .where(t.c[key] > after)
            .order_by(t.c[key])
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        changed = []
        for row_key, quantities in rows:
            new = canonical_json([shape(q) for q in json.loads(quantities)]).decode()
            if new != quantities:
                changed.append({"k": row_key, "q": new})
        if changed:
            bind.execute(
                t.update()
                .where(t.c[key] == sa.bindparam("k"))
                .values(quantities=sa.bindparam("q")),
                changed,
            )
        after = rows[-1][0]


def upgrade() -> None:
    for table, key in _TABLES.items():
        op.add_column(table, sa.Column("made_on_precision", AutoString(length=5), nullable=True))
        op.add_column(table, sa.Column("claimant_kind", AutoString(length=16), nullable=True))
        op.add_column(
            table,
            sa.Column("claimant_cites", sa.Text(), nullable=False, server_default=sa.text("'[]'")),
        )
        op.execute(f"UPDATE {table} SET made_on_precision = 'day' WHERE made_on IS NOT NULL")  # noqa: S608
        _rewrite_quantities(table, key, _v2_quantity)


def downgrade() -> None:
    for table, key in _TABLES.items():
        _rewrite_quantities(table, key, _v1_quantity)
        for column in ("claimant_cites", "claimant_kind", "made_on_precision"):
            op.drop_column(table, column)
