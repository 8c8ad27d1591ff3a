"""Reads that take several statements see one snapshot on both databases: a read
transaction does not see appends that commit while it is open (SQLite: a WAL read
transaction; PostgreSQL: REPEATABLE READ, READ ONLY), so provenance read during appends
always agrees with its own checkpoint."""

from __future__ import annotations

import threading

from ledger.entries import ClaimChanges
from ledger.merkle import Hash
from ledger.queries import ClaimFilter
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import Store
from tests.helpers import add_source_with_claims


def test_a_read_transaction_does_not_see_appends_committed_while_it_is_open(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    ids = add_source_with_claims(ledger, writer_key, 0, claims=2)
    with ledger.store.reader() as txn:
        size = txn.head().size
        assert txn.checkpoint() is not None
        ledger.revise_claim(  # another connection appends and commits meanwhile
            writer_key,
            ids[0],
            follows=ids[0],
            changes=ClaimChanges(statement="Revised."),
            reason="r",
        )
        assert txn.head().size == size
        checkpoint = txn.checkpoint()
        assert checkpoint is not None and checkpoint.size == size
        assert [e.seq for e in txn.subject_entries(ids[0])] == [
            e.seq for e in txn.subject_entries_many([ids[0]])[ids[0]]
        ]
        assert len(txn.subject_entries(ids[0])) == 1
    assert ledger.head().size == size + 1


def test_postgres_read_transactions_are_repeatable_read_and_read_only(
    postgres_url: str,
) -> None:
    store = Store.open(postgres_url)
    try:
        with store.reader() as txn:
            level = txn.conn.exec_driver_sql("SHOW transaction_isolation").scalar()
            read_only = txn.conn.exec_driver_sql("SHOW transaction_read_only").scalar()
        assert (level, read_only) == ("repeatable read", "on")
    finally:
        store.close()


ROUNDS = 40


def test_provenance_read_during_appends_is_consistent(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    """Readers ask for every claim's provenance, and for a page of claims with its total,
    while a writer keeps revising those claims and adding new ones: every answer verifies
    against its own checkpoint, every page matches its total, and no read fails (under
    READ COMMITTED, a revision committed between reading the checkpoint and reading the
    chains gave "entry N is not in a tree of size N")."""
    ids = add_source_with_claims(ledger, writer_key, 0, claims=3)
    heads = dict(zip(ids, ids, strict=True))
    errors: list[BaseException] = []
    done = threading.Event()
    reads = [0]

    def write() -> None:
        try:
            for n in range(ROUNDS):
                if n % 4 == 3:  # new claims too, for the page and its total
                    add_source_with_claims(ledger, writer_key, 100 + n, claims=1)
                claim = ids[n % len(ids)]
                entry = ledger.revise_claim(
                    writer_key,
                    claim,
                    follows=heads[claim],
                    changes=ClaimChanges(statement=f"Revision {n}."),
                    reason="race",
                )
                heads[claim] = entry.hash.hex()
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    def read() -> None:
        try:
            while not done.is_set():
                for provenance in ledger.provenance_many(ids):
                    size = provenance.checkpoint.size
                    for link in provenance.links:
                        assert link.entry.seq < size
                        assert link.proof.size == size
                        assert link.proof.root == Hash(provenance.checkpoint.root)
                        assert link.proof.leaf == Hash(link.entry.hash)
                        link.proof.verify()
                reads[0] += 1
        except BaseException as exc:
            errors.append(exc)

    def page() -> None:
        try:
            while not done.is_set():
                with ledger.snapshot():  # as each GraphQL query reads
                    found = ledger.find_claims(ClaimFilter(), limit=1000)
                    assert len(found) == ledger.count_claims(ClaimFilter())
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=write),
        *(threading.Thread(target=read) for _ in range(2)),
        threading.Thread(target=page),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=110)
    assert not errors, errors[0]
    assert reads[0] > 0
    final = ledger.provenance(ids[0])
    assert len(final.links) == 2 + len(range(0, ROUNDS, len(ids)))


def test_reads_inside_one_snapshot_share_its_state(ledger: Ledger, writer_key: SigningKey) -> None:
    """``Ledger.snapshot`` (what each GraphQL query runs in): separate core reads made one
    after another do not see an append committed between them; after it, they do."""
    ids = add_source_with_claims(ledger, writer_key, 0, claims=2)
    size = ledger.head().size
    with ledger.snapshot():
        before = ledger.provenance(ids[0])
        statement = ledger.claim(ids[0]).statement
        done = threading.Thread(
            target=ledger.revise_claim,
            args=(writer_key, ids[0]),
            kwargs={
                "follows": ids[0],
                "changes": ClaimChanges(statement="Revised."),
                "reason": "r",
            },
        )
        done.start()
        done.join()
        assert ledger.head().size == size
        assert ledger.claim(ids[0]).statement == statement
        assert ledger.provenance(ids[0]).checkpoint.size == before.checkpoint.size == size
        assert [link.entry.seq for link in ledger.provenance(ids[0]).links] == [
            link.entry.seq for link in before.links
        ]
        with ledger.snapshot():  # nested: the same snapshot
            assert ledger.head().size == size
    assert ledger.head().size == size + 1
    assert ledger.claim(ids[0]).statement == "Revised."
