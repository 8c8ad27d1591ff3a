"""A plain reference for the claim-state map, transcribed from docs/formats/state-map.md
and slow on purpose: dicts split bit by bit, hashes spelled out with their tag bytes. The
property tests compare ledger.statemap's bucketed tree with it."""

from __future__ import annotations

import hashlib

EMPTY = bytes(32)


def ref_bit(key: bytes, depth: int) -> int:
    return (int.from_bytes(key, "big") >> (255 - depth)) & 1


def ref_leaf(key: bytes, value: bytes) -> bytes:
    return hashlib.sha256(b"\x10" + key + value).digest()


def ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x11" + left + right).digest()


def ref_hash(pairs: dict[bytes, bytes], depth: int = 0) -> bytes:
    """The hash of the subtree at `depth` holding `pairs` (all on one path so far)."""
    if not pairs:
        return EMPTY
    if len(pairs) == 1:
        ((key, value),) = pairs.items()
        return ref_leaf(key, value)
    left = {k: v for k, v in pairs.items() if ref_bit(k, depth) == 0}
    right = {k: v for k, v in pairs.items() if ref_bit(k, depth) == 1}
    return ref_node(ref_hash(left, depth + 1), ref_hash(right, depth + 1))


def ref_proof(pairs: dict[bytes, bytes], key: bytes) -> tuple[int, list[bytes], bytes, bytes]:
    """(kind, siblings top first with EMPTY kept, tail fields) of `key`'s proof."""
    siblings: list[bytes] = []
    depth, current = 0, pairs
    while len(current) >= 2:
        own = {k: v for k, v in current.items() if ref_bit(k, depth) == ref_bit(key, depth)}
        other = {k: v for k, v in current.items() if k not in own}
        siblings.append(ref_hash(other, depth + 1))
        depth, current = depth + 1, own
    if not current:
        return 0, siblings, b"", b""
    ((found, value),) = current.items()
    if found == key:
        return 1, siblings, value, b""
    return 2, siblings, found, value


def ref_encode(kind: int, siblings: list[bytes], first: bytes, second: bytes) -> bytes:
    """The proof bytes, written out bit by bit."""
    bits = "".join("0" if s == EMPTY else "1" for s in siblings)
    bits += "0" * (-len(bits) % 8)
    bitmap = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
    listed = b"".join(s for s in siblings if s != EMPTY)
    return bytes([kind]) + len(siblings).to_bytes(2, "big") + bitmap + listed + first + second


def ref_verify(root: bytes, key: bytes, data: bytes) -> tuple[bool, bytes | None]:
    """docs/formats/state-map.md §3 "Bytes" and "Verifying", step by step, on raw bytes:
    (accepted, value; None for an absence)."""
    implied = ref_fold(key, data, checks=True)
    if implied is None or implied[0] != root:
        return False, None
    return True, implied[1]


def ref_fold(key: bytes, data: bytes, *, checks: bool) -> tuple[bytes, bytes | None] | None:
    """(the root the proof bytes imply, the value shown) or None if they are refused;
    without `checks`, the canonical-shape checks (steps 3 and 4) are skipped: a forger's
    root for a tree no honest map builds."""
    if len(data) < 3 or data[0] not in (0, 1, 2):
        return None
    kind, depth = data[0], int.from_bytes(data[1:3], "big")
    if depth > 256:
        return None
    width = (depth + 7) // 8
    bits = "".join(f"{b:08b}" for b in data[3 : 3 + width])
    if len(bits) != 8 * width or "1" in bits[depth:]:
        return None
    tail = [0, 1, 2][kind]
    if len(data) != 3 + width + 32 * (bits.count("1") + tail):
        return None
    siblings, offset = [], 3 + width
    for i in range(depth):
        if bits[i] == "1":
            if data[offset : offset + 32] == EMPTY:
                return None
            siblings.append(data[offset : offset + 32])
            offset += 32
        else:
            siblings.append(EMPTY)
    fields = [data[offset + 32 * j : offset + 32 * (j + 1)] for j in range(tail)]
    value: bytes | None = None
    if kind == 0:
        h = EMPTY
    elif kind == 1:
        value = fields[0]
        h = ref_leaf(key, value)
    else:
        other = fields[0]
        off_path = any(ref_bit(other, i) != ref_bit(key, i) for i in range(depth))
        if other == key or (checks and off_path):
            return None
        h = ref_leaf(other, fields[1])
    if checks and depth > 0 and siblings[depth - 1] == EMPTY:
        return None
    for d in range(depth, 0, -1):
        s = siblings[d - 1]
        h = ref_node(s, h) if ref_bit(key, d - 1) else ref_node(h, s)
    return h, value
