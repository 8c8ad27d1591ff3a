"""Both databases answer the same: claimant matching folds ASCII letters only (SQLite's
lower() folds nothing else; PostgreSQL's would fold É to é), and claimant counts break
ties the same way (the databases sort NULLs at opposite ends)."""

from __future__ import annotations

import pytest

from ledger.entries import Claimant
from ledger.queries import ClaimFilter
from ledger.service import Ledger
from ledger.signing import SigningKey
from tests.helpers import add_source, claim_payload, source_sha

NAMES = ["ÉMILE Zoë", "émile zoë", None, "Anna", None]


@pytest.fixture
def claimants(ledger: Ledger, writer_key: SigningKey) -> Ledger:
    with ledger.batch() as batch:
        source = add_source(batch, writer_key, 0)
        for n, name in enumerate(NAMES):
            payload = claim_payload(source.hash.hex(), source_sha(0), n)
            role = "minister" if n == 4 else None
            claimant = Claimant(name=name, role=role, affiliation=None, kind=None, cites=())
            batch.add(payload.model_copy(update={"claimant": claimant}), writer_key)
    return ledger


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("émile", ["émile zoë"]),  # É and é differ: only ASCII letters fold
        ("ÉMILE", ["ÉMILE Zoë"]),
        ("mile", ["ÉMILE Zoë", "émile zoë"]),  # M and m fold
        ("ZOË", []),
        ("zoë", ["ÉMILE Zoë", "émile zoë"]),  # Z and z fold; ë is the same letter
        ("anna", ["Anna"]),
        ("%", []),
        ("_", []),
    ],
)
def test_claimant_matching_folds_ascii_letters_only_on_both_databases(
    claimants: Ledger, search: str, expected: list[str]
) -> None:
    found = claimants.find_claims(ClaimFilter(claimant=search))
    assert sorted(c.claimant.name or "" for c in found) == sorted(expected)
    counted = claimants.claimants(search=search)
    assert sorted(c.name or "" for c, _ in counted) == sorted(expected)


def test_claimant_counts_break_ties_alike(claimants: Ledger) -> None:
    counted = [(c.name, c.role, n) for c, n in claimants.claimants()]
    assert counted == [
        (None, None, 1),
        (None, "minister", 1),
        ("Anna", None, 1),
        ("ÉMILE Zoë", None, 1),
        ("émile zoë", None, 1),
    ]
