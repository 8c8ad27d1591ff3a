"""The keeper of the derived caches in a serve (decision 0039), on SQLite and PostgreSQL:
one process refreshes at a time (a database lock) while the others keep serving and try
again later; a serve's keeper refreshes in a child process, so a catch-up never runs in
the serving process, and the worker's own reads wait for it instead of deriving."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from api.app import keeper_child
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_document, read_text
from ledger.instance import Instance
from ledger.keeper import DerivedKeeper
from ledger.store import Store
from ledger.store import derived as derived_store
from tests.store.test_derived_freshness import full_derivation_differences
from tests.unit.line_stories import CONTAINERS


def ingest(instance: Instance, stories: range) -> None:
    for n in stories:
        source, published, text = CONTAINERS[n]
        doc = read_text(f"date {published.isoformat()}\n{source}\n\n{text}\n")
        ingest_document(
            instance.ledger,
            instance.writer_key(),
            doc,
            where=source,
            extractor=DeterministicExtractor(),
        )


@pytest.fixture
def other_store(db_url: str, instance: Instance) -> Iterator[Store]:
    """Another process's connection to the same database (opened after the instance made it)."""
    store = Store.open(db_url)
    yield store
    store.close()


def test_one_process_refreshes_at_a_time_and_the_others_keep_serving(
    instance: Instance, other_store: Store
) -> None:
    ledger = instance.ledger
    keeper = DerivedKeeper(ledger, delay=0.01, retry=0.1).attach()
    with derived_store.refresh_lock(other_store) as held:  # another worker is catching up
        assert held
        keeper.start()
        ingest(instance, range(2))
        deadline = time.monotonic() + 30
        while keeper.busy_skips < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert keeper.busy_skips >= 2  # tried, found it taken, tried again later
        assert not ledger.derived_status().current
        assert len(ledger.store.all_claims()) > 0  # serving meanwhile
        with derived_store.refresh_lock(other_store, wait=False) as again:
            assert not again  # a second holder is refused at once, not queued
    try:
        assert keeper.wait_idle(60)
        assert ledger.derived_status().current
        assert full_derivation_differences(ledger) == []
    finally:
        keeper.stop()


def test_a_serves_keeper_refreshes_in_a_child_process(instance: Instance, db_url: str) -> None:
    ledger = instance.ledger
    child = keeper_child(db_url, instance)
    assert child is not None
    keeper = DerivedKeeper(ledger, delay=0.01, child=child).attach().start()
    try:
        assert keeper.wait_idle(60)
        ingest(instance, range(3))
        # the worker's own read waits for the keeper rather than deriving in its thread
        names = [c.name for c in ledger.claimant_identities()]
        assert ledger.derived_status().current
        assert any("Kirby" in n for n in names)
        ingest(instance, range(3, 5))
        assert keeper.wait_idle(60)
        assert ledger.derived_status().current
        assert full_derivation_differences(ledger) == []
        assert ledger._deriver is None  # nothing was derived in this process
        process = keeper._process
        assert process is not None and process.poll() is None
    finally:
        keeper.stop()
    assert process.poll() is not None  # the child ends with its keeper


def test_a_database_in_memory_keeps_its_refresh_in_process(instance: Instance) -> None:
    assert keeper_child("sqlite://", instance) is None
    assert keeper_child("sqlite:///:memory:", instance) is None
