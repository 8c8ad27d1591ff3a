"""Property tests: a witness follows any honest growth of a log, and cosigns no checkpoint
of a history that differs from the one it holds, whatever sizes and proofs are sent."""

from __future__ import annotations

import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.checkpoint import Checkpoint, Verifier, sign_checkpoint
from ledger.cosignature import Cosigner
from ledger.errors import LedgerError
from ledger.witness import AddCheckpoint, LogConfig, Witness, WitnessConfig, WitnessState

ORIGIN = "prop.example/log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(b"\x05" * 32)
CONFIG = WitnessConfig(
    Cosigner("prop.example/witness", Ed25519PrivateKey.from_private_bytes(b"\x06" * 32)),
    {ORIGIN: LogConfig(ORIGIN, (Verifier.from_public_key(ORIGIN, LOG_KEY.public_key()),))},
)
MAX = 70
HONEST = [merkle.leaf_hash(b"h%d" % i) for i in range(MAX)]


def _note(leaves: list[merkle.Hash], size: int) -> str:
    root = merkle.reference_root(leaves[:size])
    return sign_checkpoint(Checkpoint(ORIGIN, size, root), ORIGIN, LOG_KEY)


def _body(leaves: list[merkle.Hash], old: int, new: int) -> bytes:
    proof = merkle.reference_consistency_proof(old, leaves[:new]) if old else []
    return AddCheckpoint(old, tuple(proof), _note(leaves, new)).to_bytes()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=MAX - 1), min_size=1, max_size=6))
def test_honest_growth_is_always_cosigned(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as state:
        witness = Witness(CONFIG, WitnessState(Path(state)))
        held = 0
        for size in sorted(sizes):
            witness.add_checkpoint(_body(HONEST, held, size))
            held = size
        latest = witness.state.latest(ORIGIN)
        assert latest is not None and latest.size == held


@settings(max_examples=60, deadline=None)
@given(
    held=st.integers(min_value=1, max_value=MAX - 1),
    fork_at=st.integers(min_value=0, max_value=MAX - 1),
    new=st.integers(min_value=0, max_value=MAX - 1),
    old=st.integers(min_value=0, max_value=MAX - 1),
)
def test_a_fork_is_never_cosigned(held: int, fork_at: int, new: int, old: int) -> None:
    """The fork shares the first ``fork_at`` leaves with the honest log and differs after;
    whatever old size and (its own, correct) proof it sends, a checkpoint whose tree does
    not contain the held one is refused, and the held size never changes."""
    fork_at = min(fork_at, held - 1)  # the fork differs within what the witness holds
    forked = HONEST[:fork_at] + [merkle.leaf_hash(b"f%d" % i) for i in range(fork_at, MAX)]
    new = max(new, held)  # smaller checkpoints are refused anyway (old <= new, old == held)
    with tempfile.TemporaryDirectory() as state:
        witness = Witness(CONFIG, WitnessState(Path(state)))
        witness.add_checkpoint(_body(HONEST, 0, held))
        old = min(old, new)
        try:
            witness.add_checkpoint(_body(forked, old, new))
        except LedgerError:
            pass
        else:
            raise AssertionError(f"fork from {fork_at} cosigned at size {new} (old {old})")
        latest = witness.state.latest(ORIGIN)
        assert latest is not None and latest.size == held
