"""SQL for what identities and lines are derived from: the reviewers' override entries."""

from __future__ import annotations

from ledger.store.sql import Txn, _as_bytes
from ledger.store.tables import RARE_KINDS


def override_entries(txn: Txn) -> list[tuple[int, bytes]]:
    """(seq, bytes) of every claimant.linked and claimant.unlinked entry, in log order
    (read through the partial index of rare kinds)."""
    sql = (
        f"SELECT seq, data FROM entries WHERE {RARE_KINDS} "  # noqa: S608
        "AND kind IN ('claimant.linked', 'claimant.unlinked') ORDER BY seq"
    )
    return [(seq, _as_bytes(data)) for seq, data in txn.conn.exec_driver_sql(sql)]
