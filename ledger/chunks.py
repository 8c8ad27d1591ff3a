"""The checks on a run of consecutive entries that need nothing from the rest of the log.

Verification splits the log into aligned chunks of ``2**bits`` entries, so that every full
chunk is one perfect Merkle subtree, and runs ``check_chunk`` on every core: parse and
validate each entry, its place in the chunk (dense seq, previous-hash link, log name,
timestamps), its signer's key and role and its signature, the lookup columns stored
beside it, the chunk's inner tree nodes, and the projection rows it creates. What spans
chunks (links between them, key and source registrations, claims citing a source from an
earlier chunk, changes to claims, the tree above chunk level, checkpoints) is left to
``ledger.verify.LogChecker``, which joins the chunks' ``ChunkResult`` in log order.

The signer's key comes from ``keys``: the final state of every key, from a first pass
over the key entries. A key's final state says when it could sign (registration and
revocation positions), so it answers for any position; the join replays the key entries
in order and requires the same final states, so a first pass misled by edited rows
cannot let a signature through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import rules
from ledger.entries import (
    ENTRY_KINDS,
    Extraction,
    Selector,
    SignedEntry,
    SourceRegistered,
    entry_hash,
    parse_entry,
)
from ledger.errors import FormatError, IntegrityError, InvalidInput, LedgerError, SignatureError
from ledger.merkle import Frontier, Hash, Node, NodeId
from ledger.rules import KeyState
from ledger.signing import ENTRY_DOMAIN
from ledger.sources import read_local_bytes
from ledger.state import source_state, subject_of
from ledger.statelog import map_write
from ledger.store.sql import (
    EntryColumns,
    StateLeaf,
    Store,
    extracted_claim_values,
    source_values,
)

KIND_CODE: dict[str, int] = {kind: code for code, kind in enumerate(ENTRY_KINDS, start=1)}

Row = tuple[int, bytes, str | None, str | None, str | None, str | None, str | None]
"""seq, entry bytes, then the stored hash, kind, signer, ts and subject columns (None when
the entries come from a file or a server rather than a database)."""

SourceEvent = tuple[int, bytes, bytes]
"""A source registration: seq, sha256, entry hash."""
CiteEvent = tuple[int, str, str]
"""A claim citing a source registered before the chunk: seq, source entry hash, sha256."""
EntryEvent = tuple[int, bytes]
"""A key entry or a change to a claim, for the join to apply in order: seq, bytes."""
QuoteEvent = tuple[int, str, Selector]
"""A claim citing a source registered before the chunk, whose quote the join checks in that
source's text: seq, source entry hash, selector."""


