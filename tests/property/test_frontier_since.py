"""The saved frontier ``verify --since`` extends: each of its hashes is the RFC 9162 root of
the leaf range ``frontier_ids`` names (plain reference), extending it with the new leaves
gives the reference root, and the consistency proof between the two sizes verifies with
the roots computed both ways."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from ledger import merkle

LEAVES = [merkle.leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(300)]


@given(st.integers(0, 300), st.data())
def test_frontier_extension_matches_the_reference(new: int, data: st.DataObject) -> None:
    old = data.draw(st.integers(0, new))
    saved = merkle.integrate(0, [], LEAVES[:old])
    expected = [
        merkle.reference_root(LEAVES[index << level : (index + 1) << level])
        for level, index in merkle.frontier_ids(old)
    ]
    assert list(saved.frontier) == expected
    assert saved.root == merkle.reference_root(LEAVES[:old])
    compact = merkle.Frontier.restore(old, saved.frontier)
    for leaf in LEAVES[old:new]:
        compact.append(leaf)
    assert compact.root() == merkle.reference_root(LEAVES[:new])
    assert compact.hashes == merkle.integrate(0, [], LEAVES[:new]).frontier
    proof = merkle.reference_consistency_proof(old, LEAVES[:new])
    merkle.verify_consistency(old, new, proof, saved.root, compact.root())
