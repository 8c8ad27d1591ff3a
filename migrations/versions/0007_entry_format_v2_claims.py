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

Two projection tables index the claims' quantities for the quantity filter, one row per
quantity: ``claim_quantities`` (of the current states, by ``claims.seq``) and
``claim_version_quantities`` (of the past states, by ``claim_versions.to_seq``), each
with the folded unit, its head noun, and value and high as numbers (decision 0008);
filled here from the rows.

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
from ledger.queries import figure, head_unit, unit_key

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


_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INDEXES = {"claim_quantities": "claim_seq", "claim_version_quantities": "to_seq"}


def _create_quantity_index(name: str, owner: str) -> None:
    op.create_table(
        name,
        sa.Column(owner, _SEQ, autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("unit", sa.String(length=2000), nullable=True),
        sa.Column("head_unit", sa.String(length=2000), nullable=True),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("high", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint(owner, "position"),
        sqlite_with_rowid=False,
    )
    op.create_index(f"ix_{name}_unit_value", name, ["unit", "value"])
    op.create_index(f"ix_{name}_head_unit_value", name, ["head_unit", "value"])
    op.create_index(f"ix_{name}_value", name, ["value"])


def _fill_quantity_index(name: str, owner: str, table: str, key: str) -> None:
    bind = op.get_bind()
    states = sa.table(table, sa.column(key), sa.column("quantities"))
    index = sa.table(
        name, *(sa.column(c) for c in (owner, "position", "unit", "head_unit", "value", "high"))
    )
    after = -1
    while True:
        rows = bind.execute(
            sa.select(states.c[key], states.c.quantities)
            .where(states.c[key] > after)
            .order_by(states.c[key])
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        values = [
            {
                owner: seq,
                "position": position,
                "unit": unit_key(q["unit"]),
                "head_unit": head_unit(q["unit"]),
                "value": figure(q["value"]),
                "high": figure(q["high"]) if q["high"] is not None else None,
            }
            for seq, quantities in rows
            for position, q in enumerate(json.loads(quantities))
        ]
        if values:
            bind.execute(index.insert(), values)
        after = rows[-1][0]


def upgrade() -> None:
    for (name, owner), (table, key) in zip(_INDEXES.items(), _TABLES.items(), strict=True):
        _create_quantity_index(name, owner)
        op.add_column(table, sa.Column("made_on_precision", AutoString(length=5), nullable=True))
        op.add_column(table, sa.Column("claimant_kind", AutoString(length=16), nullable=True))
        op.add_column(
            table,
            sa.Column("claimant_cites", sa.Text(), nullable=False, server_default=sa.text("'[]'")),
        )
        op.execute(f"UPDATE {table} SET made_on_precision = 'day' WHERE made_on IS NOT NULL")  # noqa: S608
        _rewrite_quantities(table, key, _v2_quantity)
        _fill_quantity_index(name, owner, table, key)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_table(name)
    for table, key in _TABLES.items():
        _rewrite_quantities(table, key, _v1_quantity)
        for column in ("claimant_cites", "claimant_kind", "made_on_precision"):
            op.drop_column(table, column)
