"""Property tests: the optimized Merkle code agrees with the RFC 9162 reference, and every
proof it makes verifies while every tampered one is refused."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import ProofError, VerificationError
from ledger.merkle import (
    DictNodeReader,
    Frontier,
    Hash,
    NodeId,
    consistency_proof,
    consistency_proof_length,
    frontier_ids,
    inclusion_proof,
    inclusion_proof_length,
    integrate,
    integrate_inner,
    leaf_hash,
    reference_consistency_proof,
    reference_inclusion_proof,
    reference_root,
    root_at,
    verify_consistency,
    verify_inclusion,
)

MAX_LEAVES = 1100
LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_LEAVES)]
FULL_TREE = DictNodeReader.from_leaves(LEAVES)
_ROOTS: dict[int, Hash] = {}

small_sizes = st.integers(min_value=0, max_value=300)
sizes = st.one_of(small_sizes, st.sampled_from([511, 512, 513, 767, 1023, 1024, 1025, 1099]))
nonempty_sizes = sizes.filter(lambda n: n > 0)


def ref_root(size: int) -> Hash:
    if size not in _ROOTS:
        _ROOTS[size] = reference_root(LEAVES[:size])
    return _ROOTS[size]


class PrefixReader:
    """FULL_TREE seen as the tree of its first `size` leaves: reading a node that reaches past
    `size` fails the test, and calls are counted."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.calls = 0

    def read_nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, Hash]:
        self.calls += 1
        for level, index in ids:
            assert (index + 1) << level <= self.size, f"read ({level}, {index}) past {self.size}"
        return FULL_TREE.read_nodes(ids)


def flip_bit(value: bytes, bit: int) -> Hash:
    bit %= len(value) * 8
    data = bytearray(value)
    data[bit // 8] ^= 1 << (bit % 8)
    return Hash(bytes(data))


def inclusion_shape(index: int, size: int) -> tuple[bool, ...] | None:
    """Sibling sides bottom-up (True = sibling on the left), from RFC PATH's recursion.
    Two (index, size) pairs with one shape hash a proof identically."""
    if not 0 <= index < size:
        return None
    sides: list[bool] = []
    while size > 1:
        k = 1 << ((size - 1).bit_length() - 1)
        sides.append(index >= k)
        index, size = (index - k, size - k) if index >= k else (index, k)
    return tuple(reversed(sides))


def consistency_shape(old: int, new: int) -> tuple[bool, tuple[bool, ...]] | None:
    """(old tree is one subtree, sibling sides bottom-up), from RFC SUBPROOF's recursion."""
    if not 0 < old < new:
        return None
    sides: list[bool] = []
    whole = True
    while old != new:
        k = 1 << ((new - 1).bit_length() - 1)
        sides.append(old > k)
        if old > k:
            old, new, whole = old - k, new - k, False
        else:
            new = k
    return whole, tuple(reversed(sides))


# --- Agreement with the reference ---------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(size=sizes)
def test_root_matches_reference(size: int) -> None:
    reader = PrefixReader(size)
    assert root_at(size, reader) == ref_root(size)
    assert reader.calls <= 1
    frontier = Frontier()
    for leaf in LEAVES[:size]:
        frontier.append(leaf)
    assert frontier.root() == ref_root(size)
    assert len(frontier.hashes) == size.bit_count()


@settings(max_examples=60, deadline=None)
@given(size=nonempty_sizes, data=st.data())
def test_inclusion_matches_reference(size: int, data: st.DataObject) -> None:
    indices = data.draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=4))
    for index in [*indices, 0, size - 1]:
        reader = PrefixReader(size)
        proof = inclusion_proof(index, size, reader)
        assert proof == reference_inclusion_proof(index, LEAVES[:size])
        assert len(proof) == inclusion_proof_length(index, size)
        assert reader.calls <= 1
        verify_inclusion(LEAVES[index], index, size, proof, ref_root(size))


