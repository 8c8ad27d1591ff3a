"""Witness cosignatures in the store, on SQLite and PostgreSQL alike: append-only, one per
checkpoint and witness key, the size each witness last cosigned, and served after the
log's own signature in /checkpoint's note, proof files and bundles."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.bundle import export_bundle, verify_bundle
from ledger.checkpoint import ProofFile, SignedNote, verify_proof_file
from ledger.cosignature import Cosigner, WitnessPolicy
from ledger.errors import QuorumNotMet
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import Store, StoredCosignature
from tests.helpers import append_sources

WITNESSES = [Cosigner(f"w{n}.test/log", Ed25519PrivateKey.generate()) for n in range(3)]


def _row(size: int, witness: Cosigner, line: str = "— x AAAA\n") -> StoredCosignature:
    return StoredCosignature(
        size=size,
        witness=witness.name,
        key_id=witness.key.key_id.hex(),
        line=line,
        timestamp=1_800_000_000,
        received_at="2027-01-15T08:00:00.000000Z",
    )


def test_cosignatures_are_kept_once_per_witness_and_never_changed(store: Store) -> None:
    first = _row(3, WITNESSES[0], "— first\n")
    assert store.add_cosignature(first)
    assert not store.add_cosignature(_row(3, WITNESSES[0], "— later\n"))
    assert store.add_cosignature(_row(3, WITNESSES[1]))
    assert store.add_cosignature(_row(7, WITNESSES[0]))
    assert store.cosignatures(3)[0].line == "— first\n"
    assert [c.witness for c in store.cosignatures(3)] == ["w0.test/log", "w1.test/log"]
    assert store.cosignatures(5) == []
    key_id = WITNESSES[0].key.key_id.hex()
    assert store.latest_cosigned_size("w0.test/log", key_id) == 7
    assert store.latest_cosigned_size("w2.test/log", WITNESSES[2].key.key_id.hex()) is None
    for sql in (
        "UPDATE checkpoint_cosignatures SET line = 'x'",
        "DELETE FROM checkpoint_cosignatures",
    ):
        with pytest.raises(sa.exc.DatabaseError), store.engine.begin() as conn:
            conn.execute(sa.text(sql))
    assert store.cosignatures(3)[0] == first


def _cosign_all(ledger: Ledger, witnesses: list[Cosigner]) -> None:
    checkpoint = ledger.checkpoint()
    text = SignedNote.from_text(checkpoint.note).text
    for witness in witnesses:
        line = witness.cosign(text).to_line()
        ledger.store.add_cosignature(_row(checkpoint.size, witness, line))


def test_proof_files_and_bundles_carry_the_cosignatures(
    ledger: Ledger, writer_key: SigningKey, tmp_path: Path
) -> None:
    entries = append_sources(ledger, writer_key, [0, 1])
    _cosign_all(ledger, WITNESSES[:2])
    note = ledger.cosigned_note()
    assert note.startswith(ledger.checkpoint().note)
    assert len(SignedNote.from_text(note).signatures) == 3
    proof = ledger.proof_file(entries[0].seq)
    assert ProofFile.from_text(proof).checkpoint == note
    verify_proof_file(proof, entries[0].hash, ledger.log_verifier())

    export_bundle(ledger, tmp_path / "bundle")
    assert (tmp_path / "bundle" / "checkpoint.txt").read_text() == note
    log = ledger.log_verifier()
    two_of_three = WitnessPolicy(tuple(w.key for w in WITNESSES), 2)
    assert verify_bundle(tmp_path / "bundle", log, witness_policy=two_of_three).entries > 0
    all_three = WitnessPolicy(tuple(w.key for w in WITNESSES), 3)
    with pytest.raises(QuorumNotMet, match=r"w2\.test/log") as refused:
        verify_bundle(tmp_path / "bundle", log, witness_policy=all_three)
    assert refused.value.missing == (f"w2.test/log+{WITNESSES[2].key.key_id.hex()}",)
