"""Incremental verification: check only what is new since a saved, verified state.

A state is a checkpoint the holder verified (size ``k``, root, its signed note) with the
tree's compact range at ``k`` (``merkle.frontier_ids(k)``'s hashes). ``verify_since``
takes it, the entries ``k..n`` and the signed checkpoints in ``(k, n]``, and checks:

* every new entry: bytes, seq, prev link, log name, timestamps, format version, signer key
  and role at its position, signature (``ledger.chunks``, the same code a full verify
  runs), then the rules that look back (``ledger.verify.LogChecker``'s join: key entries,
  source registrations, claims citing a source, changes to claims, quotes);
* the tree: the new leaves extend the saved frontier; the root at every checkpoint in
  range must be the one it signs, each checkpoint's signature by the log key; the newest
  checkpoint must cover the newest entry; the tree nodes stored for the new leaves must be
  the recomputed ones; the consistency proof ``k -> n`` the log serves must verify;
* older entries the new ones refer to (a cited source, a claim's earlier entries, entry
  ``k - 1`` for the link, entry 0 for the log key) are read through an untrusted
  ``OldLog`` and each is accepted only with an inclusion proof against the *saved* root,
  so the store can hide or reorder nothing the old checkpoint commits to without failing.

* with a database: the source and claim rows the new entries create, and the rows of the
  claims they change (older ones included, replayed through proven entries).

* the claim-state map: starting from the verifier's own verified map at ``k``
  (``ledger.map_since``: the map file beside the state, or rebuilt from the store's rows
  and checked against the saved checkpoint's map root), the new entries' writes are
  replayed and every new checkpoint's state-map root checked. The map at ``k`` answers
  the two questions an inclusion proof cannot: "which earlier entry registered this
  SHA-256" (absence included) and "which is this claim's latest entry before ``k``" (the
  history the store returns must end there).

Cost: O(new entries + log n) hashes and signatures, plus O(log n) per older entry a new
one looks up, plus O(log n) map-file reads and hashes per map key the new entries write
(the file is read lazily and authenticated against the saved map root: ``ledger.mapfile``).
Not rechecked: entries below ``k`` (the state says they were), the other projections
(past claim states, search and quantity indexes, derived tables: a full
``claims-ledger verify`` does). See docs/decisions/0014-incremental-verification.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import merkle, rules
from ledger.checkpoint import Checkpoint, SignedNote, Verifier
from ledger.chunks import KIND_CODE, ChunkResult, ChunkTask, Row, check_chunk, check_node
from ledger.entries import (
    ENTRY_KINDS,
    EntryHash,
    SourceRegistered,
    entry_hash,
    looks_like_key_entry,
    parse_entry,
)
from ledger.errors import FormatError, IntegrityError, ProofError, VerificationError
from ledger.map_since import (
    check_start,
    close_map,
    map_from_rows,
    map_path,
    open_map,
    since_replay,
    write_map,
)
from ledger.rules import KeyState
from ledger.state import ClaimState, Overlay, fold, subject_of
from ledger.statelog import StateReplay
from ledger.statemap import StateMap, claim_key, source_key
from ledger.store import Store, StoredCheckpoint
from ledger.trust_state import (
    MapBinding,
    Trusted,
    TrustState,
    check_note,
    load_state,
    save_state,
)
from ledger.verify import (
    LogChecker,
    Progress,
    StoreIndex,
    VerifyReport,
    _ClaimView,
    check_entry_rows,
    key_states,
    verify_store,
)

CHUNK = 1024
"""New entries checked per chunk task."""
_EXTRACTED = KIND_CODE["claim.extracted"]


# -- the saved state, as plain values ---------------------------------------------------------


@dataclass(frozen=True)
class VerifiedState:
    """What a successful verification leaves behind: the log at ``size`` entries was
    checked, its root is ``root`` (signed in ``note``, the checkpoint at that size), and
    ``frontier`` holds the hashes of ``merkle.frontier_ids(size)``, largest subtree first.

    ``key_entries``: the bytes of every key entry below ``size`` in log order, when the
    state keeps them (then the store is not asked for them); None: ask the store, and
    prove each against ``root``."""

    size: int
    root: merkle.Hash
    frontier: tuple[merkle.Hash, ...]
    note: str | None
    key_entries: tuple[bytes, ...] | None = None

    def check_frontier(self) -> None:
        """The frontier has the hashes ``merkle.frontier_ids(size)`` names, folding to root."""
        try:
            compact = merkle.Frontier.restore(self.size, self.frontier)
        except VerificationError as exc:
            raise VerificationError(f"saved state: {exc}") from exc
        if compact.root() != self.root:
            raise VerificationError(
                f"saved state: its frontier folds to {compact.root().hex()}, not to its "
                f"root {self.root.hex()} at size {self.size}: the state was altered"
            )

    def check(self, verifier: Trusted | None) -> Checkpoint | None:
        """The state is self-consistent: its frontier folds to its root and, when a log key
        is known, its note is a checkpoint at its size and root signed by that key (or by
        one of those keys)."""
        self.check_frontier()
        if self.note is None:
            if self.size:
                raise VerificationError(f"saved state at size {self.size} has no checkpoint")
            return None
        if verifier is None:
            return None
        try:
            checkpoint = check_note(self.note, verifier)
        except (VerificationError, FormatError) as exc:
            raise VerificationError(f"saved state: its checkpoint note: {exc}") from exc
        if checkpoint.size != self.size or checkpoint.root_hash != self.root:
            raise VerificationError(
                f"saved state: size {self.size} and root {self.root.hex()} are not those of "
                f"its signed checkpoint (size {checkpoint.size}, root "
                f"{checkpoint.root_hash.hex()}): the state was altered"
            )
        return checkpoint


# -- the untrusted older log ----------------------------------------------------------------


class OldLog(Protocol):
    """Where older entries and proofs come from (a database, a server): nothing it says is
    believed without a proof against a root the verifier already trusts."""

    def seq_of(self, entry_hash: str) -> int | None: ...

    def entry_at(self, seq: int) -> bytes | None: ...

    def history(self, subject: str, before: int) -> list[bytes]:
        """Every entry about claim ``subject`` with seq below ``before``, in order."""
        ...

    def source_seq(self, sha256: str) -> int | None:
        """The seq of the registration of the source with this SHA-256 (hex), if any."""
        ...

    def key_entries(self, stop: int) -> list[tuple[int, bytes]]:
        """(seq, bytes) of every key entry below ``stop``, in order."""
        ...

    def inclusion_proof(self, index: int, size: int) -> list[merkle.Hash]: ...

    def consistency_proof(self, old_size: int, new_size: int) -> list[merkle.Hash]: ...


class StoreLog(StoreIndex):
    """An ``OldLog`` over the database: its indexes for lookups (``StoreIndex``), its tree
    nodes for proofs."""

    def source_seq(self, sha256: str) -> int | None:
        found = self.store.get_source(sha256)
        return found.seq if found is not None else None

    def key_entries(self, stop: int) -> list[tuple[int, bytes]]:
        with self.store.reader() as txn:
            return txn.key_entries(stop)

    def inclusion_proof(self, index: int, size: int) -> list[merkle.Hash]:
        with self.store.reader() as txn:
            return merkle.inclusion_proof(index, size, txn)

    def consistency_proof(self, old_size: int, new_size: int) -> list[merkle.Hash]:
        with self.store.reader() as txn:
            return merkle.consistency_proof(old_size, new_size, txn)

    def read_nodes(self, ids: Sequence[merkle.NodeId]) -> dict[merkle.NodeId, merkle.Hash]:
        with self.store.reader() as txn:
            return txn.read_nodes(ids)


class ProvenIndex:
    """An ``EntryIndex`` for the join: entries below the saved size come from ``OldLog``
    and each is checked by an inclusion proof against the saved root before it is used;
    new entries come from the walk itself (already checked)."""

    def __init__(self, old: OldLog, size: int, root: merkle.Hash) -> None:
        self.old = old
        self.size = size
        self.root = root
        self.proofs = 0
        self.map: StateReplay | None = None
        """The verified claim-state map from the saved size on (None: the store's answers
        about absences are believed, as before the map)."""
        self._proven: dict[int, bytes] = {}
        self._new: list[bytes] = []
        self._new_seqs: dict[str, int] = {}
        self._new_subjects: dict[str, list[int]] = {}

    # New entries ------------------------------------------------------------------------

    def add(self, seq: int, data: bytes, hash_hex: str, kind: int, subject: str | None) -> None:
        """New entry ``seq``, checked by the walk (its hash, kind and subject from there)."""
        if seq != self.size + len(self._new):
            raise VerificationError(f"entry {seq} learnt out of order")
        self._new.append(data)
        if subject is not None or kind == KIND_CODE["source.registered"]:
            self._new_seqs[hash_hex] = seq
        if subject is not None:
            self._new_subjects.setdefault(subject, []).append(seq)

    # Older entries, proven ---------------------------------------------------------------

    def proven(self, seq: int, why: str) -> bytes:
        """Entry ``seq`` (below the saved size) after proving it is in the saved tree."""
        found = self._proven.get(seq)
        if found is not None:
            return found
        data = self.old.entry_at(seq)
        if data is None:
            raise IntegrityError(
                f"entry {seq} ({why}) is missing from the log, but the saved checkpoint at "
                f"size {self.size} includes it",
                seq=seq,
            )
        self.prove(seq, data, why)
        if len(self._proven) >= 4096:
            self._proven.clear()
        self._proven[seq] = data
        return data

    def prove(self, seq: int, data: bytes, why: str) -> None:
        """``data`` is leaf ``seq`` of the saved tree, or IntegrityError naming the entry."""
        if not 0 <= seq < self.size:
            raise IntegrityError(
                f"entry {seq} ({why}) is not below the saved size {self.size}", seq=seq
            )
        self.proofs += 1
        leaf = merkle.Hash(entry_hash(data))
        try:
            merkle.verify_inclusion(
                leaf, seq, self.size, self.old.inclusion_proof(seq, self.size), self.root
            )
        except (ProofError, VerificationError) as exc:
            raise IntegrityError(
                f"entry {seq} ({why}) as the log now holds it, or the tree above it, is not "
                f"what the saved checkpoint at size {self.size} commits to: {exc}",
                seq=seq,
            ) from exc

    # EntryIndex ---------------------------------------------------------------------------

    def entry_at(self, seq: int) -> bytes | None:
        if seq >= self.size:
            offset = seq - self.size
            return self._new[offset] if offset < len(self._new) else None
        return self.proven(seq, "an earlier entry a new one refers to")

    def seq_of(self, entry_hash_hex: str) -> int | None:
        if (seq := self._new_seqs.get(entry_hash_hex)) is not None:
            return seq
        seq = self.old.seq_of(entry_hash_hex)
        if seq is None or not 0 <= seq < self.size:
            return None
        data = self.proven(seq, f"found by its hash {entry_hash_hex[:16]}…")
        if entry_hash(data).hex() != entry_hash_hex:
            raise IntegrityError(
                f"the log's index finds entry hash {entry_hash_hex} at seq {seq}, whose "
                f"entry hashes to {entry_hash(data).hex()}",
                seq=seq,
            )
        return seq

    def history(self, subject: str, before: int) -> list[bytes]:
        out: list[bytes] = []
        for data in self.old.history(subject, min(before, self.size)):
            try:
                entry = parse_entry(data, where=f"history of claim {subject}")
            except FormatError as exc:
                raise IntegrityError(f"history of claim {subject}: {exc}") from exc
            seq = entry.seq
            if seq >= before:
                continue
            if subject_of(entry) != subject and entry.hash.hex() != subject:
                raise IntegrityError(
                    f"the log's index lists entry {seq} in the history of claim {subject}, "
                    "but it is about something else",
                    seq=seq,
                )
            if self._proven.get(seq) != data:
                self.prove(seq, data, f"in the history of claim {subject}")
                self._proven[seq] = data
            out.append(data)
        if self.map is not None and before >= self.size:
            self._check_latest(subject, out)
        out += [
            self._new[seq - self.size]
            for seq in self._new_subjects.get(subject, [])
            if seq < before
        ]
        return out

    def _check_latest(self, subject: str, older: list[bytes]) -> None:
        """The claim's entries below the saved size, as the store returned them, must end
        at the entry the verified map at that size holds for the claim."""
        assert self.map is not None
        latest = self.map.value_at_start(claim_key(bytes.fromhex(subject)))
        last = entry_hash(older[-1]) if older else None
        if last == latest:
            return
        if latest is None:
            raise IntegrityError(
                f"the log returns entries of claim {subject} below size {self.size}, but the "
                f"verified claim-state map at that size has no such claim"
            )
        raise IntegrityError(
            f"history of claim {subject}: the log's entries below size {self.size} end at "
            f"{last.hex() if last else 'nothing'}, but the verified claim-state map at that "
            f"size says its latest entry is {latest.hex()}: an entry of the claim "
            "(a revision or retraction) was hidden"
        )

    def kind_at(self, seq: int) -> int:
        data = self.entry_at(seq)
        if data is None:
            return 0
        return KIND_CODE[parse_entry(data, where=f"entry {seq}").kind]

    def source_sha(self, entry_hash_hex: str) -> bytes | None:
        """The SHA-256 of the source entry ``entry_hash_hex`` registers, if it is one."""
        seq = self.seq_of(entry_hash_hex)
        if seq is None or seq >= self.size:
            return None
        payload = parse_entry(self.proven(seq, "a cited source"), where=f"entry {seq}")
        found = payload.body.payload
        return bytes.fromhex(found.sha256) if isinstance(found, SourceRegistered) else None

    def source_registered(self, sha: bytes) -> bool:
        """Whether an entry below the saved size registered the source with SHA-256 ``sha``:
        the verified map's answer when there is one (the registration it names is then
        proven), else the store's (whose "no" is believed)."""
        if self.map is not None:
            return self._mapped_source(sha)
        seq = self.old.source_seq(sha.hex())
        if seq is None or not 0 <= seq < self.size:
            return False
        payload = parse_entry(self.proven(seq, "an earlier source registration"), where="")
        found = payload.body.payload
        return isinstance(found, SourceRegistered) and found.sha256 == sha.hex()

    def _mapped_source(self, sha: bytes) -> bool:
        assert self.map is not None
        registration = self.map.value_at_start(source_key(sha))
        if registration is None:
            return False
        seq = self.old.seq_of(registration.hex())
        if seq is None or not 0 <= seq < self.size:
            raise IntegrityError(
                f"source {sha.hex()}: the verified claim-state map at size {self.size} says "
                f"entry {registration.hex()} registered it, but the log's index does not find "
                "that entry below that size: a source registration was hidden"
            )
        data = self.proven(seq, f"the registration of source {sha.hex()}")
        payload = parse_entry(data, where=f"entry {seq}").body.payload
        if entry_hash(data) != registration or not (
            isinstance(payload, SourceRegistered) and payload.sha256 == sha.hex()
        ):
            raise IntegrityError(
                f"source {sha.hex()}: entry {seq} is not the registration {registration.hex()} "
                "the verified claim-state map names",
                seq=seq,
            )
        return True


