"""`claims-ledger state-proof`: the same core function as GraphQL's stateProof, as JSON a
verifier can check against the checkpoint it prints."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from pathlib import Path

from ledger.checkpoint import Checkpoint, SignedNote
from ledger.completeness import check_absent, check_latest, check_registration
from ledger.statemap import StateProof
from tests.e2e.test_cli import cli


def test_state_proofs_from_the_cli_verify(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli(home, "run", "--no-serve")
    db = sqlite3.connect(home / "ledger.sqlite3")
    claim = db.execute("SELECT hash FROM entries WHERE kind = 'claim.extracted'").fetchone()[0]
    sha, registration = db.execute("SELECT sha256, entry_hash FROM sources").fetchone()
    db.close()

    def proof_of(*args: str) -> tuple[dict[str, str], StateProof, Checkpoint]:
        found = json.loads(cli(home, "state-proof", *args).stdout)
        note = Checkpoint.from_body(SignedNote.from_text(found["checkpoint"]).text)
        return found, StateProof.from_bytes(base64.b64decode(found["proof"])), note

    found, proof, note = proof_of("--claim", claim)
    assert found["value"] == claim  # never revised: its extraction is its latest entry
    check_latest(bytes.fromhex(claim), [bytes.fromhex(claim)], proof, note)
    found, proof, note = proof_of("--source", sha)
    check_registration(bytes.fromhex(sha), bytes.fromhex(registration), proof, note)
    unknown = hashlib.sha256(b"no such claim").hexdigest()
    found, proof, note = proof_of("--claim", unknown, "--size", str(note.size))
    assert found["value"] is None
    check_absent("claim", bytes.fromhex(unknown), proof, note)
    refused = cli(home, "state-proof", ok=False)
    assert refused.returncode != 0 and "exactly one" in refused.stderr + refused.stdout
