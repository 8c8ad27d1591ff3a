"""Verification that trusts nothing but the entries' bytes, the keys in them, and the log key.

``LogChecker`` walks the log once, in order: framing and canonical form, dense sequence
numbers, previous-hash links, timestamps, every rule (``ledger.rules``), every signature
against the key valid at that point (checked on all cores by ``SignatureChecker``), the
Merkle tree (stored nodes and every signed checkpoint). Memory stays bounded: claims are
tracked as one array slot per entry, and earlier entries are found through an index
(the database's, whose rows the walk has already checked). ``verify_store`` then checks
that every projection row equals what the log implies. The first problem raises a
``VerificationError`` naming the sequence number, row or node.
"""

from __future__ import annotations

import multiprocessing
import os
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import merkle, rules
from ledger.checkpoint import Checkpoint, Verifier, verify_checkpoint
from ledger.entries import (
    ENTRY_KINDS,
    EntryHash,
    KeyRegistered,
    KeyRevoked,
    SignedEntry,
    SourceRegistered,
    parse_entry,
)
from ledger.errors import (
    FormatError,
    IntegrityError,
    LedgerError,
    SignatureError,
    VerificationError,
)
from ledger.rules import KeyState
from ledger.sigcheck import SignatureJob, first_bad_signature
from ledger.state import (
    ClaimState,
    ClaimVersion,
    MemoryState,
    Overlay,
    SourceState,
    fold,
    source_state,
    subject_of,
)
from ledger.store import Store, StoredCheckpoint, StoredEntry, Txn
from ledger.store.sql import claim_digest, source_digest, version_digest

Progress = Callable[[int], None]
_KIND_CODE: dict[str, int] = {kind: code for code, kind in enumerate(ENTRY_KINDS, start=1)}


# -- signatures on all cores ---------------------------------------------------------------


class SignatureChecker:
    """Checks entry signatures in chunks on worker processes, reporting failures in log order.

    With ``workers`` of 0 every chunk is checked in this process (small logs, tests).
    """

    def __init__(self, workers: int | None = None, chunk: int = 1000) -> None:
        self.workers = os.cpu_count() or 1 if workers is None else workers
        self.chunk = chunk
        self._jobs: list[SignatureJob] = []
        self._pending: deque[Future[int | None]] = deque()
        self._pool: ProcessPoolExecutor | None = None
        if self.workers > 1:
            # Forked now, before the walk builds any state: the workers share the parent's
            # imported code copy-on-write and hold nothing else (they only run sigcheck).
            # spawn would re-import the whole command line in every worker.
            context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)

    def __enter__(self) -> SignatureChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, seq: int, public_key: bytes, body: bytes, signature: bytes) -> None:
        self._jobs.append((seq, public_key, body, signature))
        if len(self._jobs) >= self.chunk:
            self._dispatch()

    @contextmanager
    def first_in_log_order(self) -> Iterator[None]:
        """On a failure, report a bad signature of an earlier entry first, if there is one.

        Signatures still in flight are all of entries before the one that failed.
        """
        try:
            yield
        except VerificationError:
            self.drain()
            raise

    def drain(self) -> None:
        """Wait for every signature submitted so far; raise for the first that fails."""
        self._dispatch()
        while self._pending:
            self._collect(self._pending.popleft())

    def _dispatch(self) -> None:
        jobs, self._jobs = self._jobs, []
        if not jobs:
            return
        if self._pool is None:
            self._raise_if_bad(first_bad_signature(jobs))
            return
        self._pending.append(self._pool.submit(first_bad_signature, jobs))
        while len(self._pending) > 2 * self.workers:  # bound memory held in flight
            self._collect(self._pending.popleft())

    def _collect(self, future: Future[int | None]) -> None:
        self._raise_if_bad(future.result())

    @staticmethod
    def _raise_if_bad(seq: int | None) -> None:
        if seq is not None:
            raise SignatureError(
                f"entry {seq}: signature does not verify under the signer's key", seq=seq
            )


# -- the walk -------------------------------------------------------------------------------


class EntryIndex(Protocol):
    """Finds earlier entries (the walk only trusts answers below its own position)."""

    def seq_of(self, entry_hash: str) -> int | None: ...

    def entry_at(self, seq: int) -> bytes | None: ...

    def history(self, subject: str, before: int) -> list[bytes]:
        """Every entry about claim ``subject`` with seq below ``before``, in order."""
        ...


