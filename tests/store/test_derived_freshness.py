"""Who keeps the derived caches (identities and lines) up to the log, on SQLite and PostgreSQL
alike (decision 0027): the ledger that appended, once after a burst of appends; a ledger that
did not append never writes them and says how far behind what it reads is; a refresh writes
only the rows that changed and ends with the tables a full derivation gives."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ledger.batch import override_entries
from ledger.derived import LineFilter, LineView, derive, override_of
from ledger.entries import ClaimChanges
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_document, read_text
from ledger.keeper import DerivedKeeper
from ledger.queries import ClaimFilter
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import Store
from ledger.store import derived as derived_store
from ledger.verify import rebuild_projections, verify_store
from tests.unit.line_stories import CONTAINERS

EXTRACTOR = DeterministicExtractor()


def ingest(ledger: Ledger, writer: SigningKey, stories: list[int]) -> None:
    for n in stories:
        source, published, text = CONTAINERS[n]
        doc = read_text(f"date {published.isoformat()}\n{source}\n\n{text}\n")
        ingest_document(ledger, writer, doc, where=source, extractor=EXTRACTOR)


@pytest.fixture
def reader(ledger: Ledger, db_url: str) -> Iterator[Ledger]:
    """Another process's view of the same database: a ledger that never appends."""
    store = Store.open(db_url)
    yield Ledger(store, ledger.origin)
    store.close()


def stored_size(ledger: Ledger) -> int | None:
    with ledger.store.reader() as txn:
        return derived_store.derived_size(txn)


def full_derivation_differences(ledger: Ledger) -> list[str]:
    """What a derivation of the whole log finds different in the stored tables (if fresh)."""
    with ledger.store.reader() as txn:
        overrides = [override_of(e) for e in override_entries(txn)]
        return derived_store.derived_differences(txn, derive(txn.all_claims(), overrides))


def test_a_reader_never_writes_and_says_how_far_behind_it_is(
    ledger: Ledger, writer_key: SigningKey, reader: Ledger
) -> None:
    ingest(ledger, writer_key, [0, 1])
    size = ledger.keep_derived()
    assert size == ledger.head().size
    assert reader.derived_status().current
    before = reader.claimant_identities()
    ingest(ledger, writer_key, [2, 3, 4])  # the writer appends, and has not refreshed yet
    status = reader.derived_status()
    assert (status.size, status.current) == (size, False)
    assert status.log_size == ledger.head().size > size
    # The reader answers from the tables as they are, and writes nothing.
    assert reader.claimant_identities() == before
    assert reader.claim_lines(LineFilter()) == ledger_lines_at(reader)
    assert stored_size(reader) == size and not reader.derived_behind
    assert reader.keep_derived() is None  # it appended nothing: nothing to keep
    assert stored_size(reader) == size
    # The writer keeps them: then the reader's answers are current.
    assert ledger.keep_derived() == ledger.head().size
    assert reader.derived_status().current
    assert reader.claimant_identities() == ledger.claimant_identities() != before


def ledger_lines_at(reader: Ledger) -> list[LineView]:
    with reader.store.reader() as txn:
        return derived_store.line_page(txn, LineFilter(), after_seq=-1, limit=1000)


def test_a_ledger_never_derived_answers_empty_with_no_size(
    ledger: Ledger, writer_key: SigningKey, reader: Ledger
) -> None:
    ingest(ledger, writer_key, [0])
    assert reader.claimant_identities() == []
    assert reader.claim_lines(LineFilter()) == []
    status = reader.derived_status()
    assert status.size is None and not status.current
    assert stored_size(reader) is None
    # The appending ledger's own read brings them up first (read your writes).
    assert ledger.claimant_identities()
    assert reader.derived_status().current


