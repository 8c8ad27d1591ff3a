"""The state a verifier keeps between runs: the newest checkpoint it has verified, and the
compact range ("frontier") of the tree at that size, in one JSON file
(docs/formats/client-state.md).

    state = load_state(path, log_key)          # None on first use; checks the note's signature
    ...                                        # verify something newer, consistent with state
    save_state(path, TrustState.build(note, checkpoint, frontier, key_entries=...))

``save_state`` replaces the file atomically (temporary file in the same folder, fsync,
rename, fsync of the folder): a crash leaves the old file or the new one, never a mix.
``TrustState.extend(leaves)`` appends leaf hashes to the saved frontier and gives the root
at the new size without any earlier entry. ``frontier_from_last_leaf`` derives the frontier
from the inclusion proof of the tree's last leaf, so a client that never downloaded the log
can still save a state it can extend later.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from ledger import merkle
from ledger.checkpoint import Checkpoint, Verifier, open_note, parse_verifier_key
from ledger.entries import KEY_PAYLOADS, parse_entry
from ledger.errors import FormatError, LedgerError, VerificationError

T = TypeVar("T")


class StateFileError(LedgerError):
    """The state file could not be written (the old one, if any, is kept as it was)."""


FORMAT = "claims-ledger/client-state@v1"
"""The value of the ``format`` member; a file with any other value is refused."""
MAX_STATE_BYTES = 16 << 20
"""A state file larger than this is refused before it is parsed."""
_MEMBERS = {
    "format",
    "origin",
    "size",
    "root",
    "checkpoint",
    "frontier",
    "entries_verified",
    "key_entries",
}
_OPTIONAL = {"log_keys", "state_map"}
"""Members a file may leave out: ``log_keys`` is written once the holder followed a
log-key rotation (decision 0022); ``state_map`` since the claim-state map sidecar
(decision 0014)."""

Trusted = Verifier | Sequence[Verifier]
"""The log key(s) a caller trusts for a state's note."""


def _trusted(verifiers: Trusted) -> tuple[Verifier, ...]:
    return (verifiers,) if isinstance(verifiers, Verifier) else tuple(verifiers)


def check_note(text: str, verifiers: Trusted) -> Checkpoint:
    """The checkpoint of ``text``, after checking it is signed by one of ``verifiers`` (log
    keys, named by the log's origin, which the checkpoint's origin must equal)."""
    trusted = _trusted(verifiers)
    checkpoint = Checkpoint.from_body(open_note(text, trusted).text)
    if checkpoint.origin not in {v.name for v in trusted}:
        raise VerificationError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected {trusted[0].name!r}"
        )
    return checkpoint


@dataclass(frozen=True)
class MapFileRef:
    """The state file's binding to a version 1 claim-state map sidecar (``ledger.map_since``,
    still read, never written): the SHA-256 and length of the sidecar's bytes."""

    sha256: bytes
    length: int

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256.hex(), "bytes": self.length}

    @classmethod
    def from_json(cls, data: Any, where: str) -> MapFileRef:
        if not isinstance(data, dict) or set(data) != {"sha256", "bytes"}:
            raise FormatError(f"{where}: state_map is not an object with sha256 and bytes")
        digest, length = data["sha256"], data["bytes"]
        if not isinstance(digest, str) or len(digest) != 64:
            raise FormatError(f"{where}: state_map.sha256 is not 64 hex digits")
        try:
            raw = bytes.fromhex(digest)
        except ValueError as exc:
            raise FormatError(f"{where}: state_map.sha256 is not 64 hex digits") from exc
        if digest != raw.hex() or isinstance(length, bool) or not isinstance(length, int):
            raise FormatError(f"{where}: state_map.sha256 must be lowercase hex, bytes an integer")
        if length < 0:
            raise FormatError(f"{where}: state_map.bytes is negative")
        return cls(raw, length)


