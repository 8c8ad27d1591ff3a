"""The verifier's map file, version 2: the claim-state map's tree as node records, read
lazily along the paths of the keys a verification touches, each node checked against the
trusted root on the way down, and saved by appending the nodes that changed (decision 0014,
"Map"; byte format in docs/formats/client-state.md, "The map file").

The tree is ``ledger.statemap``'s canonical one (a subtree with one key is that key's
leaf, an empty one is ``EMPTY``, any other the node hash of its halves), so the file holds
one record per leaf and one per inner node. Nothing in the file is believed: the root's
record must hash to the trusted root, and a node's two children are read together and must
hash to the node (``node_hash(left, right)``, a leaf's hash computed from its key and
value), so every value, absence and sibling hash the verifier uses is authenticated by the
path it was read along, as a ``StateProof`` would be. Cost: O(log n) record reads and hashes
per key touched; opening the file reads its header and one record.

Saving appends the changed nodes (leaves first, then their parents, the root last) after
the bytes the state file binds, fsyncs, and returns the new binding; the state file is
written after it. A crash before the state file is renamed leaves the old state, whose
nodes are untouched (the unfinished tail is cut off by the next save). When the file
grows past twice the live tree (plus 1 MiB), the save writes a compacted copy instead
(O(n), rare: after about n / (k log n) saves of k keys).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import struct
import weakref
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ledger.errors import InvalidInput, VerificationError
from ledger.statemap import (
    EMPTY,
    HASH_SIZE,
    KEY_BITS,
    LEAF_TAG,
    NODE_TAG,
    ProofKind,
    StateMap,
    StateProof,
    bit,
)
from ledger.trust_state import MapNodeRef, StateFileError, write_streamed

MAGIC = b"claims-ledger/state-map-file@v2\n"
"""The first 32 bytes of a version 2 map file."""
HEADER_SIZE = 64
"""magic (32) ‖ file id (16) ‖ 16 zero bytes."""
LEAF_SIZE = 1 + 2 * HASH_SIZE
"""0x10 ‖ key ‖ value."""
NODE_SIZE = 1 + HASH_SIZE + 16
"""0x11 ‖ the node's hash ‖ left child offset (u64) ‖ right child offset (u64); 0: empty."""
COMPACT_FLOOR = 1 << 20
"""A file is compacted when it is over twice its live records plus this many bytes."""

_LEAF = LEAF_TAG[0]
_INNER = NODE_TAG[0]
_OFFSETS = struct.Struct(">QQ")
_sha256 = hashlib.sha256


class _Node:
    """A tree node read from the file or made by an update. A leaf has ``key``; an inner
    node has ``left``/``right`` once ``expanded`` (None: an empty child), and until then
    only the offsets of its children's records. ``hash`` None: changed, not yet rehashed;
    ``ref`` 0: not in the file."""

    __slots__ = ("expanded", "hash", "key", "left", "lref", "ref", "right", "rref", "value")

    def __init__(self) -> None:
        self.hash: bytes | None = None
        self.ref = 0
        self.key: bytes | None = None
        self.value = b""
        self.expanded = False
        self.left: _Node | None = None
        self.right: _Node | None = None
        self.lref = 0
        self.rref = 0


def _leaf(key: bytes, value: bytes) -> _Node:
    node = _Node()
    node.key, node.value = key, value
    node.hash = _sha256(LEAF_TAG + key + value).digest()
    node.expanded = True
    return node


def _inner(left: _Node | None, right: _Node | None) -> _Node:
    node = _Node()
    node.left, node.right, node.expanded = left, right, True
    return node


