"""The verifier's own copy of the claim-state map, for incremental verification (decision
0014, "Map"; byte formats in docs/formats/client-state.md, "The map file").

A full verification replays the whole map (``ledger.statelog.StateReplay``). An
incremental one starts from the map at the saved size ``k`` instead: the *map file* kept
beside the state file (``STATE.map``), which the verifier wrote itself after a successful
verification. Version 2 files (``ledger.mapfile``) hold the map's tree nodes and are read
lazily: only the paths of the keys the new entries write or the checks ask about, each
node authenticated against the saved checkpoint's map root (or, for a checkpoint signed
before the map existed, the root the state file binds); saving appends the changed nodes.
Load, update and save cost O(k log n) for k new writes. Version 1 files (every record,
bound by the state file's SHA-256) are still read, in full (O(n), once); the next save
writes version 2. The new entries' writes are replayed onto the map and every new
checkpoint's state-map root is checked; the map at ``k`` then answers, with no trust in the
store or server, "which entry registered this SHA-256 before ``k``" and "which is this
claim's latest entry before ``k``".

Without a usable map file (a state saved before there were map files, the file deleted,
or a file a crash left unbound: replaced before the state file was), a store-backed check
rebuilds the map at ``k`` from the store's ``state_map_leaves`` rows and accepts it only if
its root is the saved checkpoint's (``map_from_rows``): sound, but linear in the log.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

from ledger.checkpoint import Checkpoint, state_map_root
from ledger.errors import FormatError, VerificationError
from ledger.mapfile import FileMap, open_file_map, write_map_file
from ledger.statelog import StateReplay
from ledger.statemap import EMPTY, HASH_SIZE, StateMap
from ledger.store import Store
from ledger.trust_state import MapBinding, MapFileRef, MapNodeRef

MAGIC = b"claims-ledger/state-map-file@v1\n"
"""The first 32 bytes of a version 1 map file."""
_HEADER = struct.Struct(">32sQQ32s")  # magic, tree size, record count, root
_RECORD = 2 * HASH_SIZE
PAGE = 65_536
"""``state_map_leaves`` rows read per query by ``map_from_rows``."""


def map_path(state: Path) -> Path:
    """Where the map file of the state file ``state`` lives: the same name plus ``.map``."""
    return state.with_name(state.name + ".map")


def encode_map(size: int, state_map: StateMap) -> bytes:
    """The map file's bytes for ``state_map`` at tree size ``size``."""
    records = state_map.items()
    header = _HEADER.pack(MAGIC, size, len(records), state_map.root)
    return header + b"".join(key + value for key, value in records)


def decode_map(data: bytes, size: int, *, where: str) -> StateMap:
    """The map a map file holds, after checking its header (magic, tree size ``size``, the
    record count matching the length), that its keys ascend strictly, and that the map
    rebuilt from its records has the root the header states."""
    if len(data) < _HEADER.size:
        raise VerificationError(f"{where}: {len(data)} bytes, shorter than its header")
    magic, at_size, count, root = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise VerificationError(f"{where}: not a claims-ledger map file (bad magic)")
    if at_size != size:
        raise VerificationError(f"{where}: the map is at tree size {at_size}, the state at {size}")
    if len(data) != _HEADER.size + count * _RECORD:
        raise VerificationError(
            f"{where}: {len(data)} bytes, but {count} records need {_HEADER.size + count * _RECORD}"
        )
    body = memoryview(data)[_HEADER.size :]
    records: list[tuple[bytes, bytes]] = []
    previous = b""
    for at in range(0, count * _RECORD, _RECORD):
        key = bytes(body[at : at + HASH_SIZE])
        if key <= previous:
            raise VerificationError(f"{where}: record {at // _RECORD}: keys do not ascend")
        records.append((key, bytes(body[at + HASH_SIZE : at + _RECORD])))
        previous = key
    built = StateMap(records, lean=True)
    if built.root != root:
        raise VerificationError(
            f"{where}: its records hash to root {built.root.hex()}, its header says {root.hex()}"
        )
    return built


