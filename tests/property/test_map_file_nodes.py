"""Property tests for the version 2 map file (ledger.mapfile, docs/formats/client-state.md
"The map file"): a file-backed map, opened, fed inserts and updates, saved and reopened
round after round, has the roots, values, absences and proofs of the in-memory StateMap and
of the plain reference; a changed byte anywhere in the file is caught or harmless; a crash
at any step of a save leaves the old binding usable (or the file rebuilt, never believed)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import InvalidInput, VerificationError
from ledger.mapfile import (
    HEADER_SIZE,
    LEAF_SIZE,
    MAGIC,
    NODE_SIZE,
    FileMap,
    open_file_map,
    write_map_file,
)
from ledger.statemap import EMPTY, StateMap, verify_proof
from tests.property.statemap_reference import ref_hash

# Keys from a few shared prefixes as well as random ones, so paths run deep and leaves split
# far below the point where they meet.
PREFIXED = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from([b"", b"\x00" * 31, b"\xab" * 16, b"\x80" * 4]),
    st.binary(min_size=32, max_size=32),
).map(lambda raw: raw[:32])
KEY = st.one_of(st.binary(min_size=32, max_size=32), PREFIXED)
VALUE = st.binary(min_size=32, max_size=32)
PAIRS = st.lists(st.tuples(KEY, VALUE), max_size=30)


def folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="mapfile-test-"))


def check_same(file_map: FileMap, latest: dict[bytes, bytes], probes: list[bytes]) -> None:
    reference = StateMap(latest.items())
    assert file_map.root == reference.root == ref_hash(dict(latest), 0)
    assert len(file_map) == len(latest)
    for key in [*latest, *probes]:
        assert file_map.get(key) == latest.get(key)
        proof = file_map.prove(key)
        assert proof == reference.prove(key)
        assert verify_proof(reference.root, key, proof) == latest.get(key)


@settings(max_examples=80, deadline=None)
@given(PAIRS, st.lists(st.lists(st.tuples(KEY, VALUE), max_size=8), max_size=5), st.data())
def test_open_update_save_reopen_matches_the_in_memory_map(
    start: list[tuple[bytes, bytes]],
    rounds: list[list[tuple[bytes, bytes]]],
    data: st.DataObject,
) -> None:
    home = folder()
    path = home / "state.map"
    latest = dict(start)
    ref = write_map_file(path, StateMap(start, lean=data.draw(st.booleans())))
    assert (ref.length, ref.keys) == (path.stat().st_size, len(latest))
    probes = data.draw(st.lists(KEY, max_size=4))
    for batch in rounds:
        if latest and data.draw(st.booleans()):  # rewrite an existing key too
            batch = [*batch, (next(iter(latest)), data.draw(VALUE))]
        file_map = open_file_map(path, ref, ref.root)
        assert file_map is not None
        previous = file_map.update(batch)
        for (key, value), old in zip(batch, previous, strict=True):
            assert old == latest.get(key)
            latest[key] = value
        check_same(file_map, latest, probes)
        how = data.draw(st.sampled_from(["append", "compact", "copy"]))
        if how == "copy":  # saved beside another state: a new file, the old one untouched
            target = home / f"copy{len(list(home.iterdir()))}.map"
            old_bytes = path.read_bytes()
            ref = file_map.save(target)
            assert path.read_bytes() == old_bytes
            path = target
        else:
            ref = file_map.save(path, compact_floor=0 if how == "compact" else 1 << 20)
        file_map.close()
        assert ref.length == path.stat().st_size and ref.keys == len(latest)
    file_map = open_file_map(path, ref, ref.root)
    assert file_map is not None
    assert file_map.items() == sorted(latest.items())
    check_same(file_map, latest, [])


def test_the_layout_is_the_documented_one() -> None:
    """Header: magic, file id, 16 zero bytes; a leaf is 0x10 ‖ key ‖ value, an inner node
    0x11 ‖ its hash ‖ its children's offsets; children before parents, the root last."""
    low, high = b"\x00" + b"\x01" * 31, b"\x80" + b"\x02" * 31
    pairs = [(high, b"\x0b" * 32), (low, b"\x0a" * 32)]
    path = folder() / "m"
    ref = write_map_file(path, StateMap(pairs))
    raw = path.read_bytes()
    assert len(MAGIC) == 32 and raw[:32] == MAGIC == b"claims-ledger/state-map-file@v2\n"
    assert raw[32:48] == ref.file_id and raw[48:64] == bytes(16)
    assert raw[64:129] == b"\x10" + low + b"\x0a" * 32
    assert raw[129:194] == b"\x10" + high + b"\x0b" * 32
    root = StateMap(pairs).root
    assert raw[194:] == b"\x11" + root + (64).to_bytes(8, "big") + (129).to_bytes(8, "big")
    assert (ref.root, ref.root_node, ref.length) == (root, 194, 194 + NODE_SIZE)
    assert (HEADER_SIZE, LEAF_SIZE, NODE_SIZE) == (64, 65, 49)
    empty = write_map_file(folder() / "e", StateMap())
    assert (empty.root, empty.root_node, empty.length) == (EMPTY, 0, HEADER_SIZE)


