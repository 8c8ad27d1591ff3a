"""Inclusion and consistency proofs as the ledger serves them, and the node reads they need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger import deadline, merkle
from ledger.errors import InvalidInput
from ledger.store import Txn


@dataclass(frozen=True, slots=True)
class InclusionProof:
    seq: int
    size: int
    leaf: merkle.Hash
    hashes: tuple[merkle.Hash, ...]
    root: merkle.Hash

    def verify(self) -> None:
        merkle.verify_inclusion(self.leaf, self.seq, self.size, self.hashes, self.root)


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    hashes: tuple[merkle.Hash, ...]
    old_root: merkle.Hash
    new_root: merkle.Hash

    def verify(self) -> None:
        merkle.verify_consistency(
            self.old_size, self.new_size, self.hashes, self.old_root, self.new_root
        )


def proof_nodes(
    txn: Txn, seqs: Sequence[int], size: int | None
) -> tuple[int, merkle.DictNodeReader]:
    """The tree size (default: the head) and every node inclusion proofs of ``seqs`` at it
    need (with the root and the leaves), fetched in one read."""
    head = txn.head().size
    size = head if size is None else size
    check_tree_size(size, head)
    ids = list(merkle.frontier_ids(size))
    for seq in seqs:
        deadline.check()
        if not 0 <= seq < size:
            raise InvalidInput(f"entry {seq} is not in a tree of size {size}")
        ids += [*merkle.inclusion_proof_ids(seq, size), (0, seq)]
    return size, merkle.DictNodeReader.from_mapping(txn.read_nodes(ids))


def inclusion_proofs(
    seqs: Sequence[int], size: int, nodes: merkle.DictNodeReader
) -> list[InclusionProof]:
    root = merkle.root_at(size, nodes)
    deadline.check()
    return [
        InclusionProof(
            seq=seq,
            size=size,
            leaf=nodes.read_nodes([(0, seq)])[(0, seq)],
            hashes=tuple(merkle.inclusion_proof(seq, size, nodes)),
            root=root,
        )
        for seq in seqs
    ]


def check_tree_size(size: int, head: int) -> None:
    if not 0 <= size <= head:
        raise InvalidInput(f"tree size {size} is out of range: the log has {head} entries")