@settings(max_examples=25, deadline=None)
@given(size=st.integers(1, 160))
def test_every_inclusion_proof_verifies(size: int) -> None:
    for index in range(size):
        proof = inclusion_proof(index, size, PrefixReader(size))
        verify_inclusion(LEAVES[index], index, size, proof, ref_root(size))


@settings(max_examples=60, deadline=None)
@given(new=sizes, data=st.data())
def test_consistency_matches_reference(new: int, data: st.DataObject) -> None:
    olds = data.draw(st.lists(st.integers(0, new), min_size=1, max_size=4))
    for old in [*olds, 0, new, max(new - 1, 0)]:
        reader = PrefixReader(new)
        proof = consistency_proof(old, new, reader)
        assert proof == reference_consistency_proof(old, LEAVES[:new])
        assert len(proof) == consistency_proof_length(old, new)
        assert reader.calls <= 1
        verify_consistency(old, new, proof, ref_root(old), ref_root(new))


@settings(max_examples=20, deadline=None)
@given(new=st.integers(0, 130))
def test_every_consistency_proof_verifies(new: int) -> None:
    for old in range(new + 1):
        proof = consistency_proof(old, new, PrefixReader(new))
        verify_consistency(old, new, proof, ref_root(old), ref_root(new))


# --- integrate() --------------------------------------------------------------------------


def perfect_nodes(size: int) -> dict[NodeId, Hash]:
    """Every perfect subtree of the first `size` leaves, by the reference definition."""
    nodes: dict[NodeId, Hash] = {}
    level = 0
    while 1 << level <= size:
        for index in range(size >> level):
            nodes[(level, index)] = reference_root(LEAVES[index << level : (index + 1) << level])
        level += 1
    return nodes


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 200), data=st.data())
def test_integrate_in_batches_matches_one_batch_and_reference(
    size: int, data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, size), max_size=8)))
    stored: dict[NodeId, Hash] = {}
    done = 0
    frontier: tuple[Hash, ...] = ()
    root = ref_root(0)
    for cut in [*cuts, size]:
        step = integrate(done, frontier, LEAVES[done:cut])
        for node in step.nodes:
            assert node.id not in stored, f"node {node.id} produced twice"
            stored[node.id] = node.hash
        done, frontier, root = step.size, step.frontier, step.root
        assert frontier == tuple(stored[i] for i in frontier_ids(done))
        assert root == ref_root(done)
    whole = integrate(0, [], LEAVES[:size])
    assert stored == {n.id: n.hash for n in whole.nodes} == perfect_nodes(size)
    assert root == whole.root == ref_root(size)


@settings(max_examples=60, deadline=None)
@given(old_size=st.integers(0, 700), count=st.integers(0, 400))
def test_integrate_inner_gives_integrates_inner_nodes_frontier_and_root(
    old_size: int, count: int
) -> None:
    """The append path's loop against its reference, ``integrate``."""
    frontier = [FULL_TREE.read_nodes([i])[i] for i in frontier_ids(old_size)]
    new = LEAVES[old_size : old_size + count]
    fast = integrate_inner(old_size, frontier, new)
    plain = integrate(old_size, frontier, new)
    assert fast.nodes == tuple(n for n in plain.nodes if n.level)
    assert (fast.size, fast.frontier, fast.root) == (plain.size, plain.frontier, plain.root)


def test_integrate_inner_refuses_a_leaf_of_the_wrong_size() -> None:
    frontier = [FULL_TREE.read_nodes([i])[i] for i in frontier_ids(3)]
    with pytest.raises(VerificationError, match="leaf hash 3 is 31 bytes"):
        integrate_inner(3, frontier, [Hash(b"x" * 31)])