# -- the join, over the new entries -----------------------------------------------------------


class _OldSourceShas(set[bytes]):
    """Source SHA-256s registered so far: the new ones in the set, older ones looked up."""

    def __init__(self, index: ProvenIndex) -> None:
        super().__init__()
        self.index = index

    def __contains__(self, sha: object) -> bool:
        if super().__contains__(sha):
            return True
        return isinstance(sha, bytes) and self.index.source_registered(sha)


class _OldSources(dict[bytes, bytes]):
    """Source entry hash -> SHA-256: the new ones in the dict, older ones looked up."""

    def __init__(self, index: ProvenIndex) -> None:
        super().__init__()
        self.index = index

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None  # type: ignore[arg-type]

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        found = super().get(key)
        if found is None:
            found = self.index.source_sha(key.hex())
        return found if found is not None else default


class SinceChecker(LogChecker):
    """``LogChecker``'s join, started at the saved size instead of 0: older facts (keys,
    sources, claims, the last entry) come from the ``ProvenIndex``, and the tree grows
    from the saved frontier leaf by leaf."""

    def __init__(
        self,
        index: ProvenIndex,
        state: VerifiedState,
        old_keys: dict[str, KeyState],
        hint: dict[str, KeyState],
        rows: list[bytes],
        *,
        log_verifier: Verifier | None,
        blobs: Callable[[str], bytes | None] | None,
    ) -> None:
        super().__init__(index, hint, log_verifier=log_verifier, blobs=blobs)
        self.proven_index = index
        self._rows = rows  # the new entries' bytes, from seq state.size on
        self.keys = dict(old_keys)
        self.source_shas = _OldSourceShas(index)
        self.source_by_entry = _OldSources(index)
        self.tree = merkle.Frontier.restore(state.size, state.frontier)
        if index.map is not None:
            self.state = index.map
        self.new_nodes: list[merkle.Node] = []
        self.report.entries = state.size
        self.report.root = state.root
        self.start = state.size
        if state.size:
            last = parse_entry(index.proven(state.size - 1, "the last verified entry"), where="")
            self.report.head = last.hash
            self._last_ts = last.body.ts
            self._last_v = last.body.v
            self.origin = last.body.log

    def absorb_new(self, result: ChunkResult, checkpoints: Sequence[StoredCheckpoint]) -> None:
        """The next chunk of new entries, and the checkpoints whose size falls in it."""
        if result.start != self.size:
            raise VerificationError(f"chunk at {result.start} joined at {self.size}")
        for offset, (hash_hex, kind, subject) in enumerate(result.facts):
            seq = result.start + offset
            self.proven_index.add(seq, self._rows[seq - self.start], hash_hex, kind, subject)
        if result.first_ts:
            self._check_boundary(result)
        self.kinds.extend(result.kinds)
        self._apply_events(result)
        self.row_findings.extend(result.row_findings)
        self.report.projection_rows += result.rows
        if result.failure is not None:
            raise result.failure.exception()
        wanted = {c.size: c for c in checkpoints}
        for hash_hex, _, _ in result.facts:
            self.new_nodes += [
                node
                for node in self.tree.append(merkle.Hash(bytes.fromhex(hash_hex)))
                if node.level
            ]
            if (checkpoint := wanted.get(self.tree.size)) is not None:
                self._check_checkpoint(checkpoint, self.tree.root())
        if self.proven_index.map is not None:
            self._check_state(result)  # the new writes; each new checkpoint's map root
        else:
            self._state_checks.clear()
        self.report.entries = result.stop
        if result.last_hash is not None:
            self.report.head = EntryHash(result.last_hash)
        self._last_ts = result.last_ts
        self._last_v = result.last_v or self._last_v
        self.report.root = self.tree.root()

    def claim_before(self, claim_id: str, before: int) -> ClaimState | None:
        seq = self.index.seq_of(claim_id)
        if seq is None or seq >= before:
            return None
        kind = self.kinds[seq - self.start] if seq >= self.start else self.proven_index.kind_at(seq)
        if kind != _EXTRACTED:
            return None
        state = Overlay(_ClaimView(self, seq))
        for data in self.index.history(claim_id, before):
            fold(parse_entry(data, where=f"history of claim {claim_id}"), state)
        return state.changes.claims.get(claim_id)

    def finish_new(self) -> VerifyReport:
        if self.keys != self.hint:
            raise IntegrityError(
                "the key entries found through the entries table's kind column are not the "
                "key entries in the log: the lookup columns were edited"
            )
        for code, kind in enumerate(ENTRY_KINDS, start=1):
            if count := self.kinds.count(code):
                self.report.kinds[kind] = count
        return self.report


