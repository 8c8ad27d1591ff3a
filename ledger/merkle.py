"""RFC 9162 Merkle tree: hashing, proofs and their verification, computed from the
RFC's recursive definitions (reference) and from stored perfect subtrees (optimized)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NewType, Protocol

from ledger.errors import ProofError, VerificationError
from ledger.frozen import quick_init

Hash = NewType("Hash", bytes)
"""A 32-byte SHA-256 Merkle tree hash (leaf, interior node or root)."""

NodeId = tuple[int, int]
"""(level, index) of a perfect subtree: it covers leaves [index·2^level, (index+1)·2^level)."""

HASH_SIZE = 32
EMPTY_ROOT = Hash(hashlib.sha256(b"").digest())


def leaf_hash(data: bytes) -> Hash:
    """SHA-256(0x00 ‖ data): the hash of one leaf (RFC 9162 §2.1.1)."""
    return Hash(hashlib.sha256(b"\x00" + data).digest())


def node_hash(left: Hash, right: Hash) -> Hash:
    """SHA-256(0x01 ‖ left ‖ right): the hash of an interior node."""
    return Hash(hashlib.sha256(b"\x01" + left + right).digest())


def _split(n: int) -> int:
    """The RFC's k: the largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _trailing_zeros(n: int) -> int:
    return (n & -n).bit_length() - 1


# --- Reference implementation: RFC 9162 §2.1 transcribed, slow on purpose ---------------


def reference_root(leaf_hashes: Sequence[Hash]) -> Hash:
    """MTH(D[n]) over already-hashed leaves (RFC 9162 §2.1.1)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(reference_root(leaf_hashes[:k]), reference_root(leaf_hashes[k:]))


def reference_inclusion_proof(index: int, leaf_hashes: Sequence[Hash]) -> list[Hash]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1)."""
    _check_index(index, len(leaf_hashes))
    return _reference_path(index, leaf_hashes)


def _reference_path(m: int, d: Sequence[Hash]) -> list[Hash]:
    if len(d) == 1:
        return []
    k = _split(len(d))
    if m < k:
        return [*_reference_path(m, d[:k]), reference_root(d[k:])]
    return [*_reference_path(m - k, d[k:]), reference_root(d[:k])]


def reference_consistency_proof(old_size: int, leaf_hashes: Sequence[Hash]) -> list[Hash]:
    """PROOF(m, D[n]) (RFC 9162 §2.1.4.1); empty when m is 0 or n, which need no proof."""
    _check_sizes(old_size, len(leaf_hashes))
    if old_size in (0, len(leaf_hashes)):
        return []
    return _reference_subproof(old_size, leaf_hashes, True)


def _reference_subproof(m: int, d: Sequence[Hash], b: bool) -> list[Hash]:
    n = len(d)
    if m == n:
        return [] if b else [reference_root(d)]
    k = _split(n)
    if m <= k:
        return [*_reference_subproof(m, d[:k], b), reference_root(d[k:])]
    return [*_reference_subproof(m - k, d[k:], False), reference_root(d[:k])]


# --- Verification: RFC 9162 §2.1.3.2 and §2.1.4.2 -----------------------------------------