@dataclass(frozen=True, slots=True)
class ChunkTask:
    start: int
    stop: int
    checkpoint_sizes: tuple[int, ...] = ()
    """Tree sizes in (start, stop] whose root the join needs (checkpoints)."""
    check_nodes: bool = False
    """Compare the chunk's inner tree nodes with the stored ones."""
    projection_bounds: tuple[int | None, int | None] | None = None
    """Compare projection rows with seq in [low, high) (None: unbounded) with the entries."""
    rows: Sequence[Row] | None = None
    """The entries, when they do not come from the worker's database."""
    index_facts: bool = False
    """Return each entry's hash, kind and subject (for an in-memory or file index)."""
    recheck_sources: bool = False
    """Check every source's bytes against its registration and every claim's quote against
    its source's text (bytes from the database, or from ``sources_dir``)."""
    sources_dir: str | None = None
    """A folder of source bytes named by their sha256 (a bundle's ``sources/``)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """The first problem in a chunk (exceptions with keyword fields do not pickle)."""

    error: str
    message: str
    seq: int | None

    def exception(self) -> LedgerError:
        kind = {"SignatureError": SignatureError}.get(self.error, IntegrityError)
        return kind(self.message, seq=self.seq)


@dataclass(slots=True)
class ChunkResult:
    start: int
    stop: int
    """End of the entries checked (before a failure, or the task's stop)."""
    first_prev: bytes | None = None
    first_ts: str = ""
    first_v: int = 0
    last_hash: bytes | None = None
    last_ts: str = ""
    last_v: int = 0
    """Format versions of the first and last entries checked (0: none yet)."""
    log: str | None = None
    kinds: bytes = b""
    """One KIND_CODE per entry checked."""
    sources: list[SourceEvent] = field(default_factory=list)
    cites: list[CiteEvent] = field(default_factory=list)
    entries: list[EntryEvent] = field(default_factory=list)
    quotes: list[QuoteEvent] = field(default_factory=list)
    frontiers: dict[int, list[Hash]] = field(default_factory=dict)
    """Perfect subtree hashes covering [start, size) for each requested size and for the
    chunk's end (one hash, the subtree root, for a full chunk)."""
    nodes: int = 0
    rows: int = 0
    row_findings: list[tuple[str, str, int, str]] = field(default_factory=list)
    """Projection rows (finding, table, seq, key): "missing", "extra" or "differs"."""
    facts: list[tuple[str, int, str | None]] = field(default_factory=list)
    """With ``index_facts``: each entry's hash (hex), kind code and subject."""
    state: list[StateLeaf] = field(default_factory=list)
    """The claim-state map writes of the entries checked (``ledger.statelog``)."""
    failure: Failure | None = None


# -- in a worker process ----------------------------------------------------------------

_worker: dict[str, object] = {}


def init_worker(url: str, keys: Mapping[str, KeyState]) -> None:
    """Pool initializer: a connection of the worker's own, and the keys' final states."""
    from ledger.store.engine import make_engine

    _worker["store"] = Store(make_engine(url)) if url else None
    _worker["keys"] = keys


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Entry point on a worker process."""
    store = _worker["store"]
    keys = _worker["keys"]
    assert isinstance(keys, dict)
    return check_chunk(store if isinstance(store, Store) else None, task, keys)


# -- the checks ---------------------------------------------------------------------------


def check_chunk(store: Store | None, task: ChunkTask, keys: Mapping[str, KeyState]) -> ChunkResult:
    """Check the entries ``task`` names (read from ``store`` unless the task carries them)."""
    stored_nodes: dict[NodeId, Hash] = {}
    rows: Sequence[Row | EntryColumns]
    if task.rows is not None:
        rows = task.rows
    else:
        assert store is not None
        with store.reader() as txn:
            rows = txn.entry_rows(task.start, task.stop)
            if task.check_nodes:
                stored_nodes = txn.inner_nodes(task.start, task.stop, 62)
    result = ChunkResult(task.start, task.start)
    checker = _Chunk(store, task, keys, stored_nodes, result)
    try:
        try:
            checker.run(rows)
        finally:
            if task.recheck_sources:  # what the entries checked so far refer to
                checker.recheck(result.stop)
    except LedgerError as exc:
        result.failure = Failure(type(exc).__name__, str(exc), getattr(exc, "seq", None))
        return result
    finally:
        result.kinds = bytes(checker.kinds)
    if task.projection_bounds is not None and store is not None:
        low, high = task.projection_bounds
        with store.reader() as txn:
            for table in ("sources", "claims"):
                stored = txn.projection_rows(table, low, high)
                _compare_rows(table, stored, checker.expected[table], result)
    return result


class _Chunk:
    def __init__(
        self,
        store: Store | None,
        task: ChunkTask,
        keys: Mapping[str, KeyState],
        stored_nodes: dict[NodeId, Hash],
        result: ChunkResult,
    ) -> None:
        self.task = task
        self.keys = keys
        self.stored_nodes = stored_nodes
        self.result = result
        self.store = store
        # entry hash -> (sha256, published, seq) of the sources registered within the chunk
        self.local_sources: dict[str, tuple[str, str | None, int]] = {}
        # with recheck_sources: the chunk's source registrations, and its claims citing them
        self.registrations: dict[str, tuple[int, SourceRegistered]] = {}
        self.quotes: list[tuple[int, str, Selector]] = []
        self.expected: dict[str, dict[int, tuple[Any, ...]]] = {"sources": {}, "claims": {}}
        self.frontier = Frontier()
        self.public: dict[bytes, Ed25519PublicKey] = {}
        self.kinds = bytearray()

    def run(self, rows: Sequence[Row | EntryColumns]) -> None:
        task, result = self.task, self.result
        wanted = {*task.checkpoint_sizes, task.stop}
        kinds = self.kinds
        project = task.projection_bounds is not None
        for row in rows:
            seq = row[0]
            if seq != result.stop:
                raise IntegrityError(
                    f"entry {result.stop} is missing: the log goes from {result.stop - 1} to {seq}",
                    seq=result.stop,
                )
            entry = self._entry(row)
            kind_code = KIND_CODE[entry.kind]
            payload = entry.body.payload
            if isinstance(payload, SourceRegistered):
                result.sources.append((seq, bytes.fromhex(payload.sha256), entry.hash))
                self.local_sources[entry.hash.hex()] = (payload.sha256, payload.published, seq)
                if task.recheck_sources:
                    self.registrations[entry.hash.hex()] = (seq, payload)
                if project:
                    self.expected["sources"][seq] = source_values(source_state(entry, payload))
            elif isinstance(payload, Extraction):
                self._claim(entry, payload, project)
            else:
                result.entries.append((seq, entry.data))
            if task.index_facts:
                result.facts.append((entry.hash.hex(), kind_code, subject_of(entry)))
            if (write := map_write(entry)) is not None:
                result.state.append((seq, *write))
            self._grow(entry)
            kinds.append(kind_code)
            result.stop = seq + 1
            result.last_hash = entry.hash
            result.last_ts = entry.body.ts
            result.last_v = entry.body.v
            if result.stop in wanted:
                result.frontiers[result.stop] = list(self.frontier.hashes)
        if result.stop != task.stop:
            raise IntegrityError(
                f"entry {result.stop} is missing: the log ends at {result.stop - 1}",
                seq=result.stop,
            )

    def _entry(self, row: Row | EntryColumns) -> SignedEntry:
        seq, data = row[0], row[1]
        result = self.result
        try:
            entry = parse_entry(data, where=f"entry {seq}")
        except FormatError as exc:
            raise IntegrityError(f"entry {seq} bytes are malformed: {exc}", seq=seq) from exc
        body = entry.body
        if body.seq != seq:
            raise IntegrityError(
                f"entry {seq}: stored at seq {seq} but its body says seq {body.seq}", seq=seq
            )
        if seq == self.task.start:
            result.first_prev, result.first_ts, result.log = body.prev, body.ts, body.log
            result.first_v = body.v
        else:
            check_position(
                seq, body.prev, body.ts, body.log, result.last_hash, result.last_ts, result.log
            )
            check_version(seq, body.v, result.last_v)
        try:
            key = rules.check_signer(entry, self.keys.get)
            if isinstance(body.payload, Extraction):
                rules.check_selector(entry, body.payload)
        except LedgerError as exc:
            raise IntegrityError(f"entry {seq} breaks the log's rules: {exc}", seq=seq) from exc
        public = self.public.get(key.public_key)
        if public is None:
            public = self.public[key.public_key] = Ed25519PublicKey.from_public_bytes(
                key.public_key
            )
        try:
            public.verify(entry.signature, ENTRY_DOMAIN + entry.body_bytes)
        except InvalidSignature:
            raise SignatureError(
                f"entry {seq}: signature does not verify under the signer's key", seq=seq
            ) from None
        if row[2] is not None:
            _check_columns(row, entry)
        return entry

    def _claim(self, entry: SignedEntry, payload: Extraction, project: bool) -> None:
        seq = entry.seq
        found = self.local_sources.get(payload.source)
        recheck = self.task.recheck_sources
        if found is None:
            self.result.cites.append((seq, payload.source, payload.source_sha256))
            if recheck:
                self.result.quotes.append((seq, payload.source, payload.selector))
        else:
            if recheck:
                self.quotes.append((seq, payload.source, payload.selector))
            try:
                rules.check_claim_source(seq, payload.source, payload.source_sha256, found[0])
            except LedgerError as exc:
                raise IntegrityError(f"entry {seq} breaks the log's rules: {exc}", seq=seq) from exc
        if project:
            published, source_seq = found[1:] if found is not None else self._cited(payload.source)
            self.expected["claims"][seq] = extracted_claim_values(
                entry, payload, published, source_seq
            )

    def recheck(self, stop: int) -> None:
        """Every source registered in the chunk before ``stop`` against its bytes (read a
        group at a time, each parsed once), then the claims in the chunk quoting it against
        its text (dropped after them). The problem raised is the earliest in log order: the
        walk raised any problem at ``stop``, so one found here comes before it."""
        quotes: dict[str, list[tuple[int, Selector]]] = {}
        for seq, source_entry, selector in self.quotes:
            if seq < stop:
                quotes.setdefault(source_entry, []).append((seq, selector))
        sources = [(h, seq, p) for h, (seq, p) in self.registrations.items() if seq < stop]
        first: tuple[int, LedgerError] | None = None
        for group in _groups(sources):
            if first is not None and group[0][1] >= first[0]:
                break
            blobs = self._blobs([payload.sha256 for _, _, payload in group])
            for source_entry, seq, payload in group:
                if first is not None and seq >= first[0]:
                    break
                try:
                    text = rules.source_text(seq, payload, blobs.pop(payload.sha256, None))
                except LedgerError as exc:
                    first = (seq, exc)
                    break
                for quote_seq, selector in quotes.get(source_entry, ()):
                    if first is not None and quote_seq >= first[0]:
                        break
                    try:
                        rules.check_quote(quote_seq, selector, text)
                    except LedgerError as exc:
                        first = (quote_seq, exc)
        if first is not None:
            seq, problem = first
            raise IntegrityError(f"entry {seq} breaks the log's rules: {problem}", seq=seq)

    def _blobs(self, shas: list[str]) -> dict[str, bytes]:
        if not shas:
            return {}
        if self.task.sources_dir is not None:
            folder = self.task.sources_dir
            found = {sha: read_source_file(folder, sha) for sha in shas}
            return {sha: data for sha, data in found.items() if data is not None}
        if self.store is None:
            return {}
        with self.store.reader() as txn:
            return txn.blobs(shas)

    def _cited(self, source_entry: str) -> tuple[str | None, int]:
        """The publication date and seq of a source registered before the chunk, read from
        its own entry (found by hash, and only if its bytes hash to it; the join checks the
        claim cites a registered source, and the source's chunk checks that entry); (None,
        -1) if that entry is no such source (the join reports it)."""
        if self.store is None:
            return None, -1
        found = self.store.entry_by_hash(source_entry)
        if found is None or entry_hash(found.data).hex() != source_entry:
            return None, -1
        try:
            payload = parse_entry(found.data, where="cited source").body.payload
        except FormatError:
            return None, -1
        if not isinstance(payload, SourceRegistered):
            return None, -1
        return payload.published, found.seq

    def _grow(self, entry: SignedEntry) -> None:
        start = self.task.start
        for node in self.frontier.append(Hash(entry.hash)):
            if not node.level:
                continue
            absolute = Node(node.level, (start >> node.level) + node.index, node.hash)
            self.result.nodes += 1
            if self.task.check_nodes:
                check_node(absolute, self.stored_nodes.get(absolute.id))


_GROUP_BYTES = 16 << 20
"""Source bytes read from the database in one query, at most (by their declared sizes)."""


def _groups(
    sources: list[tuple[str, int, SourceRegistered]],
) -> list[list[tuple[str, int, SourceRegistered]]]:
    """Consecutive runs of sources whose declared sizes add up to at most ``_GROUP_BYTES``
    (one source alone may be larger)."""
    groups: list[list[tuple[str, int, SourceRegistered]]] = []
    size = _GROUP_BYTES
    for source in sources:
        if size + source[2].size > _GROUP_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(source)
        size += source[2].size
    return groups


def read_source_file(folder: str, sha256: str) -> bytes | None:
    """A source's bytes from a folder of files named by their sha256 (None if absent): a
    regular file of at most ``MAX_SOURCE_BYTES``, read safely (``read_local_bytes``)."""
    path = Path(folder) / sha256
    if not path.exists():
        return None
    try:
        return read_local_bytes(path)
    except InvalidInput as exc:
        raise IntegrityError(f"sources/{sha256}: {exc}") from exc


def check_position(
    seq: int,
    prev: bytes | None,
    ts: str,
    log: str | None,
    last_hash: bytes | None,
    last_ts: str,
    origin: str | None,
) -> None:
    """Entry ``seq`` follows the entry before it: its prev link, its log, its timestamp."""
    if prev != last_hash:
        expected = last_hash.hex() if last_hash else None
        found = prev.hex() if prev else None
        raise IntegrityError(
            f"entry {seq}: prev is {found} but entry {seq - 1} hashes to {expected}", seq=seq
        )
    if log != origin:
        raise IntegrityError(f"entry {seq}: names log {log!r}, entry 0 began {origin!r}", seq=seq)
    if ts < last_ts:
        raise IntegrityError(
            f"entry {seq}: timestamp {ts} is earlier than the previous {last_ts}", seq=seq
        )


def check_version(seq: int, version: int, last_version: int) -> None:
    """Entry ``seq``'s format version is not below the one before it (0: no entry before)."""
    try:
        rules.check_version_order(seq, version, last_version or None)
    except LedgerError as exc:
        raise IntegrityError(str(exc), seq=seq) from exc


def _check_columns(row: Row | EntryColumns, entry: SignedEntry) -> None:
    """The lookup columns stored beside the bytes must say what the bytes say."""
    body = entry.body
    derived = (
        ("hash", row[2], entry.hash.hex()),
        ("kind", row[3], body.kind),
        ("signer", row[4], body.signer),
        ("ts", row[5], body.ts),
        ("subject", row[6], subject_of(entry)),
    )
    for name, stored, value in derived:
        if stored != value:
            raise IntegrityError(
                f"entry {body.seq}: stored {name} column {stored!r} does not match "
                f"the entry bytes ({value!r})",
                seq=body.seq,
            )


def check_node(node: Node, found: Hash | None) -> None:
    """A stored inner tree node must equal the one recomputed from the entries."""
    if found != node.hash:
        what = "is missing" if found is None else f"is {found.hex()}, expected {node.hash.hex()}"
        raise IntegrityError(
            f"tree node (level {node.level}, index {node.index}) {what}: proofs served "
            "from it would be wrong",
            seq=(node.index + 1) * (1 << node.level) - 1,
        )


def _compare_rows(
    table: str,
    stored: list[tuple[int, str, tuple[Any, ...]]],
    expected: dict[int, tuple[Any, ...]],
    result: ChunkResult,
) -> None:
    """Each projection row against the row its entry creates (claims a later entry changed
    differ, and the join knows which)."""
    for seq, key, values in stored:
        want = expected.pop(seq, None)
        result.rows += 1
        if want is None:
            result.row_findings.append(("extra", table, seq, key))
        elif want != values:
            result.row_findings.append(("differs", table, seq, want[0]))
    for seq, want in expected.items():
        result.row_findings.append(("missing", table, seq, want[0]))
