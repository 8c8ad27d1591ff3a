"""``verify --since`` checks the claim-state map (decision 0014, "Map"), on SQLite and
PostgreSQL: every new checkpoint's map root, from the verifier's own map file (or the map
rebuilt from the store's rows, checked against the saved checkpoint), and the two answers
an inclusion proof cannot give: a claim's latest entry and an earlier registration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.checkpoint import Checkpoint, SignedNote, sign_checkpoint, state_map_line
from ledger.entries import ClaimReviewed, parse_entry
from ledger.errors import IntegrityError, VerificationError
from ledger.instance import Instance
from ledger.map_since import map_path
from ledger.statemap import StateMap
from ledger.trust_state import MapFileRef, MapNodeRef, load_state, save_state
from ledger.verify import verify_store
from ledger.verify_since import (
    state_of_store,
    to_trust_state,
    verify_store_since,
    verify_with_state,
)
from tests.helpers import add_source, source_bytes, source_sha
from tests.store.test_tamper import busy, data_of, edit  # noqa: F401 - busy is a fixture


def saved_with_map(instance: Instance, size: int) -> tuple[object, StateMap]:
    store = instance.ledger.store
    report = verify_store(store, workers=0, size=size)
    state = state_of_store(store, report)
    with store.reader() as txn:
        latest: dict[bytes, bytes] = {}
        for _, key, value in txn.state_leaves(0, size):
            latest[key] = value
    return state, StateMap(latest.items(), lean=True)


def test_the_new_checkpoints_map_roots_are_checked(busy: Instance) -> None:  # noqa: F811
    state, start = saved_with_map(busy, 10)
    result = verify_store_since(busy.ledger.store, state, state_map=start)  # type: ignore[arg-type]
    assert result.map_roots == 3  # the checkpoints at 14, 15 and 16
    assert result.state_map is not None
    full = verify_store(busy.ledger.store, workers=0)
    assert full.state_map is not None and result.state_map.root == full.state_map.root


def forge_map_root(instance: Instance, size: int) -> None:
    ledger = instance.ledger
    with ledger.store.reader() as txn:
        stored = txn.checkpoint(size)
    assert stored is not None
    body = Checkpoint.from_body(SignedNote.from_text(stored.note).text)
    forged = Checkpoint(body.origin, body.size, body.root_hash, (state_map_line(b"\x07" * 32),))
    note = sign_checkpoint(forged, ledger.origin, instance.log_key().private)
    edit(ledger.store.engine, "UPDATE checkpoints SET note = :n WHERE size = :s", n=note, s=size)


def test_a_forged_map_root_in_a_new_checkpoint(busy: Instance) -> None:  # noqa: F811
    state, start = saved_with_map(busy, 10)
    forge_map_root(busy, 14)
    with pytest.raises(IntegrityError, match="tree size 14: its claim-state map root 0707") as info:
        verify_store_since(busy.ledger.store, state, state_map=start)  # type: ignore[arg-type]
    assert info.value.seq == 13
    # Without a map file, the map rebuilt from the rows catches it alike.
    with pytest.raises(IntegrityError, match="tree size 14: its claim-state map root 0707"):
        verify_store_since(busy.ledger.store, state)  # type: ignore[arg-type]


def test_a_map_that_is_not_the_saved_checkpoints(busy: Instance) -> None:  # noqa: F811
    state, start = saved_with_map(busy, 10)
    start.set(b"\x01" * 32, b"\x02" * 32)
    with pytest.raises(VerificationError, match="the saved checkpoint at size 10 signs"):
        verify_store_since(busy.ledger.store, state, state_map=start)  # type: ignore[arg-type]


def test_the_rows_the_fallback_rebuilds_from_are_checked(busy: Instance) -> None:  # noqa: F811
    state, _ = saved_with_map(busy, 10)
    edit(
        busy.ledger.store.engine,
        "UPDATE state_map_leaves SET value = :v WHERE seq = 3",
        v=b"\x05" * 32,
    )
    with pytest.raises(VerificationError, match=r"state_map_leaves rows below 10 .*signs"):
        verify_store_since(busy.ledger.store, state)  # type: ignore[arg-type]


def test_a_hidden_last_entry_of_a_claim(busy: Instance) -> None:  # noqa: F811
    """The review at 15 follows the revision at 14; the state is saved at 15. The insider
    moves the revision out of the claim's history (its subject column): the map at 15
    names the revision as the claim's latest entry."""
    store = busy.ledger.store
    review = parse_entry(data_of(store.engine, 15))
    assert isinstance(review.body.payload, ClaimReviewed)
    claim = review.body.payload.claim
    state, start = saved_with_map(busy, 15)
    edit(store.engine, "UPDATE entries SET subject = :x WHERE seq = 14", x="0" * 64)
    with pytest.raises(
        IntegrityError,
        match=rf"history of claim {claim}: .*claim-state map .*was hidden",
    ):
        verify_store_since(store, state, state_map=start)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError, match=rf"history of claim {claim}: .*claim-state map"):
        verify_store_since(store, state)  # type: ignore[arg-type]