# -- the entry point --------------------------------------------------------------------------


@dataclass(frozen=True)
class SinceResult:
    """What ``verify_since`` checked, and the state to save for next time."""

    report: VerifyReport
    state: VerifiedState
    new_entries: int
    proofs: int
    """Inclusion proofs checked for older entries the new ones refer to."""
    log_key: Verifier | None = None
    """The log key that signs the new state's checkpoint (a rotation may have changed it)."""
    state_map: StateMap | None = None
    """The verified claim-state map at the new size (None: no map was checked)."""
    map_roots: int = 0
    """New checkpoints whose state-map root was checked."""


def _log_verifier(entry0: bytes) -> Verifier:
    """The log key entry 0 registers (as ``LogChecker`` takes it when it walks entry 0)."""
    keys = list(key_states([(0, entry0)]).values())
    if len(keys) != 1:
        raise IntegrityError("entry 0 does not register the log key", seq=0)
    log = parse_entry(entry0, where="entry 0").body.log
    return Verifier.from_public_key(log, Ed25519PublicKey.from_public_bytes(keys[0].public_key))


def _log_verifiers(keys: dict[str, KeyState], origin: str) -> list[Verifier]:
    """The checkpoint verifiers of the log keys among ``keys``, in the order they began."""
    found = sorted(
        (k for k in keys.values() if rules.is_log_key(k)), key=lambda k: k.registered_seq
    )
    return [
        Verifier.from_public_key(origin, Ed25519PublicKey.from_public_bytes(k.public_key))
        for k in found
    ]


