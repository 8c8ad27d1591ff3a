"""A client's check that what a server showed about a claim or a source is complete
(decision 0012): pure functions over what the server sent and a checkpoint the client has
already verified (signature by the log key, and consistency with what it saw before).

An inclusion proof shows an entry is in the log, not that it is the claim's latest entry:
a server can show the extraction and leave out the review that disputed it or the
retraction that withdrew it. The checkpoint's ``claims-ledger/state-map/v1`` line commits to
each claim's latest entry, so the last entry of the provenance must be the value the map
proves for the claim's key, under the root of the *same* checkpoint.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from ledger.checkpoint import Checkpoint, state_map_root
from ledger.errors import FormatError, StateMapProofError, VerificationError
from ledger.statemap import StateProof, claim_key, source_key, verify_proof


def _root(checkpoint: Checkpoint) -> bytes:
    root = state_map_root(checkpoint)
    if root is None:
        raise VerificationError(
            f"checkpoint at tree size {checkpoint.size} carries no claims-ledger/state-map/v1 "
            "line: what a claim's latest entry is cannot be checked against it"
        )
    return root


def _proven(key: bytes, proof: StateProof, checkpoint: Checkpoint, what: str) -> bytes | None:
    try:
        return verify_proof(_root(checkpoint), key, proof)
    except StateMapProofError as exc:
        raise VerificationError(
            f"{what}: the state-map proof does not verify against the checkpoint at tree size "
            f"{checkpoint.size}: {exc}"
        ) from exc


def check_latest(
    claim_id: bytes, entry_hashes: Sequence[bytes], proof: StateProof, checkpoint: Checkpoint
) -> None:
    """Raise VerificationError unless ``entry_hashes`` (the claim's entries as the server
    showed them, in log order: extraction first, whose hash is ``claim_id``) end at the
    claim's latest entry as of ``checkpoint``, by ``proof`` against the checkpoint's map
    root. The inclusion proofs of those entries (against the same checkpoint) and their
    ``follows`` links are the caller's to check; this is the part they cannot show."""
    what = f"claim {claim_id.hex()}"
    if not entry_hashes:
        raise VerificationError(f"{what}: the provenance holds none of the claim's entries")
    if entry_hashes[0] != claim_id:
        raise VerificationError(
            f"{what}: the provenance's first claim entry is {entry_hashes[0].hex()}, not the "
            "extraction whose hash is the claim id"
        )
    latest = _proven(claim_key(claim_id), proof, checkpoint, what)
    shown = entry_hashes[-1]
    if latest is None:
        raise VerificationError(
            f"{what}: the state map proves the claim absent at tree size {checkpoint.size}, "
            "yet the provenance shows its entries"
        )
    if latest != shown:
        position = next((i for i, h in enumerate(entry_hashes) if h == latest), None)
        how = (
            "an earlier entry than the provenance's last (the server's entries are not in "
            "log order)"
            if position is not None
            else "an entry the provenance does not show: a revision, review or retraction "
            "was hidden"
        )
        raise VerificationError(
            f"{what}: the provenance ends at entry {shown.hex()}, but at tree size "
            f"{checkpoint.size} the claim's latest entry is {latest.hex()}, {how}"
        )


def check_registration(
    sha256: bytes, entry_hash: bytes, proof: StateProof, checkpoint: Checkpoint
) -> None:
    """Raise VerificationError unless ``entry_hash`` is the registration entry of the
    source whose bytes hash to ``sha256``, by ``proof`` against the checkpoint's map root."""
    what = f"source {sha256.hex()}"
    found = _proven(source_key(sha256), proof, checkpoint, what)
    if found != entry_hash:
        shown = "absent" if found is None else f"registered by entry {found.hex()}"
        raise VerificationError(
            f"{what}: the state map says it is {shown} at tree size {checkpoint.size}, "
            f"not registered by entry {entry_hash.hex()}"
        )


def check_absent(namespace: str, raw: bytes, proof: StateProof, checkpoint: Checkpoint) -> None:
    """Raise VerificationError unless the proof shows no claim with id ``raw``
    (namespace "claim") or no source with SHA-256 ``raw`` ("source") at the checkpoint."""
    if namespace not in ("claim", "source"):
        raise VerificationError(f"state-map namespace {namespace!r} is not claim or source")
    key = claim_key(raw) if namespace == "claim" else source_key(raw)
    what = f"{namespace} {raw.hex()}"
    found = _proven(key, proof, checkpoint, what)
    if found is not None:
        raise VerificationError(
            f"{what}: the state map holds entry {found.hex()} for it at tree size "
            f"{checkpoint.size}, so it is not absent"
        )


def check_served_latest(
    claim_id: str, entry_hashes: Sequence[bytes], proof_b64: str | None, checkpoint: Checkpoint
) -> None:
    """``check_latest`` on what a server sent with a provenance: the claim id (hex) and the
    state proof's ``proof`` field (standard base64, or None if the server sent none).

    No proof is accepted only against a checkpoint that carries no state-map line (signed
    before the map existed); a server that withholds the proof while its checkpoint
    commits to a map is refused."""
    if proof_b64 is None:
        if state_map_root(checkpoint) is not None:
            raise VerificationError(
                f"claim {claim_id}: the server sent no state proof, though the checkpoint at "
                f"tree size {checkpoint.size} commits to a claim-state map"
            )
        return
    try:
        proof = StateProof.from_bytes(base64.b64decode(proof_b64, validate=True))
    except (binascii.Error, ValueError, FormatError) as exc:
        raise VerificationError(f"claim {claim_id}: the state proof is malformed: {exc}") from exc
    check_latest(bytes.fromhex(claim_id), entry_hashes, proof, checkpoint)
