"""Claim queries beyond search, on SQLite and PostgreSQL alike (fixture ``db_url``): date
ranges, order and keyset paging, and time travel."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.errors import InvalidInput
from ledger.queries import ClaimFilter
from ledger.service import Ledger
from ledger.signing import SigningKey
from tests.helpers import claim_payload, source_payload


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T12:00:00+00:00")


def _dated_ledger(ledger: Ledger, writer: SigningKey) -> list[str]:
    """Three sources (published 2024-03-01, none, 2024-03-03), each with two claims made on
    2024-02-0N (the middle source's second claim: no date), recorded on 2030-01-0N."""
    ids = []
    for n, published in enumerate(["2024-03-01", None, "2024-03-03"], start=1):
        ledger.clock = lambda n=n: _at(f"2030-01-0{n}")  # type: ignore[misc]
        with ledger.batch() as batch:
            payload = source_payload(n).model_copy(update={"published": published})
            source = batch.add(payload, writer)
            for i in range(2):
                claim = claim_payload(source.hash.hex(), payload.sha256, 10 * n + i)
                made = None if (n, i) == (2, 1) else f"2024-02-0{n}"
                ids.append(batch.add(claim.model_copy(update={"made_on": made}), writer).hash.hex())
    return ids


@pytest.fixture
def dated(ledger: Ledger, writer_key: SigningKey) -> tuple[Ledger, list[str]]:
    return ledger, _dated_ledger(ledger, writer_key)


def _ids(ledger: Ledger, **where: object) -> list[str]:
    found = ledger.find_claims(ClaimFilter(**where), limit=100)  # type: ignore[arg-type]
    assert ledger.count_claims(ClaimFilter(**where)) == len(found)  # type: ignore[arg-type]
    return [c.claim_id for c in found]


def test_date_ranges_are_inclusive(dated: tuple[Ledger, list[str]]) -> None:
    ledger, ids = dated
    assert _ids(ledger, published_from="2024-03-01", published_to="2024-03-01") == ids[0:2]
    assert _ids(ledger, published_from="2024-03-02") == ids[4:6]
    assert _ids(ledger, published_to="2024-03-02") == ids[0:2]  # unknown dates never match
    assert _ids(ledger, recorded_from="2030-01-02", recorded_to="2030-01-02") == ids[2:4]
    assert _ids(ledger, recorded_from="2030-01-02") == ids[2:6]
    assert _ids(ledger, recorded_to="2030-01-01") == ids[0:2]
    assert _ids(ledger, made_from="2024-02-02", made_to="2024-02-03") == [ids[2], *ids[4:6]]
    assert _ids(ledger, recorded_to="2029-12-31") == []
    both = _ids(
        ledger, published_from="2024-03-01", recorded_from="2030-01-03", made_to="2024-02-03"
    )
    assert both == ids[4:6]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("made_from", "2024-2-01"),
        ("published_to", "yesterday"),
        ("recorded_from", "2024-02-30"),
        ("recorded_to", "2024-02-01T00:00"),
        ("published_from", " 2024-02-01"),
        ("made_to", "２０２４-02-01"),
    ],
)
def test_malformed_dates_are_refused_by_name(field: str, value: str) -> None:
    with pytest.raises(InvalidInput, match=f"{field} must be a date YYYY-MM-DD"):
        ClaimFilter(**{field: value})  # type: ignore[arg-type]


def test_an_inverted_range_is_refused() -> None:
    with pytest.raises(InvalidInput, match="recorded_from 2024-03-02 is after recorded_to"):
        ClaimFilter(recorded_from="2024-03-02", recorded_to="2024-03-01")
