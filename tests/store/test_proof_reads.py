"""A proof reads the head and every node it needs in one statement (``Txn.head_and_nodes``,
``ledger.proofs.read_tree``), on SQLite and PostgreSQL alike: at a given tree size always;
at the head when it is still where the last proof at the head found it, else in two. The
proofs are the plain reference's whatever the guess, and the statement reads each row by
its primary key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from ledger import merkle
from ledger.errors import InvalidInput
from ledger.service import Ledger
from ledger.signing import SigningKey
from tests.helpers import append_sources, captured_statements


def _grow(ledger: Ledger, writer: SigningKey, batches: list[int]) -> None:
    n = ledger.head().size
    for size in batches:
        append_sources(ledger, writer, [5000 + n + i for i in range(size)])
        n += size


def _leaves(ledger: Ledger) -> list[merkle.Hash]:
    return [merkle.Hash(bytes.fromhex(row.hash)) for row in ledger.entries()]


def _statements(ledger: Ledger, action: Callable[[], object]) -> list[str]:
    return [  # SQLite's own BEGIN is no round trip
        s for s, _ in captured_statements(ledger, action) if s.strip().upper() != "BEGIN"
    ]


def test_a_proof_at_a_given_size_is_one_statement(ledger: Ledger, writer_key: SigningKey) -> None:
    _grow(ledger, writer_key, [5, 9, 4])
    leaves = _leaves(ledger)
    n = len(leaves)
    for size in (1, 2, 7, 8, 13, n):
        for seq in {0, size // 2, size - 1}:
            got: list[Any] = []
            seen = _statements(
                ledger, lambda s=seq, z=size, g=got: g.append(ledger.inclusion_proof(s, z))
            )
            assert len(seen) == 1, seen
            assert list(got[0].hashes) == merkle.reference_inclusion_proof(seq, leaves[:size])
        for old in {0, 1, size // 2, size}:
            found: list[Any] = []
            seen = _statements(
                ledger, lambda o=old, z=size, f=found: f.append(ledger.consistency_proof(o, z))
            )
            assert len(seen) == 1, seen
            assert list(found[0].hashes) == merkle.reference_consistency_proof(old, leaves[:size])


def test_a_proof_at_the_head_is_one_statement_while_the_head_stays(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    _grow(ledger, writer_key, [6])
    ledger.store.tree_size_hint = None
    first = _statements(ledger, lambda: ledger.inclusion_proof(3))
    assert len(first) == 2, first  # no guess yet: the head, then its nodes
    again = _statements(ledger, lambda: ledger.inclusion_proof(4))
    assert len(again) == 1, again
    assert len(_statements(ledger, lambda: ledger.consistency_proof(2))) == 1
    _grow(ledger, writer_key, [3])  # the guess is now behind the head
    leaves = _leaves(ledger)
    moved: list[Any] = []
    seen = _statements(ledger, lambda: moved.append(ledger.inclusion_proof(4)))
    assert len(seen) == 2, seen
    assert moved[0].size == len(leaves) == ledger.store.tree_size_hint
    assert list(moved[0].hashes) == merkle.reference_inclusion_proof(4, leaves)
    moved[0].verify()
    assert len(_statements(ledger, lambda: ledger.inclusion_proof(4))) == 1


@pytest.mark.parametrize("off_by", [-3, -1, 1, 4, None])
def test_a_wrong_guess_of_the_head_still_gives_the_proof_at_the_head(
    ledger: Ledger, writer_key: SigningKey, off_by: int | None
) -> None:
    _grow(ledger, writer_key, [7, 2])
    leaves = _leaves(ledger)
    n = len(leaves)
    for seq in (0, n // 2, n - 1):
        ledger.store.tree_size_hint = None if off_by is None else n + off_by
        proof = ledger.inclusion_proof(seq)
        assert (proof.size, proof.root) == (n, merkle.reference_root(leaves))
        assert list(proof.hashes) == merkle.reference_inclusion_proof(seq, leaves)
        for old in (0, 1, seq, n):
            ledger.store.tree_size_hint = None if off_by is None else n + off_by
            consistency = ledger.consistency_proof(old)
            assert consistency.new_size == n
            assert list(consistency.hashes) == merkle.reference_consistency_proof(old, leaves)
            consistency.verify()
        ledger.store.tree_size_hint = None if off_by is None else n + off_by
        with pytest.raises(InvalidInput, match=f"not in a tree of size {n}"):
            ledger.inclusion_proof(n)
        with pytest.raises(InvalidInput, match=f"between 0 and {n}"):
            ledger.consistency_proof(n + 1)


def test_out_of_range_sizes_are_refused_after_one_statement(ledger: Ledger) -> None:
    size = ledger.head().size
    for bad in (size + 1, -1):
        with pytest.raises(InvalidInput, match="out of range"):
            ledger.inclusion_proof(0, bad)
        with pytest.raises(InvalidInput, match="out of range"):
            ledger.consistency_proof(0, bad)
    with pytest.raises(InvalidInput, match="between 0 and"):
        ledger.consistency_proof(-1, size)


def test_the_statement_reads_every_row_by_its_primary_key(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    _grow(ledger, writer_key, [9])
    n = ledger.head().size
    seen: list[tuple[str, Any]] = []

    def capture(_c: object, _cur: object, statement: str, params: Any, *_: object) -> None:
        if statement.strip().upper() != "BEGIN":
            seen.append((statement, params))

    sa.event.listen(ledger.store.engine, "before_cursor_execute", capture)
    try:
        ledger.inclusion_proof(3, n)
    finally:
        sa.event.remove(ledger.store.engine, "before_cursor_execute", capture)
    ((statement, params),) = seen
    with ledger.store.engine.connect() as conn:
        if ledger.store.dialect == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            plan = "\n".join(str(row[-1]) for row in rows)
            assert "SEARCH entries USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
            assert "SEARCH tree_nodes USING" in plan and "PRIMARY KEY" in plan, plan
            # The head: the rowid read backwards, one row (LIMIT 1), not a scan to the end.
            assert "SCAN tree_nodes" not in plan, plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # its tiny tables here
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", params))
            assert "Index Only Scan Backward using entries_pkey" in plan or (
                "Index Scan Backward using entries_pkey" in plan
            ), plan
            assert "tree_nodes_pkey" in plan, plan
            assert "Seq Scan" not in plan, plan


def test_postgresql_reads_every_proof_through_one_prepared_statement(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    """PostgreSQL: whatever the sizes and entries, the proof's statement is one text
    (``sql._PG_HEAD_AND_NODES``, the ids in array parameters), so psycopg prepares it once
    per connection and the server reuses one plan (a generic plan) instead of parsing and
    planning a new text per tree size; the proofs through it are the reference's."""
    if ledger.store.dialect != "postgresql":
        pytest.skip("SQLite parses in process: the ids are written into the text there")
    _grow(ledger, writer_key, [5, 9, 4])
    leaves = _leaves(ledger)
    n = len(leaves)
    texts: set[str] = set()
    calls = 0
    for size in range(1, n + 1):
        for seq in {0, size // 2, size - 1}:
            seen = _statements(ledger, lambda s=seq, z=size: ledger.inclusion_proof(s, z))
            proof = ledger.inclusion_proof(seq, size)
            assert list(proof.hashes) == merkle.reference_inclusion_proof(seq, leaves[:size])
            texts.update(seen)
            calls += 2
        old = size // 3
        seen = _statements(ledger, lambda o=old, z=size: ledger.consistency_proof(o, z))
        texts.update(seen)
        consistency = ledger.consistency_proof(old, size)
        assert list(consistency.hashes) == merkle.reference_consistency_proof(old, leaves[:size])
        calls += 2
    assert len(texts) == 1, texts
    assert calls > 20  # past psycopg's threshold (5) and the server's custom plans (5)
    with ledger.store.engine.connect() as conn:  # the pool's one connection, used throughout
        rows = conn.exec_driver_sql(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE strpos(statement, 'unnest') > 0"
        ).all()
    assert len(rows) == 1, rows
    generic, custom = rows[0]
    assert generic > custom, rows