@dataclass(frozen=True)
class MapNodeRef:
    """The state file's binding to a version 2 map file (``ledger.mapfile``, an append-only
    file of the map's tree nodes): which file (``file_id``, from its header), the map root at
    the state's size, the offset of that root's node, and how many bytes of the file belong
    to the state (anything after them is an unfinished save's, and is cut off). ``keys`` and
    ``inner`` (the tree's key and inner-node counts) only size compaction; the file itself
    is checked node by node against ``root`` as it is read."""

    file_id: bytes
    root: bytes
    root_node: int
    length: int
    keys: int
    inner: int

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 2,
            "file_id": self.file_id.hex(),
            "root": self.root.hex(),
            "root_node": self.root_node,
            "bytes": self.length,
            "keys": self.keys,
            "inner": self.inner,
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> MapNodeRef:
        members = {"format", "file_id", "root", "root_node", "bytes", "keys", "inner"}
        if not isinstance(data, dict) or set(data) != members or data["format"] != 2:
            raise FormatError(f"{where}: state_map (format 2) must have exactly {sorted(members)}")
        file_id = _hex(data["file_id"], 16, f"{where}: state_map.file_id")
        root = _hex(data["root"], 32, f"{where}: state_map.root")
        numbers = [data[name] for name in ("root_node", "bytes", "keys", "inner")]
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in numbers):
            raise FormatError(
                f"{where}: state_map.root_node, bytes, keys and inner must be integers >= 0"
            )
        return cls(file_id, root, *numbers)


MapBinding = MapFileRef | MapNodeRef
"""How a state file names its map file: version 1 (whole-file hash) or 2 (node file)."""


def map_binding_from_json(data: Any, where: str) -> MapBinding:
    """The ``state_map`` member: format 2 if it says so, else the version 1 binding."""
    if isinstance(data, dict) and "format" in data:
        return MapNodeRef.from_json(data, where)
    return MapFileRef.from_json(data, where)


def _hex(text: Any, size: int, where: str) -> bytes:
    if not isinstance(text, str) or len(text) != 2 * size:
        raise FormatError(f"{where} is not {2 * size} lowercase hex digits")
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise FormatError(f"{where} is not {2 * size} lowercase hex digits") from exc
    if raw.hex() != text:
        raise FormatError(f"{where} is not {2 * size} lowercase hex digits")
    return raw