def test_a_hidden_earlier_registration(busy: Instance) -> None:  # noqa: F811
    """The insider deletes source 1's row and has the same bytes registered again after
    the saved state: the store says no earlier source has that SHA-256, the map at the
    saved size says entry 2 registered it."""
    ledger = busy.ledger
    store = ledger.store
    state, start = saved_with_map(busy, 16)
    sha = source_sha(0)
    found = store.get_source(sha)
    assert found is not None
    for table in ("sources", "source_blobs"):
        edit(store.engine, f"DELETE FROM {table} WHERE sha256 = :s", s=sha)
    with ledger.batch() as batch:
        add_source(batch, busy.writer_key(), 0)
    assert source_bytes(0)
    # The map names entry 2 as the registration, proven from the store: the duplicate.
    with pytest.raises(IntegrityError, match=rf"entry 16 .*source {sha} is already registered"):
        verify_store_since(store, state, state_map=start)  # type: ignore[arg-type]
    # The insider also hides that entry from the hash index: the map's registration is
    # not found below the saved size.
    edit(
        store.engine,
        "UPDATE entries SET hash = :h WHERE seq = :s",
        h="f" * 64,
        s=found.seq,
    )
    with pytest.raises(IntegrityError, match=rf"source {sha}: the verified claim-state map"):
        verify_store_since(store, state, state_map=start)  # type: ignore[arg-type]


def test_the_map_file_round_trip_and_refusals(busy: Instance, tmp_path: Path) -> None:  # noqa: F811
    store, verifier = busy.ledger.store, busy.ledger.log_verifier()
    path = tmp_path / "state.json"
    # A full verify at the head writes the state and its map file (version 2).
    verify_with_state(store, verifier, since=None, save=path, workers=0)
    saved = load_state(path, verifier)
    assert saved is not None and isinstance(saved.state_map, MapNodeRef)
    mapped = map_path(path)
    assert mapped.stat().st_size == saved.state_map.length
    assert mapped.read_bytes()[:32] == b"claims-ledger/state-map-file@v2\n"
    # Nothing new: a success that uses the map file (no rebuild), files unchanged.
    before = (path.read_bytes(), mapped.read_bytes())
    run = verify_with_state(store, verifier, since=path, save=None)
    assert not run.map_rebuilt and run.since is not None and run.since.state_map is not None
    assert (path.read_bytes(), mapped.read_bytes()) == before
    good = mapped.read_bytes()
    # Truncated, or its root record altered: refused, nothing written.
    root = saved.state_map.root_node
    for bad, why in (
        (good[:-1], "it was truncated"),
        (good[: root + 5] + bytes([good[root + 5] ^ 1]) + good[root + 6 :], "does not hash"),
    ):
        mapped.write_bytes(bad)
        with pytest.raises(VerificationError, match=why):
            verify_with_state(store, verifier, since=path, save=None)
        assert path.read_bytes() == before[0] and mapped.read_bytes() == bad
    # Another file than the one bound (another file id: a crash after a whole map file was
    # renamed in, before its state file was): rebuilt from the rows, and written again.
    mapped.write_bytes(good[:32] + bytes(16) + good[48:])
    run = verify_with_state(store, verifier, since=path, save=None)
    assert run.map_rebuilt
    again = load_state(path, verifier)
    assert again is not None and isinstance(again.state_map, MapNodeRef)
    assert again.state_map.root == saved.state_map.root
    assert mapped.stat().st_size == again.state_map.length
    # Missing map file: the fallback rebuilds it from the rows, and writes one again.
    mapped.unlink()
    run = verify_with_state(store, verifier, since=path, save=None)
    assert run.map_rebuilt and mapped.exists()
    data = json.loads(path.read_text())
    assert data["state_map"]["format"] == 2 and data["state_map"]["bytes"] == len(good)