def _seed_log_keys(
    checker: SinceChecker,
    state: VerifiedState,
    old_keys: dict[str, KeyState],
    trusted: Trusted | None,
) -> None:
    """Give the checker the log keys the entries below the state name (each signs from the
    checkpoint after its rotation's), and require the saved note's signer to be the log
    key they name at the saved size: a trusted key the log never handed over to is refused."""
    assert state.note is not None
    origin = Checkpoint.from_body(SignedNote.from_text(state.note).text).origin
    for key in sorted(old_keys.values(), key=lambda k: k.registered_seq):
        if rules.is_log_key(key):
            first = 1 if key.registered_seq == 0 else key.registered_seq + 2
            checker.add_log_key(first, origin, key.public_key)
    signer = checker.log_key_for(state.size)
    try:
        check_note(state.note, signer)
    except (VerificationError, FormatError) as exc:
        raise VerificationError(
            f"saved state: its checkpoint at size {state.size} is not signed by the log key "
            f"the log names there ({signer.key_text()}): {exc}"
        ) from exc
    if trusted is not None:
        keys = trusted if isinstance(trusted, Sequence) else [trusted]
        if all(k.public_key != v.public_key for k in keys for _, v in checker.log_keys):
            raise VerificationError(
                "saved state: the trusted log key is none of the log's log keys below size "
                f"{state.size}"
            )


