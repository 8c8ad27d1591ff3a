"""Property tests for the verifier's map file (ledger.map_since, docs/formats/client-state.md
"The map file"): a map written and read back, then fed writes, has the same roots as a map
built from scratch from the same pairs (the plain reference's roots), and the replay's
``value_at_start`` answers for the map it started from; the bytes round-trip both ways;
any single changed byte is refused."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import VerificationError
from ledger.map_since import MAGIC, decode_map, encode_map, since_replay
from ledger.statemap import StateMap
from tests.property.statemap_reference import ref_hash

KEY = st.binary(min_size=32, max_size=32)
PAIRS = st.lists(st.tuples(KEY, KEY), max_size=40)


def reference_root(latest: dict[bytes, bytes]) -> bytes:
    return ref_hash(dict(latest), 0)


@settings(max_examples=150, deadline=None)
@given(PAIRS, st.lists(st.lists(st.tuples(KEY, KEY), max_size=6), max_size=5), st.data())
def test_load_then_apply_writes_matches_a_map_built_from_scratch(
    start: list[tuple[bytes, bytes]],
    batches: list[list[tuple[bytes, bytes]]],
    data: st.DataObject,
) -> None:
    latest = dict(start)
    built = StateMap(start, lean=data.draw(st.booleans()))
    raw = encode_map(7, built)
    loaded = decode_map(raw, 7, where="test")
    assert loaded.root == built.root == reference_root(latest)
    assert loaded.items() == sorted(latest.items())
    assert encode_map(7, loaded) == raw  # both ways
    # Rewriting existing keys too, not only new ones.
    if latest and data.draw(st.booleans()):
        batches = [[(next(iter(latest)), b"\x09" * 32)], *batches]
    at_start = dict(latest)
    replay = since_replay(loaded)
    seq = 7
    for batch in batches:
        replay.feed([(seq + i, key, value) for i, (key, value) in enumerate(batch)])
        seq += len(batch)
        latest.update(batch)
        assert replay.map.root == StateMap(latest.items()).root == reference_root(latest)
    for key in {*at_start, *latest}:
        assert replay.value_at_start(key) == at_start.get(key)


@settings(max_examples=60, deadline=None)
@given(PAIRS.filter(lambda pairs: len(pairs) > 0), st.data())
def test_any_changed_byte_or_length_is_refused(
    pairs: list[tuple[bytes, bytes]], data: st.DataObject
) -> None:
    raw = bytearray(encode_map(3, StateMap(pairs)))
    at = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[at] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    with pytest.raises(VerificationError):
        decode_map(bytes(raw), 3, where="test")
    with pytest.raises(VerificationError):
        decode_map(bytes(raw[:-1]), 3, where="test")


def test_the_layout_is_the_documented_one() -> None:
    """Header: magic (32 bytes), size and count (big-endian u64), root; then records."""
    pairs = [(b"\x02" * 32, b"\x0b" * 32), (b"\x01" * 32, b"\x0a" * 32)]
    built = StateMap(pairs)
    raw = encode_map(5, built)
    assert len(MAGIC) == 32
    assert raw[:32] == MAGIC == b"claims-ledger/state-map-file@v1\n"
    assert struct.unpack(">QQ", raw[32:48]) == (5, 2)
    assert raw[48:80] == built.root
    assert raw[80:] == b"\x01" * 32 + b"\x0a" * 32 + b"\x02" * 32 + b"\x0b" * 32
    assert len(hashlib.sha256(raw).digest()) == 32
    with pytest.raises(VerificationError, match="at tree size 5, the state at 6"):
        decode_map(raw, 6, where="test")
    swapped = raw[:80] + raw[144:] + raw[80:144]
    with pytest.raises(VerificationError, match="keys do not ascend"):
        decode_map(swapped, 5, where="test")
