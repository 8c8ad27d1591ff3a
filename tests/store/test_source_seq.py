"""Claims find their source by its registration's seq (decision 0044, migration 0015), on
SQLite and PostgreSQL alike: every claim row and past state holds the seq of the source it
cites, the source, URI and publisher filters find through it what the plain meaning of
the filter finds (a claim appended long after its source included), and the migration
fills the column of an existing ledger and goes back down."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from ledger.entries import ClaimChanges
from ledger.queries import ClaimFilter
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.state import ClaimState
from ledger.store.engine import alembic_config
from ledger.verify import rebuild_projections, verify_store
from tests.helpers import add_source_with_claims, append_sources, claim_payload, source_sha


@pytest.fixture
def cited(ledger: Ledger, writer_key: SigningKey) -> list[str]:
    """Three sources of two publishers' URIs; claims of each in their own batch, and two
    more citing the first source appended after the others (its seq then far from theirs);
    one claim revised (a past state in claim_versions)."""
    ids = add_source_with_claims(ledger, writer_key, 1, claims=2)
    ids += add_source_with_claims(ledger, writer_key, 2, claims=3)
    ids += add_source_with_claims(ledger, writer_key, 3, claims=1)
    append_sources(ledger, writer_key, [4, 5])
    first = ledger.claim(ids[0])
    with ledger.batch() as batch:
        ids += [
            batch.add(
                claim_payload(first.source_entry, source_sha(1), 10 + i), writer_key
            ).hash.hex()
            for i in range(2)
        ]
    ledger.revise_claim(
        writer_key,
        ids[-1],
        follows=ids[-1],
        changes=ClaimChanges(statement="Revised."),
        reason="fix",
    )
    return ids


def _all(ledger: Ledger) -> list[ClaimState]:
    return ledger.store.all_claims()


def test_every_claim_and_past_state_holds_its_sources_registration_seq(
    ledger: Ledger, cited: list[str]
) -> None:
    for claim in _all(ledger):
        assert claim.source_seq == ledger.source(claim.source_sha256).seq
    with ledger.store.reader() as txn:
        versions = txn.all_versions()
    assert versions
    for version in versions:
        assert version.state.source_seq == ledger.claim(version.state.claim_id).source_seq
    later = ledger.claim(cited[-1])
    assert later.seq - later.source_seq > 10  # cited from far down the log


def test_source_filters_find_what_their_plain_meaning_finds(
    ledger: Ledger, cited: list[str]
) -> None:
    claims = _all(ledger)
    sources = {c.source_sha256: ledger.source(c.source_sha256) for c in claims}
    first = ledger.claim(cited[0])
    for where in (
        ClaimFilter(source=first.source_sha256),
        ClaimFilter(source="https://news.example/2"),
        ClaimFilter(source="https://news.example/4"),  # a source nothing cites
        ClaimFilter(source="0" * 64),
        ClaimFilter(publisher="Example News"),
        ClaimFilter(publisher="Nobody Press"),
    ):
        expected = [
            c.claim_id
            for c in claims
            if (
                where.source is None
                or where.source in (c.source_sha256, sources[c.source_sha256].uri)
            )
            and (where.publisher is None or sources[c.source_sha256].publisher == where.publisher)
        ]
        found = [c.claim_id for c in ledger.find_claims(where, limit=100)]
        assert found == expected, where
        assert ledger.count_claims(where) == len(expected), where
    of_first = [c.claim_id for c in ledger.source_claims(first.source_sha256)]
    assert of_first == [cited[0], cited[1], cited[-2], cited[-1]]  # in log order
    assert len(ledger.find_claims(ClaimFilter(source=first.source_sha256), limit=100)) == 4


def test_migration_0015_round_trips_a_populated_ledger(
    db_url: str, ledger: Ledger, cited: list[str]
) -> None:
    """Down to 0014 (the source's SHA-256 indexed, no source_seq) and back up: the column
    is filled from ``sources`` for claims and past states alike, and verifies."""
    store = ledger.store
    with store.reader() as txn:
        before = (store.all_claims(), txn.all_versions())
    command.downgrade(alembic_config(db_url), "0014")
    indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("claims")}
    columns = {c["name"] for c in sa.inspect(store.engine).get_columns("claim_versions")}
    assert "ix_claims_source_sha256" in indexes and "ix_claims_source_seq" not in indexes
    assert "source_seq" not in columns
    command.upgrade(alembic_config(db_url), "head")
    command.check(alembic_config(db_url))
    with store.reader() as txn:
        assert (store.all_claims(), txn.all_versions()) == before
    verify_store(store, workers=0)
    assert not rebuild_projections(store, apply=False).differences