class StoreIndex:
    """An ``EntryIndex`` over the database's indexes on ``entries`` (hash, subject)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def seq_of(self, entry_hash: str) -> int | None:
        found = self.store.entry_by_hash(entry_hash)
        return found.seq if found is not None else None

    def entry_at(self, seq: int) -> bytes | None:
        found = self.store.entry_by_seq(seq)
        return found.data if found is not None else None

    def history(self, subject: str, before: int) -> list[bytes]:
        return [row.data for row in self.store.subject_entries(subject) if row.seq < before]


class MemoryIndex:
    """An ``EntryIndex`` holding entries in memory (tests, small logs)."""

    def __init__(self) -> None:
        self._data: list[bytes] = []
        self._seqs: dict[str, int] = {}
        self._subjects: dict[str, list[int]] = {}

    def add(self, entry: SignedEntry) -> None:
        self._data.append(entry.data)
        self._seqs[entry.hash.hex()] = entry.seq
        subject = subject_of(entry)
        if subject is not None:
            self._subjects.setdefault(subject, []).append(entry.seq)

    def seq_of(self, entry_hash: str) -> int | None:
        return self._seqs.get(entry_hash)

    def entry_at(self, seq: int) -> bytes | None:
        return self._data[seq] if seq < len(self._data) else None

    def history(self, subject: str, before: int) -> list[bytes]:
        return [self._data[seq] for seq in self._subjects.get(subject, []) if seq < before]


class FileIndex:
    """An ``EntryIndex`` over a file of entries, one per line: offsets kept, bytes re-read."""

    def __init__(self, path: Path) -> None:
        self._handle = path.open("rb")
        self._offsets = array("q")
        self._seqs: dict[str, int] = {}
        self._subjects: dict[str, list[int]] = {}

    def close(self) -> None:
        self._handle.close()

    def add(self, seq: int, offset: int, entry: SignedEntry) -> None:
        self._offsets.append(offset)
        subject = subject_of(entry)
        if subject is not None or entry.kind == "source.registered":
            self._seqs[entry.hash.hex()] = seq
        if subject is not None:
            self._subjects.setdefault(subject, []).append(seq)

    def seq_of(self, entry_hash: str) -> int | None:
        return self._seqs.get(entry_hash)

    def entry_at(self, seq: int) -> bytes | None:
        if seq >= len(self._offsets):
            return None
        self._handle.seek(self._offsets[seq])
        return self._handle.readline().rstrip(b"\n")

    def history(self, subject: str, before: int) -> list[bytes]:
        seqs = [seq for seq in self._subjects.get(subject, []) if seq < before]
        return [data for seq in seqs if (data := self.entry_at(seq)) is not None]


@dataclass
class VerifyReport:
    """What a verification covered (returned only when nothing was wrong)."""

    entries: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    head: EntryHash | None = None
    root: merkle.Hash = merkle.EMPTY_ROOT
    checkpoints: int = 0
    nodes: int = 0
    projection_rows: int = 0


class _Recent(OrderedDict[str, SourceState]):
    """The most recently used sources (claims mostly cite a source registered just before)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: str, value: SourceState) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


