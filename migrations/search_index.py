"""Full-text search objects SQLAlchemy's models cannot describe on both databases.

SQLite: an FTS5 table over ``claims.search_text`` (external content, ``content_rowid`` =
``seq``), kept in step with ``claims`` in the writing transaction: new rows are indexed by
the store itself (``Txn.write``, one ``executemany``: an FTS5 insert from a trigger costs
three times as much, measured), updated and deleted rows by triggers (revisions, reviews
and rebuilds: rare). The
``ascii`` tokenizer splits the already folded text exactly at its spaces (every token is
letters and digits; non-ASCII characters are token characters), so FTS5 sees the very
tokens ``ledger.search`` made. ``detail='none'``: the index keeps which claims hold a token,
not where (the smallest index and the cheapest insert); phrases are checked on the text.

PostgreSQL: a GIN index over ``array_to_tsvector(string_to_array(search_text, ' '))``: the
same tokens as lexemes, without PostgreSQL's parser (which would split ``1.5`` or
``won-shik`` its own way). The store queries that exact expression.

Names are listed in ``ledger.store.tables.SEARCH_OBJECTS`` so autogenerate leaves them be.
"""

from __future__ import annotations

from alembic import op

TSVECTOR_OF = "array_to_tsvector(string_to_array({column}, ' '))"


def _sqlite_fts(table: str, fts: str) -> list[str]:
    # Only constant identifiers are formatted in; nothing here comes from a user.
    new = f"INSERT INTO {fts}(rowid, search_text) VALUES (new.seq, new.search_text);"  # noqa: S608
    old = (
        f"INSERT INTO {fts}({fts}, rowid, search_text) "  # noqa: S608
        "VALUES ('delete', old.seq, old.search_text);"
    )
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}', "
        "content_rowid='seq', tokenize='ascii', detail='none')",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {old} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search_text ON {table} "
        f"WHEN old.search_text IS NOT new.search_text BEGIN {old} {new} END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",  # noqa: S608
    ]


def install_claims_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _sqlite_fts("claims", "claims_fts"):
            op.execute(statement)
        return
    # claim_versions (past states only, few) is searched the same way on PostgreSQL; on
    # SQLite by its folded text alone (ledger.search.like_patterns).
    for table in ("claims", "claim_versions"):
        op.execute(
            f"CREATE INDEX ix_{table}_search ON {table} USING gin "
            f"(({TSVECTOR_OF.format(column='search_text')}))"
        )


ORDER_INDEXES = {
    "ix_claims_order_made_on": "coalesce(made_on, '')",
    "ix_claims_order_published": "coalesce(source_published, '')",
}
"""Orders by a date, as ``ledger.store.sql._sort_key`` writes them: a missing date is ''
(before every date) on both databases, whose own NULL orders differ."""


def install_order_indexes() -> None:
    for name, expression in ORDER_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON claims (({expression}), seq)")


def remove_order_indexes() -> None:
    for name in ORDER_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")


def remove_claims_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for suffix in ("delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS claims_fts_{suffix}")
        op.execute("DROP TABLE IF EXISTS claims_fts")
        return
    op.execute("DROP INDEX IF EXISTS ix_claims_search")
    op.execute("DROP INDEX IF EXISTS ix_claim_versions_search")