def verify_since(
    state: VerifiedState,
    rows: Iterable[Row],
    old: OldLog,
    checkpoints: Iterable[StoredCheckpoint],
    *,
    log_verifier: Trusted | None = None,
    store: Store | None = None,
    nodes: merkle.NodeReader | None = None,
    state_map: StateMap | None = None,
    rebuild_map: Callable[[Checkpoint | None], StateMap | None] | None = None,
) -> SinceResult:
    """Check the entries after ``state`` (``rows``: seq ``state.size`` on, in order), the
    checkpoints in ``(state.size, n]`` (ascending; the last must be at ``n``) and the
    consistency proof from the saved checkpoint; return the new state.

    ``store``: where source bytes are read from to recheck new sources and quotes (None:
    those checks are left out, as for a client holding only entries). ``nodes``: stored
    tree nodes to compare with the recomputed ones (None: not compared).
    ``state_map``: the verifier's own map at ``state.size`` (its root must be the one the
    saved checkpoint signs); without it, ``rebuild_map`` is asked for one from the saved,
    verified checkpoint (``ledger.map_since.map_from_rows``). With a map, every new
    checkpoint's state-map root is checked and the map answers the absence questions;
    with none (neither given, or the saved checkpoint predates the map), the store's
    answers are believed and the result says ``state_map=None``.
    Raises a ``VerificationError`` naming the entry or checkpoint at the first problem.
    """
    state.check_frontier()
    index = ProvenIndex(old, state.size, state.root)
    if state.key_entries is not None:
        old_key_rows = [(_seq_of(data), data) for data in state.key_entries]
    else:
        old_key_rows = old.key_entries(state.size)
    old_keys = key_states(old_key_rows)
    if log_verifier is None and state.size:
        # The key entry 0 registers (and the log keys rotations registered after it),
        # believed only to check the state's own note first (a state altered consistently
        # is named as such), then proven against the saved root.
        entry0 = old.entry_at(0)
        if entry0 is None:
            raise IntegrityError("entry 0 (the log key) is missing from the log", seq=0)
        log_verifier = _log_verifier(entry0)
        origin = log_verifier.name
        saved = state.check([log_verifier, *_log_verifiers(old_keys, origin)])
        index.prove(0, entry0, "entry 0, the log key")
    else:
        saved = state.check(log_verifier)
    if state.size and saved is None:
        raise VerificationError("no log key to check the saved checkpoint with")
    if state_map is not None:
        check_start(state_map, saved, "the verified map kept beside the state")
    elif rebuild_map is not None:
        state_map = rebuild_map(saved)
    if state_map is not None:
        index.map = since_replay(state_map)
    if state.key_entries is None:
        for seq, data in old_key_rows:
            index.prove(seq, data, "a key entry")
    new_rows = list(rows)
    new_data = [row[1] for row in new_rows]
    new_key_rows = [(row[0], row[1]) for row in new_rows if looks_like_key_entry(row[1])]
    hint = key_states([*old_key_rows, *new_key_rows])
    checker = SinceChecker(
        index,
        state,
        old_keys,
        hint,
        new_data,
        log_verifier=log_verifier if isinstance(log_verifier, Verifier) else None,
        blobs=store.blob if store is not None else None,
    )
    if state.size:
        _seed_log_keys(checker, state, old_keys, log_verifier)
    pending = list(checkpoints)
    for c in pending:
        if c.size <= state.size:
            raise IntegrityError(
                f"checkpoint at tree size {c.size} is not after the saved size {state.size}"
            )
    size = state.size + len(new_rows)
    for start, stop in _chunks(state.size, size):
        part = new_rows[start - state.size : stop - state.size]
        bounds = (start, stop if stop < size else None)  # rows the chunk's entries create
        task = ChunkTask(
            start,
            stop,
            rows=part,
            index_facts=True,
            recheck_sources=store is not None,
            projection_bounds=bounds if store is not None else None,
        )
        result = check_chunk(store, task, hint)
        checker.absorb_new(result, [c for c in pending if start < c.size <= stop])
    for c in pending:
        if c.size > size:
            raise IntegrityError(
                f"a checkpoint was signed at tree size {c.size}, but the log has only {size} "
                f"entries: entries were removed after it was signed",
                seq=size,
            )
    newest = pending[-1] if pending else None
    if size > state.size and (newest is None or newest.size != size):
        covered = newest.size if newest is not None else state.size
        raise IntegrityError(
            f"entries {covered} to {size - 1} are not covered by any signed checkpoint: "
            "appends sign one in the same transaction, so they were added behind the "
            "ledger's back or their checkpoint was removed",
            seq=covered,
        )
    report = checker.finish_new()
    if store is not None:
        check_new_projections(store, checker)
    if nodes is not None:
        _check_nodes(checker.new_nodes, nodes)
    report.nodes = len(checker.new_nodes)
    root = checker.tree.root()
    if state.size and size > state.size:
        try:
            merkle.verify_consistency(
                state.size, size, old.consistency_proof(state.size, size), state.root, root
            )
        except (ProofError, VerificationError) as exc:
            raise IntegrityError(
                f"consistency proof from the saved checkpoint at size {state.size} to the "
                f"checkpoint at size {size}: {exc}",
                seq=size - 1,
            ) from exc
    keys = None
    if state.key_entries is not None:
        keys = state.key_entries + tuple(data for _, data in new_key_rows)
    new_state = VerifiedState(
        size=size,
        root=root,
        frontier=checker.tree.hashes,
        note=newest.note if newest is not None else state.note,
        key_entries=keys,
    )
    final = checker.log_key_for(size) if size and checker.log_keys else None
    replay = index.map
    return SinceResult(
        report,
        new_state,
        len(new_rows),
        index.proofs,
        final,
        state_map=replay.map if replay is not None else None,
        map_roots=replay.roots_checked if replay is not None else 0,
    )


