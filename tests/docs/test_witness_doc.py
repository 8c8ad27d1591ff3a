"""docs/formats/witness.md: its example keys, request and cosignature are what the code
produces, and the request is one the witness accepts."""

from __future__ import annotations

import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.checkpoint import Checkpoint, SignedNote, Verifier, sign_checkpoint
from ledger.cosignature import Cosigner, WitnessPolicy, verify_cosignatures
from ledger.witness import (
    AddCheckpoint,
    LogConfig,
    Witness,
    WitnessConfig,
    WitnessState,
    encode_private_key,
)

DOC = (Path(__file__).resolve().parents[2] / "docs" / "formats" / "witness.md").read_text()
ORIGIN = "claims-ledger.example/log"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS = Cosigner("witness.example/vector", Ed25519PrivateKey.from_private_bytes(b"\x2a" * 32))
TIME = 1700000000


def _example() -> tuple[str, bytes]:
    leaves = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(8)]
    note = sign_checkpoint(Checkpoint(ORIGIN, 8, merkle.reference_root(leaves)), ORIGIN, LOG_KEY)
    proof = tuple(merkle.reference_consistency_proof(5, leaves))
    return note, AddCheckpoint(5, proof, note).to_bytes()


def _blocks() -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", DOC, re.S)


def test_the_example_values_are_the_codes() -> None:
    note, body = _example()
    log_vkey = Verifier.from_public_key(ORIGIN, LOG_KEY.public_key()).key_text()
    line = WITNESS.cosign(SignedNote.from_text(note).text, TIME).to_line()
    blocks = _blocks()
    assert body.decode() in blocks
    assert WITNESS.key.vkey() + "\n" in blocks
    assert line in blocks
    assert log_vkey in DOC
    assert f"`0x{TIME.to_bytes(8, 'big').hex()}`" in DOC
    assert WITNESS.key.key_id.hex() in DOC


def test_the_example_request_is_accepted_and_cosigned(tmp_path: Path) -> None:
    note, body = _example()
    log = Verifier.from_public_key(ORIGIN, LOG_KEY.public_key())
    witness = Witness(
        WitnessConfig(WITNESS, {ORIGIN: LogConfig(ORIGIN, (log,))}),
        WitnessState(tmp_path),
        clock=lambda: TIME,
    )
    # The witness last cosigned size 5 of the same tree.
    leaves = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(5)]
    old = sign_checkpoint(Checkpoint(ORIGIN, 5, merkle.reference_root(leaves)), ORIGIN, LOG_KEY)
    witness.add_checkpoint(AddCheckpoint(0, (), old).to_bytes())
    line = witness.add_checkpoint(body)
    assert line in _blocks()
    policy = WitnessPolicy((WITNESS.key,), quorum=1)
    assert verify_cosignatures(note + line, log, policy, now=TIME).checkpoint.size == 8


def test_the_example_config_parses(tmp_path: Path) -> None:
    config = next(b for b in _blocks() if b.startswith("name = "))
    (tmp_path / "w1.pem").write_bytes(encode_private_key(WITNESS.private_key))
    (tmp_path / "witness.toml").write_text(config)
    loaded = WitnessConfig.load(tmp_path / "witness.toml")
    assert list(loaded.logs) == [ORIGIN]