class LogChecker:
    """Checks a log entry by entry, in order, in bounded memory.

    Kept per entry: its kind (1 byte) and, for sources and claims, a 16-byte digest of
    the projection row it implies. Kept per source: its hash. Keys: all. A claim's state
    is replayed from its own earlier entries (through the index) when a later entry
    changes it, so every rule runs through the same ``ledger.state`` code as appends.
    """

    def __init__(
        self,
        signatures: SignatureChecker,
        index: EntryIndex,
        *,
        log_verifier: Verifier | None = None,
    ) -> None:
        self.signatures = signatures
        self.index = index
        self.log_verifier = log_verifier
        self.report = VerifyReport()
        self.keys: dict[str, KeyState] = {}
        # Raw bytes, not hex, and no mapping: these grow with the number of sources. A
        # source's other facts come from the recent-source cache or are re-read.
        self.source_entries: set[bytes] = set()  # entry hashes of source.registered entries
        self.source_shas: set[bytes] = set()
        self.kinds = bytearray()  # kind code by seq
        self.digests = bytearray()  # 16 bytes by seq: digest of the row the entry creates
        self.frontier = merkle.Frontier()
        self.origin: str | None = None
        self._recent = _Recent(1024)
        self._last_ts = ""
        self._expected: Checkpoint | None = None
        self._expected_note: str | None = None

    # The walk ------------------------------------------------------------------------

    def feed(self, data: bytes, seq: int) -> SignedEntry:
        """Check the entry at position ``seq`` (its bytes ``data``); returns it parsed."""
        expected = self.report.entries
        if seq != expected:
            raise IntegrityError(
                f"entry {expected} is missing: the log goes from {expected - 1} to {seq}",
                seq=expected,
            )
        try:
            entry = parse_entry(data, where=f"entry {seq}")
        except FormatError as exc:
            raise IntegrityError(f"entry {seq} bytes are malformed: {exc}", seq=seq) from exc
        if entry.seq != seq:
            raise IntegrityError(
                f"entry {seq}: stored at seq {seq} but its body says seq {entry.seq}", seq=seq
            )
        self._check_link(entry)
        try:
            key = rules.check_signer(entry, self.keys.get)
            self._apply(entry)
        except LedgerError as exc:
            raise IntegrityError(f"entry {seq} breaks the log's rules: {exc}", seq=seq) from exc
        self.signatures.submit(seq, key.public_key, entry.body_bytes, entry.signature)
        if seq == 0 and self.log_verifier is None:
            self.log_verifier = Verifier.from_public_key(
                entry.body.log, Ed25519PublicKey.from_public_bytes(key.public_key)
            )
            if self._expected_note is not None:
                self._expected = verify_checkpoint(self._expected_note, self.log_verifier)
        self.report.entries += 1
        self.report.kinds[entry.kind] = self.report.kinds.get(entry.kind, 0) + 1
        self.report.head = entry.hash
        return entry

    def expect(self, note: str) -> None:
        """Require the log to extend this signed checkpoint (checked when the walk gets there).

        Its signature is checked against the log key as soon as that is known: the one
        given, or the one entry 0 registers.
        """
        self._expected_note = note
        if self.log_verifier is not None:
            self._expected = verify_checkpoint(note, self.log_verifier)

    def grow_tree(self, entry: SignedEntry) -> list[merkle.Node]:
        """Add the entry's leaf; returns the inner nodes it completed."""
        nodes = [n for n in self.frontier.append(merkle.Hash(entry.hash)) if n.level]
        expected = self._expected
        if expected is not None and self.frontier.size == expected.size:
            root = self.frontier.root()
            if root != expected.root_hash:
                raise VerificationError(
                    f"the log does not extend the older checkpoint: at tree size "
                    f"{expected.size} its root is {root.hex()}, the checkpoint signed "
                    f"{expected.root_hash.hex()} (history was rewritten or forked)",
                    seq=expected.size - 1,
                )
        return nodes

    def check_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """A stored checkpoint at the current size: its root and its signature by the log key."""
        size = self.frontier.size
        root = self.frontier.root()
        if checkpoint.root != root:
            raise IntegrityError(
                f"checkpoint at tree size {size}: its root {checkpoint.root.hex()} is not the "
                f"root of the log's first {size} entries ({root.hex()}): the log was rewritten "
                "or forked after it was signed",
                seq=size - 1,
            )
        if self.log_verifier is None:
            raise VerificationError("no log key to check checkpoints with")
        try:
            note = verify_checkpoint(checkpoint.note, self.log_verifier, self.origin)
        except VerificationError as exc:
            raise SignatureError(f"checkpoint at tree size {size}: {exc}", seq=size - 1) from exc
        if note.size != size or note.root_hash != root:
            raise IntegrityError(
                f"checkpoint at tree size {size}: the signed note says size {note.size} "
                f"and root {note.root_hash.hex()}",
                seq=size - 1,
            )
        self.report.checkpoints += 1

    def finish(self) -> VerifyReport:
        self.signatures.drain()
        self.report.root = self.frontier.root()
        if self._expected_note is not None and self._expected is None:
            raise VerificationError("the log is empty: it cannot extend the older checkpoint")
        if self._expected is not None and self._expected.size > self.frontier.size:
            raise VerificationError(
                f"the older checkpoint has tree size {self._expected.size}, but the log holds "
                f"only {self.frontier.size} entries: it was truncated"
            )
        return self.report

    # Checks ------------------------------------------------------------------------------

    def _check_link(self, entry: SignedEntry) -> None:
        body = entry.body
        if body.prev != self.report.head:
            expected = self.report.head.hex() if self.report.head else None
            found = body.prev.hex() if body.prev else None
            raise IntegrityError(
                f"entry {body.seq}: prev is {found} but entry {body.seq - 1} hashes to {expected}",
                seq=body.seq,
            )
        if self.origin is None:
            self.origin = body.log
        elif body.log != self.origin:
            raise IntegrityError(
                f"entry {body.seq}: names log {body.log!r}, entry 0 began {self.origin!r}",
                seq=body.seq,
            )
        if body.ts < self._last_ts:
            raise IntegrityError(
                f"entry {body.seq}: timestamp {body.ts} is earlier than the previous {self._last_ts}",
                seq=body.seq,
            )
        self._last_ts = body.ts

    def _apply(self, entry: SignedEntry) -> None:
        """The kind's rules over the facts kept, then the facts updated."""
        seq, payload = entry.seq, entry.body.payload
        self.kinds.append(_KIND_CODE[entry.kind])
        self.digests.extend(bytes(16))
        if isinstance(payload, KeyRegistered):
            rules.check_key_registration(entry, payload, self.keys.get(payload.key_id))
            self.keys[payload.key_id] = rules.key_from_registration(payload, seq)
        elif isinstance(payload, KeyRevoked):
            key = self.keys.get(payload.key_id)
            rules.check_key_revocation(entry, payload, key)
            assert key is not None
            self.keys[key.key_id] = replace(key, revoked_seq=seq, revoked_reason=payload.reason)
        elif isinstance(payload, SourceRegistered):
            sha = bytes.fromhex(payload.sha256)
            rules.check_source_registration(payload.sha256, sha in self.source_shas)
            source = source_state(entry, payload)
            self.source_shas.add(sha)
            self.source_entries.add(entry.hash)
            self._recent.put(source.entry_hash, source)
            self._set_digest(seq, source_digest(source))
        else:
            claim = self._fold_claim(entry)
            self._set_digest(claim.seq, claim_digest(claim))

    def _fold_claim(self, entry: SignedEntry) -> ClaimState:
        """The claim's state after ``entry``, by the same rules appends use."""
        state = Overlay(_ClaimView(self, entry.seq))
        fold(entry, state)
        [claim] = state.changes.claims.values()
        return claim

    def _set_digest(self, seq: int, digest: bytes) -> None:
        self.digests[16 * seq : 16 * seq + 16] = digest

    def source_at(self, entry_hash: str, before: int) -> SourceState | None:
        """The source a claim cites, if that entry is an earlier source registration."""
        if bytes.fromhex(entry_hash) not in self.source_entries:
            return None
        cached = self._recent.get(entry_hash)
        if cached is not None:
            return cached
        seq = self.index.seq_of(entry_hash)
        data = self.index.entry_at(seq) if seq is not None and seq < before else None
        if data is None:
            return None
        entry = parse_entry(data, where=f"entry {seq}")
        assert isinstance(entry.body.payload, SourceRegistered)
        source = source_state(entry, entry.body.payload)
        self._recent.put(entry_hash, source)
        return source

    def claim_before(self, claim_id: str, before: int) -> ClaimState | None:
        """A claim's state replayed from its own entries before position ``before``."""
        seq = self.index.seq_of(claim_id)
        if seq is None or seq >= before or self.kinds[seq] != _KIND_CODE["claim.extracted"]:
            return None
        state = Overlay(_ClaimView(self, seq))
        for data in self.index.history(claim_id, before):
            fold(parse_entry(data, where=f"history of claim {claim_id}"), state)
        return state.changes.claims.get(claim_id)


