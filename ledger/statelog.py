"""The claim-state map of a log (decision 0012, docs/formats/state-map.md): which entries
write to it, a process-local copy kept in step with the database, and the replay that
verification runs.

An entry *writes* to the map when it is about one claim or registers a source:

* ``claim.extracted``, ``claim.revised``, ``claim.retracted``, ``claim.reviewed``:
  ``claim_key(claim id) → the entry's own hash`` (a claim's id is its extraction's hash);
* ``source.registered``: ``source_key(sha256 of the bytes) → the entry's own hash``.

Key entries and ``claimant.linked``/``claimant.unlinked`` (which are about two claims'
claimants, not about a claim's own chain) write nothing. The map at tree size n holds, for
each key, the value of the last write among entries 0..n-1; the checkpoint at n carries its
root on the line ``claims-ledger/state-map/v1 <base64 root>``.

The database keeps every write (``state_map_leaves``, one row per writing entry, inserted
in the append transaction). A process keeps one ``StateMapCache`` per store: the map at
some tree size, caught up from the rows past it when a later size is asked for, and
rewound through an undo log when an earlier one is (a reader's snapshot older than a
concurrent append, an append that rolled back).
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import deque
from collections.abc import Iterable, Sequence
from operator import itemgetter

from ledger.checkpoint import Checkpoint, state_map_root
from ledger.entries import Extraction, SignedEntry, SourceRegistered
from ledger.errors import FormatError, IntegrityError
from ledger.state import subject_of
from ledger.statemap import (
    CLAIM_NAMESPACE,
    KEY_TAG,
    StateMap,
    StateProof,
    claim_key,
    source_key,
)
from ledger.store import Store, Txn
from ledger.store.sql import StateLeaf

_SEQ, _KEY, _VALUE = itemgetter(0), itemgetter(1), itemgetter(2)

UNDO_LIMIT = 65_536
"""Map writes a cache can undo: how far behind its newest size a reader's snapshot may be
before the cache is rebuilt from the rows instead (linear in the log)."""


def map_write(entry: SignedEntry) -> tuple[bytes, bytes] | None:
    """The (map key, value) an entry writes, or None if it writes nothing."""
    payload = entry.body.payload
    own = bytes(entry.hash)
    if isinstance(payload, Extraction):  # nine entries in ten: its own hash is the claim id
        return claim_key(own), own
    if isinstance(payload, SourceRegistered):
        return source_key(bytes.fromhex(payload.sha256)), own
    claim = subject_of(entry)  # a revision, review or retraction names its claim
    if claim is not None:
        return claim_key(bytes.fromhex(claim)), own
    return None


_CLAIM_KEY_PREFIX = KEY_TAG + CLAIM_NAMESPACE


def map_writes(entries: Iterable[SignedEntry]) -> list[StateLeaf]:
    """The (seq, key, value) rows of the entries that write to the map, in order.

    An extraction's key is ``claim_key`` of its own hash, inlined (an entry hash is 32
    bytes by construction); every other entry goes through ``map_write``, the reference
    (tests/property/test_state_map_log.py compares the two)."""
    out: list[StateLeaf] = []
    add = out.append
    sha = hashlib.sha256
    prefix = _CLAIM_KEY_PREFIX
    for entry in entries:
        body = entry.body
        if isinstance(body.payload, Extraction):  # nine entries in ten
            own = entry.hash
            add((body.seq, sha(prefix + own).digest(), own))
            continue
        write = map_write(entry)
        if write is not None:
            add((body.seq, *write))
    return out


class StateMapCache:
    """One process's copy of a store's claim-state map, at one tree size at a time.

    Thread-safe: every operation holds the cache's lock (a proof is computed under it, so
    concurrent readers at different sizes take turns).
    """

    def __init__(self, undo_limit: int = UNDO_LIMIT) -> None:
        self._lock = threading.RLock()
        self._map: StateMap | None = None
        self._size = 0
        self._undo: deque[tuple[int, bytes, bytes | None]] = deque()
        self._floor = 0
        """The smallest tree size the undo log can rewind to."""
        self._undo_limit = undo_limit
        self.loads = 0
        """How many times the map was built from all the rows (cold starts, far rewinds)."""

    @property
    def size(self) -> int | None:
        """The tree size the cached map reflects (None: nothing cached)."""
        with self._lock:
            return None if self._map is None else self._size

    def _load(self, txn: Txn, size: int) -> StateMap:
        latest: dict[bytes, bytes] = {}
        for _, key, value in txn.state_leaves(0, size):
            latest[key] = value
        self._map = StateMap(latest.items())
        self._size = self._floor = size
        self._undo.clear()
        self.loads += 1
        return self._map

    def _apply(self, leaves: Sequence[StateLeaf], size: int) -> None:
        assert self._map is not None
        keys = list(map(_KEY, leaves))  # the rows' columns taken apart in C, not per row
        previous = self._map.update(zip(keys, map(_VALUE, leaves), strict=True))
        self._undo.extend(zip(map(_SEQ, leaves), keys, previous, strict=True))
        while len(self._undo) > self._undo_limit:
            self._floor = self._undo.popleft()[0] + 1
        self._size = size

    def _rewind(self, size: int) -> None:
        assert self._map is not None and self._floor <= size
        undone: list[tuple[bytes, bytes | None]] = []
        while self._undo and self._undo[-1][0] >= size:
            _, key, old = self._undo.pop()
            undone.append((key, old))
        self._map.update(undone)  # newest first: a key written twice ends at its oldest value
        self._size = size

    def _at(self, txn: Txn, size: int) -> StateMap:
        """The map at tree size ``size`` (the caller holds the lock; ``txn`` sees the log
        at least that far)."""
        if self._map is None or size < self._floor:
            return self._load(txn, size)
        if size > self._size:
            self._apply(txn.state_leaves(self._size, size), size)
        elif size < self._size:
            self._rewind(size)
        return self._map

    def root_at(self, txn: Txn, size: int) -> bytes:
        with self._lock:
            return self._at(txn, size).root

    def advance(self, txn: Txn, old_size: int, new_size: int, leaves: Sequence[StateLeaf]) -> bytes:
        """Inside an append transaction: the map at ``old_size`` (the head before the batch)
        plus the batch's writes; returns the root to sign at ``new_size``. If the
        transaction does not commit, the appender calls ``discard_from(old_size)``."""
        with self._lock:
            self._at(txn, old_size)
            self._apply(leaves, new_size)
            assert self._map is not None
            return self._map.root

    def discard_from(self, size: int) -> None:
        """Forget writes of entries ``size`` and later (an append that did not commit)."""
        with self._lock:
            if self._map is None or self._size <= size:
                return
            if size >= self._floor:
                self._rewind(size)
            else:
                self._map = None

    def prove(self, txn: Txn, size: int, keys: Sequence[bytes]) -> tuple[bytes, list[StateProof]]:
        """The map's root at ``size`` and a proof for each key (membership or absence)."""
        with self._lock:
            state = self._at(txn, size)
            return state.root, [state.prove(key) for key in keys]


