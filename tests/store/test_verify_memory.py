"""Full verification's memory (issue 12): the claim-state map replay is sized once from the
log's size and never rebuilt (a rebuild holds every record twice beside the map)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.statelog import StateReplay
from ledger.statemap import StateMap
from ledger.verify import replay_map, verify_store
from tests.helpers import add_source_with_claims


def test_full_verify_replays_the_map_without_rebuilding_it(
    ledger: Ledger, writer_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(1, 4):
        add_source_with_claims(ledger, writer_key, n, claims=5)  # 18 map keys, 20 entries
    rebuilds: list[int] = []
    original = StateMap._rebuild

    def counted(self: StateMap, records: list[tuple[bytes, bytes]], bits: int | None) -> None:
        rebuilds.append(len(records))
        original(self, records, bits)

    monkeypatch.setattr(StateMap, "_rebuild", counted)
    report = verify_store(ledger.store, workers=0, chunk_bits=2)
    assert report.state_map is not None and len(report.state_map) == 18
    assert rebuilds == [0]  # built empty once; a map left to grow rebuilds at 8 keys too
    assert report.state_map.root == StateMap(report.state_map.items()).root
    # The root it checked is the one the latest checkpoint signed.
    assert report.checkpoints > 0


def _writes(draw_keys: list[int]) -> list[tuple[int, bytes, bytes]]:
    out = []
    for seq, k in enumerate(draw_keys):
        key = hashlib.sha256(k.to_bytes(4, "big")).digest()
        out.append((seq, key, hashlib.sha256(seq.to_bytes(4, "big")).digest()))
    return out


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.integers(0, 300), max_size=400),
    hint=st.one_of(st.none(), st.integers(0, 2000)),
    cut=st.integers(1, 64),
)
def test_a_sized_replay_has_the_roots_of_a_plain_map(
    keys: list[int], hint: int | None, cut: int
) -> None:
    """Sized for any number of entries, too few included, the replay's roots after each
    batch are those of a map built from scratch from every write so far (the reference)."""
    writes = _writes(keys)
    replay = StateReplay(replay_map(hint))
    latest: dict[bytes, bytes] = {}
    for start in range(0, len(writes), cut):
        batch = writes[start : start + cut]
        replay.feed(batch)
        latest.update((key, value) for _, key, value in batch)
        assert replay.map.root == StateMap(latest.items()).root
    assert len(replay.map) == len(latest)


def test_the_map_is_sized_for_four_to_eight_keys_a_bucket_at_the_logs_size() -> None:
    assert replay_map(None).bits == 0  # grows as keys come
    assert replay_map(0).bits == 0
    assert replay_map(1_000_000).bits == 17  # 131,072 buckets: 7.6 keys each at 1,000,000
    assert replay_map(100_000).bits == 14  # 16,384 buckets: 6.1 keys each
