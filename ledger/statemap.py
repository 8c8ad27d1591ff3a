"""The claim-state map: an authenticated map from a claim id to the hash of the claim's
latest entry, and from a source's SHA-256 to its registration entry's hash, with proofs of
membership and of absence (decision 0010, byte format in docs/formats/state-map.md).

The structure is a sparse Merkle tree of depth 256 over 256-bit *map keys*, with one
shortcut, as in Diem's Jellyfish tree and key-transparency directories: a subtree that
holds exactly one key hashes to that key's leaf hash wherever it sits, an empty subtree is
``EMPTY`` (32 zero bytes), and any other subtree is the node hash of its two halves. The
root is therefore a function of the set of (key, value) pairs alone, and a proof is the
list of sibling hashes from the root down to where the key's path ends: at its own leaf
(membership), at an empty subtree or at another key's leaf (absence), about log2(n) + 1
hashes deep for n keys.

Hashing (each input starts with a tag byte, none of them RFC 9162's 0x00 and 0x01, so no
state-map hash can be mistaken for an entry hash or a log tree node)::

    map_key(ns, raw)   = SHA-256(0x12 ‖ ns ‖ raw)      ns: 0x01 claim id, 0x02 source sha256
    leaf_hash(k, v)    = SHA-256(0x10 ‖ k ‖ v)         k: map key, v: entry hash
    node_hash(l, r)    = SHA-256(0x11 ‖ l ‖ r)
    EMPTY              = 32 zero bytes

The in-memory map keeps the top ``bits`` levels of the tree as dense arrays of hashes and
key counts, and below them one *bucket* per subtree of depth ``bits``: its (key, value)
records, sorted, as one bytes object. ``bits`` follows the number of keys (1 to 2 keys a
bucket on average, decision 0012), so an update rehashes its bucket (a record or two) and
``bits`` dense nodes: O(log n). Memory at 1,000,000 keys is about 160 bytes a key: 64 of
records, the rest the dense levels (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import sys
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from ledger.errors import FormatError, InvalidInput, StateMapProofError

HASH_SIZE = 32
KEY_BITS = 256
EMPTY = bytes(HASH_SIZE)
"""The hash of an empty subtree (and the root of the empty map)."""

LEAF_TAG = b"\x10"
NODE_TAG = b"\x11"
KEY_TAG = b"\x12"
CLAIM_NAMESPACE = b"\x01"
SOURCE_NAMESPACE = b"\x02"

MAX_BUCKET_BITS = 24
"""The dense levels stop growing at 2^24 buckets, reached at 2^27 (134M) keys; beyond that
the buckets grow instead."""

_RECORD = 2 * HASH_SIZE
_sha256 = hashlib.sha256


# --- Hashing --------------------------------------------------------------------------------


def map_key(namespace: bytes, raw: bytes) -> bytes:
    """The 32-byte position of ``raw`` (a claim id or a source's SHA-256) in the map."""
    if namespace not in (CLAIM_NAMESPACE, SOURCE_NAMESPACE):
        raise InvalidInput(f"state-map namespace {namespace.hex()} is not 01 or 02")
    _check_size(raw, "raw key")
    return _sha256(KEY_TAG + namespace + raw).digest()


def claim_key(claim_id: bytes) -> bytes:
    """The map key of a claim id (the entry hash of its ``claim.extracted`` entry)."""
    _check_size(claim_id, "raw key")
    return _sha256(KEY_TAG + CLAIM_NAMESPACE + claim_id).digest()


def source_key(sha256: bytes) -> bytes:
    """The map key of a source, by the SHA-256 of its bytes."""
    _check_size(sha256, "raw key")
    return _sha256(KEY_TAG + SOURCE_NAMESPACE + sha256).digest()


def leaf_hash(key: bytes, value: bytes) -> bytes:
    """SHA-256(0x10 ‖ key ‖ value): the hash of a subtree that holds exactly this key."""
    return _sha256(LEAF_TAG + key + value).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x11 ‖ left ‖ right): a subtree with two keys or more."""
    return _sha256(NODE_TAG + left + right).digest()


def bit(key: bytes, depth: int) -> int:
    """Bit ``depth`` of ``key``, counting from 0 at the most significant bit of byte 0:
    0 sends the path left at that depth, 1 right."""
    return (key[depth >> 3] >> (7 - (depth & 7))) & 1


def _check_size(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise InvalidInput(f"state-map {what} is {len(value)} bytes, expected {HASH_SIZE}")


def subtree_hash(records: list[tuple[bytes, bytes]], depth: int) -> bytes:
    """The hash of the subtree at ``depth`` that holds ``records`` ((key, value) pairs,
    sorted by key, all sharing the path's first ``depth`` bits)."""
    if not records:
        return EMPTY
    if len(records) == 1:
        key, value = records[0]
        return _sha256(LEAF_TAG + key + value).digest()
    if len(records) == 2:  # the common case in a bucket: no recursion, no scans
        (a, va), (b, vb) = records
        return pair_hash(
            a, _sha256(LEAF_TAG + a + va).digest(), b, _sha256(LEAF_TAG + b + vb).digest(), depth
        )
    split = _split(records, depth)
    return _sha256(
        NODE_TAG
        + subtree_hash(records[:split], depth + 1)
        + subtree_hash(records[split:], depth + 1)
    ).digest()


def pair_hash(a: bytes, leaf_a: bytes, b: bytes, leaf_b: bytes, depth: int) -> bytes:
    """The hash of the subtree at ``depth`` holding exactly the keys ``a`` < ``b`` (sharing
    the path's first ``depth`` bits), from their leaf hashes: the node of the two leaves
    where the keys' bits first differ, then one one-sided node a level up to ``depth``."""
    # The first bit where the two keys differ (they share the first ``depth`` bits).
    split_at = KEY_BITS - (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_length()
    h = _sha256(NODE_TAG + leaf_a + leaf_b).digest()
    for d in range(split_at - 1, depth - 1, -1):  # one-sided nodes above the split
        if (a[d >> 3] >> (7 - (d & 7))) & 1:
            h = _sha256(NODE_TAG + EMPTY + h).digest()
        else:
            h = _sha256(NODE_TAG + h + EMPTY).digest()
    return h


def _split(records: list[tuple[bytes, bytes]], depth: int) -> int:
    """Index of the first record whose bit ``depth`` is 1 (records are sorted)."""
    index, shift = depth >> 3, 7 - (depth & 7)
    for i, (key, _) in enumerate(records):
        if (key[index] >> shift) & 1:
            return i
    return len(records)


# --- Proofs ---------------------------------------------------------------------------------


class ProofKind(IntEnum):
    """How a key's path ends; the first byte of an encoded proof."""

    EMPTY = 0
    """Absence: the path reaches an empty subtree."""
    PRESENT = 1
    """Membership: the path reaches the key's own leaf; the proof carries its value."""
    OTHER_LEAF = 2
    """Absence: the path reaches the leaf of another key sharing the path's prefix."""


@dataclass(frozen=True, slots=True)
class StateProof:
    """The path from the root to where a key's path ends.

    ``siblings[i]`` is the sibling hash at depth ``i + 1`` (the root's child first), so
    ``len(siblings)`` is the depth where the path ends; ``EMPTY`` stands for an empty
    sibling. ``value`` is set for PRESENT, ``other_key`` and ``other_value`` for OTHER_LEAF.
    """

    kind: ProofKind
    siblings: tuple[bytes, ...]
    value: bytes | None = None
    other_key: bytes | None = None
    other_value: bytes | None = None

    def __post_init__(self) -> None:
        if len(self.siblings) > KEY_BITS:
            raise InvalidInput(f"state-map proof has {len(self.siblings)} siblings, max 256")
        for i, sibling in enumerate(self.siblings):
            _check_size(sibling, f"proof sibling at depth {i + 1}")
        present = self.kind is ProofKind.PRESENT
        other = self.kind is ProofKind.OTHER_LEAF
        if (self.value is not None) != present:
            raise InvalidInput(f"state-map proof of kind {self.kind.name}: value set wrongly")
        if (self.other_key is not None) != other or (self.other_value is not None) != other:
            raise InvalidInput(f"state-map proof of kind {self.kind.name}: other leaf set wrongly")
        for field in (self.value, self.other_key, self.other_value):
            if field is not None:
                _check_size(field, "proof leaf field")

    @property
    def depth(self) -> int:
        return len(self.siblings)

    def to_bytes(self) -> bytes:
        """kind (1) ‖ depth (2, big-endian) ‖ bitmap (ceil(depth/8)) ‖ the non-empty
        siblings, top first ‖ value (PRESENT) or other key ‖ other value (OTHER_LEAF)."""
        depth = len(self.siblings)
        bitmap = 0
        listed = []
        for i, sibling in enumerate(self.siblings):
            if sibling != EMPTY:
                bitmap |= 1 << (KEY_BITS - 1 - i)
                listed.append(sibling)
        bitmap_bytes = bitmap.to_bytes(KEY_BITS // 8, "big")[: (depth + 7) // 8]
        tail = b""
        if self.value is not None:
            tail = self.value
        elif self.other_key is not None and self.other_value is not None:
            tail = self.other_key + self.other_value
        return (
            bytes([self.kind]) + depth.to_bytes(2, "big") + bitmap_bytes + b"".join(listed) + tail
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> StateProof:
        """Parse an encoded proof; raises FormatError naming the offset of what is wrong.
        Only the canonical encoding is accepted, so ``from_bytes(b).to_bytes() == b``."""

        def fail(offset: int, why: str) -> FormatError:
            return FormatError(f"state-map proof, byte {offset}: {why}")

        if len(data) < 3:
            raise fail(len(data), f"{len(data)} bytes is shorter than the 3-byte header")
        if data[0] > max(ProofKind):
            raise fail(0, f"proof kind {data[0]} is not 0, 1 or 2")
        kind = ProofKind(data[0])
        depth = int.from_bytes(data[1:3], "big")
        if depth > KEY_BITS:
            raise fail(1, f"depth {depth} is over 256")
        width = (depth + 7) // 8
        if len(data) < 3 + width:
            raise fail(len(data), "the proof ends inside the bitmap")
        bitmap = int.from_bytes(data[3 : 3 + width], "big") if width else 0
        unused = width * 8 - depth
        if bitmap & ((1 << unused) - 1):
            raise fail(2 + width, f"the bitmap's last {unused} unused bits are not zero")
        tail = {ProofKind.EMPTY: 0, ProofKind.PRESENT: 1, ProofKind.OTHER_LEAF: 2}[kind]
        expected = 3 + width + HASH_SIZE * (bitmap.bit_count() + tail)
        if len(data) != expected:
            raise fail(min(len(data), expected), f"{len(data)} bytes, expected {expected}")
        siblings = []
        offset = 3 + width
        for i in range(depth):
            if bitmap >> (width * 8 - 1 - i) & 1:
                sibling = data[offset : offset + HASH_SIZE]
                if sibling == EMPTY:
                    raise fail(offset, f"sibling at depth {i + 1} is listed but empty")
                siblings.append(sibling)
                offset += HASH_SIZE
            else:
                siblings.append(EMPTY)
        fields = [data[offset + HASH_SIZE * j : offset + HASH_SIZE * (j + 1)] for j in range(tail)]
        if kind is ProofKind.PRESENT:
            return cls(kind, tuple(siblings), value=fields[0])
        if kind is ProofKind.OTHER_LEAF:
            return cls(kind, tuple(siblings), other_key=fields[0], other_value=fields[1])
        return cls(kind, tuple(siblings))


def root_from_proof(key: bytes, proof: StateProof) -> bytes:
    """The root a proof implies for ``key``; raises StateMapProofError if the proof could
    not come from a canonical tree (wrong other leaf, a path ending beside an empty
    subtree)."""
    _check_size(key, "key")
    depth = proof.depth
    where = f"state-map proof for key {key.hex()} (depth {depth})"
    if proof.kind is ProofKind.PRESENT:
        assert proof.value is not None
        h = leaf_hash(key, proof.value)
    elif proof.kind is ProofKind.OTHER_LEAF:
        assert proof.other_key is not None and proof.other_value is not None
        other = proof.other_key
        if other == key:
            raise StateMapProofError(
                f"{where}: the other leaf is the key itself", key=key, depth=depth
            )
        if depth and (int.from_bytes(other, "big") ^ int.from_bytes(key, "big")) >> (
            KEY_BITS - depth
        ):
            raise StateMapProofError(
                f"{where}: the other leaf's key {other.hex()} is not on the path "
                f"(it differs in the first {depth} bits)",
                key=key,
                depth=depth,
            )
        h = leaf_hash(other, proof.other_value)
    else:
        h = EMPTY
    if depth and proof.siblings[-1] == EMPTY:
        raise StateMapProofError(
            f"{where}: the sibling at depth {depth} is empty, so the path would end one "
            "level higher in a canonical tree",
            key=key,
            depth=depth,
        )
    for d in range(depth, 0, -1):
        sibling = proof.siblings[d - 1]
        if (key[(d - 1) >> 3] >> (7 - ((d - 1) & 7))) & 1:
            h = _sha256(NODE_TAG + sibling + h).digest()
        else:
            h = _sha256(NODE_TAG + h + sibling).digest()
    return h


def verify_proof(root: bytes, key: bytes, proof: StateProof) -> bytes | None:
    """The value ``key`` has under ``root`` (None: absent), if the proof verifies;
    otherwise raises StateMapProofError naming the key, the depth and what failed."""
    _check_size(root, "root")
    computed = root_from_proof(key, proof)
    if computed != root:
        raise StateMapProofError(
            f"state-map proof for key {key.hex()} ({proof.kind.name}, depth {proof.depth}) "
            f"computes root {computed.hex()}, expected {root.hex()}",
            key=key,
            depth=proof.depth,
        )
    return proof.value


def verify_membership(root: bytes, key: bytes, value: bytes, proof: StateProof) -> None:
    """Raises StateMapProofError unless the proof shows ``key`` → ``value`` under ``root``."""
    found = verify_proof(root, key, proof)
    if found != value:
        shown = "absent" if found is None else f"maps to {found.hex()}"
        raise StateMapProofError(
            f"state-map proof for key {key.hex()}: expected value {value.hex()}, the key {shown}",
            key=key,
            depth=proof.depth,
        )


def verify_absence(root: bytes, key: bytes, proof: StateProof) -> None:
    """Raises StateMapProofError unless the proof shows ``key`` absent under ``root``."""
    found = verify_proof(root, key, proof)
    if found is not None:
        raise StateMapProofError(
            f"state-map proof for key {key.hex()}: expected absence, the key maps to {found.hex()}",
            key=key,
            depth=proof.depth,
        )


# --- The map --------------------------------------------------------------------------------


def bucket_bits_for(count: int) -> int:
    """Dense levels for ``count`` keys: 1 to 2 keys a bucket on average, so an update
    rehashes little more than its own path (a map that grows is rebuilt with one level
    more than this, so it is rebuilt each time it quadruples, not doubles)."""
    return min(MAX_BUCKET_BITS, max(0, count.bit_length() - 1))


def _records(blob: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (blob[i : i + HASH_SIZE], blob[i + HASH_SIZE : i + _RECORD])
        for i in range(0, len(blob), _RECORD)
    ]


class StateMap:
    """A mutable map of 32-byte keys to 32-byte values with a Merkle root and proofs."""

    __slots__ = ("_bits", "_buckets", "_count", "_counts", "_fixed", "_lean", "_levels")

    def __init__(
        self,
        pairs: Iterable[tuple[bytes, bytes]] = (),
        *,
        bits: int | None = None,
        lean: bool = False,
    ) -> None:
        """Build from (key, value) pairs (a key given twice keeps its last value).
        ``bits`` fixes the dense levels (tests, or a server sizing the map ahead); by default
        they follow the key count. ``lean``: 4 to 8 keys a bucket instead of 1 to 2, about
        90 bytes a key instead of 160, updates about half as fast again (verification,
        which needs roots, not fast appends)."""
        self._lean = lean
        latest: dict[bytes, bytes] = {}
        for key, value in pairs:
            _check_size(key, "key")
            _check_size(value, "value")
            latest[key] = value
        self._rebuild(sorted(latest.items()), bits)
        self._fixed = bits is not None

    def _rebuild(self, records: list[tuple[bytes, bytes]], bits: int | None) -> None:
        self._count = len(records)
        self._bits = b = self._bits_for(len(records)) if bits is None else bits
        if not 0 <= b <= MAX_BUCKET_BITS:
            raise InvalidInput(f"state-map bucket bits {b} is not in 0..{MAX_BUCKET_BITS}")
        size = 1 << b
        buckets: list[bytes] = [b""] * size
        hashes: list[bytes] = [EMPTY] * size
        counts: list[int] = [0] * size
        shift = 32 - b
        from_bytes = int.from_bytes
        groups: dict[int, list[tuple[bytes, bytes]]] = {}
        for record in records:  # sorted, so each bucket's records stay sorted
            index = from_bytes(record[0][:4], "big") >> shift
            group = groups.get(index)
            if group is None:
                groups[index] = [record]
            else:
                group.append(record)
        sha = _sha256
        for index, group in groups.items():
            counts[index] = len(group)
            if len(group) == 1:  # most buckets: one record, its leaf hash
                key, value = group[0]
                buckets[index] = key + value
                hashes[index] = sha(LEAF_TAG + key + value).digest()
            else:
                buckets[index] = b"".join([k + v for k, v in group])
                hashes[index] = subtree_hash(group, b)
        levels = [hashes]
        level_counts = [counts]
        for _ in range(b):  # each level from the one below: ``_combine``, inlined
            below, below_counts = levels[-1], level_counts[-1]
            lefts, rights = below_counts[0::2], below_counts[1::2]
            levels.append(
                [
                    sha(NODE_TAG + left + right).digest()
                    if nl + nr >= 2
                    else (left if nl else right)
                    for left, right, nl, nr in zip(
                        below[0::2], below[1::2], lefts, rights, strict=True
                    )
                ]
            )
            level_counts.append([nl + nr for nl, nr in zip(lefts, rights, strict=True)])
        levels.reverse()
        level_counts.reverse()
        self._buckets = buckets
        self._levels = levels  # _levels[t][p]: hash of the subtree at depth t, prefix p
        self._counts = level_counts

    def __len__(self) -> int:
        return self._count

    def _bits_for(self, count: int) -> int:
        return max(0, bucket_bits_for(count) - 2) if self._lean else bucket_bits_for(count)

    @property
    def bits(self) -> int:
        """How many top levels are kept as dense arrays (buckets sit at this depth)."""
        return self._bits

    @property
    def root(self) -> bytes:
        return self._levels[0][0]

    def _bucket_of(self, key: bytes) -> int:
        return int.from_bytes(key[:4], "big") >> (32 - self._bits)

    def memory_bytes(self) -> int:
        """Bytes held by the map's own objects (``sys.getsizeof``; hashes shared by several
        positions, such as ``EMPTY``, counted once)."""
        seen: set[int] = set()
        rows: list[list[bytes] | list[int]] = [self._buckets, *self._levels, *self._counts]
        total = sys.getsizeof(self._levels) + sys.getsizeof(self._counts)
        for row in rows:
            total += sys.getsizeof(row)
            for item in row:
                if id(item) not in seen:
                    seen.add(id(item))
                    total += sys.getsizeof(item)
        return total

    def get(self, key: bytes) -> bytes | None:
        _check_size(key, "key")
        blob = self._buckets[self._bucket_of(key)]
        for i in range(0, len(blob), _RECORD):
            if blob[i : i + HASH_SIZE] == key:
                return blob[i + HASH_SIZE : i + _RECORD]
        return None

    def items(self) -> list[tuple[bytes, bytes]]:
        """Every (key, value) pair, sorted by key."""
        return [pair for blob in self._buckets for pair in _records(blob)]

    def set(self, key: bytes, value: bytes) -> None:
        """Insert ``key`` or replace its value."""
        self.update(((key, value),))

    def remove(self, key: bytes) -> None:
        """Delete ``key`` if present (undoing an insert: ``ledger.statelog`` rewinds a map to
        an earlier tree size this way)."""
        self.update(((key, None),))

    def update(self, pairs: Iterable[tuple[bytes, bytes | None]]) -> list[bytes | None]:
        """Insert or replace keys (an append batch's worth at once); a value of None
        deletes the key. Each bucket touched is rehashed once, then each dense node above
        the touched buckets once, level by level (the touched positions kept sorted, so a
        node's two children come one after the other), so one key costs O(log n) hashes
        and a batch shares the nodes near the root. When the key count doubles past what
        the dense levels were sized for, the map is rebuilt with one more level (amortized
        O(1) a key); deletes never shrink the dense levels (the root does not depend on
        them). Nothing changes if a pair is malformed. Returns each pair's key's value
        before that pair (None: absent), in order, for an undo log."""
        writes = list(pairs)
        for key, value in writes:
            if len(key) != HASH_SIZE:
                _check_size(key, "key")
            if value is not None and len(value) != HASH_SIZE:
                _check_size(value, "value")
        previous: list[bytes | None] = []
        add = previous.append
        buckets = self._buckets
        shift = 32 - self._bits
        from_bytes = int.from_bytes
        touched: dict[int, list[tuple[bytes, bytes]]] = {}
        kept: dict[int, bytes] = {}
        """Buckets that held one record before this update: that record (key ‖ value), whose
        leaf hash is the bucket's hash (so it need not be hashed again if it stays)."""
        count = self._count
        for key, value in writes:
            index = from_bytes(key[:4], "big") >> shift
            records = touched.get(index)
            if records is None:
                blob = buckets[index]
                if not blob:  # the common case as a map grows: a new key, an empty bucket
                    if value is None:
                        add(None)
                    else:
                        touched[index] = [(key, value)]
                        count += 1
                        add(None)
                    continue
                if len(blob) == _RECORD:
                    kept[index] = blob
                records = touched[index] = _records(blob)
            position = bisect_left(records, (key,))
            found = position < len(records) and records[position][0] == key
            add(records[position][1] if found else None)
            if value is None:
                if found:
                    del records[position]
                    count -= 1
            elif found:
                records[position] = (key, value)
            else:
                records.insert(position, (key, value))
                count += 1
        self._count = count
        if not self._fixed and self._bits_for(count) > self._bits:
            for index, records in touched.items():
                buckets[index] = b"".join([k + v for k, v in records])
            self._rebuild(self.items(), min(MAX_BUCKET_BITS, self._bits_for(count) + 1))
            return previous
        b, levels, counts = self._bits, self._levels, self._counts
        sha = _sha256
        hashes, sizes = levels[b], counts[b]
        for index, records in touched.items():  # each bucket stored and hashed once
            n = sizes[index] = len(records)
            if n == 1:
                key, value = records[0]
                buckets[index] = key + value
                hashes[index] = sha(LEAF_TAG + key + value).digest()
                continue
            buckets[index] = blob = b"".join([k + v for k, v in records])
            old = kept.get(index)
            # A bucket that held one record and now holds it and one more (a new key landing
            # beside an old one, as a map grows): the old leaf's hash is the bucket's hash.
            if n == 2 and old is not None and (old == blob[:_RECORD] or old == blob[_RECORD:]):
                key_a, key_b = records[0][0], records[1][0]
                if old == blob[:_RECORD]:
                    leaf_a = hashes[index]
                    leaf_b = sha(LEAF_TAG + blob[_RECORD:]).digest()
                else:
                    leaf_a = sha(LEAF_TAG + blob[:_RECORD]).digest()
                    leaf_b = hashes[index]
                hashes[index] = pair_hash(key_a, leaf_a, key_b, leaf_b, b)
            else:
                hashes[index] = subtree_hash(records, b)
        dirty = sorted(touched)
        for t in range(b, 0, -1):
            below, below_counts, up, up_counts = levels[t], counts[t], levels[t - 1], counts[t - 1]
            last = -1
            parents = []
            for index in dirty:  # sorted: a parent's two children come together
                parent = index >> 1
                if parent == last:
                    continue
                last = parent
                parents.append(parent)
                i = index & ~1
                left, right = below_counts[i], below_counts[i + 1]
                if left + right >= 2:  # _combine, inlined: this loop is the update's hot path
                    up[parent] = sha(NODE_TAG + below[i] + below[i + 1]).digest()
                else:
                    up[parent] = below[i] if left else below[i + 1]
                up_counts[parent] = left + right
            dirty = parents
        return previous

    def prove(self, key: bytes) -> StateProof:
        """A proof of the value of ``key`` (membership) or of its absence."""
        _check_size(key, "key")
        b = self._bits
        index = self._bucket_of(key)
        siblings: list[bytes] = []
        for t in range(b + 1):
            p = index >> (b - t)
            count = self._counts[t][p]
            if count == 0:
                return StateProof(ProofKind.EMPTY, tuple(siblings))
            if count == 1:
                for u in range(t, b):  # down to the bucket of the subtree's one key
                    p = 2 * p + (1 if self._counts[u + 1][2 * p] == 0 else 0)
                return _leaf_proof(key, siblings, _records(self._buckets[p])[0])
            if t < b:
                siblings.append(self._levels[t + 1][(index >> (b - t - 1)) ^ 1])
        records = _records(self._buckets[index])
        depth = b
        while True:  # inside the bucket: two records or more share the path so far
            split = _split(records, depth)
            if bit(key, depth):
                own, other = records[split:], records[:split]
            else:
                own, other = records[:split], records[split:]
            siblings.append(subtree_hash(other, depth + 1))
            depth += 1
            if not own:
                return StateProof(ProofKind.EMPTY, tuple(siblings))
            if len(own) == 1:
                return _leaf_proof(key, siblings, own[0])
            records = own


def _combine(left: bytes, right: bytes, left_count: int, right_count: int) -> bytes:
    """The hash of a subtree from its halves' hashes and key counts."""
    if left_count + right_count >= 2:
        return _sha256(NODE_TAG + left + right).digest()
    return left if left_count else right  # one leaf moves up as it is; none is EMPTY


def _leaf_proof(key: bytes, siblings: list[bytes], record: tuple[bytes, bytes]) -> StateProof:
    found, value = record
    if found == key:
        return StateProof(ProofKind.PRESENT, tuple(siblings), value=value)
    return StateProof(ProofKind.OTHER_LEAF, tuple(siblings), other_key=found, other_value=value)


def state_root(pairs: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The root of the map holding ``pairs``."""
    return StateMap(pairs).root
