"""The client state file: frontier from the last leaf's proof, round trips, refusals, and
atomic replacement."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.checkpoint import Checkpoint, Verifier, sign_checkpoint
from ledger.errors import FormatError, LedgerError, VerificationError
from ledger.trust_state import (
    TrustState,
    frontier_from_last_leaf,
    load_state,
    save_state,
)

ORIGIN = "claims-ledger/test"
PRIVATE = Ed25519PrivateKey.generate()
VERIFIER = Verifier.from_public_key(ORIGIN, PRIVATE.public_key())


def _leaves(n: int, salt: bytes = b"") -> list[merkle.Hash]:
    return [merkle.leaf_hash(salt + i.to_bytes(4, "big")) for i in range(n)]


def _state(leaves: list[merkle.Hash]) -> TrustState:
    compact = merkle.integrate(0, [], leaves)
    note = sign_checkpoint(Checkpoint(ORIGIN, len(leaves), compact.root), ORIGIN, PRIVATE)
    return TrustState.build(note, VERIFIER, compact.frontier)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=300))
def test_frontier_from_the_last_leaf_equals_the_streamed_frontier(size: int) -> None:
    leaves = _leaves(size)
    reader = merkle.DictNodeReader.from_leaves(leaves)
    proof = merkle.inclusion_proof(size - 1, size, reader)
    root = merkle.reference_root(leaves)
    derived = frontier_from_last_leaf(size, leaves[-1], proof, root)
    assert derived == merkle.integrate(0, [], leaves).frontier
    assert merkle.Frontier.restore(size, derived).root() == root


def test_frontier_from_a_wrong_proof_is_refused() -> None:
    leaves = _leaves(13)
    proof = merkle.reference_inclusion_proof(12, leaves)
    with pytest.raises(VerificationError):
        frontier_from_last_leaf(13, leaves[11], proof, merkle.reference_root(leaves))


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=70), st.integers(min_value=0, max_value=70))
def test_extending_a_saved_state_gives_the_full_trees_root(old: int, new: int) -> None:
    leaves = _leaves(old + new)
    state = _state(leaves[:old])
    assert state.extend(leaves[old:]).root == merkle.reference_root(leaves)


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert load_state(path, VERIFIER) is None  # first use
    state = _state(_leaves(11))
    save_state(path, state)
    again = load_state(path, VERIFIER)
    assert again == state
    # and the JSON is what the format doc says
    data = json.loads(path.read_text())
    assert data["size"] == 11 and data["origin"] == ORIGIN
    assert data["checkpoint"] == state.note and len(data["frontier"]) == 3
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


@pytest.mark.parametrize(
    ("member", "value", "message"),
    [
        ("size", 12, "differ"),
        ("frontier", [], "frontier"),
        ("format", "claims-ledger/client-state@v2", "format"),
        ("root", "AAAA", "differ"),
        ("entries_verified", "yes", "entries_verified"),
    ],
)
def test_a_tampered_state_file_is_refused(
    tmp_path: Path, member: str, value: object, message: str
) -> None:
    path = tmp_path / "state.json"
    save_state(path, _state(_leaves(11)))
    data = json.loads(path.read_text())
    data[member] = value
    path.write_text(json.dumps(data))
    with pytest.raises(LedgerError, match=message):
        load_state(path, VERIFIER)


def test_a_state_whose_frontier_does_not_fold_to_the_root_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    save_state(path, _state(_leaves(11)))
    data = json.loads(path.read_text())
    data["frontier"][0] = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
    path.write_text(json.dumps(data))
    with pytest.raises(VerificationError, match="fold"):
        load_state(path, VERIFIER)


def test_a_state_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    save_state(path, _state(_leaves(5)))
    other = Verifier.from_public_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(LedgerError):
        load_state(path, other)


def test_unknown_members_and_non_json_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    save_state(path, _state(_leaves(5)))
    data = json.loads(path.read_text())
    data["extra"] = 1
    path.write_text(json.dumps(data))
    with pytest.raises(FormatError, match="unknown"):
        load_state(path, VERIFIER)
    path.write_bytes(b"{not json")
    with pytest.raises(FormatError, match="JSON"):
        load_state(path, VERIFIER)


@pytest.mark.parametrize("fail_at", ["fsync", "replace"])
def test_a_crash_mid_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: str
) -> None:
    path = tmp_path / "state.json"
    old = _state(_leaves(7))
    save_state(path, old)
    before = path.read_bytes()

    def crash(*args: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, fail_at, crash)
    with pytest.raises(OSError, match="disk gone"):
        save_state(path, _state(_leaves(9)))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load_state(path, VERIFIER) == old
    assert list(tmp_path.iterdir()) == [path]