def check_new_projections(store: Store, checker: SinceChecker) -> None:
    """The source and claim rows the new entries create or change, against the log: rows
    with seq from the saved size on (compared by the chunks), and every claim a new entry
    changed, older ones included, against its replay. Not the past claim states, the
    search and quantity indexes or the derived tables (a full verify checks those)."""
    checker.report.projection_rows += check_entry_rows(store, checker)


def _seq_of(data: bytes) -> int:
    return parse_entry(data, where="saved key entry").seq


def _chunks(start: int, stop: int) -> Iterator[tuple[int, int]]:
    for low in range(start, stop, CHUNK):
        yield low, min(low + CHUNK, stop)


def _check_nodes(computed: list[merkle.Node], nodes: merkle.NodeReader) -> None:
    for first in range(0, len(computed), 500):
        part = computed[first : first + 500]
        stored = nodes.read_nodes([n.id for n in part])
        for node in part:
            check_node(node, stored.get(node.id))


# -- over a database ------------------------------------------------------------------------


def verify_store_since(
    store: Store,
    state: VerifiedState,
    *,
    log_verifier: Trusted | None = None,
    state_map: StateMap | None = None,
) -> SinceResult:
    """``verify_since`` over the database's entries after ``state`` up to its head, with
    the verifier's map at ``state.size`` or, without one, the map rebuilt from the store's
    rows and checked against the saved checkpoint (linear in the log)."""
    head = store.head().size
    if head < state.size:
        raise IntegrityError(
            f"the saved state is at tree size {state.size}, but the log holds only {head} "
            "entries: it was truncated",
            seq=head,
        )
    with store.reader() as txn:
        rows: list[Row] = list(txn.entry_rows(state.size, head))
        checkpoints = [
            c for size in txn.checkpoint_sizes(state.size, head) if (c := txn.checkpoint(size))
        ]
    log = StoreLog(store)
    return verify_since(
        state,
        rows,
        log,
        checkpoints,
        log_verifier=log_verifier,
        store=store,
        nodes=log,
        state_map=state_map,
        rebuild_map=lambda saved: map_from_rows(store, state.size, saved),
    )


