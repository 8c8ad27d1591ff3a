"""A client for verification scripts: asks a claims-ledger server over HTTP and checks
everything it receives locally, trusting only a pinned log verifier key.

    client = LedgerClient("http://127.0.0.1:8000", log_key="claims-ledger/local+…")
    checkpoint = client.checkpoint()          # signature + consistency with the last one seen

With ``witness_policy=WitnessPolicy(witness_keys, k)`` every checkpoint the client accepts
must also carry valid cosignatures from k of those witnesses (QuorumNotMet otherwise).
    report = client.verify_log()              # every entry, rule and signature; root = checkpoint
    claim = client.verify_claim(claim_id)     # provenance links: bytes, chain, keys, signatures, proofs
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import takewhile
from typing import Any

import httpx

from ledger import merkle
from ledger.checkpoint import Checkpoint, Verifier, parse_verifier_key, verify_checkpoint
from ledger.completeness import check_served_latest
from ledger.cosignature import WitnessPolicy, verify_cosignatures
from ledger.entries import KeyRegistered, SignedEntry, parse_entry, verify_signature
from ledger.errors import LedgerError, VerificationError
from ledger.verify import MemoryIndex, VerifyReport, keys_in, verify_rows


class ClientError(LedgerError):
    """The server answered with an error, or not as GraphQL over HTTP should."""


@dataclass
class VerifiedClaim:
    """A claim whose whole attribution chain checked out against ``checkpoint``."""

    claim_id: str
    statement: str
    checkpoint: Checkpoint
    links: list[SignedEntry] = field(default_factory=list)


class LedgerClient:
    """Talks to one server; remembers the last checkpoint it verified (to prove consistency)."""

    def __init__(
        self,
        url: str,
        *,
        log_key: str,
        http: httpx.Client | None = None,
        timeout: float = 30,
        witness_policy: WitnessPolicy | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.log_key: Verifier = parse_verifier_key(log_key)
        self.witness_policy = witness_policy
        self.http = http or httpx.Client(timeout=timeout)
        self.last_checkpoint: Checkpoint | None = None

    def query(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.http.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}
        )
        if response.status_code != 200:
            raise ClientError(f"{self.url}/graphql answered {response.status_code}")
        body = response.json()
        if body.get("errors"):
            raise ClientError(f"server error: {body['errors'][0].get('message')}")
        return body["data"]  # type: ignore[no-any-return]

    def checkpoint(self) -> Checkpoint:
        """The latest checkpoint, signed by the pinned key and consistent with the last one."""
        # The raw bytes: decoding leniently (or translating newlines) would accept a note
        # the format calls malformed.
        note = self.http.get(f"{self.url}/checkpoint").content
        checkpoint = self._verify_note(note)
        previous = self.last_checkpoint
        if previous is not None:
            if checkpoint.size < previous.size:
                raise VerificationError(
                    f"the log shrank: checkpoint size {checkpoint.size} after {previous.size}"
                )
            proof = self.query(
                "query($a: Int!, $b: Int!) { consistencyProof(fromSize: $a, toSize: $b) "
                "{ hashes } }",
                a=previous.size,
                b=checkpoint.size,
            )["consistencyProof"]
            merkle.verify_consistency(
                previous.size,
                checkpoint.size,
                [merkle.Hash(base64.b64decode(h)) for h in proof["hashes"]],
                previous.root_hash,
                checkpoint.root_hash,
            )
        self.last_checkpoint = checkpoint
        return checkpoint

    def _verify_note(self, note: str | bytes) -> Checkpoint:
        """The log's signature (origin = the pinned key's name) and, under a witness
        policy, k valid cosignatures (QuorumNotMet names the witnesses missing)."""
        if self.witness_policy is None:
            return verify_checkpoint(note, self.log_key, self.log_key.name)
        return verify_cosignatures(
            note, self.log_key, self.witness_policy, expected_origin=self.log_key.name
        ).checkpoint

    def entries(self, start: int = 0, page: int = 100) -> Iterator[tuple[int, bytes]]:
        """(seq, exact bytes) of every entry from ``start``, paging through the API."""
        after = start - 1
        while True:
            rows = self.query(
                "query($a: Int!, $n: Int!) { entries(after: $a, first: $n) { seq data } }",
                a=after,
                n=page,
            )["entries"]
            for row in rows:
                yield row["seq"], base64.b64decode(row["data"])
            if len(rows) < page:
                return
            after = rows[-1]["seq"]

    def verify_log(self) -> VerifyReport:
        """Every entry checked as `claims-ledger verify` does; the root equals the checkpoint."""
        checkpoint = self.checkpoint()
        within = takewhile(lambda row: row[0] < checkpoint.size, self.entries())
        rows = [(seq, data, 0) for seq, data in within]
        keys = keys_in((seq, data) for seq, data, _ in rows)
        checker = verify_rows(rows, MemoryIndex(), keys, log_verifier=self.log_key)
        report = checker.report
        if (report.entries, report.root) != (checkpoint.size, checkpoint.root_hash):
            raise VerificationError(
                f"the server's entries give size {report.entries} root {report.root.hex()}, "
                f"its signed checkpoint says {checkpoint.size} {checkpoint.root_hash.hex()}"
            )
        checker.state.check(checkpoint)  # its claim-state map root, replayed from the entries
        return report

    def verify_claim(self, claim_id: str) -> VerifiedClaim:
        """Check a claim's provenance: every link's bytes, its place in the chain, the key
        that signed it (from that key's own registration entry, itself proven), the
        signature, and an inclusion proof against a checkpoint signed by the pinned key.

        A revocation the server hides cannot be seen from one claim; ``verify_log`` walks
        every entry and catches that too."""
        data = self.query(_PROVENANCE, id=claim_id)["claim"]
        if data is None:
            raise ClientError(f"the server has no claim {claim_id}")
        checkpoint = self._verify_note(data["provenance"]["checkpoint"]["cosignedNote"])
        entries: list[SignedEntry] = []
        for link in data["provenance"]["links"]:
            entry = self._proven_entry(link["entryHash"], link["inclusionProof"], checkpoint)
            if entries and link["follows"] != entries[-1].hash.hex():
                raise VerificationError(f"entry {entry.seq} does not follow the link before it")
            public_key = self._signer_key(entry, checkpoint)
            verify_signature(entry, public_key)
            entries.append(entry)
        if entries[1].hash.hex() != claim_id:
            raise VerificationError(f"the chain's extraction is not claim {claim_id}")
        state = data["provenance"].get("stateProof")  # no revision, review, retraction hidden
        hashes = [entry.hash for entry in entries[1:]]
        check_served_latest(claim_id, hashes, state and state["proof"], checkpoint)
        return VerifiedClaim(claim_id, data["statement"], checkpoint, entries)

    def _proven_entry(
        self, entry_hash: str, proof: dict[str, Any], checkpoint: Checkpoint
    ) -> SignedEntry:
        raw = self.query("query($h: String!) { entry(hash: $h) { data } }", h=entry_hash)
        if raw["entry"] is None:
            raise VerificationError(f"the server has no entry {entry_hash}")
        entry = parse_entry(base64.b64decode(raw["entry"]["data"]))
        if entry.hash.hex() != entry_hash:
            raise VerificationError(f"entry bytes for {entry_hash} hash to {entry.hash.hex()}")
        if proof["treeSize"] != checkpoint.size:
            raise VerificationError("an inclusion proof is for another tree size")
        merkle.verify_inclusion(
            merkle.Hash(entry.hash),
            entry.seq,
            checkpoint.size,
            [merkle.Hash(base64.b64decode(h)) for h in proof["hashes"]],
            checkpoint.root_hash,
        )
        return entry

    def _signer_key(self, entry: SignedEntry, checkpoint: Checkpoint) -> bytes:
        """The signer's public key, from its registration entry, proven in the same tree."""
        keys = self.query("{ keys { keyId registeredSeq revokedSeq } }")["keys"]
        record = next((k for k in keys if k["keyId"] == entry.body.signer), None)
        if record is None:
            raise VerificationError(f"entry {entry.seq}: signer {entry.body.signer} is unknown")
        seq = record["registeredSeq"]
        proof = self.query(
            "query($s: Int!, $n: Int!) { entry(seq: $s) { hash } "
            "inclusionProof(seq: $s, treeSize: $n) { treeSize hashes } }",
            s=seq,
            n=checkpoint.size,
        )
        registration = self._proven_entry(
            proof["entry"]["hash"], proof["inclusionProof"], checkpoint
        )
        payload = registration.body.payload
        if not isinstance(payload, KeyRegistered) or payload.key_id != entry.body.signer:
            raise VerificationError(f"entry {seq} does not register key {entry.body.signer}")
        if not (seq < entry.seq or seq == entry.seq == 0):
            raise VerificationError(f"entry {entry.seq} is signed before its key was registered")
        revoked = record["revokedSeq"]
        if revoked is not None and entry.seq > revoked:
            raise VerificationError(f"entry {entry.seq} is signed by a key revoked at {revoked}")
        return base64.b64decode(payload.public_key)


_PROVENANCE = """query($id: ID!) { claim(id: $id) { statement provenance {
  checkpoint { cosignedNote } links { entryHash follows inclusionProof { treeSize hashes } }
  stateProof { proof } } } }"""
