"""How claims(asOf) is answered (decision 0028), on SQLite and PostgreSQL: the current rows
unchanged since the size through the plans of every other claims query (decision 0024:
probe, else walk the order's index unsorted; on PostgreSQL a search first reads the head of
the order), the past states valid at that size read by their key, the two pages merged.
Every plan gives what the replayed log gives."""

from __future__ import annotations

import pytest

from ledger.queries import ClaimFilter, ClaimOrder
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import sql
from tests.helpers import captured_statements
from tests.store.test_as_of import FILTERS, _history, _paged, _reference
from tests.store.test_filter_plans import ORDER_INDEXES, ORDERS, _plan

PLANS = {"walk": (0, 0), "few": (10**6, 0), "head": (0, 3)}
"""(FEW, HEAD_ROWS) forcing each plan: the order's index walked, the claims found by a
probe, or (PostgreSQL, a search) the page found among the first rows of the order."""


@pytest.fixture
def history(ledger: Ledger, writer_key: SigningKey, log_key: SigningKey) -> Ledger:
    _history(ledger, writer_key, log_key)
    return ledger


@pytest.mark.parametrize("plan", sorted(PLANS))
def test_every_plan_as_of_past_sizes_matches_the_replayed_log(
    history: Ledger, plan: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    few, head_rows = PLANS[plan]
    monkeypatch.setattr(sql, "FEW", few)
    monkeypatch.setattr(sql, "HEAD_ROWS", head_rows)
    head = history.head().size
    for size in sorted({0, 3, head // 2, head - 3, head - 1, head}):
        for where in FILTERS:
            for order in (ClaimOrder(), ClaimOrder("made_on", True), ClaimOrder("score")):
                expected = _reference(history, size, where, order)
                assert _paged(history, size, where, order, 2) == expected, (size, where, order)
                backward = history.find_claims(
                    where, order=order, limit=2, from_end=True, as_of=size
                )
                assert backward == expected[-2:], (size, where, order)
                for limit in (1, 2, 10):
                    bounded = history.count_claims_bounded(where, limit, as_of=size)
                    n = len(expected)
                    assert bounded == ((n, True) if n <= limit else (limit, False)), (size, limit)


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: f"{o.field}{'-desc' * o.descending}")
def test_as_of_walks_the_orders_index_unsorted_and_reads_past_states_by_key(
    history: Ledger, order: ClaimOrder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "FEW", 0)
    size = history.head().size - 2
    seen = captured_statements(
        history, lambda: history.find_claims(ClaimFilter(), order=order, limit=10, as_of=size)
    )
    pages = [(s, p) for s, p in seen if "ORDER BY" in s and "claims.claim_id" in s]
    (current,) = [(s, p) for s, p in pages if "FROM claims" in s]
    (past,) = [(s, p) for s, p in seen if "ORDER BY" in s and "FROM claim_versions" in s]
    plan = _plan(history, *current, ["enable_seqscan", "enable_sort"])
    if history.store.dialect == "sqlite":
        assert "TEMP B-TREE" not in plan and "SCAN claims\n" not in f"{plan}\n", plan
    else:
        assert "Sort" not in plan and "Seq Scan" not in plan, plan
        assert ORDER_INDEXES[order.field] in plan, plan
        if order.descending or order.field == "recorded":  # starts at the size, not the end
            assert "Index Cond" in plan, plan
    # The past states valid at the size: a range of claim_versions' key (to_seq >= size).
    plan = _plan(history, *past, ["enable_seqscan"])
    assert "SCAN claim_versions\n" not in f"{plan}\n" and "Seq Scan" not in plan, plan


def test_as_of_an_early_size_reads_only_the_claims_before_it(
    history: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A size before few claims: those claims, found by seq (the key), then sorted."""
    monkeypatch.setattr(sql, "FEW", 3)
    order = ClaimOrder("score", True)
    seen = captured_statements(
        history, lambda: history.find_claims(ClaimFilter(), order=order, limit=10, as_of=5)
    )
    probes = [(s, p) for s, p in seen if "LIMIT" in s and "ORDER BY" not in s]
    assert len(probes) == 1 and "claims.seq <" in probes[0][0], seen
    plan = _plan(history, *probes[0], ["enable_seqscan", "enable_bitmapscan"])
    assert "SCAN claims\n" not in f"{plan}\n" and "Seq Scan" not in plan, plan
    assert history.find_claims(ClaimFilter(), order=order, limit=10, as_of=5) == _reference(
        history, 5, ClaimFilter(), order
    )
