"""A refresh after an append reads and writes in proportion to what changed (decision
0039), on SQLite and PostgreSQL: only the claims changed since the last refresh are read,
only the rows of the identities and lines they touch are read and written, and the tables
always equal a derivation of the whole log; a change a step cannot take exactly (a
retraction, an unlink, a link that renames the claimant of earlier figures) derives from
nothing, as before."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import pytest

from ledger.derived import Deriver
from ledger.entries import ClaimChanges, Rating
from ledger.extract.deterministic import DeterministicExtractor
from ledger.identity import Override
from ledger.ingest import ingest_document, read_text
from ledger.queries import ClaimFilter
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.state import ClaimState
from ledger.store import Store
from ledger.store import derived as derived_store
from ledger.store.sql import Txn
from tests.store.test_derived_freshness import full_derivation_differences
from tests.unit.line_stories import CONTAINERS


def ingest(ledger: Ledger, writer: SigningKey, stories: list[int]) -> None:
    """Story ``n`` of the container stories, retold by another outlet from 5 on."""
    for n in stories:
        source, published, text = CONTAINERS[n % len(CONTAINERS)]
        if n >= len(CONTAINERS):
            source = f"{source}-retold-{n}"
        doc = read_text(f"date {published.isoformat()}\n{source}\n\n{text}\n")
        ingest_document(ledger, writer, doc, where=source, extractor=DeterministicExtractor())


@pytest.fixture
def whole_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts reads of every claim (at once or in chunks) and of every stored derived row."""
    calls: list[str] = []
    all_claims, stored_rows = Txn.all_claims, derived_store.stored_rows

    def counted_all_claims(self: Txn, *, limit: int | None = None) -> object:
        calls.append("all_claims")
        return all_claims(self, limit=limit)

    def counted_stored_rows(txn: Txn) -> derived_store.Rows:
        calls.append("stored_rows")
        return stored_rows(txn)

    chunks = Txn.claim_chunks

    def counted_chunks(self: Txn, chunk: int = 20_000) -> object:
        calls.append("all_claims")
        return chunks(self, chunk)

    monkeypatch.setattr(Txn, "all_claims", counted_all_claims)
    monkeypatch.setattr(Txn, "claim_chunks", counted_chunks)
    monkeypatch.setattr(derived_store, "stored_rows", counted_stored_rows)
    return calls


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The tree sizes at which a refresh derived from nothing."""
    sizes: list[int] = []
    build = Deriver.build.__func__  # type: ignore[attr-defined]

    def counted(
        cls: type[Deriver], claims: Iterable[ClaimState], overrides: Sequence[Override], size: int
    ) -> Deriver:
        sizes.append(size)
        return build(cls, claims, overrides, size)  # type: ignore[no-any-return]

    monkeypatch.setattr(Deriver, "build", classmethod(counted))
    return sizes


def rows_written(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    written: list[int] = []
    write = derived_store.write_derived

    def counted(txn: Txn, plan: derived_store.DerivedWrite, size: int) -> int:
        written.append(plan.rows)
        return write(txn, plan, size)

    monkeypatch.setattr(derived_store, "write_derived", counted)
    return written


def test_appends_and_reviews_are_refreshed_from_what_changed_only(
    ledger: Ledger,
    writer_key: SigningKey,
    log_key: SigningKey,
    whole_reads: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ingest(ledger, writer_key, [0, 1, 2])
    ledger.refresh_derived()
    assert whole_reads == ["all_claims"]  # the first refresh derives from nothing
    written = rows_written(monkeypatch)
    for n in (3, 4, 5):
        ingest(ledger, writer_key, [n])
        assert ledger.refresh_derived() == ledger.head().size
        assert full_derivation_differences(ledger) == []
    claim = ledger.find_claims(ClaimFilter(), limit=1)[0]
    ledger.review_claim(log_key, claim.claim_id, follows=claim.head, rating=Rating(textual="True"))
    ledger.refresh_derived()
    assert full_derivation_differences(ledger) == []
    whole_reads.remove("all_claims")  # full_derivation_differences' own reads
    assert set(whole_reads) <= {"all_claims", "stored_rows"}
    assert whole_reads.count("all_claims") == 4 and whole_reads.count("stored_rows") == 4
    with ledger.store.reader() as txn:
        total = sum(len(rows) for rows in derived_store.stored_rows(txn).values())
    assert all(0 < n < total for n in written[:3]), (written, total)
    assert written[3] == 0  # a review changes no identity and no line


def test_a_retraction_link_or_unlink_derives_from_nothing_exactly(
    ledger: Ledger, writer_key: SigningKey, log_key: SigningKey, builds: list[int]
) -> None:
    ingest(ledger, writer_key, [0, 1, 2, 3])
    ledger.refresh_derived()
    sizes = [ledger.head().size]
    claims = ledger.find_claims(ClaimFilter(), limit=100)
    first, last = claims[0], claims[-1]
    ledger.revise_claim(
        writer_key,
        first.claim_id,
        follows=first.head,
        changes=ClaimChanges(statement="A revised statement about 1,000 containers."),
        reason="test",
    )
    ledger.refresh_derived()  # the statement is not derived from (the quote is): a step
    assert full_derivation_differences(ledger) == []
    ledger.retract_claim(writer_key, last.claim_id, follows=last.head, reason="test")
    ledger.refresh_derived()
    sizes.append(ledger.head().size)
    assert full_derivation_differences(ledger) == []
    kirby = ledger.claimant_identities(search="Kirby")[0]
    shin = ledger.claimant_identities(search="Shin Won-sik")[0]
    ledger.link_claimants(log_key, kirby.id, shin.id, reason="test")
    ledger.refresh_derived()  # the claims of Shin now name Kirby's identity: regrouped
    sizes.append(ledger.head().size)
    assert full_derivation_differences(ledger) == []
    ledger.unlink_claimants(log_key, kirby.id, shin.id, reason="test")
    ledger.refresh_derived()
    sizes.append(ledger.head().size)
    assert full_derivation_differences(ledger) == []
    ingest(ledger, writer_key, [4])
    ledger.refresh_derived()
    assert full_derivation_differences(ledger) == []
    # from nothing: the first, the retraction, the link, the unlink; not the revision of a
    # statement, nor the document after them
    assert builds == sizes


@pytest.fixture
def other(ledger: Ledger, db_url: str, log_key: SigningKey) -> Iterator[Ledger]:
    """Another worker's ledger on the same database, which appends and refreshes too."""
    store = Store.open(db_url)
    yield Ledger(store, ledger.origin, log_key=log_key)
    store.close()


def test_two_writers_refreshing_in_turn_stay_exact(
    ledger: Ledger, other: Ledger, writer_key: SigningKey, builds: list[int]
) -> None:
    """Each worker's kept derivation is behind what the other wrote: it reads the claims
    changed since its own size and rewrites what they touch, against the stored rows."""
    ingest(ledger, writer_key, [0, 1])
    ledger.refresh_derived()
    ingest(other, writer_key, [2])
    other.refresh_derived()  # other's first: from nothing
    for n, writer in ((3, ledger), (4, other), (5, ledger), (0, other)):
        ingest(writer, writer_key, [n])
        writer.refresh_derived()
        assert full_derivation_differences(writer) == []
    assert len(builds) == 2  # each worker's first
