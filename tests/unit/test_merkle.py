"""Known-answer and edge-case tests for ledger.merkle (RFC 9162 / RFC 6962 hashing)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from ledger.errors import ProofError, VerificationError
from ledger.merkle import (
    EMPTY_ROOT,
    DictNodeReader,
    Frontier,
    Hash,
    NodeId,
    consistency_proof,
    consistency_proof_ids,
    frontier_ids,
    inclusion_proof,
    inclusion_proof_ids,
    integrate,
    leaf_hash,
    node_hash,
    reference_consistency_proof,
    reference_inclusion_proof,
    reference_root,
    root_at,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)


def h(hex_text: str) -> Hash:
    return Hash(bytes.fromhex(hex_text))


# The Certificate Transparency test tree (RFC 6962 test suites, e.g. transparency-dev/merkle
# proof/verify_test.go and google/certificate-transparency-go).
CT_LEAF_DATA = [
    bytes.fromhex(x)
    for x in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_LEAVES = [leaf_hash(d) for d in CT_LEAF_DATA]
CT_ROOTS = [  # root of the first n leaves, n = 1..8
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
# (index, size, proof)
CT_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]
# (old size, new size, proof)
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")
CT_READER = DictNodeReader.from_leaves(CT_LEAVES)


def test_empty_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert reference_root([]) == EMPTY_ROOT
    assert root_at(0, CT_READER) == EMPTY_ROOT
    assert Frontier().root() == EMPTY_ROOT


def test_leaf_and_node_hash_domain_separation() -> None:
    assert leaf_hash(b"").hex() == CT_ROOTS[0].hex()
    assert node_hash(CT_LEAVES[0], CT_LEAVES[1]) == CT_ROOTS[1]


@pytest.mark.parametrize("size", range(1, 9))
def test_ct_roots(size: int) -> None:
    expected = CT_ROOTS[size - 1]
    assert reference_root(CT_LEAVES[:size]) == expected
    assert root_at(size, CT_READER) == expected
    assert integrate(0, [], CT_LEAVES[:size]).root == expected


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_ct_inclusion_proofs(index: int, size: int, proof: list[Hash]) -> None:
    assert reference_inclusion_proof(index, CT_LEAVES[:size]) == proof
    assert inclusion_proof(index, size, CT_READER) == proof
    verify_inclusion(CT_LEAVES[index], index, size, proof, CT_ROOTS[size - 1])
    assert root_from_inclusion_proof(CT_LEAVES[index], index, size, proof) == CT_ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), [c for c in CT_INCLUSION if c[2]])
def test_an_inclusion_proof_with_a_short_hash_implies_no_root(
    index: int, size: int, proof: list[Hash]
) -> None:
    """root_from_inclusion_proof refuses a malformed proof itself, not only verify_inclusion."""
    for i in range(len(proof)):
        bad = [*proof[:i], Hash(proof[i][:31]), *proof[i + 1 :]]
        with pytest.raises(ProofError, match=rf"inclusion proof\[{i}\] is 31 bytes"):
            root_from_inclusion_proof(CT_LEAVES[index], index, size, bad)


@pytest.mark.parametrize(("old", "new", "proof"), CT_CONSISTENCY)
def test_ct_consistency_proofs(old: int, new: int, proof: list[Hash]) -> None:
    assert reference_consistency_proof(old, CT_LEAVES[:new]) == proof
    assert consistency_proof(old, new, CT_READER) == proof
    verify_consistency(old, new, proof, CT_ROOTS[old - 1], CT_ROOTS[new - 1])


def _flip(value: bytes) -> Hash:
    return Hash(bytes([value[0] ^ 8]) + value[1:])


def _inclusion_probes(index: int, size: int, proof: list[Hash]) -> list[tuple[object, ...]]:
    """Corruptions in the style of transparency-dev/merkle's verifier tests."""
    leaf, root = CT_LEAVES[index], CT_ROOTS[size - 1]
    probes: list[tuple[object, ...]] = [
        (leaf, index - 1, size, proof, root),
        (leaf, index + 1, size, proof, root),
        (leaf, index ^ 2, size, proof, root),
        (leaf, index, size * 2, proof, root),
        (leaf, index, size // 2, proof, root),
        (leaf_hash(b"WrongLeaf"), index, size, proof, root),
        (leaf, index, size, proof, EMPTY_ROOT),
        (leaf, index, size, proof, SOME_HASH),
        (leaf, index, size, [*proof, Hash(b"")], root),
        (leaf, index, size, [*proof, root], root),
        (leaf, index, size, [Hash(b""), *proof], root),
        (leaf, index, size, [root, *proof], root),
    ]
    for i in range(len(proof)):
        probes.append((leaf, index, size, [*proof[:i], _flip(proof[i]), *proof[i + 1 :]], root))
    if proof:
        probes.append((leaf, index, size, proof[:-1], root))
    if len(proof) > 1:
        probes.append((leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root))
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION[1:])
def test_ct_inclusion_corruptions_rejected(index: int, size: int, proof: list[Hash]) -> None:
    for probe in _inclusion_probes(index, size, proof):
        with pytest.raises(ProofError):
            verify_inclusion(*probe)  # type: ignore[arg-type]