def load_map(path: Path, ref: MapFileRef, size: int) -> StateMap | None:
    """The version 1 map file at ``path`` bound by ``ref`` (from the state file) at tree
    size ``size``; None if there is no file, or if its bytes are not the ones the state
    file binds (length, SHA-256: a crash between the two writes of an older version, or an
    edit), so the caller rebuilds the map from the log. A file that matches its binding but
    is malformed raises VerificationError."""
    where = f"state map file {path}"
    try:
        with path.open("rb") as handle:
            data = handle.read(ref.length + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise VerificationError(f"{where}: cannot read it ({exc.strerror})") from exc
    if len(data) != ref.length or hashlib.sha256(data).digest() != ref.sha256:
        return None
    return decode_map(data, size, where=where)


def open_map(path: Path, ref: MapBinding, checkpoint: Checkpoint | None) -> StateMap | None:
    """The verifier's map at the saved size from the map file at ``path`` bound by ``ref``:
    a version 2 file opened lazily (its nodes checked as they are read against the map root
    ``checkpoint`` signs, or the one the state binds when it signs none), a version 1 file
    read whole. None: no usable file (missing, or not the one bound), rebuild it."""
    size = checkpoint.size if checkpoint is not None else 0
    if isinstance(ref, MapFileRef):
        return load_map(path, ref, size)
    trusted = signed_root(checkpoint)
    return open_file_map(path, ref, trusted if trusted is not None else ref.root)


def write_map(path: Path, size: int, state_map: StateMap) -> MapNodeRef:
    """Save the map at tree size ``size`` to ``path`` and return its binding for the state
    file, which the caller writes after it: a map read from a version 2 file appends its
    changed nodes (``FileMap.save``), any other is written whole (``write_map_file``)."""
    del size  # the state file says the size; the map file holds only the map
    if isinstance(state_map, FileMap):
        return state_map.save(path)
    return write_map_file(path, state_map)


def close_map(state_map: StateMap | None) -> None:
    """Release a map's file, if it reads one."""
    if isinstance(state_map, FileMap):
        state_map.close()


def signed_root(checkpoint: Checkpoint | None) -> bytes | None:
    """The map root a checkpoint signs (the empty map's for no checkpoint, an empty log),
    or None if it carries no state-map line."""
    if checkpoint is None:
        return EMPTY
    try:
        return state_map_root(checkpoint)
    except FormatError as exc:
        raise VerificationError(f"saved checkpoint at size {checkpoint.size}: {exc}") from exc


def check_start(state_map: StateMap, checkpoint: Checkpoint | None, what: str) -> None:
    """The map at the saved size must have the root the saved checkpoint signs."""
    expected = signed_root(checkpoint)
    size = checkpoint.size if checkpoint is not None else 0
    if expected is None:
        return  # signed before the map existed: the map is the verifier's own, kept as is
    if state_map.root != expected:
        raise VerificationError(
            f"{what} has claim-state map root {state_map.root.hex()}, but the saved "
            f"checkpoint at size {size} signs {expected.hex()}"
        )


def map_from_rows(store: Store, size: int, checkpoint: Checkpoint | None) -> StateMap | None:
    """The fallback without a map file: the map at ``size`` from the store's
    ``state_map_leaves`` rows, accepted only if its root is the saved checkpoint's (None:
    that checkpoint has no map line, so the rows cannot be checked). Linear in the log."""
    if signed_root(checkpoint) is None:
        return None
    latest: dict[bytes, bytes] = {}
    for start in range(0, size, PAGE):
        with store.reader() as txn:
            for _, key, value in txn.state_leaves(start, min(start + PAGE, size)):
                latest[key] = value
    built = StateMap(latest.items(), lean=True)
    check_start(built, checkpoint, f"the store's state_map_leaves rows below {size}")
    return built


def since_replay(state_map: StateMap) -> StateReplay:
    """A replay from the verified map at the saved size that remembers the values there
    (``value_at_start``) while it checks the new checkpoints' roots."""
    return StateReplay(state_map, remember=True)


__all__ = [
    "MAGIC",
    "check_start",
    "close_map",
    "decode_map",
    "encode_map",
    "load_map",
    "map_from_rows",
    "map_path",
    "open_map",
    "signed_root",
    "since_replay",
    "write_map",
]