class _ClaimView:
    """The ``StateView`` a claim entry is folded against during verification."""

    def __init__(self, checker: LogChecker, position: int) -> None:
        self.checker = checker
        self.position = position

    def get_key(self, key_id: str) -> KeyState | None:
        return self.checker.keys.get(key_id)

    def get_source(self, sha256: str) -> SourceState | None:
        return None

    def get_source_by_entry(self, entry_hash: str) -> SourceState | None:
        return self.checker.source_at(entry_hash, self.position)

    def get_claim(self, claim_id: str) -> ClaimState | None:
        return self.checker.claim_before(claim_id, self.position)


def verify_store(
    store: Store,
    *,
    size: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    older_checkpoint: str | None = None,
) -> VerifyReport:
    """Verify the log in ``store`` (up to ``size`` entries), its tree, checkpoints and projections.

    ``older_checkpoint`` is a signed note kept from earlier (by a client, a witness): the
    log must extend it, whatever the database now holds.
    """
    head = store.head().size
    size = head if size is None else size
    if not 0 <= size <= head:
        raise VerificationError(f"tree size {size} is out of range: the log has {head} entries")
    with SignatureChecker(workers=workers if size > 2000 else 0) as signatures:
        checker = LogChecker(signatures, StoreIndex(store))
        if older_checkpoint is not None:
            checker.expect(older_checkpoint)
        with signatures.first_in_log_order():
            _walk_store(store, checker, size, progress)
        report = checker.finish()
    if size == head:
        report.projection_rows = check_projections(store, checker)
    return report