@dataclass(frozen=True)
class TrustState:
    """A checkpoint the holder has verified, with what is needed to extend it.

    ``note``: the signed checkpoint note exactly as it was served (log signature and any
    witness cosignatures). ``frontier``: the hashes of ``merkle.frontier_ids(size)``, largest
    subtree first. ``entries_verified``: every entry below ``size`` was checked (signatures,
    keys, rules), not only the checkpoint; then ``key_entries`` holds the exact bytes of
    every key.registered, key.revoked and log.key.rotated entry below ``size``, in log
    order, so a later incremental check knows every key's state without asking the server.
    ``log_keys``: the log keys the holder followed through rotations, oldest first, the
    last one trusted now and the note signed by one of them (empty: no rotation followed;
    the caller's key signs the note)."""

    note: str
    checkpoint: Checkpoint
    frontier: tuple[merkle.Hash, ...]
    entries_verified: bool = False
    key_entries: tuple[bytes, ...] = ()
    log_keys: tuple[Verifier, ...] = ()
    state_map: MapBinding | None = None
    """The verified claim-state map at ``size`` kept beside the state (None: none kept)."""

    @property
    def origin(self) -> str:
        return self.checkpoint.origin

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> merkle.Hash:
        return self.checkpoint.root_hash

    @classmethod
    def build(
        cls,
        note: str | bytes,
        verifier: Trusted,
        frontier: Sequence[bytes],
        *,
        entries_verified: bool = False,
        key_entries: Sequence[bytes] = (),
        log_keys: Sequence[Verifier] = (),
        state_map: MapBinding | None = None,
    ) -> TrustState:
        """A state for ``note`` after checking its log signature (origin = the key's name),
        that ``frontier`` folds to its root, and that ``key_entries`` are key entries below
        its size in order (VerificationError / FormatError naming what is wrong).

        ``verifier``: the log key (or keys) the caller trusts. With ``log_keys`` (a chain of
        rotations the holder followed), one of the trusted keys must be in the chain, and
        the note is checked under the chain's keys (the holder trusts its last one now; the
        note may predate the last rotation)."""
        text = note.decode("utf-8") if isinstance(note, bytes) else note
        trusted = _trusted(verifier)
        if log_keys:
            if not any(t.public_key == k.public_key for t in trusted for k in log_keys):
                raise VerificationError(
                    "state: it follows the log keys "
                    f"{', '.join(k.key_text() for k in log_keys)}, none of which is the "
                    f"trusted {trusted[0].key_text() if trusted else 'key'}"
                )
            trusted = tuple(log_keys)
        checkpoint = check_note(text, trusted)
        hashes = tuple(merkle.Hash(bytes(h)) for h in frontier)
        compact = merkle.Frontier.restore(checkpoint.size, hashes)
        if compact.root() != checkpoint.root_hash:
            raise VerificationError(
                f"state: the frontier hashes fold to {compact.root().hex()}, the checkpoint "
                f"at size {checkpoint.size} signs {checkpoint.root_hash.hex()}"
            )
        if key_entries and not entries_verified:
            raise FormatError("state: key_entries are only kept when entries_verified is true")
        _check_key_entries(key_entries, checkpoint.size)
        if state_map is not None and not entries_verified:
            raise FormatError("state: a state_map is only kept when entries_verified is true")
        return cls(
            text,
            checkpoint,
            hashes,
            entries_verified,
            tuple(key_entries),
            tuple(log_keys),
            state_map,
        )

    def extend(self, leaves: Sequence[merkle.Hash]) -> merkle.Integration:
        """The tree after appending ``leaves`` (entry hashes from seq ``size`` on)."""
        return merkle.integrate(self.size, self.frontier, leaves)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "origin": self.origin,
            "size": self.size,
            "root": _b64(self.root),
            "checkpoint": self.note,
            "frontier": [_b64(h) for h in self.frontier],
            "entries_verified": self.entries_verified,
            "key_entries": [_b64(e) for e in self.key_entries],
            **({"log_keys": [k.key_text() for k in self.log_keys]} if self.log_keys else {}),
        }
        if self.state_map is not None:
            out["state_map"] = self.state_map.to_json()
        return out

    @classmethod
    def from_json(cls, data: Any, verifier: Trusted, *, where: str = "state") -> TrustState:
        """Parse and check a state file's JSON value (see ``build`` for the checks; ``size``,
        ``root`` and ``origin`` must repeat the note's)."""
        if not isinstance(data, dict):
            raise FormatError(f"{where}: not a JSON object")
        if not _MEMBERS <= set(data) <= _MEMBERS | _OPTIONAL:
            allowed = _MEMBERS | _OPTIONAL
            missing, extra = sorted(_MEMBERS - set(data)), sorted(set(data) - allowed)
            raise FormatError(f"{where}: members missing {missing}, unknown {extra}")
        if data["format"] != FORMAT:
            raise FormatError(f"{where}: format is {data['format']!r}, expected {FORMAT!r}")
        note = _typed(data, "checkpoint", str, where)
        frontier = [_unb64(h, f"{where}: frontier") for h in _typed(data, "frontier", list, where)]
        keys = [
            _unb64(e, f"{where}: key_entries") for e in _typed(data, "key_entries", list, where)
        ]
        verified = _typed(data, "entries_verified", bool, where)
        ref = map_binding_from_json(data["state_map"], where) if "state_map" in data else None
        followed = data.get("log_keys", [])
        if not isinstance(followed, list) or not all(isinstance(k, str) for k in followed):
            raise FormatError(f"{where}: log_keys is not a list of verifier keys")
        try:
            log_keys = [parse_verifier_key(k) for k in followed]
            state = cls.build(
                note,
                verifier,
                frontier,
                entries_verified=verified,
                key_entries=keys,
                log_keys=log_keys,
                state_map=ref,
            )
        except LedgerError as exc:
            raise type(exc)(f"{where}: {exc}") from exc
        size = _typed(data, "size", int, where)
        root = _unb64(_typed(data, "root", str, where), f"{where}: root")
        origin = _typed(data, "origin", str, where)
        if (origin, size, root) != (state.origin, state.size, state.root):
            raise FormatError(f"{where}: origin, size or root differ from its checkpoint note")
        return state