_caches: weakref.WeakKeyDictionary[Store, StateMapCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_for(store: Store) -> StateMapCache:
    """The process's cache for ``store`` (shared by every ``Ledger`` over that object)."""
    with _caches_lock:
        cache = _caches.get(store)
        if cache is None:
            cache = _caches[store] = StateMapCache()
        return cache


class StateReplay:
    """The map recomputed from a log's entries in order, for verification: fed each
    entry's writes, it checks each checkpoint's state-map line against its own root and
    keeps a digest of the rows the ``state_map_leaves`` table must hold."""

    def __init__(self, start: StateMap | None = None, *, remember: bool = False) -> None:
        """``start``: the map at the size the replay starts from (an incremental check's
        verified map at the saved size; default: empty, a replay from entry 0).
        ``remember``: keep each key's value at the start when a write replaces it, so
        ``value_at_start`` answers for the starting size after the replay has moved on."""
        self.map = StateMap(lean=True) if start is None else start  # lean: roots only
        self.writes = 0
        self.roots_checked = 0
        self._digest = hashlib.sha256()
        self._start: dict[bytes, bytes | None] | None = {} if remember else None

    def feed(self, leaves: Sequence[StateLeaf]) -> None:
        previous = self.map.update((key, value) for _, key, value in leaves)
        if self._start is not None:
            for (_, key, _), old in zip(leaves, previous, strict=True):
                self._start.setdefault(key, old)
        self.writes += len(leaves)
        self._digest.update(leaf_digest_input(leaves))

    def value_at_start(self, key: bytes) -> bytes | None:
        """The key's value in the map the replay started from (``remember`` must be set)."""
        if self._start is None:
            raise ValueError("this replay does not remember its starting map")
        if key in self._start:
            return self._start[key]
        return self.map.get(key)

    def check(self, checkpoint: Checkpoint) -> None:
        """Raise IntegrityError unless a checkpoint's state-map root (if it has the line) is
        the root of the writes fed so far (the caller fed exactly entries 0..size-1)."""
        size = checkpoint.size
        try:
            signed = state_map_root(checkpoint)
        except FormatError as exc:
            raise IntegrityError(f"checkpoint at tree size {size}: {exc}", seq=size - 1) from exc
        if signed is None:
            return
        if signed != self.map.root:
            raise IntegrityError(
                f"checkpoint at tree size {size}: its claim-state map root {signed.hex()} is "
                f"not the root of the map the log's first {size} entries imply "
                f"({self.map.root.hex()}): a claim's latest entry or a source's registration "
                "was misstated when it was signed",
                seq=size - 1,
            )
        self.roots_checked += 1

    def digest(self) -> bytes:
        return self._digest.copy().digest()


def leaf_digest_input(leaves: Sequence[StateLeaf]) -> bytes:
    """The bytes rows contribute to the table digest: seq (8 bytes) ‖ key ‖ value each."""
    return b"".join(seq.to_bytes(8, "big") + key + value for seq, key, value in leaves)


def check_state_table(store: Store, replay: StateReplay, size: int, page: int = 4096) -> int:
    """The ``state_map_leaves`` rows of entries 0..size-1 must be exactly the writes the
    replay computed from the entries; raises IntegrityError naming the first row that is
    missing, extra or differs. Returns the number of rows."""
    digest = hashlib.sha256()
    rows = 0
    for start in range(0, size, page):
        with store.reader() as txn:
            found = txn.state_leaves(start, min(start + page, size))
        digest.update(leaf_digest_input(found))
        rows += len(found)
    if rows == replay.writes and digest.digest() == replay.digest():
        return rows
    _locate_difference(store, size, page)
    raise IntegrityError(
        f"state_map_leaves: {rows} rows, but the log's entries write {replay.writes} "
        "(the rows were edited)"
    )


def _locate_difference(store: Store, size: int, page: int) -> None:
    """Compare rows with the entries' writes page by page; raise at the first difference."""
    from ledger.entries import parse_entry

    for start in range(0, size, page):
        stop = min(start + page, size)
        with store.reader() as txn:
            found = txn.state_leaves(start, stop)
            entries = [
                parse_entry(row[1], where=f"entry {row[0]}") for row in txn.entry_rows(start, stop)
            ]
        expected = map_writes(entries)
        if found == expected:
            continue
        by_seq = {seq: (key, value) for seq, key, value in found}
        for seq, key, value in expected:
            stored = by_seq.pop(seq, None)
            if stored is None:
                raise IntegrityError(
                    f"state_map_leaves: the row of entry {seq} is missing", seq=seq
                )
            if stored != (key, value):
                raise IntegrityError(
                    f"state_map_leaves: the row of entry {seq} says key {stored[0].hex()} → "
                    f"{stored[1].hex()}, the entry writes {key.hex()} → {value.hex()}",
                    seq=seq,
                )
        extra = min(by_seq)
        raise IntegrityError(
            f"state_map_leaves: a row for entry {extra}, which writes nothing to the map",
            seq=extra,
        )
