"""Inclusion and consistency proofs as the ledger serves them, and the node reads they need."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    txn: Txn, seqs: Sequence[int], size: int | None, hint: int | None = None
) -> tuple[int, merkle.DictNodeReader]:
    """The tree size (default: the head) and every node inclusion proofs of ``seqs`` at it
    need (with the root and the leaves), read with the head in one statement when the
    size is known (given, or the head still at ``hint``; ``read_tree``)."""

    def ids_at(at: int) -> list[merkle.NodeId]:
        ids = list(merkle.frontier_ids(at))
        for seq in seqs:
            deadline.check()
            if 0 <= seq < at:
                ids += [*merkle.inclusion_proof_ids(seq, at), (0, seq)]
        return ids

    size, nodes = read_tree(txn, size, ids_at, hint)
    for seq in seqs:
        if not 0 <= seq < size:
            raise InvalidInput(f"entry {seq} is not in a tree of size {size}")
    return size, nodes


def consistency_nodes(
    txn: Txn, old_size: int, new_size: int | None, hint: int | None = None
) -> tuple[int, merkle.DictNodeReader]:
    """The new tree size (default: the head) and every node a consistency proof from
    ``old_size`` to it needs, with both roots (``read_tree``)."""

    def ids_at(at: int) -> list[merkle.NodeId]:
        if not 0 <= old_size <= at:
            return []
        return [
            *merkle.consistency_proof_ids(old_size, at),
            *merkle.frontier_ids(old_size),
            *merkle.frontier_ids(at),
        ]

    new_size, nodes = read_tree(txn, new_size, ids_at, hint)
    if not 0 <= old_size <= new_size:
        raise InvalidInput(f"old size {old_size} must be between 0 and {new_size}")
    return new_size, nodes


def read_tree(
    txn: Txn,
    size: int | None,
    ids_at: Callable[[int], list[merkle.NodeId]],
    hint: int | None,
) -> tuple[int, merkle.DictNodeReader]:
    """The tree size (``size``, default the head) and the nodes ``ids_at`` it names, in
    one statement (``Txn.head_and_nodes``) when the size is known before the head is read:
    given, or the head still at ``hint`` (the size the last proof at the head found).
    Otherwise a second statement reads the nodes at the head the first one found. The
    two need no shared snapshot: the log only grows, and a tree size's nodes never change
    once written, so the second statement reads the same nodes whatever was appended in
    between. ``InvalidInput`` for a size beyond the head."""
    if size is not None:
        head, found = txn.head_and_nodes(ids_at(size) if size >= 0 else [])
        check_tree_size(size, head)
        return size, merkle.DictNodeReader.from_mapping(found)
    if hint is not None and hint >= 0:
        head, found = txn.head_and_nodes(ids_at(hint))
        if head == hint:
            return head, merkle.DictNodeReader.from_mapping(found)
    else:
        head, found = txn.head_and_nodes([])
    _later, found = txn.head_and_nodes(ids_at(head))
    return head, merkle.DictNodeReader.from_mapping(found)


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
