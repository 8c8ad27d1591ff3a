"""The verifier's own copy of the claim-state map, for incremental verification (decision
0014, "Map"; byte format in docs/formats/client-state.md, "The map file").

A full verification replays the whole map (``ledger.statelog.StateReplay``). An
incremental one starts from the map at the saved size ``k`` instead: the *map file* kept
beside the state file (``STATE.map``), which the verifier wrote itself after a successful
verification and which the state file binds by its SHA-256 and length. Loaded, its root
must be the one the saved checkpoint signs; the new entries' writes are replayed onto it
and every new checkpoint's state-map root is checked; the map at ``k`` then answers, with
no trust in the store or server, "which entry registered this SHA-256 before ``k``" and
"which is this claim's latest entry before ``k``".

Without a map file (a state saved before there were map files, or the file deleted), a
store-backed check rebuilds the map at ``k`` from the store's ``state_map_leaves`` rows and
accepts it only if its root is the saved checkpoint's (``map_from_rows``): sound, but
linear in the log.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

from ledger.checkpoint import Checkpoint, state_map_root
from ledger.errors import FormatError, VerificationError
from ledger.statelog import StateReplay
from ledger.statemap import EMPTY, HASH_SIZE, StateMap
from ledger.store import Store
from ledger.trust_state import MapFileRef, write_atomically

MAGIC = b"claims-ledger/state-map-file@v1\n"
"""The first 32 bytes of a map file."""
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
    """The map file at ``path`` bound by ``ref`` (from the state file) at tree size
    ``size``; None if there is no file. A file that is there but differs from what the
    state file binds (length, SHA-256) or is malformed raises VerificationError."""
    where = f"state map file {path}"
    try:
        with path.open("rb") as handle:
            data = handle.read(ref.length + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise VerificationError(f"{where}: cannot read it ({exc.strerror})") from exc
    if len(data) != ref.length or hashlib.sha256(data).digest() != ref.sha256:
        raise VerificationError(
            f"{where}: its bytes are not the ones the state file binds ({ref.length} bytes, "
            f"SHA-256 {ref.sha256.hex()}): it was altered, truncated or belongs to another "
            "state; delete it to rebuild the map from the log"
        )
    return decode_map(data, size, where=where)


def write_map(path: Path, size: int, state_map: StateMap) -> MapFileRef:
    """Write the map file atomically (temporary file, fsync, rename, folder fsync) and
    return its binding for the state file, which the caller writes after it."""
    data = encode_map(size, state_map)
    write_atomically(path, data, "state map file")
    return MapFileRef(hashlib.sha256(data).digest(), len(data))


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
    "decode_map",
    "encode_map",
    "load_map",
    "map_from_rows",
    "map_path",
    "signed_root",
    "since_replay",
    "write_map",
]