@pytest.mark.parametrize(("old", "new", "proof"), CT_CONSISTENCY[1:])
def test_ct_consistency_corruptions_rejected(old: int, new: int, proof: list[Hash]) -> None:
    r1, r2 = CT_ROOTS[old - 1], CT_ROOTS[new - 1]
    probes: list[tuple[int, int, Sequence[Hash], Hash, Hash]] = [
        (old - 1, new, proof, r1, r2),
        (old + 1, new, proof, r1, r2),
        (old ^ 2, new, proof, r1, r2),
        (old, new * 2, proof, r1, r2),
        (old, new // 2, proof, r1, r2),
        (old, new, proof, Hash(b"WrongRoot"), r2),
        (old, new, proof, r1, Hash(b"WrongRoot")),
        (old, new, proof, r2, r1),
        (old, new, [], r1, r2),
        (old, new, [*proof, Hash(b"")], r1, r2),
        (old, new, [*proof, r1], r1, r2),
        (old, new, [*proof, r2], r1, r2),
        (old, new, [Hash(b""), *proof], r1, r2),
        (old, new, [r1, *proof], r1, r2),
        (old, new, [r2, *proof], r1, r2),
        (old, new, [proof[0], *proof], r1, r2),
        (old, new, proof[:-1], r1, r2),
    ]
    for i in range(len(proof)):
        probes.append((old, new, [*proof[:i], _flip(proof[i]), *proof[i + 1 :]], r1, r2))
    for probe in probes:
        with pytest.raises(ProofError):
            verify_consistency(*probe)


def test_single_entry_inclusion() -> None:
    leaf = leaf_hash(b"data")
    verify_inclusion(leaf, 0, 1, [], leaf)
    for bad_leaf, bad_root in [(leaf, Hash(b"")), (Hash(b""), leaf), (Hash(b""), Hash(b""))]:
        with pytest.raises(ProofError):
            verify_inclusion(bad_leaf, 0, 1, [], bad_root)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (-1, 5), (5, 5)])
def test_inclusion_out_of_range(index: int, size: int) -> None:
    with pytest.raises(ProofError, match=f"index {index}"):
        verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
    with pytest.raises(ProofError):
        inclusion_proof(index, size, CT_READER)
    with pytest.raises(ProofError):
        reference_inclusion_proof(index, CT_LEAVES[: max(size, 0)])


def test_consistency_trivial_cases() -> None:
    leaf = CT_LEAVES[0]
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(0, 1, [], EMPTY_ROOT, leaf)
    verify_consistency(1, 1, [], leaf, leaf)
    verify_consistency(8, 8, [], CT_ROOTS[7], CT_ROOTS[7])
    assert consistency_proof(0, 8, CT_READER) == []
    assert consistency_proof(8, 8, CT_READER) == []