def state_of_store(store: Store, report: VerifyReport) -> VerifiedState:
    """The state a full ``verify_store`` of the whole log leaves: the checkpoint at its
    head, and the frontier read from the tree nodes (checked to fold to the verified root)."""
    size = report.entries
    with store.reader() as txn:
        checkpoint = txn.checkpoint(size) if size else None
        ids = merkle.frontier_ids(size)
        found = txn.read_nodes(ids)
        key_rows = txn.key_entries(size)
    if size and checkpoint is None:
        raise VerificationError(f"no signed checkpoint at the verified size {size}")
    frontier = tuple(found[i] for i in ids if i in found)
    if (
        len(frontier) != len(ids)
        or (merkle.fold_perfect(frontier) if frontier else merkle.EMPTY_ROOT) != report.root
    ):
        raise VerificationError(f"the tree's frontier at size {size} is not the verified root")
    return VerifiedState(
        size=size,
        root=report.root,
        frontier=frontier,
        note=checkpoint.note if checkpoint is not None else None,
        key_entries=tuple(data for _, data in key_rows),
    )


# -- with a state file ------------------------------------------------------------------------


def from_trust_state(saved: TrustState) -> VerifiedState:
    """The plain values of a state file (``ledger.trust_state``) whose entries were verified."""
    if not saved.entries_verified:
        raise VerificationError(
            f"saved state at size {saved.size}: only its checkpoint was verified, not the "
            "entries below it, so there is nothing to verify incrementally from: run a full "
            "verify (without --since) first"
        )
    return VerifiedState(
        size=saved.size,
        root=saved.root,
        frontier=saved.frontier,
        note=saved.note,
        key_entries=saved.key_entries,
    )


