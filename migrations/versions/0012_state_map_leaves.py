"""claim-state map leaves

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 15:00:00.000000

The writes to the claim-state map (decision 0012, docs/formats/state-map.md): one row per
entry that sets a map key, append-only like the log. Ledgers written before this revision
get the rows of the entries already there, computed from the entries' checked lookup
columns (kind, hash, subject) and the sources' projection (sha256 by registration entry);
``claims-ledger verify`` recomputes every row from the entries' bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations import append_only

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLAIM_KINDS = ("claim.extracted", "claim.revised", "claim.retracted", "claim.reviewed")


def upgrade() -> None:
    op.create_table(
        "state_map_leaves",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    _backfill()
    append_only.install("state_map_leaves")


def _key(namespace: bytes, raw_hex: str) -> bytes:
    # ledger.statemap.map_key, spelled out so this revision keeps its meaning.
    return hashlib.sha256(b"\x12" + namespace + bytes.fromhex(raw_hex)).digest()


def _backfill() -> None:
    conn = op.get_bind()
    leaves = sa.table("state_map_leaves", sa.column("seq"), sa.column("key"), sa.column("value"))
    kinds = ", ".join(f"'{kind}'" for kind in _CLAIM_KINDS)
    rows: list[dict[str, object]] = [
        {"seq": seq, "key": _key(b"\x01", subject), "value": bytes.fromhex(entry_hash)}
        for seq, entry_hash, subject in conn.execute(
            sa.text(f"SELECT seq, hash, subject FROM entries WHERE kind IN ({kinds})")  # noqa: S608
        )
    ]
    rows += [
        {"seq": seq, "key": _key(b"\x02", sha256), "value": bytes.fromhex(entry_hash)}
        for seq, sha256, entry_hash in conn.execute(
            sa.text("SELECT seq, sha256, entry_hash FROM sources")
        )
    ]
    rows.sort(key=lambda row: int(str(row["seq"])))
    for start in range(0, len(rows), 10_000):
        conn.execute(sa.insert(leaves), rows[start : start + 10_000])


def downgrade() -> None:
    append_only.remove("state_map_leaves")
    op.drop_table("state_map_leaves")