def test_a_version_1_map_file_is_read_then_saved_as_version_2(
    busy: Instance,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A state and map file of the previous format: read whole (checked against its
    binding and the saved checkpoint), used, and replaced by a version 2 file; a version 1
    file that does not match its binding (the old crash window) is rebuilt, not refused."""
    import hashlib

    from ledger.map_since import encode_map

    store, verifier = busy.ledger.store, busy.ledger.log_verifier()
    path = tmp_path / "state.json"
    state, start = saved_with_map(busy, 10)
    data = encode_map(10, start)
    for binding_matches in (True, False):
        map_path(path).write_bytes(data)
        ref = MapFileRef(hashlib.sha256(data if binding_matches else b"").digest(), len(data))
        save_state(path, to_trust_state(state, verifier, ref))  # type: ignore[arg-type]
        run = verify_with_state(store, verifier, since=path, save=None)
        assert run.map_rebuilt is not binding_matches
        assert run.since is not None and run.since.map_roots == 3
        saved = load_state(path, verifier)
        assert saved is not None and isinstance(saved.state_map, MapNodeRef)
        full = verify_store(store, workers=0)
        assert full.state_map is not None and saved.state_map.root == full.state_map.root


def test_a_state_file_binding_a_forged_map_file(busy: Instance, tmp_path: Path) -> None:  # noqa: F811
    """Map file and state binding both rewritten (a consistent forgery): the records must
    hash to the header's root, and that root must be the saved checkpoint's."""
    import hashlib

    from ledger.map_since import encode_map

    store, verifier = busy.ledger.store, busy.ledger.log_verifier()
    path = tmp_path / "state.json"
    verify_with_state(store, verifier, since=None, save=path, workers=0)
    report = verify_store(store, workers=0)
    assert report.state_map is not None
    forged = StateMap(report.state_map.items(), lean=True)
    forged.remove(forged.items()[0][0])  # an entry's write dropped: a source or claim hidden
    data = encode_map(16, forged)
    map_path(path).write_bytes(data)
    saved = json.loads(path.read_text())
    saved["state_map"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    path.write_text(json.dumps(saved))
    with pytest.raises(VerificationError, match="the saved checkpoint at size 16 signs"):
        verify_with_state(store, verifier, since=path, save=None)


def test_a_crash_between_the_map_file_and_the_state_file(
    busy: Instance,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The map file is saved first, then the state file that binds it. A crash in between
    (here: the state write raising) leaves the old state: after an append it finds its own
    nodes (no rebuild); after a whole new file was renamed in, it rebuilds from the rows.
    Either way the next run succeeds and saves a state the one after uses."""
    import ledger.verify_since as since_module

    ledger, store = busy.ledger, busy.ledger.store
    verifier = ledger.log_verifier()
    path = tmp_path / "state.json"
    verify_with_state(store, verifier, since=None, save=path, workers=0)

    def crash(*_: object) -> None:
        raise RuntimeError("power cut before the state file was renamed")

    for case, source in (("appended", 40), ("whole file", 41)):
        with ledger.batch() as batch:
            add_source(batch, busy.writer_key(), source)
        if case == "whole file":
            map_path(path).unlink()  # the run rebuilds, then writes a whole new file
        state_before = path.read_bytes()
        monkeypatch.setattr(since_module, "save_state", crash)
        with pytest.raises(RuntimeError, match="power cut"):
            verify_with_state(store, verifier, since=path, save=None)
        monkeypatch.undo()
        assert path.read_bytes() == state_before
        run = verify_with_state(store, verifier, since=path, save=None)
        assert run.map_rebuilt is (case == "whole file")
        assert run.since is not None and run.since.map_roots == 1
        saved = load_state(path, verifier)
        assert saved is not None and isinstance(saved.state_map, MapNodeRef)
        assert saved.state_map.length == map_path(path).stat().st_size
        full = verify_store(store, workers=0)
        assert full.state_map is not None and saved.state_map.root == full.state_map.root
        again = verify_with_state(store, verifier, since=path, save=None)
        assert not again.map_rebuilt