# --- Tampering is refused -----------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(size=nonempty_sizes, data=st.data())
def test_tampered_inclusion_is_refused(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, FULL_TREE)
    leaf, root = LEAVES[index], ref_root(size)
    bit = data.draw(st.integers(0, 255))
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:at], flip_bit(proof[at], bit), *proof[at + 1 :]]
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, bad, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, proof[:at] + proof[at + 1 :], root)
    with pytest.raises(ProofError):
        verify_inclusion(flip_bit(leaf, bit), index, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, flip_bit(root, bit))
    extra = data.draw(st.sampled_from([leaf, root, LEAVES[-1]]))
    at = data.draw(st.integers(0, len(proof)))
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, [*proof[:at], extra, *proof[at:]], root)
    other_index = data.draw(st.integers(-2, size + 2).filter(lambda i: i != index))
    with pytest.raises(ProofError):
        verify_inclusion(leaf, other_index, size, proof, root)


@settings(max_examples=150, deadline=None)
@given(size=nonempty_sizes, data=st.data())
def test_changed_size_is_refused_unless_same_hashing_path(size: int, data: st.DataObject) -> None:
    """RFC 6962 proofs bind the size only through the hashing path: a size with the same path
    reproduces the root (the signed checkpoint is what pins the size)."""
    index = data.draw(st.integers(0, size - 1))
    other = data.draw(st.integers(-1, 2 * size + 2).filter(lambda n: n != size))
    proof = inclusion_proof(index, size, FULL_TREE)
    if inclusion_shape(index, other) == inclusion_shape(index, size):
        verify_inclusion(LEAVES[index], index, other, proof, ref_root(size))
    else:
        with pytest.raises(ProofError):
            verify_inclusion(LEAVES[index], index, other, proof, ref_root(size))


@settings(max_examples=150, deadline=None)
@given(new=sizes.filter(lambda n: n >= 2), data=st.data())
def test_tampered_consistency_is_refused(new: int, data: st.DataObject) -> None:
    old = data.draw(st.integers(1, new - 1))
    proof = consistency_proof(old, new, FULL_TREE)
    r1, r2 = ref_root(old), ref_root(new)
    bit = data.draw(st.integers(0, 255))
    at = data.draw(st.integers(0, len(proof) - 1))
    bad = [*proof[:at], flip_bit(proof[at], bit), *proof[at + 1 :]]
    for args in [
        (bad, r1, r2),
        (proof[:at] + proof[at + 1 :], r1, r2),
        ([*proof[:at], r1, *proof[at:]], r1, r2),
        ([*proof, r2], r1, r2),
        (proof, flip_bit(r1, bit), r2),
        (proof, r1, flip_bit(r2, bit)),
        (proof, r2, r1),
    ]:
        with pytest.raises(ProofError):
            verify_consistency(old, new, *args)


@settings(max_examples=150, deadline=None)
@given(new=sizes.filter(lambda n: n >= 2), data=st.data())
def test_changed_consistency_sizes_refused_unless_same_path(new: int, data: st.DataObject) -> None:
    old = data.draw(st.integers(1, new - 1))
    old2 = data.draw(st.integers(-1, new + 2))
    new2 = data.draw(st.integers(-1, 2 * new + 2))
    if (old2, new2) == (old, new):
        return
    proof = consistency_proof(old, new, FULL_TREE)
    args = (proof, ref_root(old), ref_root(new))
    if consistency_shape(old2, new2) == consistency_shape(old, new):
        verify_consistency(old2, new2, *args)
    else:
        with pytest.raises(ProofError):
            verify_consistency(old2, new2, *args)


@given(size=st.integers(-3, 50), index=st.integers(-3, 60))
def test_out_of_range_arguments_raise(size: int, index: int) -> None:
    if 0 <= index < size:
        return
    with pytest.raises(ProofError):
        inclusion_proof(index, size, FULL_TREE)
    with pytest.raises(ProofError):
        verify_inclusion(LEAVES[0], index, size, [], LEAVES[0])
    with pytest.raises(ProofError):
        inclusion_proof_length(index, size)
    if not 0 <= index <= size:
        with pytest.raises(ProofError):
            consistency_proof(index, size, FULL_TREE)
        with pytest.raises(ProofError):
            consistency_proof_length(index, size)
        with pytest.raises(ProofError):
            verify_consistency(index, size, [], LEAVES[0], LEAVES[0])
