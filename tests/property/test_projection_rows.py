"""The verifier's shortcut from a claim.extracted entry to its projection row equals the
row the append path writes (``claim_values(extracted_claim(...))``)."""

from __future__ import annotations

import dataclasses
import sqlite3
import struct

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable

from ledger.canonical import canonical_json_typed
from ledger.entries import Body, ClaimExtracted, SignedEntry, sign_body
from ledger.queries import figure
from ledger.state import extracted_claim
from ledger.store.sql import (
    _AS_EXTRACTED,
    _BOUND_WHEN_EXTRACTED,
    _CLAIM_COLUMNS,
    _CLAIM_RECORDED,
    _EXTRACTED,
    _INSERT_EXTRACTED,
    _claim_state,
    _claim_state_validated,
    _RawRow,
    claim_values,
    claims_t,
    extracted_claim_values,
    quantities_text,
    quantity_rows,
    quantity_rows_reference,
)
from tests.property.test_parse_fast import KEY, claims, quantities


def signed(payload: ClaimExtracted, seq: int) -> SignedEntry:
    """``payload`` as the ``seq``-th entry of a test log, signed."""
    body = Body(
        log="claims-ledger/test",
        seq=seq,
        prev=None,
        ts="2024-03-20T12:00:00.000000Z",
        kind="claim.extracted",
        signer=KEY.key_id,
        payload=payload,
    )
    return sign_body(body, KEY)


SOURCE_SEQS = st.integers(0, 2**53 - 1)


@given(claims, st.integers(0, 2**53 - 1), st.none() | st.just("2024-03-18"), SOURCE_SEQS)
def test_extracted_claim_row_shortcut_matches_the_state_row(
    payload: ClaimExtracted, seq: int, published: str | None, source_seq: int
) -> None:
    entry = signed(payload, seq)
    assert extracted_claim_values(entry, payload, published, source_seq) == claim_values(
        extracted_claim(entry, payload, published, source_seq)
    )


@given(claims)
def test_quantities_column_is_the_canonical_json_of_the_models(payload: ClaimExtracted) -> None:
    expected = canonical_json_typed([q.model_dump() for q in payload.quantities]).decode()
    assert quantities_text(payload.quantities) == expected


# The entry format's decimals (ledger.entries.Decimal_), with far more digits than a double
# holds, so rounding is exercised.
wide_decimals = st.from_regex(r"-?(0|[1-9][0-9]{0,40})(\.[0-9]{0,40}[1-9])?", fullmatch=True)


@given(wide_decimals)
def test_float_of_a_format_decimal_is_the_figure_the_quantity_index_holds(value: str) -> None:
    """``quantity_rows`` converts with ``float``, ``figure`` through ``Decimal``: the same
    double, bit for bit (the sign of zero included)."""
    assert struct.pack("<d", float(value)) == struct.pack("<d", figure(value))


@given(quantities, st.integers(0, 2**53 - 1))
def test_quantity_rows_equal_the_plain_rows(given_quantities: tuple, owner: int) -> None:  # type: ignore[type-arg]
    rows = quantity_rows(owner, given_quantities)
    assert rows == quantity_rows_reference(owner, given_quantities)
    assert [struct.pack("<d", r[4]) for r in rows] == [
        struct.pack("<d", r[4]) for r in quantity_rows_reference(owner, given_quantities)
    ]


@given(claims, st.integers(0, 2**53 - 1), st.none() | st.just("2024-03-18"), SOURCE_SEQS)
def test_a_claim_row_reads_back_as_the_state_that_wrote_it_without_validating_again(
    payload: ClaimExtracted, seq: int, published: str | None, source_seq: int
) -> None:
    """``_claim_state`` builds the row's nested models unvalidated (the store wrote them
    from validated entries): the same objects as the validating reference, and as the
    state the row was written from, nested models of the same classes with every field."""
    state = extracted_claim(signed(payload, seq), payload, published, source_seq)
    row = _RawRow(dict(zip(_CLAIM_COLUMNS, claim_values(state), strict=True)))
    fast, reference = _claim_state(row), _claim_state_validated(row)
    assert fast == reference == state
    assert claim_values(fast) == claim_values(state)
    for got, wanted in (
        (fast.selector, state.selector),
        (fast.claimant, state.claimant),
        *zip(fast.claimant.cites, state.claimant.cites, strict=True),
        *zip(fast.quantities, state.quantities, strict=True),
    ):
        assert type(got) is type(wanted)
        assert got.model_dump() == wanted.model_dump()
        assert got.model_fields_set == wanted.model_fields_set
    assert type(fast.claimant.cites) is tuple and type(fast.quantities) is tuple


_CLAIMS_DDL = str(CreateTable(claims_t).compile(dialect=sqlite.dialect()))


@given(
    claims,
    st.integers(0, 2**53 - 1),
    st.none() | st.just("2024-03-18"),
    st.sampled_from([None, "revised", "reviewed", "moved"]),
    SOURCE_SEQS,
)
def test_the_insert_of_a_claim_as_extracted_writes_its_full_row(
    payload: ClaimExtracted, seq: int, published: str | None, change: str | None, source_seq: int
) -> None:
    """SQLite: ``_INSERT_EXTRACTED`` with the bound columns of a row writes the row
    ``claim_values`` makes (the reference), for a claim as its extraction made it; a claim
    changed in any of the seven columns it fills in is not taken for one."""
    state = extracted_claim(signed(payload, seq), payload, published, source_seq)
    if change == "revised":
        state = dataclasses.replace(state, status="revised", revision=1)
    elif change == "reviewed":
        state = dataclasses.replace(state, review_count=1, last_rating="True")
    elif change == "moved":
        state = dataclasses.replace(state, head="0" * 64, head_seq=seq + 1, updated_at="x")
    row = claim_values(state)
    as_extracted = _AS_EXTRACTED(row) == (row[0], row[1], row[_CLAIM_RECORDED], *_EXTRACTED)
    assert as_extracted is (change is None)
    if not as_extracted:
        return
    db = sqlite3.connect(":memory:")
    try:
        db.execute(_CLAIMS_DDL)
        db.execute(_INSERT_EXTRACTED, _BOUND_WHEN_EXTRACTED(row))
        columns = ", ".join(f'"{c}"' for c in _CLAIM_COLUMNS)
        stored = db.execute(f"SELECT {columns} FROM claims").fetchall()
    finally:
        db.close()
    assert stored == [row]
    assert [tuple(map(type, r)) for r in stored] == [tuple(map(type, row))]
