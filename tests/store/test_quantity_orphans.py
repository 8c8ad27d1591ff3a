"""The quantity index's orphan check (rows for claim states that do not exist), written as
an anti-join so that PostgreSQL does not rescan the claims per row at a million claims."""

from __future__ import annotations

import sqlalchemy as sa

from ledger.service import Ledger
from ledger.signing import SigningKey
from tests.helpers import add_source, claim_payload


def test_a_quantity_row_without_its_claim_is_reported(
    ledger: Ledger, writer_key: SigningKey
) -> None:
    with ledger.batch() as batch:
        source = add_source(batch, writer_key, 1)
        batch.add(claim_payload(source.hash.hex(), source.body.payload.sha256, 1), writer_key)  # type: ignore[union-attr]
    with ledger.store.reader() as txn:
        assert txn.quantity_index_differences() == []
    with ledger.store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO claim_quantities (claim_seq, position, unit, head_unit, value, high)"
                " VALUES (999999, 0, 'boxes', 'boxes', 1.0, NULL)"
            )
        )
    with ledger.store.reader() as txn:
        found = txn.quantity_index_differences()
    assert any("rows for claim states that do not exist" in line for line in found), found
