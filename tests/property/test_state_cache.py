"""The process cache of the claim-state map (ledger.statelog.StateMapCache) against a
plain reference: whatever order sizes are asked in (catch-up, rewinds through the undo log,
rebuilds when the undo log is too short, appends that roll back), the map it proves from is
the map of the writes before that size, recomputed by tests/property/statemap_reference.py.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.statelog import StateMapCache
from ledger.statemap import verify_proof
from ledger.store.sql import StateLeaf
from tests.property.statemap_reference import ref_hash

KEYS = [bytes([k]) * 32 for k in range(1, 9)]  # few keys: the same key written often


class Rows:
    """The state_map_leaves table as the cache reads it (``Txn.state_leaves``)."""

    def __init__(self, leaves: list[StateLeaf]) -> None:
        self.leaves = leaves

    def state_leaves(self, start: int, stop: int) -> list[StateLeaf]:
        return [leaf for leaf in self.leaves if start <= leaf[0] < stop]


def reference_root(leaves: list[StateLeaf], size: int) -> bytes:
    pairs: dict[bytes, bytes] = {}
    for seq, key, value in leaves:
        if seq < size:
            pairs[key] = value
    return ref_hash(pairs)


@st.composite
def logs(draw: st.DrawFn) -> list[StateLeaf]:
    """Writes at increasing seqs (some entries write nothing), keys drawn from KEYS."""
    leaves: list[StateLeaf] = []
    seq = 0
    for _ in range(draw(st.integers(0, 40))):
        seq += draw(st.integers(0, 2))
        key = draw(st.sampled_from(KEYS))
        leaves.append((seq, key, seq.to_bytes(32, "big")))
        seq += 1
    return leaves


relaxed = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@relaxed
@given(
    logs(),
    st.lists(st.integers(0, 130), min_size=1, max_size=12),
    st.integers(1, 50),
    st.data(),
)
def test_cache_root_and_proofs_match_the_reference_at_any_size(
    leaves: list[StateLeaf], sizes: list[int], undo_limit: int, data: st.DataObject
) -> None:
    end = (leaves[-1][0] + 1) if leaves else 0
    rows = Rows(leaves)
    cache = StateMapCache(undo_limit=undo_limit)
    for size in sizes:
        size = min(size, end)
        root, proofs = cache.prove(rows, size, KEYS)  # type: ignore[arg-type]
        assert root == reference_root(leaves, size)
        assert cache.size == size
        latest = {key: value for seq, key, value in leaves if seq < size}
        for key, proof in zip(KEYS, proofs, strict=True):
            assert verify_proof(root, key, proof) == latest.get(key)


@relaxed
@given(logs(), st.integers(0, 130), st.integers(1, 12), st.data())
def test_an_append_that_rolls_back_is_undone(
    leaves: list[StateLeaf], at: int, count: int, data: st.DataObject
) -> None:
    """``advance`` then ``discard_from``: the cache is the map it was, and the next batch
    (other writes at the same seqs) gets the root of the log that really committed."""
    end = (leaves[-1][0] + 1) if leaves else 0
    old = min(at, end)
    committed = [leaf for leaf in leaves if leaf[0] < old]
    rows = Rows(committed)
    cache = StateMapCache()
    cache.root_at(rows, old)  # type: ignore[arg-type]
    tentative = [
        (old + i, data.draw(st.sampled_from(KEYS)), bytes([0xEE]) * 31 + bytes([i]))
        for i in range(count)
    ]
    root = cache.advance(rows, old, old + count, tentative)  # type: ignore[arg-type]
    assert root == reference_root(committed + tentative, old + count)
    cache.discard_from(old)
    assert cache.size == old
    assert cache.root_at(rows, old) == reference_root(committed, old)  # type: ignore[arg-type]
    other = [(old, KEYS[0], bytes([0xAB]) * 32)]
    root = cache.advance(rows, old, old + 1, other)  # type: ignore[arg-type]
    assert root == reference_root(committed + other, old + 1)