@pytest.mark.parametrize(
    ("old", "new", "proof", "old_root", "new_root"),
    [
        (0, 0, [], EMPTY_ROOT, SOME_HASH),  # equal sizes, different roots
        (1, 1, [], CT_LEAVES[0], SOME_HASH),
        (0, 0, [], SOME_HASH, SOME_HASH),  # the empty tree has exactly one root
        (0, 1, [], SOME_HASH, CT_LEAVES[0]),
        (0, 0, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT),  # trivial cases take no proof
        (0, 1, [EMPTY_ROOT], EMPTY_ROOT, CT_LEAVES[0]),
        (1, 1, [EMPTY_ROOT], CT_LEAVES[0], CT_LEAVES[0]),
        (1, 0, [], CT_LEAVES[0], EMPTY_ROOT),  # time travel
        (2, 1, [], CT_ROOTS[1], CT_ROOTS[0]),
        (-1, 1, [], EMPTY_ROOT, CT_ROOTS[0]),
        (1, 2, [], CT_ROOTS[0], CT_ROOTS[1]),  # empty proof for a real step
        (1, 1, [], Hash(b"short"), Hash(b"short")),
    ],
)
def test_consistency_rejections(
    old: int, new: int, proof: list[Hash], old_root: Hash, new_root: Hash
) -> None:
    with pytest.raises(ProofError):
        verify_consistency(old, new, proof, old_root, new_root)


@pytest.mark.parametrize(("old", "new"), [(2, 1), (-1, 3), (9, 8)])
def test_consistency_proof_out_of_range(old: int, new: int) -> None:
    with pytest.raises(ProofError, match=f"{old} -> {new}"):
        consistency_proof(old, new, CT_READER)
    with pytest.raises(ProofError):
        reference_consistency_proof(old, CT_LEAVES[: max(new, 0)])


def test_wrong_length_message_names_index_and_size() -> None:
    with pytest.raises(ProofError, match=r"index 5 in tree size 8 has 2 hashes, expected 3"):
        verify_inclusion(CT_LEAVES[5], 5, 8, CT_INCLUSION[2][2][:2], CT_ROOTS[7])


def test_missing_node_is_named() -> None:
    reader = DictNodeReader(n for n in integrate(0, [], CT_LEAVES).nodes if n.id != (1, 3))
    with pytest.raises(VerificationError, match=r"node \(level 1, index 3\)"):
        inclusion_proof(5, 8, reader)
    with pytest.raises(VerificationError, match=r"root at size 8"):
        root_at(8, DictNodeReader())
    assert root_at(6, reader) == CT_ROOTS[5]


def test_root_at_negative_size() -> None:
    with pytest.raises(VerificationError):
        root_at(-1, CT_READER)


def test_frontier_ids() -> None:
    assert frontier_ids(0) == []
    assert frontier_ids(1) == [(0, 0)]
    assert frontier_ids(6) == [(2, 0), (1, 2)]
    assert frontier_ids(13) == [(3, 0), (2, 2), (0, 12)]


def test_integrate_rejects_wrong_frontier() -> None:
    with pytest.raises(VerificationError, match="size 3 needs 2 hashes"):
        integrate(3, [CT_LEAVES[0]], [CT_LEAVES[3]])
    with pytest.raises(VerificationError):
        integrate(1, [Hash(b"short")], [])
    with pytest.raises(VerificationError):
        integrate(0, [], [Hash(b"short")])


def test_integrate_returns_new_nodes_only() -> None:
    first = integrate(0, [], CT_LEAVES[:3])
    second = integrate(3, first.frontier, CT_LEAVES[3:5])
    assert [n.id for n in second.nodes] == [(0, 3), (1, 1), (2, 0), (0, 4)]
    assert second.root == CT_ROOTS[4]
    assert second.frontier == (node_hash(CT_ROOTS[1], node_hash(CT_LEAVES[2], CT_LEAVES[3])),
                               CT_LEAVES[4])  # fmt: skip