def frontier_from_last_leaf(
    size: int, leaf: merkle.Hash, proof: Sequence[merkle.Hash], root: merkle.Hash
) -> tuple[merkle.Hash, ...]:
    """The frontier of a tree of ``size`` leaves from the inclusion proof of its last leaf
    (index size-1), after checking that proof against ``root``.

    The last leaf is rightmost, so every hash on its path is a left sibling: the first L
    (2**L = the lowest set bit of ``size``) lie inside the last frontier subtree and fold
    with the leaf into that subtree's hash; the rest are the other frontier subtrees,
    smallest first."""
    if size < 1:
        raise VerificationError("an empty tree has no last leaf (its frontier is empty)")
    merkle.verify_inclusion(leaf, size - 1, size, proof, root)
    inner = (size & -size).bit_length() - 1  # level of the last frontier subtree
    last = leaf
    for sibling in proof[:inner]:
        last = merkle.node_hash(sibling, last)
    return (*reversed(proof[inner:]), last)


def load_state(path: Path, verifier: Trusted) -> TrustState | None:
    """The state saved at ``path``, checked (``TrustState.from_json``); None if there is no
    file yet (first use). A file that is there but unreadable or wrong raises."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FormatError(f"state file {path}: cannot read it ({exc.strerror})") from exc
    if len(raw) > MAX_STATE_BYTES:
        raise FormatError(f"state file {path}: larger than {MAX_STATE_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"state file {path}: not UTF-8 JSON ({exc})") from exc
    return TrustState.from_json(data, verifier, where=f"state file {path}")


def save_state(path: Path, state: TrustState) -> None:
    """Write ``state`` to ``path`` atomically (``write_atomically``): on any failure the old
    file is untouched."""
    text = json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n"
    write_atomically(path, text.encode("utf-8"), "state file")


def write_atomically(path: Path, data: bytes, what: str) -> None:
    """Write ``data`` to ``path``: a temporary file in the same folder, written and
    fsynced, renamed over ``path``, then the folder fsynced. On any failure the old file is
    untouched, the temporary file removed, and a StateFileError names ``what``."""
    write_streamed(path, what, lambda handle: handle.write(data))


def write_streamed(path: Path, what: str, fill: Callable[[BinaryIO], T]) -> T:
    """``write_atomically`` for a file written piece by piece: ``fill`` writes to the
    temporary file (opened with a 1 MiB buffer) and its result is returned once the file
    is fsynced and renamed over ``path`` and the folder fsynced."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise StateFileError(f"{what} {path}: cannot write beside it ({exc})") from exc
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as handle:
            result = fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StateFileError(
                f"{what} {path}: not written ({exc}); the old one is kept"
            ) from exc
        raise
    _fsync_folder(folder)
    return result


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not every platform opens folders; the rename itself is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_key_entries(entries: Sequence[bytes], size: int) -> None:
    last = -1
    for number, data in enumerate(entries):
        entry = parse_entry(data, where=f"state: key entry {number}")
        if not isinstance(entry.body.payload, KEY_PAYLOADS):
            raise FormatError(f"state: key entry {number} (seq {entry.seq}) is a {entry.kind}")
        if not last < entry.seq < size:
            raise FormatError(
                f"state: key entry {number} has seq {entry.seq}, not after {last} and "
                f"below the state's size {size}"
            )
        last = entry.seq


def _typed(data: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = data[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(f"{where}: {name} is not a {kind.__name__}")
    return value


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise FormatError(f"{where}: not a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"{where}: bad base64 ({exc})") from exc
