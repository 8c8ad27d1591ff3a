"""PostgreSQL: the store changes existing projection rows only through the functions of
migration 0014 (decision 0031), which refuse a change the log does not back. Here the
store itself is asked for such changes (as a compromised writer could ask the database)
and refuses each with a ``StorageError`` naming what and where; honest changes — a
revision that changes the figures, a retraction, a review, a revocation — go through
and leave the projections equal to a replay."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.batch import override_entries
from ledger.config import Settings
from ledger.derived import Derived, derive, override_of
from ledger.entries import ClaimChanges, ClaimReviewed, Quantity, Rating
from ledger.errors import StorageError
from ledger.instance import Instance, open_instance
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.state import Changes
from ledger.store import derived as derived_store
from ledger.verify import rebuild_projections
from tests.helpers import add_source_with_claims

pytestmark = pytest.mark.postgres
REFUSED = "the database refused a projection change the log does not back: "


@pytest.fixture
def pg(tmp_path: Path, postgres_url: str) -> Iterator[Instance]:
    settings = Settings(home=tmp_path / "home", database_url=postgres_url, passphrase=b"pw")
    inst = open_instance(settings)
    yield inst
    inst.close()


def claim_row(ledger: Ledger, claim_id: str) -> tuple[Any, ...]:
    with ledger.store.reader() as txn:
        row = txn.conn.exec_driver_sql(
            "SELECT * FROM claims WHERE claim_id = %s", (claim_id,)
        ).one()
    return tuple(row)


def test_honest_changes_pass_and_match_a_replay(pg: Instance) -> None:
    ledger, writer, log_key = pg.ledger, pg.writer_key(), pg.log_key()
    first, second, third = add_source_with_claims(ledger, writer, 0, 3)
    figure = Quantity(value="12.5", unit="tonnes", bound="exact", high=None, text="12.5 t")
    revised = ledger.revise_claim(
        writer,
        first,
        follows=first,
        changes=ClaimChanges(statement="Revised.", quantities=(figure, figure)),
        reason="test",
    )
    ledger.review_claim(log_key, first, follows=revised.hash.hex(), rating=Rating(textual="True"))
    ledger.retract_claim(writer, second, follows=second, reason="test")
    with ledger.batch() as batch:  # a change of two claims, one of them twice, in one batch
        review = batch.add(ledger_review(third, third), log_key)
        batch.add(ledger_review(third, review.hash.hex()), log_key)
    spare = SigningKey.generate("spare")
    ledger.register_key(log_key, spare, ["writer"])
    ledger.revoke_key(log_key, spare.key_id, "test")
    ledger.refresh_derived()
    with ledger.store.reader() as txn:
        assert txn.quantity_index_differences() == []
        figures = txn.conn.exec_driver_sql(
            "SELECT count(*) FROM claim_quantities AS q JOIN claims AS c ON q.claim_seq = c.seq "
            "WHERE c.claim_id = %s",
            (first,),
        ).scalar_one()
    assert figures == 2
    assert ledger.claim(first).review_count == 1
    assert ledger.claim(third).review_count == 2
    assert ledger.claim(second).status == "retracted"
    assert rebuild_projections(ledger.store, apply=False).differences == []


def ledger_review(claim: str, follows: str) -> ClaimReviewed:
    return ClaimReviewed(
        claim=claim, follows=follows, rating=Rating(textual="False"), note=None, url=None
    )


def test_changes_the_log_does_not_back_are_refused(pg: Instance) -> None:
    ledger, writer = pg.ledger, pg.writer_key()
    claim_id, other = add_source_with_claims(ledger, writer, 0, 2)
    claim = ledger.claim(claim_id)
    before = claim_row(ledger, claim_id)
    seq = claim.seq

    def write(changes: Changes) -> None:
        with ledger.store.writer() as txn:
            txn.write((), changes)

    # A statement rewritten with no entry behind it.
    with pytest.raises(StorageError) as refused:
        write(Changes(claims={claim_id: dataclasses.replace(claim, statement="Forged.")}))
    assert str(refused.value) == (
        f"{REFUSED}claims: claim {claim_id} (seq {seq}): head_seq {seq} is not after the "
        f"row's {seq}"
    )
    # Moved to another source (migration 0015: source_seq is the extraction's, fixed).
    with pytest.raises(StorageError) as refused:
        write(Changes(claims={claim_id: dataclasses.replace(claim, source_seq=seq)}))
    assert str(refused.value) == (
        f"{REFUSED}claims: claim {claim_id} (seq {seq}): source_seq is set by its extraction "
        "and never changes"
    )
    # Moved forward to an entry that is not about it (another claim's extraction).
    head = ledger.head().size
    assert ledger.claim(other).seq == head - 1
    forged = dataclasses.replace(claim, statement="Forged.", head_seq=head - 1, revision=1)
    with pytest.raises(
        StorageError, match=f"no revision, retraction or review of it at entry {head - 1}"
    ):
        write(Changes(claims={claim_id: forged}))
    # A key revoked with no revocation in the log.
    keys = {k.name: k for k in ledger.list_keys()}
    key = keys[writer.name]
    with pytest.raises(StorageError) as refused:
        revoked = dataclasses.replace(key, revoked_seq=head - 1, revoked_reason="forged")
        write(Changes(keys={key.key_id: revoked}))
    assert str(refused.value) == (
        f"{REFUSED}keys: entry {head - 1} (claim.extracted) neither revokes key {key.key_id} "
        "nor rotates it away"
    )
    # The derived caches written past the log.
    plan = derived_store.plan_write(
        derived_store.keyed(derived_store.derived_rows(derive_all(ledger))), None
    )
    with pytest.raises(StorageError) as refused, ledger.store.writer() as txn:
        derived_store.write_derived(txn, plan, head + 7)
    assert (
        str(refused.value) == f"{REFUSED}derived_state: size {head + 7} is beyond the log's {head}"
    )
    # Nothing changed; the honest writer still appends.
    assert claim_row(ledger, claim_id) == before
    assert {k.name: k for k in ledger.list_keys()} == keys
    ledger.retract_claim(writer, claim_id, follows=claim_id, reason="still works")
    assert rebuild_projections(ledger.store, apply=False).differences == []


def derive_all(ledger: Ledger) -> Derived:
    with ledger.store.reader() as txn:
        overrides = [override_of(e) for e in override_entries(txn)]
        return derive(txn.all_claims(), overrides)
