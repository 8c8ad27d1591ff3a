"""Recomputing the log from its bytes: chain checks, signatures, rules, and projection rebuilds.

Every check raises a ``VerificationError`` subclass whose message names the sequence
number and what is wrong; nothing here trusts a derived column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ledger.entries import EntryHash, SignedEntry, parse_entry, verify_signature
from ledger.errors import FormatError, IntegrityError, LedgerError, SignatureError
from ledger.state import MemoryState, check_signer, subject_of
from ledger.store import Store, StoredEntry, Txn


@dataclass
class ChainReport:
    """What a full walk of the log found (when it found nothing wrong)."""

    entries: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    head: EntryHash | None = None


class ChainVerifier:
    """Walks entries in order, checking each against everything before it, in O(state) memory."""

    def __init__(self, *, check_signatures: bool = True) -> None:
        self.state = MemoryState()
        self.report = ChainReport()
        self.check_signatures = check_signatures
        self._origin: str | None = None
        self._last_ts = ""

    def feed(self, row: StoredEntry) -> SignedEntry:
        expected = self.report.entries
        if row.seq != expected:
            raise IntegrityError(
                f"entry {expected} is missing: the log goes from {expected - 1} to {row.seq}",
                seq=expected,
            )
        entry = self._parse(row)
        self._check_link(entry)
        try:
            key = check_signer(entry, self.state)
            if self.check_signatures:
                verify_signature(entry, key.public_key)
            self.state.apply(entry)
        except SignatureError as exc:
            raise SignatureError(
                f"entry {row.seq}: signature by {entry.body.signer} does not verify", seq=row.seq
            ) from exc
        except LedgerError as exc:
            raise IntegrityError(
                f"entry {row.seq} breaks the log's rules: {exc}", seq=row.seq
            ) from exc
        self.report.entries += 1
        self.report.kinds[entry.kind] = self.report.kinds.get(entry.kind, 0) + 1
        self.report.head = entry.hash
        return entry

    def _parse(self, row: StoredEntry) -> SignedEntry:
        try:
            entry = parse_entry(row.data, where=f"entry {row.seq}")
        except FormatError as exc:
            raise IntegrityError(
                f"entry {row.seq} bytes are malformed: {exc}", seq=row.seq
            ) from exc
        if entry.seq != row.seq:
            raise IntegrityError(
                f"entry {row.seq}: stored at seq {row.seq} but its body says seq {entry.seq}",
                seq=row.seq,
            )
        return entry

    def _check_columns(self, row: StoredEntry, entry: SignedEntry) -> None:
        derived = {
            "hash": entry.hash.hex(),
            "kind": entry.kind,
            "signer": entry.body.signer,
            "ts": entry.body.ts,
            "subject": subject_of(entry),
        }
        for name, value in derived.items():
            if getattr(row, name) != value:
                raise IntegrityError(
                    f"entry {row.seq}: stored {name} column {getattr(row, name)!r} does not match "
                    f"the entry bytes ({value!r})",
                    seq=row.seq,
                )

    def _check_link(self, entry: SignedEntry) -> None:
        body = entry.body
        if body.prev != self.report.head:
            expected = self.report.head.hex() if self.report.head else None
            found = body.prev.hex() if body.prev else None
            raise IntegrityError(
                f"entry {body.seq}: prev is {found} but entry {body.seq - 1} hashes to {expected}",
                seq=body.seq,
            )
        if self._origin is None:
            self._origin = body.log
        elif body.log != self._origin:
            raise IntegrityError(
                f"entry {body.seq}: names log {body.log!r}, entry 0 began {self._origin!r}",
                seq=body.seq,
            )
        if body.ts < self._last_ts:
            raise IntegrityError(
                f"entry {body.seq}: timestamp {body.ts} is earlier than the previous {self._last_ts}",
                seq=body.seq,
            )
        self._last_ts = body.ts


def verify_chain(rows: Iterable[StoredEntry], *, check_signatures: bool = True) -> ChainVerifier:
    """Check every entry in order; returns the verifier holding the replayed state."""
    verifier = ChainVerifier(check_signatures=check_signatures)
    for row in rows:
        verifier.feed(row)
    return verifier


@dataclass
class RebuildReport:
    entries: int
    differences: list[str] = field(default_factory=list)


def projection_differences(txn: Txn, state: MemoryState) -> list[str]:
    """Every row where the stored projections differ from the state replayed from the log."""
    differences: list[str] = []
    tables: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]] = [
        ("keys", {k.key_id: k for k in txn.all_keys()}, state.keys),
        ("sources", {s.sha256: s for s in txn.all_sources()}, state.sources),
        ("claims", {c.claim_id: c for c in txn.all_claims()}, state.claims),
    ]
    for table, stored, derived in tables:
        differences.extend(_diff_rows(table, stored, derived))
    return differences


def _diff_rows(table: str, stored: Mapping[str, Any], derived: Mapping[str, Any]) -> list[str]:
    out = []
    for key in sorted(stored.keys() - derived.keys()):
        out.append(f"{table} {key}: in the projection but not implied by the log")
    for key in sorted(derived.keys() - stored.keys()):
        out.append(f"{table} {key}: implied by the log but missing from the projection")
    for key in sorted(stored.keys() & derived.keys()):
        old, new = stored[key], derived[key]
        if old != new:
            for f in fields(new):
                a, b = getattr(old, f.name), getattr(new, f.name)
                if a != b:
                    out.append(f"{table} {key}: {f.name} is {a!r}, the log implies {b!r}")
    return out


def rebuild_projections(store: Store, *, apply: bool = True) -> RebuildReport:
    """Re-derive every projection from the log alone; report differences, then replace them.

    Runs under the append lock, so no append can slip in between the replay and the swap.
    """
    with store.writer() as txn:
        verifier = verify_chain(txn.iter_entries(), check_signatures=False)
        differences = projection_differences(txn, verifier.state)
        if apply and differences:
            txn.replace_projections(verifier.state.as_changes())
    return RebuildReport(verifier.report.entries, differences)


def verify_store(store: Store) -> ChainReport:
    """Verify the whole log in a store, then that its projections equal a replay of it."""
    with store.reader() as txn:
        verifier = verify_chain(txn.iter_entries())
        differences = projection_differences(txn, verifier.state)
    if differences:
        raise IntegrityError(f"projections differ from the log: {differences[0]}")
    return verifier.report
