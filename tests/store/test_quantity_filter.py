"""The quantity filter (unit, min, max) on SQLite and PostgreSQL alike: what it matches,
that revisions and past states keep its index right, that verification holds the index to
the claims, and that both databases answer it from the index (decision 0008)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.entries import ClaimChanges, Quantity
from ledger.errors import IntegrityError, InvalidInput
from ledger.queries import ClaimFilter, ClaimOrder, head_unit, unit_key
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.verify import rebuild_projections, verify_store
from tests.helpers import add_source, claim_payload, source_sha


def _q(value: str, unit: str | None, high: str | None = None, bound: str = "exact") -> Quantity:
    return Quantity(value=value, unit=unit, bound=bound, high=high, text=f"{value} {unit}")  # type: ignore[arg-type]


FIGURES: dict[str, tuple[Quantity, ...]] = {
    "containers": (_q("7000", "containers", bound="approximate"),),
    "shipping": (_q("6700", "Shipping  Containers"),),
    "tons": (_q("1.5", "tons of ammunition"), _q("13000", "containers")),
    "percent": (_q("12", "percent", high="17"),),
    "none": (),
}


@pytest.fixture
def claims(ledger: Ledger, writer_key: SigningKey) -> dict[str, str]:
    """One claim per entry of FIGURES, by name -> claim id."""
    ids: dict[str, str] = {}
    with ledger.batch() as batch:
        source = add_source(batch, writer_key, 1)
        for n, (name, quantities) in enumerate(FIGURES.items()):
            payload = claim_payload(source.hash.hex(), source_sha(1), n).model_copy(
                update={"quantities": quantities}
            )
            ids[name] = batch.add(payload, writer_key).hash.hex()
    return ids


def _found(ledger: Ledger, ids: dict[str, str], as_of: int | None = None, **where: Any) -> set[str]:
    names = {claim_id: name for name, claim_id in ids.items()}
    claims = ledger.find_claims(ClaimFilter(**where), limit=100, as_of=as_of)
    assert ledger.count_claims(ClaimFilter(**where), as_of=as_of) == len(claims)
    return {names[c.claim_id] for c in claims}


def test_units_match_folded_or_by_their_head_noun() -> None:
    assert unit_key("Shipping  Containers") == "shipping containers"
    assert head_unit("Shipping  Containers") == "containers"
    assert head_unit("tons of ammunition") == "tons"
    assert head_unit("percent") == "percent"
    assert unit_key("   ") is None and head_unit(None) is None


def test_the_filter_matches_unit_and_range(ledger: Ledger, claims: dict[str, str]) -> None:
    assert _found(ledger, claims, quantity_unit="containers") == {"containers", "shipping", "tons"}
    assert _found(ledger, claims, quantity_unit="CONTAINERS", quantity_max="6999") == {"shipping"}
    assert _found(ledger, claims, quantity_unit="shipping containers") == {"shipping"}
    assert _found(ledger, claims, quantity_unit="tons") == {"tons"}
    assert _found(ledger, claims, quantity_unit="ammunition") == set()
    assert _found(ledger, claims, quantity_min="7000", quantity_max="13000") == {
        "containers",
        "tons",
    }
    # A range matches when it lies wholly within [min, max].
    assert _found(ledger, claims, quantity_unit="percent", quantity_min="10") == {"percent"}
    assert _found(ledger, claims, quantity_unit="percent", quantity_max="16") == set()
    assert _found(ledger, claims, quantity_unit="percent", quantity_max="17") == {"percent"}
    # One quantity must satisfy everything: 13000 containers and 1.5 tons do not make a
    # claim of 1.5 containers.
    assert _found(ledger, claims, quantity_unit="containers", quantity_max="2") == set()
    assert _found(ledger, claims, quantity_min="1.5", quantity_max="1.5") == {"tons"}


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"quantity_min": "1e3"}, "quantity_min must be a decimal number"),
        ({"quantity_max": "seven"}, "quantity_max must be a decimal number"),
        ({"quantity_min": "5", "quantity_max": "4"}, "quantity_min 5 is above quantity_max 4"),
        ({"quantity_unit": "  "}, "quantity_unit has no word to look for"),
    ],
)
def test_bad_quantity_filters_are_refused(where: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        ClaimFilter(**where)


def test_revisions_move_the_index_and_past_states_keep_theirs(
    ledger: Ledger, writer_key: SigningKey, claims: dict[str, str]
) -> None:
    size = ledger.head().size
    claim_id = claims["containers"]
    ledger.revise_claim(
        writer_key,
        claim_id,
        follows=claim_id,
        changes=ClaimChanges(quantities=(_q("10000", "containers"),)),
        reason="the ministry's later figure",
    )
    assert "containers" not in _found(
        ledger, claims, quantity_unit="containers", quantity_max="9999"
    )
    assert "containers" in _found(ledger, claims, quantity_unit="containers", quantity_min="10000")
    past = _found(ledger, claims, as_of=size, quantity_unit="containers", quantity_max="9999")
    assert past == {"containers", "shipping"}
    verify_store(ledger.store, workers=0)


def test_verification_finds_an_edited_quantity_index(
    ledger: Ledger, claims: dict[str, str]
) -> None:
    verify_store(ledger.store, workers=0)
    with ledger.store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE claim_quantities SET value = 1 WHERE value = 7000"))
    with pytest.raises(IntegrityError, match="claim_quantities: the quantity index disagrees"):
        verify_store(ledger.store, workers=0)
    report = rebuild_projections(ledger.store)
    assert any("claim_quantities" in d for d in report.differences)
    verify_store(ledger.store, workers=0)
    assert "containers" in _found(ledger, claims, quantity_min="7000", quantity_max="7000")


@pytest.mark.parametrize("order", ["recorded", "score"])
def test_the_filter_is_answered_from_the_quantity_index(
    ledger: Ledger, claims: dict[str, str], order: str
) -> None:
    """The statement find_claims runs, explained: both databases look the unit and value
    up in the index (PostgreSQL with sequential scans off: its tables here are tiny)."""
    seen: list[tuple[str, Any]] = []

    def capture(_c: object, _cur: object, statement: str, params: Any, *_: object) -> None:
        if "claim_quantities" in statement and "ORDER BY" not in statement:
            seen.append((statement, params))  # the probe (decision 0024)

    engine = ledger.store.engine
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        where = ClaimFilter(quantity_unit="containers", quantity_min="6000", quantity_max="8000")
        ledger.find_claims(where, order=ClaimOrder(order))  # type: ignore[arg-type]
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    [(statement, params)] = seen
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            plan = "\n".join(str(row[-1]) for row in rows)
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", params))
    # Each branch (by unit, by head noun) seeks an index of claim_quantities: which one
    # a tiny table's statistics favour varies, a full scan never happens.
    assert len(re.findall(r"ix_claim_quantities_\w+", plan)) >= 2, plan
    assert not re.search(r"Seq Scan on claim_quantities|SCAN claim_quantities\b", plan), plan