def _walk_store(store: Store, checker: LogChecker, size: int, progress: Progress | None) -> None:
    checkpoints = _Lookahead(store.iter_checkpoints())
    for page in store.entry_pages(0, size, 1000):
        pending_nodes: list[merkle.Node] = []
        for row in page:
            entry = checker.feed(row.data, row.seq)
            _check_columns(row, entry)
            pending_nodes.extend(checker.grow_tree(entry))
            while checkpoints.peek() is not None and checkpoints.peek().size == row.seq + 1:  # type: ignore[union-attr]
                _check_nodes(store, pending_nodes)
                pending_nodes = []
                checker.check_checkpoint(checkpoints.pop())
        _check_nodes(store, pending_nodes)
        checker.report.nodes += len(pending_nodes)
        if progress is not None:
            progress(len(page))
    upcoming = checkpoints.peek()
    if upcoming is not None and upcoming.size <= size:
        raise IntegrityError(f"checkpoint at tree size {upcoming.size} does not match any entry")
    if size == store.head().size and upcoming is not None:
        raise IntegrityError(
            f"a checkpoint was signed at tree size {upcoming.size}, but the log has only "
            f"{size} entries: entries were removed after it was signed",
            seq=size,
        )


class _Lookahead:
    def __init__(self, items: Iterator[StoredCheckpoint]) -> None:
        self._items = items
        self._next = next(items, None)

    def peek(self) -> StoredCheckpoint | None:
        return self._next

    def pop(self) -> StoredCheckpoint:
        item = self._next
        assert item is not None
        self._next = next(self._items, None)
        return item


def _check_columns(row: StoredEntry, entry: SignedEntry) -> None:
    """The lookup columns stored beside the bytes must say what the bytes say."""
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


def _check_nodes(store: Store, nodes: Sequence[merkle.Node]) -> None:
    """Stored inner tree nodes must equal the ones recomputed from the entries."""
    if not nodes:
        return
    with store.reader() as txn:
        stored = txn.read_nodes([n.id for n in nodes])
    for node in nodes:
        found = stored.get(node.id)
        if found != node.hash:
            what = (
                "is missing" if found is None else f"is {found.hex()}, expected {node.hash.hex()}"
            )
            raise IntegrityError(
                f"tree node (level {node.level}, index {node.index}) {what}: proofs served "
                "from it would be wrong",
                seq=(node.index + 1) * (1 << node.level) - 1,
            )


# -- projections ---------------------------------------------------------------------------


def check_projections(store: Store, checker: LogChecker) -> int:
    """Every projection row equals what the log implies, and no row is missing or extra."""
    stored: dict[str, KeyState] = {k.key_id: k for k in store.all_keys()}
    _raise_first(_diff_rows("keys", stored, checker.keys))
    rows = len(stored)
    for table, kind in (("sources", "source.registered"), ("claims", "claim.extracted")):
        rows += _check_digests(store, checker, table, _KIND_CODE[kind])
    return rows + check_claim_versions(store, checker)


def check_claim_versions(store: Store, checker: LogChecker) -> int:
    """Every past claim state (claim_versions) is what the log implies, none missing or extra.

    Each revision, retraction and review replaced one state of its claim: the row for that
    entry (``to_seq``) must hold the claim as replayed from its entries before it.
    """
    changes = {_KIND_CODE[k] for k in ("claim.revised", "claim.retracted", "claim.reviewed")}
    expected = (seq for seq, code in enumerate(checker.kinds) if code in changes)
    count, after = 0, -1
    while page := _version_page(store, after):
        for to_seq, claim_id, digest in page:
            want = next(expected, None)
            if want != to_seq:
                raise IntegrityError(
                    "projections differ from the log: claim_versions: "
                    + (
                        f"the state entry {want} replaced is missing"
                        if want is not None and want < to_seq
                        else f"row {claim_id} (to_seq {to_seq}) is not implied by the log"
                    )
                )
            data = checker.index.entry_at(to_seq)
            assert data is not None  # the walk checked every entry below the head
            subject = subject_of(parse_entry(data, where=f"entry {to_seq}"))
            state = checker.claim_before(subject or "", to_seq)
            if state is None or version_digest(ClaimVersion(state, to_seq)) != digest:
                raise IntegrityError(
                    f"projections differ from the log: claim_versions: the row for entry "
                    f"{to_seq} is not the state of claim {subject} that entry replaced"
                )
            count += 1
        after = page[-1][0]
    left = next(expected, None)
    if left is not None:
        raise IntegrityError(
            f"projections differ from the log: claim_versions: the state entry {left} "
            "replaced is missing"
        )
    return count