class UniformReader:
    """The tree whose leaves all equal one hash: node (level L, i) is the same for every i, so
    a tree of a million leaves needs only ~20 hashes. Counts calls, refuses nodes past size."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.calls = 0
        self.read: list[NodeId] = []
        self.levels = [leaf_hash(b"uniform")]
        while len(self.levels) <= size.bit_length():
            self.levels.append(node_hash(self.levels[-1], self.levels[-1]))

    def read_nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, Hash]:
        self.calls += 1
        self.read.extend(ids)
        for level, index in ids:
            assert (index + 1) << level <= self.size, f"node ({level}, {index}) is past the tree"
        return {(level, index): self.levels[level] for level, index in ids}


BIG = 1_000_003


def _read_budget(size: int) -> int:
    return 2 * math.ceil(math.log2(size)) + 2


@pytest.mark.parametrize("index", [0, 1, 499_999, 524_288, BIG - 2, BIG - 1])
def test_inclusion_proof_reads_once_and_logarithmically(index: int) -> None:
    reader = UniformReader(BIG)
    proof = inclusion_proof(index, BIG, reader)
    assert reader.calls == 1
    assert len(reader.read) <= _read_budget(BIG)
    root_reader = UniformReader(BIG)
    root = root_at(BIG, root_reader)
    assert root_reader.calls == 1
    assert len(root_reader.read) == BIG.bit_count()
    verify_inclusion(root_reader.levels[0], index, BIG, proof, root)


@pytest.mark.parametrize("old", [1, 2, 3, 1000, 524_288, 999_999, BIG - 1])
def test_consistency_proof_reads_once_and_logarithmically(old: int) -> None:
    reader = UniformReader(BIG)
    proof = consistency_proof(old, BIG, reader)
    assert reader.calls == 1
    assert len(reader.read) <= _read_budget(BIG)
    old_root, new_root = root_at(old, UniformReader(old)), root_at(BIG, UniformReader(BIG))
    verify_consistency(old, BIG, proof, old_root, new_root)


def test_frontier_streams_a_million_leaves_in_bounded_memory() -> None:
    frontier, leaf, largest = Frontier(), leaf_hash(b"uniform"), 0
    for position in range(1_000_000):
        frontier.append(leaf)
        if position % 4096 == 0:
            largest = max(largest, len(frontier.hashes))
    assert frontier.size == 1_000_000
    assert len(frontier.hashes) == (1_000_000).bit_count()
    assert largest <= 20
    assert frontier.root() == root_at(1_000_000, UniformReader(1_000_000))


def test_frontier_restore_checks_shape() -> None:
    with pytest.raises(VerificationError):
        Frontier.restore(-1, [])
    with pytest.raises(VerificationError):
        Frontier.restore(2, [CT_LEAVES[0], CT_LEAVES[1]])
    restored = Frontier.restore(2, [CT_ROOTS[1]])
    restored.append(CT_LEAVES[2])
    assert restored.root() == CT_ROOTS[2]


class _RecordingReader:
    """A NodeReader that remembers every read_nodes call."""

    def __init__(self, inner: DictNodeReader) -> None:
        self.inner = inner
        self.calls: list[list[NodeId]] = []

    def read_nodes(self, ids: Sequence[NodeId]) -> dict[NodeId, Hash]:
        self.calls.append(list(ids))
        return dict(self.inner.read_nodes(ids))


_TREE_17 = DictNodeReader.from_leaves([leaf_hash(bytes([i])) for i in range(17)])


@pytest.mark.parametrize("size", range(1, 18))
def test_proof_ids_name_exactly_the_nodes_a_proof_reads(size: int) -> None:
    """inclusion_proof_ids / consistency_proof_ids (used to fetch nodes ahead in one query)
    list what the proof then reads, in one read_nodes call, or no call at all."""
    for index in range(size):
        reader = _RecordingReader(_TREE_17)
        inclusion_proof(index, size, reader)
        assert [sorted(call) for call in reader.calls] == (
            [inclusion_proof_ids(index, size)] if inclusion_proof_ids(index, size) else []
        )
    for old in range(size + 1):
        reader = _RecordingReader(_TREE_17)
        consistency_proof(old, size, reader)
        ids = consistency_proof_ids(old, size)
        assert [sorted(call) for call in reader.calls] == ([ids] if ids else [])
        if old in (0, size):
            assert ids == []


def test_a_proof_that_needs_no_node_reads_nothing() -> None:
    reader = _RecordingReader(_TREE_17)
    assert inclusion_proof(0, 1, reader) == []
    assert consistency_proof(0, 5, reader) == consistency_proof(5, 5, reader) == []
    assert reader.calls == []


def test_a_stored_node_of_the_wrong_length_is_refused() -> None:
    good = _TREE_17.read_nodes([(2, 0), (0, 4)])
    reader = DictNodeReader.from_mapping({**good, (0, 4): Hash(good[(0, 4)][:31])})
    with pytest.raises(VerificationError, match=r"node \(level 0, index 4\) .* is 31 bytes"):
        root_at(5, reader)
    assert root_at(4, reader) == root_at(4, _TREE_17)
