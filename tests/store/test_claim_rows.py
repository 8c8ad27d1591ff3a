"""The claims rows an append writes, on SQLite and PostgreSQL (fixture ``db_url``): a claim
extracted and changed in the same batch is stored as its final state, not as its
extraction made it (SQLite inserts a claim still as extracted through a statement that
binds fewer columns: ``ledger.store.sql._INSERT_EXTRACTED``, decision 0036)."""

from __future__ import annotations

from ledger.entries import ClaimChanges, ClaimRetracted, ClaimReviewed, ClaimRevised, Rating
from ledger.instance import Instance
from ledger.queries import ClaimFilter
from ledger.store.sql import _CLAIM_COLUMNS, claim_values
from ledger.verify import rebuild_projections
from tests.helpers import claim_payload, source_bytes, source_payload


def test_claims_changed_in_the_batch_that_extracts_them_are_stored_as_changed(
    instance: Instance,
) -> None:
    ledger, writer, log_key = instance.ledger, instance.writer_key(), instance.log_key()
    source = source_payload(0)
    with ledger.batch() as batch:
        batch.add_blob(source.sha256, source_bytes(0))
        cited = batch.add(source, writer).hash.hex()
        ids = [
            batch.add(claim_payload(cited, source.sha256, n), writer).hash.hex() for n in range(4)
        ]
        revised, reviewed, retracted, untouched = ids
        change = ClaimChanges(statement="North Korea sent 7,000 containers.")
        batch.add(
            ClaimRevised(claim=revised, follows=revised, changes=change, reason="edit"), writer
        )
        rating = Rating(textual="False")
        batch.add(
            ClaimReviewed(claim=reviewed, follows=reviewed, rating=rating, note=None, url=None),
            log_key,
        )
        batch.add(ClaimRetracted(claim=retracted, follows=retracted, reason="wrong"), writer)
    expected = {
        revised: ("revised", 1, 0, None, "north korea sent 7 000 containers"),
        reviewed: ("active", 0, 1, "False", "north korea sent about"),
        retracted: ("retracted", 0, 0, None, "north korea sent about"),
        untouched: ("active", 0, 0, None, "north korea sent about"),
    }
    with ledger.store.reader() as txn:
        for claim_id, (status, revision, reviews, rating_text, text) in expected.items():
            state = txn.get_claim(claim_id)
            assert state is not None
            row = txn.conn.exec_driver_sql(
                f"SELECT {', '.join(f'c.{c}' for c in _CLAIM_COLUMNS)} FROM claims AS c "
                f"WHERE c.seq = {state.seq}"
            ).one()
            assert tuple(row) == claim_values(state)
            stored = dict(zip(_CLAIM_COLUMNS, row, strict=True))
            assert (
                stored["status"],
                stored["revision"],
                stored["review_count"],
                stored["last_rating"],
            ) == (status, revision, reviews, rating_text)
            assert stored["search_text"].startswith(text)
            changed = claim_id != untouched
            assert (stored["head"] != claim_id) is changed
            assert (stored["head_seq"] != stored["seq"]) is changed
    found = ledger.find_claims(ClaimFilter(text='"sent 7 000 containers"'), limit=10)
    assert [c.claim_id for c in found] == [revised]
    assert rebuild_projections(ledger.store, apply=False).differences == []