@settings(max_examples=150, deadline=None)
@given(PAIRS.filter(lambda pairs: len(pairs) > 1), st.lists(st.tuples(KEY, VALUE)), st.data())
def test_a_changed_byte_anywhere_is_caught_or_harmless(
    pairs: list[tuple[bytes, bytes]], writes: list[tuple[bytes, bytes]], data: st.DataObject
) -> None:
    """Flip any bit of the file: opening it, reading every key and some absent ones,
    applying writes and taking the root either raise VerificationError or give exactly
    the untampered answers (None from ``open_file_map``: not the bound file, rebuilt)."""
    path = folder() / "m"
    latest = dict(pairs)
    ref = write_map_file(path, StateMap(pairs))
    raw = bytearray(path.read_bytes())
    at = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[at] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    path.write_bytes(bytes(raw))
    probes = data.draw(st.lists(KEY, max_size=4))
    try:
        file_map = open_file_map(path, ref, ref.root)
        if file_map is None:
            assert at < 48  # only the magic and the file id make it another file
            return
        for key in [*latest, *probes]:
            assert file_map.get(key) == latest.get(key)
        file_map.update(writes)
        latest.update(writes)
        assert file_map.root == StateMap(latest.items()).root
    except VerificationError:
        return


@settings(max_examples=80, deadline=None)
@given(PAIRS, st.lists(st.tuples(KEY, VALUE), min_size=1, max_size=10), st.data())
def test_a_crash_at_any_step_of_a_save_leaves_the_old_binding_usable(
    pairs: list[tuple[bytes, bytes]], writes: list[tuple[bytes, bytes]], data: st.DataObject
) -> None:
    """The state file is written after the map file, so a crash leaves the old binding
    with whatever the save got to: an appended tail cut anywhere (the old nodes are
    untouched), or, for a compaction, a new file renamed in (another file id: rebuilt)."""
    path = folder() / "m"
    old = dict(pairs)
    ref = write_map_file(path, StateMap(pairs))
    file_map = open_file_map(path, ref, ref.root)
    assert file_map is not None
    file_map.update(writes)
    compact = data.draw(st.booleans())
    new_ref = file_map.save(path, compact_floor=0 if compact else 1 << 30)
    file_map.close()
    if new_ref.file_id != ref.file_id:  # compacted: the old state's file is gone
        assert open_file_map(path, ref, ref.root) is None
        return
    full = path.read_bytes()
    cut = data.draw(st.integers(min_value=ref.length, max_value=len(full)))
    garbage = data.draw(st.binary(max_size=70))
    path.write_bytes(full[:cut] + garbage)  # the appended records, cut, then anything
    reopened = open_file_map(path, ref, ref.root)
    assert reopened is not None
    check_same(reopened, old, [key for key, _ in writes])
    # The next save from the old state cuts the unfinished tail off, then appends.
    reopened.update(writes)
    again = reopened.save(path)
    reopened.close()
    assert again.length == path.stat().st_size == new_ref.length
    final = open_file_map(path, again, again.root)
    assert final is not None
    check_same(final, {**old, **dict(writes)}, [])


def test_deletions_and_malformed_writes_change_nothing() -> None:
    path = folder() / "m"
    pairs = [(os.urandom(32), os.urandom(32)) for _ in range(5)]
    ref = write_map_file(path, StateMap(pairs))
    file_map = open_file_map(path, ref, ref.root)
    assert file_map is not None
    for bad in ([(pairs[0][0], None)], [(os.urandom(32), os.urandom(32)), (b"short", b"x" * 32)]):
        with pytest.raises(InvalidInput):
            file_map.update(bad)  # type: ignore[arg-type]
        assert file_map.root == ref.root
    with pytest.raises(VerificationError, match="the saved checkpoint signs"):
        FileMap(path, ref, b"\x01" * 32)


def test_an_update_reads_and_appends_in_proportion_to_the_keys_it_writes() -> None:
    """20 writes into a map of 20,000 keys read a few hundred records (their paths and
    the siblings), not the file, and append about a path's worth of records each."""
    path = folder() / "m"
    pairs = [(os.urandom(32), os.urandom(32)) for _ in range(20_000)]
    ref = write_map_file(path, StateMap(pairs, lean=True))
    file_map = open_file_map(path, ref, ref.root)
    assert file_map is not None and file_map.reads == 1  # the root's record
    writes = [(os.urandom(32), os.urandom(32)) for _ in range(10)] + pairs[:10]
    file_map.update(writes)
    depth = (20_000).bit_length() + 6  # ~log2(n), with room for unlucky paths
    assert file_map.reads <= len(writes) * 2 * depth
    saved = file_map.save(path)
    assert saved.length - ref.length <= len(writes) * (LEAF_SIZE + depth * NODE_SIZE)
    assert saved.root == StateMap([*pairs, *writes]).root


def test_a_failed_save_can_be_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails (disk full) raises StateFileError, and a later save writes
    every changed node again (none is taken as already in the file)."""
    import ledger.mapfile as mapfile_module
    from ledger.trust_state import StateFileError

    path = folder() / "m"
    pairs = [(os.urandom(32), os.urandom(32)) for _ in range(50)]
    ref = write_map_file(path, StateMap(pairs))
    file_map = open_file_map(path, ref, ref.root)
    assert file_map is not None
    writes = [(os.urandom(32), os.urandom(32)) for _ in range(5)]
    file_map.update(writes)

    def full(*_: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mapfile_module.os, "pwrite", full)
    with pytest.raises(StateFileError, match="not written"):
        file_map.save(path)
    monkeypatch.undo()
    saved = file_map.save(path)
    file_map.close()
    reopened = open_file_map(path, saved, saved.root)
    assert reopened is not None
    check_same(reopened, {**dict(pairs), **dict(writes)}, [])
