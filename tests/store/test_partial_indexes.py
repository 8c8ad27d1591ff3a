"""The partial indexes of migration 0006 (rare entry kinds, entries about a claim, claims
no longer active), on SQLite and PostgreSQL alike: the reads that go through them give
what a plain scan gives, and the database really answers them from those indexes; and
the migration itself, both ways, on a populated ledger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from ledger.entries import ClaimChanges, Rating
from ledger.queries import ClaimFilter, ClaimOrder
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store.engine import alembic_config
from ledger.store.sql import Store
from ledger.store.tables import ABOUT_A_CLAIM, RARE_KINDS
from ledger.verify import verify_store
from tests.helpers import add_source_with_claims


@pytest.fixture
def busy(ledger: Ledger, writer_key: SigningKey, log_key: SigningKey) -> list[str]:
    """Two sources with three claims each; one claim revised, reviewed and retracted, one
    reviewed, a reviewer key registered."""
    ids = add_source_with_claims(ledger, writer_key, 1, claims=3)
    ids += add_source_with_claims(ledger, writer_key, 2, claims=3)
    first, second = ids[0], ids[4]
    revised = ledger.revise_claim(
        writer_key, first, follows=first, changes=ClaimChanges(made_on="2024-01-02"), reason="date"
    )
    rating = Rating(textual="True", value=5, best=5, worst=1)
    reviewed = ledger.review_claim(log_key, first, follows=revised.hash.hex(), rating=rating)
    ledger.review_claim(log_key, second, follows=second, rating=rating)
    ledger.retract_claim(writer_key, first, follows=reviewed.hash.hex(), reason="withdrawn")
    ledger.register_key(log_key, SigningKey.generate("reviewer"), ["reviewer"])
    return ids


def _scan(store: Store, sql: str, **params: object) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql), params)]


def test_kind_counts_equal_a_count_over_the_log(ledger: Ledger, busy: list[str]) -> None:
    rows = _scan(ledger.store, "SELECT kind, count(*) FROM entries GROUP BY kind")
    assert ledger.store.kind_counts() == dict(rows)  # type: ignore[arg-type]
    assert ledger.store.kind_counts()["claim.reviewed"] == 2


def test_a_claims_entries_are_its_extraction_then_the_entries_naming_it(
    ledger: Ledger, busy: list[str]
) -> None:
    for claim_id in busy:
        expected = _scan(
            ledger.store,
            "SELECT seq FROM entries WHERE subject = :s ORDER BY seq",
            s=claim_id,
        )
        found = ledger.store.subject_entries(claim_id)
        assert [(e.seq,) for e in found] == expected
        assert found[0].hash == claim_id and found[0].kind == "claim.extracted"
    assert len(ledger.store.subject_entries(busy[0])) == 4
    many = ledger.history_many(busy)
    assert [len(h) for h in many] == [4, 1, 1, 1, 2, 1]
    assert ledger.store.subject_entries("0" * 64) == []


def test_key_entries_are_every_key_entry_in_log_order(ledger: Ledger, busy: list[str]) -> None:
    expected = _scan(
        ledger.store,
        "SELECT seq FROM entries WHERE kind LIKE 'key.%' AND seq < :stop ORDER BY seq",
        stop=10**9,
    )
    with ledger.store.reader() as txn:
        found = txn.key_entries(10**9)
        assert [(seq,) for seq, _ in found] == expected and len(expected) >= 3
        assert [seq for seq, _ in txn.key_entries(expected[-1][0])] == [s for (s,) in expected[:-1]]  # type: ignore[misc]


Statement = tuple[str, Any]


def _captured(
    store: Store, wanted: Callable[[str], bool], action: Callable[[], object]
) -> list[Statement]:
    """The statements ``action`` runs that ``wanted`` picks, with their parameters."""
    seen: list[Statement] = []

    def capture(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        if wanted(statement):
            seen.append((statement, params))

    sa.event.listen(store.engine, "before_cursor_execute", capture)
    try:
        action()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", capture)
    return seen


def _plan(store: Store, statement: str, params: Any) -> str:
    """The database's plan for ``statement`` (PostgreSQL: with sequential scans off, which a
    tiny table would rather do)."""
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            return "\n".join(str(row[-1]) for row in rows)
        conn.exec_driver_sql("SET enable_seqscan = off")
        return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", params))


@pytest.mark.parametrize(
    ("read", "index", "predicate"),
    [
        ("key_entries", "ix_entries_rare_kind_seq", RARE_KINDS),
        ("subject_entries", "ix_entries_subject_seq", ABOUT_A_CLAIM),
    ],
)
def test_reads_are_answered_from_the_partial_indexes(
    ledger: Ledger, busy: list[str], read: str, index: str, predicate: str
) -> None:
    """The statements the store runs, captured and explained: each uses its partial index
    (a bound parameter in place of the predicate's text would make the index unusable)."""
    store = ledger.store

    def read_it() -> object:
        if read == "key_entries":
            with store.reader() as txn:
                return txn.key_entries(10**9)
        return store.subject_entries(busy[0])

    seen = _captured(store, lambda statement: predicate in statement, read_it)
    assert seen
    for statement, params in seen:
        plan = _plan(store, statement, params)
        assert index in plan, (statement, plan)


def test_migration_0006_round_trips_a_populated_ledger(
    db_url: str, ledger: Ledger, busy: list[str]
) -> None:
    """Down to 0005 (claims keyed by id, full indexes) and back up: every row, the search
    index and the verifier's verdict survive. (The code reads the newest schema only, so
    the rows are compared once back at the head: migration 0007 added columns.)"""
    store = ledger.store

    def snapshot() -> tuple[object, ...]:
        search = ClaimFilter(text="containers")
        with store.reader() as txn:
            versions = txn.all_versions()
        return (
            store.all_claims(),
            versions,
            [ledger.claim(claim_id) for claim_id in busy],
            [[item.entry.seq for item in history] for history in ledger.history_many(busy)],
            [c.claim_id for c in ledger.find_claims(search, limit=100)],
            store.kind_counts(),
        )

    before = snapshot()
    assert before[4], "the search should find the claims"
    command.downgrade(alembic_config(db_url), "0005")
    command.upgrade(alembic_config(db_url), "head")
    command.check(alembic_config(db_url))
    assert snapshot() == before
    verify_store(store)


@pytest.mark.parametrize("field", ["recorded", "score"])
def test_changed_statuses_are_found_through_their_partial_index(
    ledger: Ledger, busy: list[str], field: str
) -> None:
    """Revised and retracted claims are few: a filter on them reads the partial index of
    changed claims (then sorts that handful) instead of scanning the order's index."""
    store = ledger.store
    order = ClaimOrder(field)  # type: ignore[arg-type]
    found: dict[str, list[str]] = {}

    def find() -> None:
        for status in ("retracted", "revised"):
            claims = ledger.find_claims(ClaimFilter(status=status), order=order)  # type: ignore[arg-type]
            found[status] = [c.claim_id for c in claims]

    def probe(statement: str) -> bool:  # decision 0024: the index read that finds them
        return "FROM claims" in statement and "ORDER BY" not in statement

    seen = _captured(store, probe, find)
    assert found == {"retracted": [busy[0]], "revised": []}  # revised, then retracted
    assert ledger.count_claims(ClaimFilter(status="active")) == len(busy) - 1
    assert len(seen) == 2
    for statement, params in seen:
        plan = _plan(store, statement, params)
        assert "ix_claims_status_seq" in plan, (statement, plan)