def to_trust_state(
    state: VerifiedState, verifier: Trusted, state_map: MapBinding | None = None
) -> TrustState:
    """The state file for ``state`` (its note re-checked under ``verifier``), binding the
    map file ``state_map`` if one was written."""
    if state.note is None:
        raise VerificationError("an empty log has no checkpoint to save as a state")
    return TrustState.build(
        state.note,
        verifier,
        state.frontier,
        entries_verified=True,
        key_entries=state.key_entries or (),
        state_map=state_map,
    )


@dataclass(frozen=True)
class StateRun:
    """What ``verify_with_state`` did: an incremental check (``since``) or a full one."""

    report: VerifyReport
    state: VerifiedState
    since: SinceResult | None
    saved: Path | None
    map_rebuilt: bool = False
    """The state had no map file, so the map at its size was rebuilt from the store's rows
    (and checked against its checkpoint): linear in the log."""


def verify_with_state(
    store: Store,
    verifier: Trusted,
    *,
    since: Path | None,
    save: Path | None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> StateRun:
    """The ``verify --since``/``--save-state`` core: with a state file at ``since``, check
    only what is new after it; with none there yet (first use), or without ``since``, a
    full verify. Then, and only after success, write the new state atomically to ``save``
    (default: back to ``since``) with its map file beside it (``STATE.map``, written and
    renamed first, then the state that binds it). Nothing is written when anything fails.

    The map at the saved size comes from the state's map file; without one (a state saved
    before map files, or the file deleted) it is rebuilt from the store's rows and accepted
    only if its root is the saved checkpoint's (``map_rebuilt``)."""
    loaded = load_state(since, verifier) if since is not None else None
    rebuilt = False
    kept: StateMap | None = None
    new_map: StateMap | None
    try:
        if loaded is not None:
            assert since is not None
            if loaded.state_map is not None:
                kept = open_map(map_path(since), loaded.state_map, loaded.checkpoint)
            rebuilt = kept is None
            result = verify_store_since(
                store, from_trust_state(loaded), log_verifier=verifier, state_map=kept
            )
            report, state, incremental = result.report, result.state, result
            if result.log_key is not None:  # the log key after a rotation among the new entries
                verifier = [
                    *([verifier] if isinstance(verifier, Verifier) else verifier),
                    result.log_key,
                ]
            new_map = result.state_map
        else:
            report = verify_store(store, workers=workers, progress=progress)
            state, incremental = state_of_store(store, report), None
            new_map = report.state_map
        target = save if save is not None else since
        if target is not None:
            # The map file first (appended to, or written beside and renamed), then the
            # state file that binds it: a crash in between leaves the old state, which
            # either finds its own nodes still there or rebuilds the map (map_since).
            ref = None
            if new_map is not None:
                ref = write_map(map_path(target), state.size, new_map)
            save_state(target, to_trust_state(state, verifier, ref))
    finally:
        close_map(kept)
    return StateRun(report, state, incremental, target, rebuilt)


__all__ = [
    "OldLog",
    "ProvenIndex",
    "SinceResult",
    "StoreLog",
    "VerifiedState",
    "state_of_store",
    "verify_since",
    "verify_store_since",
    "verify_with_state",
]
