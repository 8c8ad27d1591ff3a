"""Verification that trusts nothing but the entries' bytes, the keys in them, and the log key.

The log is checked in aligned chunks of ``2**bits`` entries on every core
(``ledger.chunks``: parsing, links, signer keys and signatures, stored columns, the
chunk's tree nodes and projection rows), and ``LogChecker`` joins the chunks in log
order: links and timestamps between chunks, key registrations and revocations, source
registrations and claims citing them, changes to claims (replayed through the same
``ledger.state`` code appends use), the tree above chunk level and every signed
checkpoint. Memory stays bounded: per entry one byte (its kind), per source its hash,
per key its state; earlier entries are found through an index (the database's, whose
rows the walk has already checked). The first problem raises a ``VerificationError``
naming the sequence number, row or node; problems are reported in log order.
"""

from __future__ import annotations

import multiprocessing
import os
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import merkle, rules
from ledger.checkpoint import Checkpoint, SignedNote, Verifier, verify_checkpoint
from ledger.chunks import (
    KIND_CODE,
    ChunkResult,
    ChunkTask,
    Row,
    check_chunk,
    check_node,
    check_position,
    check_version,
    init_worker,
    read_source_file,
    run_chunk,
)
from ledger.derived import derive, override_of
from ledger.entries import (
    ENTRY_KINDS,
    KEY_PAYLOADS,
    ClaimRetracted,
    EntryHash,
    LogKeyRotated,
    Selector,
    SourceRegistered,
    looks_like_key_entry,
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
from ledger.state import (
    ClaimState,
    ClaimVersion,
    MemoryState,
    Overlay,
    SourceState,
    fold,
    key_named,
    source_state,
    subject_of,
)
from ledger.statelog import StateReplay, check_state_table
from ledger.statemap import StateMap, bucket_bits_for
from ledger.store import Store, StoredCheckpoint, StoredEntry, Txn
from ledger.store.derived import (
    derived_differences,
    derived_rows,
    derived_size,
    keyed,
    override_entries,
    plan_write,
    write_derived,
)
from ledger.store.sql import version_values

Progress = Callable[[int], None]
CHUNK_BITS = 10
_EXTRACTED = KIND_CODE["claim.extracted"]


# -- indexes of earlier entries --------------------------------------------------------------


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


class _FactIndex:
    """Entry hashes and claim subjects learnt from the chunks' facts (memory and file)."""

    def __init__(self) -> None:
        self._seqs: dict[str, int] = {}
        self._subjects: dict[str, list[int]] = {}

    def learn(self, seq: int, entry_hash: str, kind: int, subject: str | None) -> None:
        if subject is not None or kind == KIND_CODE["source.registered"]:
            self._seqs[entry_hash] = seq
        if subject is not None:
            self._subjects.setdefault(subject, []).append(seq)

    def seq_of(self, entry_hash: str) -> int | None:
        return self._seqs.get(entry_hash)

    def entry_at(self, seq: int) -> bytes | None:
        raise NotImplementedError

    def history(self, subject: str, before: int) -> list[bytes]:
        seqs = [seq for seq in self._subjects.get(subject, []) if seq < before]
        return [data for seq in seqs if (data := self.entry_at(seq)) is not None]


class MemoryIndex(_FactIndex):
    """An ``EntryIndex`` holding entries in memory (a client's replay, tests, small logs)."""

    def __init__(self) -> None:
        super().__init__()
        self._data: list[bytes] = []

    def add(self, data: bytes) -> None:
        self._data.append(data)

    def entry_at(self, seq: int) -> bytes | None:
        return self._data[seq] if seq < len(self._data) else None


class FileIndex(_FactIndex):
    """An ``EntryIndex`` over a file of entries, one per line: offsets kept, bytes re-read."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._handle = path.open("rb")
        self._offsets = array("q")

    def close(self) -> None:
        self._handle.close()

    def add(self, offset: int) -> None:
        self._offsets.append(offset)

    def entry_at(self, seq: int) -> bytes | None:
        if seq >= len(self._offsets):
            return None
        self._handle.seek(self._offsets[seq])
        return self._handle.readline().rstrip(b"\n")


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
    uncheckpointed: int = 0
    """Entries no checkpoint covers, from seq ``entries - uncheckpointed`` on: only in a log
    that has no checkpoint yet (written before checkpoints existed); reported, not failed."""
    state_map: StateMap | None = field(default=None, repr=False, compare=False)
    """The claim-state map replayed from the entries, at ``entries`` (a full verify of the
    whole log: what ``verify --save-state`` keeps beside its state file)."""


# -- keys, from a first pass -------------------------------------------------------------------


def key_states(entries: Iterable[tuple[int, bytes]]) -> dict[str, KeyState]:
    """Every key's final state from the key entries alone, in order.

    Entries that do not parse or break a key rule are skipped: the walk reports them
    where they are, and requires the same final states from its own replay.
    """
    keys: dict[str, KeyState] = {}
    for seq, data in entries:
        try:
            entry = parse_entry(data, where=f"entry {seq}")
            if entry.seq == seq and isinstance(entry.body.payload, KEY_PAYLOADS):
                changed = rules.key_changes(entry, keys.get, partial(key_named, keys.values()))
                keys.update((key.key_id, key) for key in changed)
        except LedgerError:
            continue
    return keys


# -- chunks on every core -----------------------------------------------------------------------


class ChunkRunner:
    """Runs chunk checks on worker processes (or in this process), results in task order."""

    def __init__(self, keys: Mapping[str, KeyState], *, store: Store | None, workers: int) -> None:
        self.keys = dict(keys)
        self.store = store
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        if workers > 1:
            # Forked: the workers share the parent's imported code copy-on-write; each opens
            # its own database connection. spawn would re-import everything in every worker.
            context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            url = store.engine.url.render_as_string(hide_password=False) if store else ""
            self._pool = ProcessPoolExecutor(
                workers, mp_context=context, initializer=init_worker, initargs=(url, self.keys)
            )

    def __enter__(self) -> ChunkRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def map(self, tasks: Iterable[ChunkTask]) -> Iterator[ChunkResult]:
        """Each task's result in order, keeping at most 2 per worker in flight."""
        if self._pool is None:
            for task in tasks:
                yield check_chunk(self.store, task, self.keys)
            return
        pending: deque[Future[ChunkResult]] = deque()
        for task in tasks:
            pending.append(self._pool.submit(run_chunk, task))
            if len(pending) > 2 * self.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def worker_count(workers: int | None, size: int) -> int:
    """Worker processes for a log of ``size`` entries: as asked, else every core (none for
    small logs, where starting processes costs more than it saves)."""
    if workers is not None:
        return workers
    return (os.cpu_count() or 1) if size > 2000 else 0


# -- the join ------------------------------------------------------------------------------------


def replay_map(size: int | None) -> StateMap:
    """The empty lean map a verification replays the claim-state map into.

    Given the log's size (an upper bound on its map keys: an entry writes at most one), its
    dense levels are sized once for that many keys, 4 to 8 keys a bucket at the end, and
    never rebuilt. A map left to grow rebuilds itself each time its keys quadruple, and a
    rebuild holds every record twice, as Python tuples (~190 bytes a key), beside the
    map: at 1,000,000 entries that doubled the join process's high-water mark for a map
    of ~90 bytes a key (decision 0035). Without a size (a stream of unknown length) the
    map grows as keys come."""
    if size is None:
        return StateMap(lean=True)
    return StateMap(lean=True, bits=max(0, bucket_bits_for(size) - 2))


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
    """Joins chunk results in log order and checks everything that spans chunks.

    Kept per entry: its kind (1 byte). Per source: its hash and its entry's hash. Keys:
    all. A claim's state is replayed from its own earlier entries (through the index)
    when a later entry changes it, through the same ``ledger.state`` code as appends.
    """

    def __init__(
        self,
        index: EntryIndex,
        keys: Mapping[str, KeyState],
        *,
        log_verifier: Verifier | None = None,
        chunk_bits: int = CHUNK_BITS,
        nodes: Store | None = None,
        blobs: Callable[[str], bytes | None] | None = None,
        size_hint: int | None = None,
    ) -> None:
        """``size_hint``: how many entries the walk will join (the log's size), to size the
        claim-state map replay once (``replay_map``); None: it grows as keys come."""
        self.index = index
        self.blobs = blobs
        """Sources' bytes by sha256, to check quotes of claims citing an earlier chunk's source."""
        self._texts: OrderedDict[str, str] = OrderedDict()
        self.hint = keys
        self.log_verifier = log_verifier
        self.pinned = log_verifier
        """The log key the caller trusts (None: the one entry 0 registers)."""
        self.log_keys: list[tuple[int, Verifier]] = []
        """(first tree size it signs, verifier) of each log key the walk met, in order."""
        self.chunk_bits = chunk_bits
        self.node_store = nodes
        self.report = VerifyReport()
        self.keys: dict[str, KeyState] = {}
        self.source_shas: set[bytes] = set()
        self.source_by_entry: dict[bytes, bytes] = {}  # entry hash -> sha256, both raw
        self.kinds = bytearray()  # kind code by seq
        self.chunks = merkle.Frontier()  # over full chunks' subtree roots
        self.modified: set[str] = set()  # claims changed after their extraction
        self.row_findings: list[tuple[str, str, int, str]] = []
        self.origin: str | None = None
        self._recent = _Recent(1024)
        self._last_ts = ""
        self._last_v = 0
        self._tail: list[merkle.Hash] = []  # the last (partial) chunk's perfect subtrees
        self._pending_nodes: list[merkle.Node] = []
        self._expected: Checkpoint | None = None
        self._expected_note: str | None = None
        self._expected_size: int | None = None
        self.state = StateReplay(replay_map(size_hint))
        """The claim-state map replayed from the entries (decision 0012)."""
        self._state_checks: list[Checkpoint] = []

    @property
    def size(self) -> int:
        return self.report.entries

    def expect(self, note: str) -> None:
        """Require the log to extend this signed checkpoint (checked when the walk gets there).

        Its signature is checked when the walk reaches its size, against the log key the
        log names for that size (entry 0's, or a rotation's: ``log_key_for``).
        """
        self._expected_note = note
        # Its size, unverified, only to plan which roots the chunks compute.
        self._expected_size = Checkpoint.from_body(SignedNote.from_text(note).text).size

    def add_log_key(self, first_size: int, origin: str, public_key: bytes) -> None:
        """A log key (entry 0's, or one a rotation hands over to) signs the checkpoints of
        tree size ``first_size`` on (until the next one)."""
        verifier = Verifier.from_public_key(origin, Ed25519PublicKey.from_public_bytes(public_key))
        self.log_keys.append((first_size, verifier))

    def log_key_for(self, size: int) -> Verifier:
        """The key that must sign the checkpoint of tree size ``size``: the log key at its
        last entry, as the log's own key entries name it (decision 0022)."""
        found = self.log_verifier if not self.log_keys else None
        for first, verifier in self.log_keys:
            if first <= size:
                found = verifier
        if found is None:
            raise VerificationError("no log key to check checkpoints with")
        return found

    def check_pinned(self) -> None:
        """A given (pinned) log key must be one of the log's log keys: entry 0's, or one a
        rotation signed by an earlier log key handed over to. Every checkpoint was checked
        against the key the log names for it, and the last one, which covers every entry,
        is signed by the pinned key or by one the chain reached from it."""
        pinned = self.pinned
        if pinned is None or not self.log_keys:
            return
        if all(v.public_key != pinned.public_key for _, v in self.log_keys):
            raise SignatureError(
                f"the trusted log key {pinned.name}+{pinned.key_id.hex()} is not this log's "
                f"key: entry 0 registers {self.log_keys[0][1].key_text()} and no "
                f"log.key.rotated entry below tree size {self.size} hands over to it"
            )

    def expected_size(self) -> int | None:
        """The tree size of the older checkpoint the log must extend, if one was given."""
        return self._expected_size

    # The join --------------------------------------------------------------------------

    def absorb(self, result: ChunkResult, checkpoints: Sequence[StoredCheckpoint] = ()) -> None:
        """The next chunk's result, and the stored checkpoints whose size falls in it."""
        if result.start != self.size:
            raise VerificationError(f"chunk at {result.start} joined at {self.size}")
        if result.first_ts:
            self._check_boundary(result)
        self.kinds.extend(result.kinds)
        self._apply_events(result)
        self.row_findings.extend(result.row_findings)
        self.report.projection_rows += result.rows
        if result.failure is not None:
            raise result.failure.exception()
        self.report.entries = result.stop
        self.report.nodes += result.nodes
        self.report.head = EntryHash(result.last_hash) if result.last_hash else self.report.head
        self._last_ts = result.last_ts
        self._last_v = result.last_v or self._last_v
        before = list(self.chunks.hashes)
        note, size = self._expected_note, self._expected_size
        if note is not None and size is not None and result.start < size <= result.stop:
            try:
                self._expected = verify_checkpoint(note, self.log_key_for(size))
            except VerificationError as exc:
                raise SignatureError(
                    f"the older checkpoint at tree size {size}: {exc}", seq=size - 1
                ) from exc
        expected = self._expected
        if expected is not None and result.start < expected.size <= result.stop:
            root = merkle.fold_perfect(before + result.frontiers[expected.size])
            if root != expected.root_hash:
                raise VerificationError(
                    f"the log does not extend the older checkpoint: at tree size "
                    f"{expected.size} its root is {root.hex()}, the checkpoint signed "
                    f"{expected.root_hash.hex()} (history was rewritten or forked)",
                    seq=expected.size - 1,
                )
            self._state_checks.append(expected)
        if result.stop - result.start == 1 << self.chunk_bits:
            for node in self.chunks.append(result.frontiers[result.stop][0]):
                if node.level:
                    level = node.level + self.chunk_bits
                    self._pending_nodes.append(merkle.Node(level, node.index, node.hash))
            self._tail = []
        else:
            self._tail = result.frontiers[result.stop]
        if len(self._pending_nodes) >= 64 or checkpoints:
            self._check_nodes()
        for checkpoint in checkpoints:
            root = merkle.fold_perfect(before + result.frontiers[checkpoint.size])
            self._check_checkpoint(checkpoint, root)
        self._check_state(result)

    def _check_state(self, result: ChunkResult) -> None:
        """Feed the chunk's map writes, checking each checkpoint met in it (stored or
        expected) that carries a state-map root against the map at its size."""
        checks, self._state_checks = sorted(self._state_checks, key=lambda c: c.size), []
        leaves, at = result.state, 0
        for checkpoint in checks:
            upto = at
            while upto < len(leaves) and leaves[upto][0] < checkpoint.size:
                upto += 1
            self.state.feed(leaves[at:upto])
            at = upto
            self.state.check(checkpoint)
        self.state.feed(leaves[at:])

    def finish(self) -> VerifyReport:
        self._check_nodes()
        hashes = list(self.chunks.hashes) + self._tail
        self.report.root = merkle.fold_perfect(hashes) if hashes else merkle.EMPTY_ROOT
        if self._expected_note is not None and self.size == 0:
            raise VerificationError("the log is empty: it cannot extend the older checkpoint")
        expected_size = self._expected_size or 0
        if self._expected_note is not None and expected_size > self.size:
            raise VerificationError(
                f"the older checkpoint has tree size {expected_size}, but the log holds "
                f"only {self.size} entries: it was truncated"
            )
        self.check_pinned()
        if self.keys != self.hint:
            raise IntegrityError(
                "the key entries found through the entries table's kind column are not the "
                "key entries in the log: the lookup columns were edited"
            )
        for code, kind in enumerate(ENTRY_KINDS, start=1):
            if count := self.kinds.count(code):
                self.report.kinds[kind] = count
        return self.report

    # Checks ----------------------------------------------------------------------------

    def _check_boundary(self, result: ChunkResult) -> None:
        """The chunk's first entry against the end of the chunks before it."""
        if self.origin is None:
            self.origin = result.log
        check_position(
            result.start,
            result.first_prev,
            result.first_ts,
            result.log,
            self.report.head,
            self._last_ts,
            self.origin,
        )
        check_version(result.start, result.first_v, self._last_v)

    def _apply_events(self, result: ChunkResult) -> None:
        events: list[tuple[int, int, Any]] = [(e[0], 0, e) for e in result.sources]
        events += [(e[0], 1, e) for e in result.cites]
        events += [(e[0], 2, e) for e in result.entries]
        events += [(e[0], 3, e) for e in result.quotes]
        if len(events) > len(result.sources):
            events.sort(key=lambda event: event[0])
        for seq, what, event in events:
            try:
                if what == 0:
                    _, sha, entry_hash = event
                    rules.check_source_registration(sha.hex(), sha in self.source_shas)
                    self.source_shas.add(sha)
                    self.source_by_entry[entry_hash] = sha
                elif what == 1:
                    _, source, claimed = event
                    found = self.source_by_entry.get(bytes.fromhex(source))
                    rules.check_claim_source(
                        seq, source, claimed, found.hex() if found is not None else None
                    )
                elif what == 2:
                    self._apply_entry(seq, event[1])
                else:
                    self._check_quote(seq, event[1], event[2])
            except LedgerError as exc:
                if isinstance(exc, VerificationError):
                    raise
                raise IntegrityError(f"entry {seq} breaks the log's rules: {exc}", seq=seq) from exc

    def _apply_entry(self, seq: int, data: bytes) -> None:
        """A key entry or a change to a claim (already parsed and signature-checked once)."""
        entry = parse_entry(data, where=f"entry {seq}")
        payload = entry.body.payload
        if isinstance(payload, KEY_PAYLOADS):
            changed = rules.key_changes(
                entry, self.keys.get, partial(key_named, self.keys.values())
            )
            self.keys.update((key.key_id, key) for key in changed)
            if seq == 0:
                self.add_log_key(1, entry.body.log, changed[0].public_key)
            elif isinstance(payload, LogKeyRotated):
                # The checkpoint over the rotation (size seq + 1) is the old key's last.
                self.add_log_key(seq + 2, entry.body.log, changed[1].public_key)
        else:
            # Workers checked the signer against the keys' final states; the claim's own
            # rules need its earlier entries, replayed here.
            state = Overlay(_ClaimView(self, seq))
            fold(entry, state)
            self.modified.update(state.changes.claims)

    def _check_quote(self, seq: int, source_entry: str, selector: Selector) -> None:
        """A claim's quote in the text of a source from an earlier chunk (texts of the last
        few such sources kept: claims cite a source registered just before them)."""
        source = self.source_at(source_entry, seq)
        if source is None or self.blobs is None:
            return  # the cite was refused just before, or there are no bytes to check
        text = self._texts.get(source.text_sha256)
        if text is None:
            text = rules.source_text(source.seq, source, self.blobs(source.sha256))
            self._texts[source.text_sha256] = text
            if len(self._texts) > 8:
                self._texts.popitem(last=False)
        rules.check_quote(seq, selector, text)

    def _check_nodes(self) -> None:
        """Stored tree nodes above chunk level must equal the recomputed ones."""
        nodes, self._pending_nodes = self._pending_nodes, []
        self.report.nodes += len(nodes)
        if self.node_store is None or not nodes:
            return
        with self.node_store.reader() as txn:
            stored = txn.read_nodes([n.id for n in nodes])
        for node in nodes:
            check_node(node, stored.get(node.id))

    def _check_checkpoint(self, checkpoint: StoredCheckpoint, root: merkle.Hash) -> None:
        """A stored checkpoint: its root and its signature by the log key."""
        size = checkpoint.size
        if checkpoint.root != root:
            raise IntegrityError(
                f"checkpoint at tree size {size}: its root {checkpoint.root.hex()} is not the "
                f"root of the log's first {size} entries ({root.hex()}): the log was rewritten "
                "or forked after it was signed",
                seq=size - 1,
            )
        try:
            note = verify_checkpoint(checkpoint.note, self.log_key_for(size), self.origin)
        except VerificationError as exc:
            raise SignatureError(f"checkpoint at tree size {size}: {exc}", seq=size - 1) from exc
        except FormatError as exc:
            raise IntegrityError(
                f"checkpoint at tree size {size}: its note is malformed: {exc}", seq=size - 1
            ) from exc
        if note.size != size or note.root_hash != root:
            raise IntegrityError(
                f"checkpoint at tree size {size}: the signed note says size {note.size} "
                f"and root {note.root_hash.hex()}",
                seq=size - 1,
            )
        self._state_checks.append(note)
        self.report.checkpoints += 1

    # Earlier entries, for the rare replays ------------------------------------------------

    def source_at(self, entry_hash: str, before: int) -> SourceState | None:
        """The source a claim cites, if that entry is an earlier source registration."""
        if bytes.fromhex(entry_hash) not in self.source_by_entry:
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
        if seq is None or seq >= before or self.kinds[seq] != _EXTRACTED:
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

    def get_key_named(self, name: str) -> KeyState | None:
        return key_named(self.checker.keys.values(), name)

    def get_source(self, sha256: str) -> SourceState | None:
        return None

    def get_source_by_entry(self, entry_hash: str) -> SourceState | None:
        return self.checker.source_at(entry_hash, self.position)

    def get_claim(self, claim_id: str) -> ClaimState | None:
        return self.checker.claim_before(claim_id, self.position)

    def retraction_seq(self, claim_id: str) -> int | None:
        for data in self.checker.index.history(claim_id, self.position):
            entry = parse_entry(data, where=f"history of claim {claim_id}")
            if isinstance(entry.body.payload, ClaimRetracted):
                return entry.seq
        return None


# -- entry points ------------------------------------------------------------------------------


def verify_store(
    store: Store,
    *,
    size: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    older_checkpoint: str | None = None,
    chunk_bits: int = CHUNK_BITS,
) -> VerifyReport:
    """Verify the log in ``store`` (up to ``size`` entries), its tree, checkpoints and projections.

    ``older_checkpoint`` is a signed note kept from earlier (by a client, a witness): the
    log must extend it, whatever the database now holds.
    """
    head = store.head().size
    size = head if size is None else size
    if not 0 <= size <= head:
        raise VerificationError(f"tree size {size} is out of range: the log has {head} entries")
    with store.reader() as txn:
        keys = key_states(txn.key_entries(size))
    checker = LogChecker(
        StoreIndex(store),
        keys,
        chunk_bits=chunk_bits,
        nodes=store,
        blobs=store.blob,
        size_hint=size,
    )
    if older_checkpoint is not None:
        checker.expect(older_checkpoint)
    at_head = size == head
    checkpoints = _Lookahead(store.iter_checkpoints())
    covered = 0  # the largest checkpointed tree size met so far
    chunk = 1 << chunk_bits
    tasks = (
        ChunkTask(
            start,
            min(start + chunk, size),
            checkpoint_sizes=_sizes_within(store, start, min(start + chunk, size), checker),
            check_nodes=True,
            projection_bounds=(
                None if start == 0 else start,
                None if start + chunk >= size else start + chunk,
            )
            if at_head
            else None,
            recheck_sources=True,
        )
        for start in range(0, size, chunk)
    )
    with ChunkRunner(keys, store=store, workers=worker_count(workers, size)) as runner:
        for result in runner.map(tasks):
            within = []
            while (upcoming := checkpoints.peek()) is not None and upcoming.size <= result.stop:
                if upcoming.size <= result.start:
                    raise IntegrityError(
                        f"checkpoint at tree size {upcoming.size} does not match any entry"
                    )
                within.append(checkpoints.pop())
                covered = within[-1].size
            checker.absorb(result, within)
            if progress is not None:
                progress(result.stop - result.start)
    if size == 0 and checkpoints.peek() is not None and checkpoints.peek().size == 0:  # type: ignore[union-attr]
        raise IntegrityError("checkpoint at tree size 0 does not match any entry")
    report = checker.finish()
    upcoming = checkpoints.peek()
    if at_head and upcoming is not None:
        raise IntegrityError(
            f"a checkpoint was signed at tree size {upcoming.size}, but the log has only "
            f"{size} entries: entries were removed after it was signed",
            seq=size,
        )
    if at_head:
        report.uncheckpointed = check_checkpointed(covered, size)
        check_state_table(store, checker.state, size)
        check_projections(store, checker)
        report.state_map = checker.state.map
    return report


def check_checkpointed(covered: int, size: int) -> int:
    """Every entry must lie under a signed checkpoint (``covered`` is the largest stored
    checkpoint's size). Appends sign one over each batch in the batch's own transaction,
    so entries after a checkpoint that no later checkpoint covers were added behind the
    ledger's back, or their checkpoint was removed: a failure. Nothing vouches for them to
    a client, and ``export`` leaves them out.

    One case is not a failure: a log with no checkpoint at all was written before
    checkpoints existed (schema 0001) and not appended to since; its next append signs a
    checkpoint over everything. Returns how many entries that leaves uncovered (all of
    them), for the caller to report."""
    if covered == 0:
        return size
    if covered < size:
        raise IntegrityError(
            f"entries {covered} to {size - 1} ({size - covered} of {size}) are not covered by "
            "any signed checkpoint: appends sign one in the same transaction, so they were "
            "added behind the ledger's back or their checkpoint was removed",
            seq=covered,
        )
    return 0


def _sizes_within(store: Store, start: int, stop: int, checker: LogChecker) -> tuple[int, ...]:
    """Tree sizes in (start, stop] the join needs roots at: stored checkpoints, the older one."""
    with store.reader() as txn:
        sizes = txn.checkpoint_sizes(start, stop)
    expected = checker.expected_size()
    if expected is not None and start < expected <= stop:
        sizes.append(expected)
    return tuple(sizes)


def keys_in(rows: Iterable[tuple[int, bytes]]) -> dict[str, KeyState]:
    """``key_states`` over the rows that look like key entries (a cheap first pass)."""
    return key_states((seq, data) for seq, data in rows if looks_like_key_entry(data))


def verify_rows(
    rows: Iterable[tuple[int, bytes, int]],
    index: MemoryIndex | FileIndex,
    keys: Mapping[str, KeyState],
    *,
    log_verifier: Verifier | None = None,
    older_checkpoint: str | None = None,
    workers: int = 0,
    progress: Progress | None = None,
    chunk_bits: int = CHUNK_BITS,
    sources: Path | None = None,
) -> LogChecker:
    """Verify a log given as (seq, bytes, byte offset) rows, streamed, with no database (a
    bundle, a server's entries); ``keys`` from ``keys_in`` over the same rows. Returns the
    checker, finished: its ``report`` says what was covered.

    ``sources``: a folder holding every source's bytes, named by sha256 (a bundle's):
    each is checked against its registration and each claim's quote against its text.
    Without it (a client holding only entries) those checks are left out.
    """
    checker = LogChecker(
        index,
        keys,
        log_verifier=log_verifier,
        chunk_bits=chunk_bits,
        blobs=(lambda sha: read_source_file(str(sources), sha)) if sources is not None else None,
    )
    if older_checkpoint is not None:
        checker.expect(older_checkpoint)
    chunk = 1 << chunk_bits

    def tasks() -> Iterator[ChunkTask]:
        part: list[Row] = []
        start = 0
        for seq, data, offset in rows:
            if isinstance(index, MemoryIndex):
                index.add(data)
            else:
                index.add(offset)
            part.append((seq, data, None, None, None, None, None))
            if len(part) == chunk:
                yield _row_task(start, part, checker, sources)
                start, part = start + chunk, []
        if part:
            yield _row_task(start, part, checker, sources)

    with ChunkRunner(keys, store=None, workers=workers) as runner:
        for result in runner.map(tasks()):
            for offset, (entry_hash, kind, subject) in enumerate(result.facts):
                index.learn(result.start + offset, entry_hash, kind, subject)
            checker.absorb(result)
            if progress is not None:
                progress(result.stop - result.start)
    checker.finish()
    return checker


def _row_task(start: int, part: list[Row], checker: LogChecker, sources: Path | None) -> ChunkTask:
    stop = start + len(part)
    expected = checker.expected_size()
    sizes = (expected,) if expected is not None and start < expected <= stop else ()
    return ChunkTask(
        start,
        stop,
        checkpoint_sizes=sizes,
        rows=part,
        index_facts=True,
        recheck_sources=sources is not None,
        sources_dir=str(sources) if sources is not None else None,
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


# -- projections ---------------------------------------------------------------------------


def check_projections(store: Store, checker: LogChecker) -> None:
    """Every projection row equals what the log implies, and no row is missing or extra.

    The chunks compared source and claim rows with the rows their entries create; claims
    changed later are compared here with their replayed final state; then the past
    claim states and the full-text index.
    """
    stored: dict[str, KeyState] = {k.key_id: k for k in store.all_keys()}
    _raise_first(_diff_rows("keys", stored, checker.keys))
    checker.report.projection_rows += len(stored)
    check_entry_rows(store, checker)
    checker.report.projection_rows += check_claim_versions(store, checker)
    # The full-text and quantity indexes, against the claim rows just checked (a claim
    # removed from one would be hidden from a filter while every row still looked right).
    with store.reader() as txn:
        _raise_first(txn.search_index_differences())
        _raise_first(txn.quantity_index_differences())
        # Identities and lines, if fresh, against a derivation from the checked claims.
        _raise_first(_derived_differences(txn, txn.all_claims))


def check_entry_rows(store: Store, checker: LogChecker) -> int:
    """The source and claim rows the chunks found missing, extra or different (the first
    named, sources first), then every claim changed after its extraction against its
    replayed state at the checker's size; returns how many changed claims were compared.
    ``verify`` and ``verify --since`` both end with this."""
    findings = sorted(checker.row_findings, key=lambda f: (f[1] != "sources", f[2]))
    for finding, table, seq, key in findings:
        if finding == "differs" and table == "claims" and key in checker.modified:
            continue
        if finding == "missing":
            what = f"{table}: the row for entry {seq} is missing"
        elif finding == "extra":
            what = f"{table}: row {key} (seq {seq}) is not implied by the log"
        else:
            what = _explain(store, checker, table, seq, key)
        raise IntegrityError(f"projections differ from the log: {what}", seq=seq)
    for claim_id in sorted(checker.modified):
        row = store.get_claim(claim_id)
        claim = checker.claim_before(claim_id, checker.size)
        derived = {claim_id: claim} if claim is not None else {}
        _raise_first(_diff_rows("claims", {claim_id: row} if row is not None else {}, derived))
    return len(checker.modified)


def check_claim_versions(store: Store, checker: LogChecker) -> int:
    """Every past claim state (claim_versions) is what the log implies, none missing or extra.

    Each revision, retraction and review replaced one state of its claim: the row for that
    entry (``to_seq``) must hold the claim as replayed from its entries before it.
    """
    changes = {KIND_CODE[k] for k in ("claim.revised", "claim.retracted", "claim.reviewed")}
    expected = (seq for seq, code in enumerate(checker.kinds) if code in changes)
    count, after = 0, -1
    while page := _version_page(store, after):
        for to_seq, claim_id, values in page:
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
            if state is None or version_values(ClaimVersion(state, to_seq)) != values:
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


def _version_page(store: Store, after: int) -> list[tuple[int, str, tuple[Any, ...]]]:
    with store.reader() as txn:
        return txn.version_rows(after, 2000)


def _explain(store: Store, checker: LogChecker, table: str, seq: int, key: str) -> str:
    """Which field of a differing row differs (slow path, run once, on failure)."""
    end = checker.size
    if table == "sources":
        data = checker.index.entry_at(seq)
        assert data is not None
        entry = parse_entry(data, where=f"entry {seq}")
        assert isinstance(entry.body.payload, SourceRegistered)
        source = source_state(entry, entry.body.payload)
        derived: dict[str, Any] = {source.sha256: source}
        row: Any = store.get_source(source.sha256)
        key = source.sha256
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
    return (
        differences
        + txn.search_index_differences()
        + txn.quantity_index_differences()
        + _derived_differences(txn, state.claims.values)
    )


def _derived_differences(txn: Txn, claims: Callable[[], Iterable[ClaimState]]) -> list[str]:
    """The identity and line tables against what the claims and override entries imply;
    nothing to compare (and no claims read) when they are stale."""
    if derived_size(txn) != txn.head().size:
        return []
    overrides = [
        override_of(parse_entry(data, where=f"entry {seq}")) for seq, data in override_entries(txn)
    ]
    return derived_differences(txn, derive(claims(), overrides, resume=False))


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
        if apply:  # identities and lines too, whole: readers never write them (decision 0027)
            overrides = [
                override_of(parse_entry(data, where=f"entry {seq}"))
                for seq, data in override_entries(txn)
            ]
            found = derive(state.claims.values(), overrides, resume=False)
            write_derived(txn, plan_write(keyed(derived_rows(found)), None), entries)
    return RebuildReport(entries, differences)