def _check_index(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is out of range for tree size {size}")


def _check_sizes(old_size: int, new_size: int) -> None:
    if not 0 <= old_size <= new_size:
        raise ProofError(f"tree sizes {old_size} -> {new_size} do not describe an append-only step")


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, expected {HASH_SIZE}")


def _check_proof_hashes(proof: Sequence[bytes], what: str) -> None:
    for i, element in enumerate(proof):
        _check_hash(element, f"{what} proof[{i}]")


def _shift_until_odd_or_zero(fn: int, sn: int) -> tuple[int, int]:
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def inclusion_proof_length(index: int, size: int) -> int:
    """Number of hashes in the inclusion proof of `index` in a tree of `size` leaves."""
    _check_index(index, size)
    # Below `inner` the leaf and the last leaf sit in different subtrees (one sibling each);
    # above it every set bit of the index is a left sibling.
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def root_from_inclusion_proof(leaf: Hash, index: int, size: int, proof: Sequence[Hash]) -> Hash:
    """The root implied by an inclusion proof; raises ProofError if the proof is malformed."""
    _check_index(index, size)
    _check_hash(leaf, "leaf hash")
    _check_proof_hashes(proof, "inclusion")
    expected = inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise ProofError(
            f"inclusion proof for index {index} in tree size {size} has "
            f"{len(proof)} hashes, expected {expected}"
        )
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        # The RFC's own length guards; after the exact length check they cannot fire.
        if sn == 0:
            raise ProofError(f"inclusion proof for index {index} in size {size} is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_until_odd_or_zero(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"inclusion proof for index {index} in size {size} is too short")
    return r


def verify_inclusion(leaf: Hash, index: int, size: int, proof: Sequence[Hash], root: Hash) -> None:
    """Raise ProofError unless `proof` shows `leaf` at `index` in the tree of `size` with `root`."""
    _check_hash(root, "root hash")
    if root_from_inclusion_proof(leaf, index, size, proof) != root:
        raise ProofError(
            f"inclusion proof for index {index} in tree size {size} does not lead to the root"
        )


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """Number of hashes in PROOF(old_size, D[new_size]), following SUBPROOF's recursion."""
    _check_sizes(old_size, new_size)
    if old_size in (0, new_size):
        return 0
    m, n, count, whole_old_tree = old_size, new_size, 0, True
    while m != n:
        k = _split(n)
        count += 1
        if m <= k:
            n = k
        else:
            m, n, whole_old_tree = m - k, n - k, False
    return count if whole_old_tree else count + 1


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[Hash], old_root: Hash, new_root: Hash
) -> None:
    """Raise ProofError unless `proof` shows the tree (old_size, old_root) is a prefix of
    (new_size, new_root). Equal sizes and old_size 0 need an empty proof."""
    _check_sizes(old_size, new_size)
    _check_hash(old_root, "old root hash")
    _check_hash(new_root, "new root hash")
    _check_proof_hashes(proof, "consistency")
    expected = consistency_proof_length(old_size, new_size)
    if len(proof) != expected:
        raise ProofError(
            f"consistency proof {old_size} -> {new_size} has {len(proof)} hashes, "
            f"expected {expected}"
        )
    if old_size == new_size and old_root != new_root:
        raise ProofError(f"trees of equal size {old_size} have different roots")
    if old_size == 0:
        _check_empty_tree(old_root, "old")
    if old_size in (0, new_size):
        return
    old_computed, new_computed = _roots_from_consistency(old_size, new_size, proof, old_root)
    if old_computed != old_root:
        raise ProofError(f"consistency proof {old_size} -> {new_size} does not lead to old root")
    if new_computed != new_root:
        raise ProofError(f"consistency proof {old_size} -> {new_size} does not lead to new root")


def _check_empty_tree(root: Hash, which: str) -> None:
    # RFC 9162 §2.1.1 fixes the empty tree's hash, so anything else is not a tree of size 0.
    if root != EMPTY_ROOT:
        raise ProofError(f"{which} root of an empty tree must be SHA-256 of the empty string")


def _roots_from_consistency(
    old_size: int, new_size: int, proof: Sequence[Hash], old_root: Hash
) -> tuple[Hash, Hash]:
    """Steps 2-6 of RFC 9162 §2.1.4.2 for 0 < old_size < new_size; returns (fr, sr)."""
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is one perfect subtree, so the proof leaves it out.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        # The RFC's own length guards; after the exact length check they cannot fire.
        if sn == 0:
            raise ProofError(f"consistency proof {old_size} -> {new_size} is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _shift_until_odd_or_zero(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"consistency proof {old_size} -> {new_size} is too short")
    return fr, sr


# --- Optimized computation over stored perfect subtrees -----------------------------------


@quick_init
@dataclass(frozen=True, slots=True)
class Node:
    """A stored perfect subtree hash: node (level, index) covers leaves
    [index·2^level, (index+1)·2^level)."""

    level: int
    index: int
    hash: Hash

    @property
    def id(self) -> NodeId:
        return (self.level, self.index)


class NodeReader(Protocol):
    """Reads stored perfect-subtree hashes, ideally in one query per call; ids that are not
    stored are simply absent from the result."""

    def read_nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, Hash]: ...


def frontier_ids(size: int) -> list[NodeId]:
    """The perfect subtrees whose concatenation is [0, size), largest first."""
    if size < 0:
        raise VerificationError(f"tree size {size} is negative")
    return _range_ids(0, size)


def _range_ids(start: int, end: int) -> list[NodeId]:
    """Perfect subtrees covering [start, end), largest first (greedy, aligned)."""
    ids: list[NodeId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, _trailing_zeros(start))
        ids.append((level, start >> level))
        start += 1 << level
    return ids


def fold_perfect(hashes: Sequence[Hash]) -> Hash:
    """MTH of a range from its perfect parts, largest first: the RFC splits off the first
    (largest power of two) part at every step, so the tree leans right."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def _inclusion_plan(index: int, size: int) -> list[list[NodeId]]:
    """For each proof element, bottom-up, the perfect nodes that fold into it."""
    inner = (index ^ (size - 1)).bit_length()
    plan = [[(level, (index >> level) ^ 1)] for level in range(inner - 1)]
    if inner:
        # At level inner-1 the sibling is the right border [start, size): maybe not perfect.
        start = ((index >> (inner - 1)) + 1) << (inner - 1)
        plan.append(_range_ids(start, size))
    plan.extend(
        [(level, (index >> level) ^ 1)]
        for level in range(inner, size.bit_length())
        if index >> level & 1
    )
    return plan


def _consistency_plan(old_size: int, new_size: int) -> list[list[NodeId]]:
    """PROOF(m, n) = the largest perfect node ending at m (unless it is the whole old tree),
    then the inclusion path of leaf m-1 above that node's level."""
    shift = _trailing_zeros(old_size)
    seed: list[list[NodeId]] = []
    if old_size != 1 << shift:
        seed = [[(shift, (old_size >> shift) - 1)]]
    return seed + _inclusion_plan(old_size - 1, new_size)[shift:]


def _read_plan(plan: Sequence[Sequence[NodeId]], reader: NodeReader, what: str) -> list[Hash]:
    """Fetch every node of `plan` in one read_nodes call, then fold each element."""
    ids = sorted({node for part in plan for node in part})
    if not ids:
        return []
    found = reader.read_nodes(ids)
    for level, index in ids:
        value = found.get((level, index))
        if value is None:
            raise VerificationError(f"node (level {level}, index {index}) for {what} is not stored")
        if len(value) != HASH_SIZE:
            raise VerificationError(
                f"node (level {level}, index {index}) for {what} is {len(value)} bytes"
            )
    return [fold_perfect([found[node] for node in part]) for part in plan]


def inclusion_proof_ids(index: int, size: int) -> list[NodeId]:
    """Every stored node ``inclusion_proof(index, size, ...)`` reads (to fetch them ahead)."""
    _check_index(index, size)
    return sorted({node for part in _inclusion_plan(index, size) for node in part})


def consistency_proof_ids(old_size: int, new_size: int) -> list[NodeId]:
    """Every stored node ``consistency_proof(old_size, new_size, ...)`` reads."""
    _check_sizes(old_size, new_size)
    if old_size in (0, new_size):
        return []
    return sorted({node for part in _consistency_plan(old_size, new_size) for node in part})


def root_at(size: int, reader: NodeReader) -> Hash:
    """The root of the tree's first `size` leaves, from at most popcount(size) stored nodes."""
    ids = frontier_ids(size)
    if not ids:
        return EMPTY_ROOT
    return _read_plan([ids], reader, f"root at size {size}")[0]


def inclusion_proof(index: int, size: int, reader: NodeReader) -> list[Hash]:
    """The RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves."""
    _check_index(index, size)
    plan = _inclusion_plan(index, size)
    return _read_plan(plan, reader, f"inclusion proof of index {index} in size {size}")


def consistency_proof(old_size: int, new_size: int, reader: NodeReader) -> list[Hash]:
    """The RFC 9162 consistency proof from `old_size` to `new_size` (empty if 0 or equal)."""
    _check_sizes(old_size, new_size)
    if old_size in (0, new_size):
        return []
    plan = _consistency_plan(old_size, new_size)
    return _read_plan(plan, reader, f"consistency proof {old_size} -> {new_size}")


class Frontier:
    """Compact range [0, size): the hashes of frontier_ids(size), so appending and computing
    the root need O(log n) memory however many leaves stream past."""

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[Hash] = []

    @classmethod
    def restore(cls, size: int, hashes: Sequence[Hash]) -> Frontier:
        """Resume from stored frontier hashes (the nodes named by frontier_ids(size))."""
        if size < 0:
            raise VerificationError(f"tree size {size} is negative")
        if len(hashes) != size.bit_count():
            raise VerificationError(
                f"frontier for size {size} needs {size.bit_count()} hashes, got {len(hashes)}"
            )
        for position, value in enumerate(hashes):
            if len(value) != HASH_SIZE:
                raise VerificationError(f"frontier hash {position} is {len(value)} bytes")
        frontier = cls()
        frontier._size = size
        frontier._hashes = list(hashes)
        return frontier

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[Hash, ...]:
        return tuple(self._hashes)

    def append(self, leaf: Hash) -> list[Node]:
        """Add one leaf hash; returns the perfect nodes it completed, the leaf itself first."""
        if len(leaf) != HASH_SIZE:
            raise VerificationError(f"leaf hash {self._size} is {len(leaf)} bytes")
        index, level, value = self._size, 0, leaf
        completed = [Node(0, index, leaf)]
        # Each trailing 1 bit of the old size is a frontier subtree the new leaf completes.
        while index >> level & 1:
            value = node_hash(self._hashes.pop(), value)
            level += 1
            completed.append(Node(level, index >> level, value))
        self._hashes.append(value)
        self._size += 1
        return completed

    def root(self) -> Hash:
        return fold_perfect(self._hashes) if self._hashes else EMPTY_ROOT


@dataclass(frozen=True)
class Integration:
    """The result of appending leaves: nodes to store, and the new frontier and root."""

    size: int
    nodes: tuple[Node, ...]
    frontier: tuple[Hash, ...]
    root: Hash


def integrate(old_size: int, frontier: Sequence[Hash], new_leaves: Sequence[Hash]) -> Integration:
    """Append `new_leaves` to the tree whose frontier is given; O(k + log n) hashes."""
    compact = Frontier.restore(old_size, frontier)
    nodes: list[Node] = []
    for leaf in new_leaves:
        nodes.extend(compact.append(leaf))
    return Integration(compact.size, tuple(nodes), compact.hashes, compact.root())


def integrate_inner(
    old_size: int, frontier: Sequence[Hash], new_leaves: Sequence[Hash]
) -> Integration:
    """``integrate`` without the leaves among the returned nodes (the append path stores a
    leaf as its entry's own hash, so it keeps only the inner nodes): one loop, no ``Node``
    built per leaf. Same inner nodes, frontier and root as ``integrate``, its reference
    (tests/property/test_merkle.py compares them)."""
    compact = Frontier.restore(old_size, frontier)
    hashes = compact._hashes
    size = old_size
    nodes: list[Node] = []
    sha = hashlib.sha256
    for leaf in new_leaves:
        if len(leaf) != HASH_SIZE:
            raise VerificationError(f"leaf hash {size} is {len(leaf)} bytes")
        value, level = leaf, 0
        # Each trailing 1 bit of the size is a frontier subtree the new leaf completes.
        while size >> level & 1:
            value = Hash(sha(b"\x01" + hashes.pop() + value).digest())
            level += 1
            nodes.append(Node(level, size >> level, value))
        hashes.append(value)
        size += 1
    compact._size = size
    return Integration(size, tuple(nodes), compact.hashes, compact.root())


class DictNodeReader:
    """An in-memory NodeReader (tests, exported bundles)."""

    def __init__(self, nodes: Iterable[Node] = ()) -> None:
        self._nodes: dict[NodeId, Hash] = {}
        self.add(nodes)

    @classmethod
    def from_mapping(cls, nodes: Mapping[NodeId, Hash]) -> DictNodeReader:
        """A reader over nodes already fetched (e.g. by one database query)."""
        return cls(Node(level, index, value) for (level, index), value in nodes.items())

    @classmethod
    def from_leaves(cls, leaf_hashes: Sequence[Hash]) -> DictNodeReader:
        return cls(integrate(0, [], leaf_hashes).nodes)

    def add(self, nodes: Iterable[Node]) -> None:
        for node in nodes:
            self._nodes[node.id] = node.hash

    def read_nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, Hash]:
        return {node: self._nodes[node] for node in ids if node in self._nodes}

    def __len__(self) -> int:
        return len(self._nodes)