def _version_page(store: Store, after: int) -> list[tuple[int, str, bytes]]:
    with store.reader() as txn:
        return txn.version_digest_page(after, 2000)


def _check_digests(store: Store, checker: LogChecker, table: str, kind: int) -> int:
    """Merge the table's rows (in seq order) with the entries that create them."""
    expected = (seq for seq, code in enumerate(checker.kinds) if code == kind)
    count, after = 0, -1
    while True:
        with store.reader() as txn:
            page = txn.digest_page(table, after, 2000)
        for seq, key, digest in page:
            want = next(expected, None)
            if want != seq:
                missing = want is not None and want < seq
                raise IntegrityError(
                    f"projections differ from the log: {table}: "
                    + (
                        f"the row for entry {want} is missing"
                        if missing
                        else f"row {key} (seq {seq}) is not implied by the log"
                    )
                )
            if checker.digests[16 * seq : 16 * seq + 16] != digest:
                raise IntegrityError(
                    f"projections differ from the log: {_explain(store, checker, table, seq, key)}"
                )
            count += 1
        if len(page) < 2000:
            break
        after = page[-1][0]
    left = next(expected, None)
    if left is not None:
        raise IntegrityError(
            f"projections differ from the log: {table}: the row for entry {left} is missing"
        )
    return count


def _explain(store: Store, checker: LogChecker, table: str, seq: int, key: str) -> str:
    """Which field of a differing row differs (slow path, run once, on failure)."""
    end = checker.report.entries
    if table == "sources":
        data = checker.index.entry_at(seq)
        assert data is not None
        entry = parse_entry(data, where=f"entry {seq}")
        assert isinstance(entry.body.payload, SourceRegistered)
        derived: dict[str, Any] = {key: source_state(entry, entry.body.payload)}
        row: Any = store.get_source(key)
    else:
        claim = checker.claim_before(key, end)
        derived = {key: claim} if claim is not None else {}
        row = store.get_claim(key)
    differences = _diff_rows(table, {key: row} if row is not None else {}, derived)
    return (
        differences[0]
        if differences
        else f"{table} {key}: the row differs from what entry {seq} implies"
    )


def _raise_first(differences: list[str]) -> None:
    if differences:
        raise IntegrityError(f"projections differ from the log: {differences[0]}")


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


# -- rebuilding projections ------------------------------------------------------------------


@dataclass
class RebuildReport:
    entries: int
    differences: list[str] = field(default_factory=list)


def replay_log(rows: Iterable[StoredEntry]) -> MemoryState:
    """Fold a whole log into memory with every rule (no signatures: ``verify`` does those)."""
    state = MemoryState()
    for row in rows:
        state.apply(parse_entry(row.data, where=f"entry {row.seq}"))
    return state


def projection_differences(txn: Txn, state: MemoryState) -> list[str]:
    """Every row where the stored projections differ from the state replayed from the log."""
    tables: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]] = [
        ("keys", {k.key_id: k for k in txn.all_keys()}, state.keys),
        ("sources", {s.sha256: s for s in txn.all_sources()}, state.sources),
        ("claims", {c.claim_id: c for c in txn.all_claims()}, state.claims),
        (
            "claim_versions",
            {str(v.to_seq): v for v in txn.all_versions()},
            {str(v.to_seq): v for v in state.versions},
        ),
    ]
    differences: list[str] = []
    for table, stored, derived in tables:
        differences.extend(_diff_rows(table, stored, derived))
    return differences + txn.search_index_differences()


def rebuild_projections(store: Store, *, apply: bool = True) -> RebuildReport:
    """Re-derive every projection from the log alone; report differences, then replace them.

    Runs under the append lock, so no append can slip in between the replay and the swap.
    Holds the replayed state in memory (use ``verify`` for a bounded-memory check).
    """
    with store.writer() as txn:
        state = replay_log(txn.iter_entries())
        differences = projection_differences(txn, state)
        if apply and differences:
            txn.replace_projections(state.as_changes())
        entries = txn.head().size
    return RebuildReport(entries, differences)
