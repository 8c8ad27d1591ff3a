"""The Merkle tree is integrated in every append, a checkpoint is signed per batch, and
proofs read from stored nodes agree with the plain reference — on both databases."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa
from alembic import command

from ledger import merkle
from ledger.checkpoint import verify_checkpoint, verify_proof_file
from ledger.errors import ConfigError, InvalidInput, NotFound, ProofError
from ledger.instance import Instance
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import Store
from ledger.store.engine import alembic_config
from ledger.verify import verify_store
from tests.helpers import append_sources


def _grow(ledger: Ledger, writer: SigningKey, batches: list[int]) -> None:
    n = 0
    for size in batches:
        append_sources(ledger, writer, [1000 + n + i for i in range(size)])
        n += size


def _leaves(ledger: Ledger) -> list[merkle.Hash]:
    return [merkle.Hash(bytes.fromhex(row.hash)) for row in ledger.entries()]


def test_every_batch_gets_a_signed_checkpoint_over_the_reference_root(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    _grow(ledger, writer_key, [1, 3, 8, 2])
    leaves = _leaves(ledger)
    verifier = ledger.log_verifier()
    sizes = [cp.size for cp in ledger.store.iter_checkpoints()]
    assert sizes == [1, 2, 3, 6, 14, 16]  # genesis, writer key, then each batch
    for size in sizes:
        stored = ledger.checkpoint(size)
        checkpoint = verify_checkpoint(stored.note, verifier, expected_origin=ledger.origin)
        assert checkpoint.size == size
        assert checkpoint.root_hash == merkle.reference_root(leaves[:size]) == stored.root
    assert ledger.checkpoint().size == 16


def test_proofs_from_stored_nodes_verify_and_match_the_reference(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    _grow(ledger, writer_key, [5, 1, 9, 4])
    leaves = _leaves(ledger)
    n = len(leaves)
    rng = random.Random(7)
    for size in [1, 2, 7, 8, 13, n]:
        for seq in {0, size - 1, rng.randrange(size)}:
            proof = ledger.inclusion_proof(seq, size)
            assert list(proof.hashes) == merkle.reference_inclusion_proof(seq, leaves[:size])
            proof.verify()
        for old in {0, 1, size // 2, size}:
            consistency = ledger.consistency_proof(old, size)
            assert list(consistency.hashes) == merkle.reference_consistency_proof(
                old, leaves[:size]
            )
            consistency.verify()


def test_proof_file_verifies_offline(ledger: Ledger, writer_key: SigningKey) -> None:
    _grow(ledger, writer_key, [3])
    text = ledger.proof_file(3)
    leaf = merkle.Hash(bytes.fromhex(ledger.entry(seq=3).hash))
    proved = verify_proof_file(text, leaf, ledger.log_verifier(), ledger.origin)
    assert (proved.index, proved.checkpoint.size) == (3, 5)
    with pytest.raises(ProofError):
        verify_proof_file(text, merkle.leaf_hash(b"other"), ledger.log_verifier())


def test_out_of_range_proof_requests_are_refused(ledger: Ledger) -> None:
    size = ledger.head().size
    with pytest.raises(InvalidInput, match="out of range"):
        ledger.inclusion_proof(0, size + 1)
    with pytest.raises(InvalidInput, match="not in a tree of size"):
        ledger.inclusion_proof(size, size)
    with pytest.raises(InvalidInput, match="between 0 and"):
        ledger.consistency_proof(size, 1)
    with pytest.raises(NotFound, match="no checkpoint at tree size 99"):
        ledger.checkpoint(99)


def test_appending_without_the_log_key_is_refused_and_writes_nothing(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    keyless = Ledger(ledger.store, ledger.origin)
    before = ledger.head()
    with pytest.raises(ConfigError, match="log key"):
        append_sources(keyless, writer_key, [1])
    assert ledger.head() == before


@pytest.mark.parametrize("table", ["tree_nodes", "checkpoints"])
def test_tree_tables_are_append_only(instance: Instance, table: str) -> None:
    with (
        pytest.raises(sa.exc.DatabaseError, match="append-only"),
        instance.ledger.store.engine.begin() as conn,
    ):
        conn.execute(sa.text(f"DELETE FROM {table}"))


def test_upgrading_a_ledger_from_revision_0001_backfills_its_tree(
    db_url: str, ledger: Ledger, writer_key: SigningKey
) -> None:
    _grow(ledger, writer_key, [4, 3])
    leaves = _leaves(ledger)
    engine = ledger.store.engine
    command.downgrade(alembic_config(db_url), "0003")  # search and versions (0004)
    with engine.begin() as conn:  # rewind the schema to 0001 as if written by an old version
        for table in ("tree_nodes", "checkpoints"):
            for trigger in (f"{table}_no_update", f"{table}_no_delete"):
                if engine.dialect.name == "sqlite":
                    conn.execute(sa.text(f"DROP TRIGGER {trigger}"))
        conn.execute(sa.text("DROP TABLE tree_nodes"))
        conn.execute(sa.text("DROP TABLE checkpoints"))
        conn.execute(sa.text("DROP TABLE api_tokens"))  # revision 0003
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    upgraded = Store.open(db_url)
    try:
        with upgraded.reader() as txn:
            assert merkle.root_at(len(leaves), txn) == merkle.reference_root(leaves)
        command.check(alembic_config(db_url))
        # The claims' search text was backfilled as the log implies. No checkpoint covers
        # the entries written before checkpoints existed: reported, not a failure, until
        # the next append signs one over everything.
        assert verify_store(upgraded).uncheckpointed == len(leaves)
        after = Ledger(upgraded, ledger.origin, log_key=ledger.log_key)
        append_sources(after, writer_key, [77])
        assert verify_store(upgraded).uncheckpointed == 0
    finally:
        upgraded.close()