class FileMap(StateMap):
    """A claim-state map backed by a version 2 map file, for a verifier that starts from
    its own map at a saved size: it reads and authenticates only the paths of the keys it
    is asked about or given. It takes inserts and replacements, not deletions (a log's map
    only grows). Close it (``close``) or let it be collected to release the file."""

    __slots__ = (
        "__weakref__",
        "_closer",
        "_fd",
        "_inner_count",
        "_keys",
        "_length",
        "_path",
        "_ref",
        "_top",
        "reads",
    )

    def __init__(self, path: Path, ref: MapNodeRef, trusted_root: bytes) -> None:
        """Open ``path`` as the file ``ref`` binds, whose map must have ``trusted_root``.
        Use ``open_file_map`` (None for a missing or replaced file)."""
        super().__init__()
        self._path = path
        self._ref = ref
        self._length = ref.length
        self._keys = ref.keys
        self._inner_count = ref.inner
        self.reads = 0
        """Records read from the file so far (what a verification cost in file reads)."""
        where = f"state map file {path}"
        try:
            self._fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise VerificationError(f"{where}: cannot read it ({exc.strerror})") from exc
        self._closer = weakref.finalize(self, os.close, self._fd)
        size = os.fstat(self._fd).st_size
        if size < ref.length or ref.length < HEADER_SIZE:
            self.close()
            raise VerificationError(
                f"{where}: {size} bytes, but the state file binds its first {ref.length}: it "
                "was truncated; delete it to rebuild the map from the log"
            )
        if ref.root != trusted_root:
            self.close()
            raise VerificationError(
                f"{where}: the state file binds map root {ref.root.hex()}, the saved "
                f"checkpoint signs {trusted_root.hex()}"
            )
        self._top = self._read_root(trusted_root)

    # -- reading ----------------------------------------------------------------------

    def _fail(self, offset: int, why: str) -> VerificationError:
        return VerificationError(
            f"state map file {self._path}, byte {offset}: {why}; the file was altered (delete "
            "it to rebuild the map from the log)"
        )

    def _record(self, offset: int) -> _Node:
        if not HEADER_SIZE <= offset <= self._length - NODE_SIZE:
            raise self._fail(offset, f"a node offset outside the records (0..{self._length})")
        data = os.pread(self._fd, LEAF_SIZE, offset)
        self.reads += 1
        node = _Node()
        node.ref = offset
        if not data:
            raise self._fail(offset, "a node offset past the end of the file")
        if data[0] == _LEAF:
            if len(data) < LEAF_SIZE or offset + LEAF_SIZE > self._length:
                raise self._fail(offset, "a leaf record cut short")
            node.key, node.value = data[1:33], data[33:65]
            node.hash = _sha256(data[:LEAF_SIZE]).digest()  # LEAF_TAG ‖ key ‖ value
            node.expanded = True
        elif data[0] == _INNER:
            if len(data) < NODE_SIZE:
                raise self._fail(offset, "an inner-node record cut short")
            node.hash = data[1:33]
            node.lref, node.rref = _OFFSETS.unpack_from(data, 33)
        else:
            raise self._fail(offset, f"record tag {data[0]:#04x} is neither 0x10 nor 0x11")
        return node

    def _read_root(self, root: bytes) -> _Node | None:
        if root == EMPTY:
            if self._ref.root_node != 0:
                raise self._fail(0, "the empty map's root node must be offset 0")
            return None
        node = self._record(self._ref.root_node)
        if node.hash != root:
            raise self._fail(self._ref.root_node, "the root record does not hash to the root")
        return node

    def _expand(self, node: _Node) -> None:
        """Read an inner node's children; their hashes must make the node's."""
        left = self._record(node.lref) if node.lref else None
        right = self._record(node.rref) if node.rref else None
        lh = left.hash if left is not None else EMPTY
        rh = right.hash if right is not None else EMPTY
        assert lh is not None and rh is not None
        if left is None and right is None:
            raise self._fail(node.ref, "an inner node with two empty children")
        if _sha256(NODE_TAG + lh + rh).digest() != node.hash:
            raise self._fail(node.ref, "its children do not hash to the node")
        node.left, node.right, node.expanded = left, right, True

    # -- the map ----------------------------------------------------------------------

    def close(self) -> None:
        """Release the file (the map can no longer read paths it has not read yet)."""
        self._closer()

    def __len__(self) -> int:
        return self._keys

    @property
    def bits(self) -> int:
        return 0  # no dense levels: the tree is read node by node

    @property
    def root(self) -> bytes:
        return _rehash(self._top)

    def memory_bytes(self) -> int:
        return sum(64 + 8 * 9 for _ in _walk_loaded(self._top))

    def get(self, key: bytes) -> bytes | None:
        if len(key) != HASH_SIZE:
            raise InvalidInput(f"state-map key is {len(key)} bytes, expected {HASH_SIZE}")
        node, depth = self._top, 0
        while node is not None:
            if node.key is not None:
                return node.value if node.key == key else None
            if not node.expanded:
                self._expand(node)
            node = node.right if bit(key, depth) else node.left
            depth += 1
        return None

    def update(self, pairs: Iterable[tuple[bytes, bytes | None]]) -> list[bytes | None]:
        """Insert or replace keys; returns each key's value before its pair. A None value
        (a deletion) is refused: nothing changes if any pair is malformed."""
        writes: list[tuple[bytes, bytes]] = []
        for key, value in pairs:
            if value is None:
                raise InvalidInput("the map file's map takes no deletions (a log's map grows)")
            if len(key) != HASH_SIZE or len(value) != HASH_SIZE:
                raise InvalidInput(f"state-map keys and values are {HASH_SIZE} bytes")
            writes.append((key, value))
        return [self._set(key, value) for key, value in writes]

    def _set(self, key: bytes, value: bytes) -> bytes | None:
        path: list[_Node] = []
        parent: _Node | None = None
        node, depth = self._top, 0
        while node is not None and node.key is None:
            if not node.expanded:
                self._expand(node)
            path.append(node)
            parent = node
            node = node.right if bit(key, depth) else node.left
            depth += 1
        previous: bytes | None = None
        if node is None:
            new = _leaf(key, value)
            self._keys += 1
        elif node.key == key:
            if node.value == value:
                return value
            previous = node.value
            new = _leaf(key, value)
        else:
            new = self._split(node, _leaf(key, value), depth)
            self._keys += 1
        if parent is None:
            self._top = new
        elif bit(key, depth - 1):
            parent.right = new
        else:
            parent.left = new
        for above in path:
            above.hash, above.ref = None, 0
        return previous

    def _split(self, other: _Node, new: _Node, depth: int) -> _Node:
        """The subtree at ``depth`` holding the leaf ``other`` and the new key's leaf."""
        assert other.key is not None and new.key is not None
        a, b = int.from_bytes(other.key, "big"), int.from_bytes(new.key, "big")
        split = KEY_BITS - (a ^ b).bit_length()
        if split < depth:
            raise self._fail(other.ref, "a leaf off its key's path")
        node = _inner(other, new) if bit(new.key, split) else _inner(new, other)
        for d in range(split - 1, depth - 1, -1):
            node = _inner(None, node) if bit(new.key, d) else _inner(node, None)
        self._inner_count += split - depth + 1
        return node

    def prove(self, key: bytes) -> StateProof:
        """The key's proof (membership or absence), from the authenticated paths."""
        _rehash(self._top)
        siblings: list[bytes] = []
        node, depth = self._top, 0
        while node is not None and node.key is None:
            if not node.expanded:
                self._expand(node)
            right = bit(key, depth)
            other = node.left if right else node.right
            siblings.append(other.hash if other is not None and other.hash else EMPTY)
            node = node.right if right else node.left
            depth += 1
        if node is None:
            return StateProof(ProofKind.EMPTY, tuple(siblings))
        if node.key == key:
            return StateProof(ProofKind.PRESENT, tuple(siblings), value=node.value)
        return StateProof(
            ProofKind.OTHER_LEAF, tuple(siblings), other_key=node.key, other_value=node.value
        )

    def items(self) -> list[tuple[bytes, bytes]]:
        """Every (key, value) pair, sorted by key: the whole file read and authenticated."""
        out: list[tuple[bytes, bytes]] = []
        stack = [self._top]
        while stack:
            node = stack.pop()
            if node is None:
                continue
            if node.key is not None:
                out.append((node.key, node.value))
                continue
            if not node.expanded:
                self._expand(node)
            stack += (node.right, node.left)
        return out

    # -- saving -----------------------------------------------------------------------

    def save(self, path: Path, *, compact_floor: int = COMPACT_FLOOR) -> MapNodeRef:
        """Write the map at its current root to ``path`` and return the state file's new
        binding (which the caller writes after this returns). To its own file: the changed
        nodes appended after the bound bytes, then fsync (compacted instead when the file
        has grown past twice its live records plus ``compact_floor`` bytes); to another
        path: a copy of the bound bytes plus the changed nodes, written beside it and
        renamed."""
        root = self.root
        if Path(path) != self._path:
            return self._write_copy(path, root)
        pending = _pending_bytes(self._top)
        if self._length + pending > 2 * self._live_bytes() + compact_floor:
            return self._compact(path, root)
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError as exc:
            raise StateFileError(f"state map file {path}: cannot open it ({exc})") from exc
        placed: list[_Node] = []
        try:
            if os.fstat(fd).st_size != self._length:
                os.ftruncate(fd, self._length)  # an unfinished save's tail: nothing binds it
            out = bytearray()
            top = _emit(self._top, self._length, out, placed)
            if out:
                os.pwrite(fd, bytes(out), self._length)
                os.fsync(fd)
        except BaseException as exc:
            _unplace(placed)
            if isinstance(exc, OSError):
                raise StateFileError(f"state map file {path}: not written ({exc})") from exc
            raise
        finally:
            os.close(fd)
        self._length += len(out)
        self._ref = self._binding(self._ref.file_id, root, top)
        return self._ref

    def _live_bytes(self) -> int:
        return HEADER_SIZE + self._keys * LEAF_SIZE + self._inner_count * NODE_SIZE

    def _binding(self, file_id: bytes, root: bytes, top: int) -> MapNodeRef:
        return MapNodeRef(file_id, root, top, self._length, self._keys, self._inner_count)

    def _write_copy(self, path: Path, root: bytes) -> MapNodeRef:
        file_id = secrets.token_bytes(16)

        def fill(handle: _Writer) -> int:
            with open(self._path, "rb") as source:
                source.seek(HEADER_SIZE)
                remaining = self._length - HEADER_SIZE
                while remaining:
                    chunk = source.read(min(remaining, 1 << 20))
                    if not chunk:
                        raise StateFileError(f"state map file {self._path}: cut short")
                    handle.write(chunk)
                    remaining -= len(chunk)
            out = bytearray()
            top = _emit(self._top, self._length, out, placed)
            handle.write(bytes(out))
            return top

        placed: list[_Node] = []
        try:
            top, length = _write_file(path, file_id, fill)
        except BaseException:
            _unplace(placed)
            raise
        self._path, self._length = Path(path), length
        self._closer()
        self._fd = os.open(path, os.O_RDONLY)
        self._closer = weakref.finalize(self, os.close, self._fd)
        self._ref = self._binding(file_id, root, top)
        return self._ref

    def _compact(self, path: Path, root: bytes) -> MapNodeRef:
        """Every live node (read, authenticated, and written again): O(n)."""
        file_id = secrets.token_bytes(16)
        nodes = [0]

        def fill(handle: _Writer) -> int:
            return _write_tree(self, self._top, handle, nodes)

        top, length = _write_file(path, file_id, fill)
        self._closer()
        self._path, self._length = Path(path), length
        self._inner_count = nodes[0]
        self._fd = os.open(path, os.O_RDONLY)
        self._closer = weakref.finalize(self, os.close, self._fd)
        self._ref = self._binding(file_id, root, top)
        self._top = self._read_root(root)  # the old offsets are gone: read it afresh
        return self._ref


