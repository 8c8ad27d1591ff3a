"""``Store.analyze``: PostgreSQL's planner statistics refreshed after a bulk load (a server
with autovacuum off never analyzes; an unanalyzed 1M ledger planned an ``asOf`` page at
440 ms instead of 3 ms). SQLite: nothing (its plans are chosen without statistics)."""

from __future__ import annotations

import sqlalchemy as sa

from ledger.service import Ledger
from ledger.signing import SigningKey
from tests.helpers import add_source_with_claims


def test_analyze_refreshes_the_ledgers_tables_only(ledger: Ledger, writer_key: SigningKey) -> None:
    add_source_with_claims(ledger, writer_key, 1, 3)
    store = ledger.store
    store.analyze()
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            stat = conn.execute(
                sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            ).scalar_one()
            assert stat == 0  # plans stay as chosen without statistics
            return
        rows = conn.execute(
            sa.text(
                "SELECT relname, last_analyze FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema()"
            )
        ).all()
    analyzed = {name for name, when in rows if when is not None}
    assert {"entries", "claims", "sources", "tree_nodes"} <= analyzed, rows
