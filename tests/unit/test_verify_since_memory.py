"""``verify_since`` with no database: the entries and proofs from memory (as a remote
client's monitor gets them from a server), and an ``OldLog`` that lies."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ledger import merkle
from ledger.chunks import Row
from ledger.entries import ClaimChanges, ClaimRevised, entry_hash, parse_entry
from ledger.errors import IntegrityError
from ledger.instance import Instance
from ledger.state import subject_of
from ledger.store import StoredCheckpoint
from ledger.verify import verify_store
from ledger.verify_since import VerifiedState, verify_since
from tests.helpers import add_source_with_claims


class MemoryLog:
    """An ``OldLog`` over a list of entry bytes; ``lies`` replaces answers by seq."""

    def __init__(self, entries: Sequence[bytes]) -> None:
        self.entries = list(entries)
        self.nodes = merkle.DictNodeReader.from_leaves([entry_hash(e) for e in entries])
        self.lies: dict[int, bytes] = {}
        self.asked: list[int] = []

    def _data(self, seq: int) -> bytes:
        self.asked.append(seq)
        return self.lies.get(seq, self.entries[seq])

    def seq_of(self, entry_hash_hex: str) -> int | None:
        for seq, data in enumerate(self.entries):
            if entry_hash(data).hex() == entry_hash_hex:
                return seq
        return None

    def entry_at(self, seq: int) -> bytes | None:
        return self._data(seq) if seq < len(self.entries) else None

    def history(self, subject: str, before: int) -> list[bytes]:
        out = []
        for seq in range(min(before, len(self.entries))):
            entry = parse_entry(self.entries[seq])
            if entry.hash.hex() == subject or subject_of(entry) == subject:
                out.append(self._data(seq))
        return out

    def source_seq(self, sha256: str) -> int | None:
        return None

    def key_entries(self, stop: int) -> list[tuple[int, bytes]]:
        return [(s, d) for s, d in enumerate(self.entries[:stop]) if b'"kind":"key.' in d]

    def inclusion_proof(self, index: int, size: int) -> list[merkle.Hash]:
        return merkle.inclusion_proof(index, size, self.nodes)

    def consistency_proof(self, old_size: int, new_size: int) -> list[merkle.Hash]:
        return merkle.consistency_proof(old_size, new_size, self.nodes)


def logged(instance: Instance) -> tuple[list[bytes], list[StoredCheckpoint]]:
    store = instance.ledger.store
    return [row.data for row in store.iter_entries()], list(store.iter_checkpoints())


def state_at(entries: list[bytes], checkpoints: list[StoredCheckpoint], k: int) -> VerifiedState:
    grown = merkle.integrate(0, [], [merkle.Hash(entry_hash(e)) for e in entries[:k]])
    note = next(c.note for c in checkpoints if c.size == k)
    return VerifiedState(k, grown.root, grown.frontier, note)


def rows_after(entries: list[bytes], k: int) -> list[Row]:
    return [(seq, entries[seq], None, None, None, None, None) for seq in range(k, len(entries))]


@pytest.fixture
def revised(instance: Instance) -> Instance:
    """Sources and claims, then (after checkpoint 10) a revision of a claim from before."""
    ledger, writer = instance.ledger, instance.writer_key()
    ids = add_source_with_claims(ledger, writer, 0, claims=3)  # 2..5
    add_source_with_claims(ledger, writer, 1, claims=3)  # 6..9
    ledger.revise_claim(
        writer, ids[1], follows=ids[1], changes=ClaimChanges(statement="Changed."), reason="x"
    )
    add_source_with_claims(ledger, writer, 2, claims=1)
    return instance


def test_from_memory_it_reaches_the_full_verify(revised: Instance) -> None:
    entries, checkpoints = logged(revised)
    full = verify_store(revised.ledger.store, workers=0)
    for k in (c.size for c in checkpoints):
        log = MemoryLog(entries)
        result = verify_since(
            state_at(entries, checkpoints, k),
            rows_after(entries, k),
            log,
            [c for c in checkpoints if c.size > k],
        )
        assert (result.report.root, result.report.head) == (full.root, full.head)
        assert (
            result.state.frontier
            == merkle.integrate(0, [], [merkle.Hash(entry_hash(e)) for e in entries]).frontier
        )
        # Cost: nothing below k is read but what the new entries need (entry 0 for the log
        # key, entry k-1 for the link, the revised claim's history).
        assert len(set(log.asked)) <= 4


def test_a_lying_old_log_is_caught_by_the_proof(revised: Instance) -> None:
    entries, checkpoints = logged(revised)
    revision = next(i for i, e in enumerate(entries) if b'"kind":"claim.revised"' in e)
    payload = parse_entry(entries[revision]).body.payload
    assert isinstance(payload, ClaimRevised)
    claim_seq = next(i for i, e in enumerate(entries) if entry_hash(e).hex() == payload.claim)
    log = MemoryLog(entries)
    log.lies[claim_seq] = entries[claim_seq + 1]  # another claim's genuine, signed bytes
    with pytest.raises(IntegrityError, match=rf"entry {claim_seq} .* is not what the saved"):
        verify_since(
            state_at(entries, checkpoints, 10),
            rows_after(entries, 10),
            log,
            [c for c in checkpoints if c.size > 10],
        )


def test_a_fork_after_the_saved_state_is_caught(revised: Instance) -> None:
    """The log served now does not extend the saved one: entry 9 differs (a state saved
    from another history): the first proof of an older entry (entry 0, the log key) fails."""
    entries, checkpoints = logged(revised)
    saved = state_at(entries, checkpoints, 10)
    forked = [*entries[:9], entries[8], *entries[10:]]
    with pytest.raises(
        IntegrityError, match=r"entry 0 .*is not what the saved checkpoint at size 10"
    ):
        verify_since(saved, rows_after(forked, 10), MemoryLog(forked), checkpoints[-2:])