def test_a_burst_of_appends_is_refreshed_once_at_its_end(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    ingest(ledger, writer_key, [0, 1, 2, 3, 4])  # one batch per document, no refresh
    assert ledger.derived_behind and stored_size(ledger) is None
    assert ledger.keep_derived() == ledger.head().size
    assert not ledger.derived_behind
    assert ledger.keep_derived() is None  # nothing appended since
    assert full_derivation_differences(ledger) == []


def test_refreshes_write_only_what_changed_and_match_a_full_derivation(
    ledger: Ledger, writer_key: SigningKey, log_key: SigningKey
) -> None:
    """Refreshed after every append — documents, a revision, a retraction, a link, an
    unlink — the tables always equal a derivation of the whole log, and one more document
    rewrites fewer rows than the tables hold (a whole rewrite deletes and inserts them all)."""
    for n in range(5):
        ingest(ledger, writer_key, [n])
        ledger.keep_derived()
        assert full_derivation_differences(ledger) == []
    claims = ledger.find_claims(ClaimFilter(), limit=100)
    first = claims[0]
    ledger.revise_claim(
        writer_key,
        first.claim_id,
        follows=first.head,
        changes=ClaimChanges(
            statement="A revised statement about 1,000 containers sent to Russia."
        ),
        reason="test",
    )
    ledger.keep_derived()
    assert full_derivation_differences(ledger) == []
    last = claims[-1]
    ledger.retract_claim(writer_key, last.claim_id, follows=last.head, reason="test")
    ledger.keep_derived()
    assert full_derivation_differences(ledger) == []
    kirby = ledger.claimant_identities(search="Kirby")[0]
    shin = ledger.claimant_identities(search="Shin Won-sik")[0]
    ledger.link_claimants(log_key, kirby.id, shin.id, reason="test")
    assert ledger.claimant_identities(search="Kirby")[0].claims == kirby.claims + shin.claims
    assert full_derivation_differences(ledger) == []
    ledger.unlink_claimants(log_key, kirby.id, shin.id, reason="test")
    assert ledger.claimant_identities(search="Kirby") == [kirby]
    assert full_derivation_differences(ledger) == []
    verify_store(ledger.store)
    # One more document, refreshed by hand to count the rows written.
    with ledger.store.reader() as txn:
        total = sum(len(rows) for rows in derived_store.stored_rows(txn).values())
    source, published, text = CONTAINERS[0]  # the first story, retold by another outlet
    doc = read_text(f"date {published.isoformat()}\n{source}-retold\n\n{text}\n")
    ingest_document(ledger, writer_key, doc, where=f"{source}-retold", extractor=EXTRACTOR)
    changed = refresh_counting(ledger)
    assert 0 < changed < total, (changed, total)  # a whole rewrite: more than 2 x total
    assert full_derivation_differences(ledger) == []


def refresh_counting(ledger: Ledger) -> int:
    """``refresh_derived``'s steps, returning how many rows the write deleted and inserted."""
    with ledger.store.reader() as txn:
        size = txn.head().size
        overrides = [override_of(e) for e in override_entries(txn)]
        found = derive(txn.all_claims(), overrides)
        stored = derived_store.stored_rows(txn)
    rows = derived_store.keyed(derived_store.derived_rows(found))
    plan = derived_store.plan_write(rows, stored)
    with ledger.store.writer() as txn:
        return derived_store.write_derived(txn, plan, size)


def test_a_refresh_never_takes_the_tables_back_to_an_older_size(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    ingest(ledger, writer_key, [0, 1])
    with ledger.snapshot():  # this thread's reads see the log as it is now
        old = ledger.head().size

        def meanwhile() -> None:  # another thread appends and refreshes to a later size
            ingest(ledger, writer_key, [2])
            ledger.refresh_derived()

        thread = threading.Thread(target=meanwhile)
        thread.start()
        thread.join()
        # Derived from the older snapshot, then refused: a later size is already there.
        assert ledger.refresh_derived() > old
    assert stored_size(ledger) == ledger.head().size
    assert full_derivation_differences(ledger) == []


def test_rebuild_writes_them_at_the_head(ledger: Ledger, writer_key: SigningKey) -> None:
    ingest(ledger, writer_key, [0, 1, 2])
    rebuild_projections(ledger.store)
    assert stored_size(ledger) == ledger.head().size
    assert full_derivation_differences(ledger) == []


def test_the_keeper_refreshes_after_appends_in_the_background(
    ledger: Ledger, writer_key: SigningKey, reader: Ledger
) -> None:
    keeper = DerivedKeeper(ledger, delay=0.05).attach().start()
    try:
        assert keeper.wait_idle(60)  # caught up at start
        ingest(ledger, writer_key, [0, 1, 2, 3, 4])
        assert keeper.wait_idle(60)
        assert reader.derived_status().current
        assert not ledger.derived_behind
        assert reader.claimant_identities() == ledger.claimant_identities()
        assert keeper.refreshes <= 1 + 5 * 2  # at most one per append, plus the catch-up
    finally:
        keeper.stop()


def test_verify_and_rebuild_group_from_nothing_not_from_the_kept_grouping(
    ledger: Ledger, writer_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refresh resumes from the grouping this process kept (decision 0032); a check
    must not rest on it: ``verify`` and ``rebuild`` derive the lines afresh."""
    from ledger import derived

    ingest(ledger, writer_key, [0, 1])
    ledger.refresh_derived()  # leaves a resumable grouping of this log in the process

    def kept(*_: object) -> None:
        raise AssertionError("a check used the kept grouping")

    monkeypatch.setattr(derived, "group_resuming", kept)
    verify_store(ledger.store)  # raises on a difference
    rebuild_projections(ledger.store)


def test_the_keepers_catch_up_at_start_does_not_wait_for_a_burst(
    ledger: Ledger, writer_key: SigningKey, reader: Ledger
) -> None:
    """Appends by a process that stopped before refreshing: a starting worker's keeper
    catches up at once (``api.app`` waits for it before serving), while later appends are
    still debounced by ``delay``."""
    ingest(ledger, writer_key, [0, 1])
    assert not reader.derived_status().current
    keeper = DerivedKeeper(ledger, delay=30).attach().start()
    try:
        assert keeper.wait_idle(10)  # not 30 s: the first refresh is not debounced
        assert reader.derived_status().current
        ingest(ledger, writer_key, [2])
        assert not keeper.wait_idle(0.5)  # an append's refresh waits out the delay
    finally:
        keeper.stop(timeout=0)
