"""What a verification report counts (the CLI prints it after `claims-ledger verify`)."""

from __future__ import annotations

import pytest

from ledger.errors import VerificationError
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.verify import rebuild_projections, verify_store
from tests.helpers import add_source_with_claims
from tests.store.test_tamper import edit, unguard


def test_a_new_key_is_one_more_entry_and_one_more_projection_row(
    ledger: Ledger, writer_key: SigningKey, log_key: SigningKey
) -> None:
    add_source_with_claims(ledger, writer_key, 1, claims=2)
    before = verify_store(ledger.store)
    ledger.register_key(log_key, SigningKey.generate("extra"), ["writer"])
    after = verify_store(ledger.store)
    assert after.entries == before.entries + 1
    assert after.kinds["key.registered"] == before.kinds["key.registered"] + 1
    assert after.projection_rows == before.projection_rows + 1  # its keys row, nothing else


def test_a_log_that_extends_an_older_checkpoint_verifies(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    add_source_with_claims(ledger, writer_key, 1, claims=2)
    old_note = ledger.checkpoint().note  # what a client or witness kept
    add_source_with_claims(ledger, writer_key, 2, claims=1)
    assert verify_store(ledger.store, older_checkpoint=old_note).entries == ledger.head().size


def test_a_tree_size_outside_the_log_is_refused(ledger: Ledger, writer_key: SigningKey) -> None:
    add_source_with_claims(ledger, writer_key, 1, claims=1)
    head = ledger.head().size
    assert verify_store(ledger.store, size=head - 1).entries == head - 1
    for size in (-1, head + 1):
        with pytest.raises(VerificationError, match=f"tree size {size} is out of range"):
            verify_store(ledger.store, size=size)


def test_tree_size_0_and_an_earlier_tree_size_report_what_they_covered(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    empty = verify_store(ledger.store, size=0, workers=0)
    assert (empty.entries, empty.projection_rows, empty.checkpoints) == (0, 0, 0)
    add_source_with_claims(ledger, writer_key, 1, claims=2)
    size = ledger.head().size
    earlier = verify_store(ledger.store, size=size - 1, workers=0)
    assert earlier.entries == size - 1
    assert earlier.projection_rows == 0  # projections are compared only at the head
    assert verify_store(ledger.store, workers=0).projection_rows > 0


def test_a_log_shorter_than_an_older_checkpoint_was_truncated(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    add_source_with_claims(ledger, writer_key, 1, claims=2)
    size = ledger.head().size
    add_source_with_claims(ledger, writer_key, 2, claims=1)
    kept = ledger.checkpoint()  # what a client kept, before the log lost its last entries
    message = f"the older checkpoint has tree size {kept.size}, but the log holds only {size}"
    with pytest.raises(VerificationError, match=message):
        verify_store(ledger.store, size=size, older_checkpoint=kept.note, workers=0)


def test_a_log_without_any_checkpoint_reports_every_entry_uncovered(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    add_source_with_claims(ledger, writer_key, 1, claims=1)
    unguard(ledger.store.engine)
    edit(ledger.store.engine, "DELETE FROM checkpoints")
    report = verify_store(ledger.store, workers=0)
    assert report.uncheckpointed == report.entries == ledger.head().size


def test_a_dry_run_rebuild_reports_differences_and_changes_nothing(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    add_source_with_claims(ledger, writer_key, 1, claims=1)
    unguard(ledger.store.engine)
    edit(ledger.store.engine, "DELETE FROM sources")
    dry = rebuild_projections(ledger.store, apply=False)
    assert dry.differences
    with pytest.raises(VerificationError):
        verify_store(ledger.store, workers=0)  # still wrong: a dry run writes nothing
    assert rebuild_projections(ledger.store).differences == dry.differences
    assert verify_store(ledger.store, workers=0).entries == ledger.head().size
    assert rebuild_projections(ledger.store, apply=False).differences == []


def test_projection_rows_counts_every_row_compared(ledger: Ledger, writer_key: SigningKey) -> None:
    """Each stored row of keys, sources, claims and claim_versions is compared once."""
    ids = add_source_with_claims(ledger, writer_key, 1, claims=2)
    ledger.retract_claim(writer_key, ids[0], follows=ids[0], reason="wrong")
    with ledger.store.engine.connect() as conn:
        stored = sum(
            conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0
            for table in ("keys", "sources", "claims", "claim_versions")
        )
    for workers in (0, 2):
        assert verify_store(ledger.store, workers=workers).projection_rows == stored
