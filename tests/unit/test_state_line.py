"""The checkpoint's claim-state map line (docs/formats/state-map.md §4): exactly what is
accepted and refused, and that the first three lines stay the tlog-checkpoint's."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from ledger.checkpoint import (
    STATE_MAP_PREFIX,
    Checkpoint,
    Verifier,
    sign_checkpoint,
    state_map_line,
    state_map_root,
    verify_checkpoint,
)
from ledger.errors import FormatError
from ledger.merkle import Hash

ROOT = Hash(bytes(range(32)))


def body(*extensions: str) -> Checkpoint:
    return Checkpoint("example.org/log", 7, ROOT, extensions)


def test_the_line_is_the_prefix_and_base64_of_the_root() -> None:
    root = bytes([0xAB]) * 32
    line = state_map_line(root)
    assert STATE_MAP_PREFIX == "claims-ledger/state-map/v1 "
    assert line == "claims-ledger/state-map/v1 " + base64.b64encode(root).decode()
    assert len(line) == 26 + 1 + 44
    assert state_map_root(body(line)) == root
    assert state_map_root(body()) is None  # a checkpoint signed before the map


@given(st.binary(min_size=32, max_size=32), st.lists(st.text("abc/ =", min_size=1), max_size=3))
def test_round_trip_and_other_extension_lines_are_ignored(root: bytes, others: list[str]) -> None:
    others = [o for o in others if not o.startswith(STATE_MAP_PREFIX) and o.strip() == o]
    if any(not o for o in others):
        return
    checkpoint = body(*others, state_map_line(root))
    assert state_map_root(Checkpoint.from_body(checkpoint.to_body())) == root


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((state_map_line(bytes(32)), state_map_line(bytes(32))), "line 5 is a second"),
        (("claims-ledger/state-map/v1 AAAA",), "3 bytes, expected 32"),
        (("claims-ledger/state-map/v1 " + "A" * 42 + "B=",), "not canonical base64"),
        (("claims-ledger/state-map/v1 " + "!" * 44,), "not standard base64"),
        (("claims-ledger/state-map/v1  " + base64.b64encode(bytes(32)).decode(),), "base64"),
    ],
)
def test_malformed_lines_are_refused(lines: tuple[str, ...], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        state_map_root(body(*lines))


def test_a_signed_checkpoint_with_the_line_keeps_the_standard_first_three_lines() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    verifier = Verifier.from_public_key("example.org/log", key.public_key())
    note = sign_checkpoint(body(state_map_line(bytes(32))), "example.org/log", key)
    text = note.split("\n\n")[0].split("\n")
    assert text[:3] == ["example.org/log", "7", base64.b64encode(ROOT).decode()]
    assert text[3] == "claims-ledger/state-map/v1 " + "A" * 43 + "="
    parsed = verify_checkpoint(note, verifier, "example.org/log")
    assert (parsed.size, parsed.root_hash) == (7, ROOT)
    assert state_map_root(parsed) == bytes(32)
    with pytest.raises(FormatError):
        state_map_line(bytes(31))
