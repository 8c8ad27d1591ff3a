"""The verifier's shortcut from a claim.extracted entry to its projection row equals the
row the append path writes (``claim_values(extracted_claim(...))``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.canonical import canonical_json_typed
from ledger.entries import Body, ClaimExtracted, sign_body
from ledger.state import extracted_claim
from ledger.store.sql import (
    _CLAIM_COLUMNS,
    _claim_state,
    _claim_state_validated,
    _RawRow,
    claim_values,
    extracted_claim_values,
    quantities_text,
)
from tests.property.test_parse_fast import KEY, claims


@given(claims, st.integers(0, 2**53 - 1), st.none() | st.just("2024-03-18"))
def test_extracted_claim_row_shortcut_matches_the_state_row(
    payload: ClaimExtracted, seq: int, published: str | None
) -> None:
    body = Body(
        log="claims-ledger/test",
        seq=seq,
        prev=None,
        ts="2024-03-20T12:00:00.000000Z",
        kind="claim.extracted",
        signer=KEY.key_id,
        payload=payload,
    )
    entry = sign_body(body, KEY)
    assert extracted_claim_values(entry, payload, published) == claim_values(
        extracted_claim(entry, payload, published)
    )


@given(claims)
def test_quantities_column_is_the_canonical_json_of_the_models(payload: ClaimExtracted) -> None:
    expected = canonical_json_typed([q.model_dump() for q in payload.quantities]).decode()
    assert quantities_text(payload.quantities) == expected


@given(claims, st.integers(0, 2**53 - 1), st.none() | st.just("2024-03-18"))
def test_a_claim_row_reads_back_as_the_state_that_wrote_it_without_validating_again(
    payload: ClaimExtracted, seq: int, published: str | None
) -> None:
    """``_claim_state`` builds the row's nested models unvalidated (the store wrote them
    from validated entries): the same objects as the validating reference, and as the
    state the row was written from, nested models of the same classes with every field."""
    body = Body(
        log="claims-ledger/test",
        seq=seq,
        prev=None,
        ts="2024-03-20T12:00:00.000000Z",
        kind="claim.extracted",
        signer=KEY.key_id,
        payload=payload,
    )
    state = extracted_claim(sign_body(body, KEY), payload, published)
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