def _rehash(top: _Node | None) -> bytes:
    """The hash of ``top``, rehashing the changed inner nodes below it (post-order)."""
    if top is None:
        return EMPTY
    if top.hash is not None:
        return top.hash
    stack: list[tuple[_Node, bool]] = [(top, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            lh = node.left.hash if node.left is not None else EMPTY
            rh = node.right.hash if node.right is not None else EMPTY
            assert lh is not None and rh is not None
            node.hash = _sha256(NODE_TAG + lh + rh).digest()
            continue
        stack.append((node, True))
        for child in (node.left, node.right):
            if child is not None and child.hash is None:
                stack.append((child, False))
    assert top.hash is not None
    return top.hash


def _walk_loaded(top: _Node | None) -> Iterator[_Node]:
    stack = [top]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        yield node
        if node.key is None and node.expanded:
            stack += (node.left, node.right)


def _pending_bytes(top: _Node | None) -> int:
    """Bytes the nodes not yet in the file will take."""
    total = 0
    stack = [top]
    while stack:
        node = stack.pop()
        if node is None or node.ref:
            continue
        total += LEAF_SIZE if node.key is not None else NODE_SIZE
        if node.key is None:
            stack += (node.left, node.right)
    return total


def _emit(top: _Node | None, base: int, out: bytearray, placed: list[_Node]) -> int:
    """Append the records of the nodes not in the file (children before parents) to
    ``out``, which starts at file offset ``base``; returns ``top``'s offset (0: empty).
    The nodes given an offset are added to ``placed`` (``_unplace`` them if the bytes
    are not written after all)."""
    if top is None:
        return 0
    stack: list[tuple[_Node, bool]] = [(top, False)]
    while stack:
        node, children_done = stack.pop()
        if node.ref:
            continue
        if node.key is not None:
            node.ref = base + len(out)
            placed.append(node)
            out += LEAF_TAG + node.key + node.value
            continue
        if not children_done:
            stack.append((node, True))
            for child in (node.right, node.left):
                if child is not None and not child.ref:
                    stack.append((child, False))
            continue
        assert node.hash is not None
        left = node.left.ref if node.left is not None else 0
        right = node.right.ref if node.right is not None else 0
        node.ref = base + len(out)
        placed.append(node)
        out += NODE_TAG + node.hash + _OFFSETS.pack(left, right)
    return top.ref


def _unplace(placed: list[_Node]) -> None:
    for node in placed:
        node.ref = 0


class _Writer:
    """A buffered file being written, tracking its offset."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.offset = HEADER_SIZE

    def write(self, data: bytes) -> int:
        at = self.offset
        self._handle.write(data)
        self.offset += len(data)
        return at


def _write_file(path: Path, file_id: bytes, fill: Callable[[_Writer], int]) -> tuple[int, int]:
    """A new map file at ``path``: header, then what ``fill(writer)`` writes (returning the
    root node's offset), written beside it, fsynced and renamed over it
    (``trust_state.write_streamed``). Returns the root node's offset and the file's length."""

    def write(handle: BinaryIO) -> tuple[int, int]:
        handle.write(MAGIC + file_id + bytes(16))
        writer = _Writer(handle)
        top = fill(writer)
        return top, writer.offset

    return write_streamed(Path(path), "state map file", write)


def _write_tree(source: FileMap, top: _Node | None, out: _Writer, inner: list[int]) -> int:
    """Write every node of the tree under ``top`` (reading what is not loaded) to ``out``,
    children first; ``inner[0]`` counts inner nodes. Returns ``top``'s new offset."""
    if top is None:
        return 0
    stack: list[tuple[_Node, bool]] = [(top, False)]
    placed: dict[int, int] = {}
    while stack:
        node, children_done = stack.pop()
        if node.key is not None:
            placed[id(node)] = out.write(LEAF_TAG + node.key + node.value)
            continue
        if not children_done:
            if not node.expanded:
                source._expand(node)
            stack.append((node, True))
            for child in (node.right, node.left):
                if child is not None:
                    stack.append((child, False))
            continue
        assert node.hash is not None
        left = placed.pop(id(node.left)) if node.left is not None else 0
        right = placed.pop(id(node.right)) if node.right is not None else 0
        placed[id(node)] = out.write(NODE_TAG + node.hash + _OFFSETS.pack(left, right))
        node.left = node.right = None  # written: let the subtree go (read afresh after)
        node.expanded = False
        inner[0] += 1
    return placed[id(top)]


def write_map_file(path: Path, state_map: StateMap) -> MapNodeRef:
    """A new map file at ``path`` holding ``state_map`` (after a full verification, a
    rebuild from the store's rows, or a version 1 file read): O(n), written beside it and
    renamed. Returns the state file's binding."""
    records = state_map.items()
    file_id = secrets.token_bytes(16)
    inner = [0]

    def fill(out: _Writer) -> int:
        if not records:
            return 0
        return _build(records, 0, len(records), 0, out, inner)[1]

    top, length = _write_file(path, file_id, fill)
    return MapNodeRef(file_id, state_map.root, top, length, len(records), inner[0])


def _build(
    records: list[tuple[bytes, bytes]],
    lo: int,
    hi: int,
    depth: int,
    out: _Writer,
    inner: list[int],
) -> tuple[bytes, int]:
    """Write the subtree at ``depth`` holding ``records[lo:hi]`` (sorted, sharing their
    first ``depth`` bits): (its hash, its record's offset)."""
    if hi - lo == 1:
        key, value = records[lo]
        record = LEAF_TAG + key + value
        return _sha256(record).digest(), out.write(record)
    shift = KEY_BITS - 1 - depth
    first = int.from_bytes(records[lo][0], "big")
    middle = (((first >> (shift + 1)) << (shift + 1)) | (1 << shift)).to_bytes(HASH_SIZE, "big")
    split = bisect_left(records, (middle,), lo, hi)  # the first key with bit ``depth`` set
    left = _build(records, lo, split, depth + 1, out, inner) if split > lo else (EMPTY, 0)
    right = _build(records, split, hi, depth + 1, out, inner) if split < hi else (EMPTY, 0)
    digest = _sha256(NODE_TAG + left[0] + right[0]).digest()
    inner[0] += 1
    return digest, out.write(NODE_TAG + digest + _OFFSETS.pack(left[1], right[1]))


def open_file_map(path: Path, ref: MapNodeRef, trusted_root: bytes) -> FileMap | None:
    """The map file at ``path`` as ``ref`` binds it, its map checked (lazily) against
    ``trusted_root``; None if there is no file or it is another file than the one bound (a
    crash after a compaction or a full write renamed a new file in, before the state file
    was replaced): the caller then rebuilds the map from the log."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(HEADER_SIZE)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise VerificationError(f"state map file {path}: cannot read it ({exc.strerror})") from exc
    if len(header) < HEADER_SIZE or header[:32] != MAGIC or header[32:48] != ref.file_id:
        return None
    return FileMap(path, ref, trusted_root)


__all__ = ["MAGIC", "FileMap", "open_file_map", "write_map_file"]
