"""Claim queries beyond search, on SQLite and PostgreSQL alike (fixture ``db_url``): date
ranges, order and keyset paging, and time travel."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from ledger.errors import InvalidInput
from ledger.queries import ORDER_FIELDS, ClaimFilter, ClaimOrder, Position, position_of, sort_value
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import sql
from tests.helpers import add_source, claim_payload, source_payload


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T12:00:00+00:00")


def _dated_ledger(ledger: Ledger, writer: SigningKey) -> list[str]:
    """Three sources (published 2024-03-01, none, 2024-03-03), each with two claims made on
    2024-02-0N (the middle source's second claim: no date), recorded on 2030-01-0N, scored
    0, 0, 0, 200, 0, 100 (ties)."""
    ids = []
    for n, published in enumerate(["2024-03-01", None, "2024-03-03"], start=1):
        ledger.clock = lambda n=n: _at(f"2030-01-0{n}")  # type: ignore[misc]
        with ledger.batch() as batch:
            payload = source_payload(n).model_copy(update={"published": published})
            source = add_source(batch, writer, n, payload)
            for i in range(2):
                claim = claim_payload(source.hash.hex(), payload.sha256, 10 * n + i)
                made = None if (n, i) == (2, 1) else f"2024-02-0{n}"
                changed = claim.model_copy(update={"made_on": made, "score": (n * i) % 3 * 100})
                ids.append(batch.add(changed, writer).hash.hex())
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


def _pages(ledger: Ledger, order: ClaimOrder, size: int, where: ClaimFilter) -> list[str]:
    seen: list[str] = []
    after: Position | None = None
    while page := ledger.find_claims(where, order=order, limit=size, after=after):
        seen += [c.claim_id for c in page]
        after = position_of(page[-1], order)
    return seen


def _pages_backward(ledger: Ledger, order: ClaimOrder, size: int, where: ClaimFilter) -> list[str]:
    seen: list[str] = []
    before: Position | None = None
    while page := ledger.find_claims(where, order=order, limit=size, before=before, from_end=True):
        seen = [c.claim_id for c in page] + seen
        before = position_of(page[0], order)
    return seen


@pytest.mark.parametrize("field", ORDER_FIELDS)
@pytest.mark.parametrize("descending", [False, True])
def test_every_order_pages_both_ways_as_the_reference_sorts(
    dated: tuple[Ledger, list[str]], field: str, descending: bool
) -> None:
    ledger, _ = dated
    order = ClaimOrder(field, descending)  # type: ignore[arg-type]
    claims = ledger.store.all_claims()
    for where in (ClaimFilter(), ClaimFilter(recorded_from="2030-01-02")):
        expected = [
            c.claim_id
            for c in sorted(
                (c for c in claims if where.recorded_from is None or c.seq > claims[1].seq),
                key=lambda c: (sort_value(c, order.field), c.seq),
                reverse=descending,
            )
        ]
        for size in (1, 2, 4):
            assert _pages(ledger, order, size, where) == expected, (size, where)
            assert _pages_backward(ledger, order, size, where) == expected, (size, where)


def test_missing_dates_sort_first_ascending_and_last_descending(
    dated: tuple[Ledger, list[str]],
) -> None:
    ledger, ids = dated
    by_made = ledger.find_claims(ClaimFilter(), order=ClaimOrder("made_on"), limit=10)
    assert [c.claim_id for c in by_made][:1] == [ids[3]]
    by_published = ledger.find_claims(
        ClaimFilter(), order=ClaimOrder("source_published", descending=True), limit=10
    )
    assert [c.claim_id for c in by_published][-2:] == ids[3:1:-1]


def test_positions_must_fit_the_order(dated: tuple[Ledger, list[str]]) -> None:
    ledger, _ = dated
    for order, position in [
        (ClaimOrder("made_on"), Position(5, 5)),
        (ClaimOrder("score"), Position("2024-01-01", 5)),
        (ClaimOrder("recorded"), Position(4, 5)),
        (ClaimOrder("made_on"), Position("x", 5)),
    ]:
        with pytest.raises(InvalidInput, match="not a place in order"):
            ledger.find_claims(ClaimFilter(), order=order, after=position)


def _plan(
    ledger: Ledger,
    order: ClaimOrder,
    where: ClaimFilter,
    settings: list[str],
    after: Position | None = None,
) -> str:
    """The database's plan for the statement find_claims runs (PostgreSQL: with planner
    ``settings`` that take away what a tiny table would rather do: scan it all)."""
    seen: list[tuple[str, object]] = []

    def capture(_c: object, _cur: object, statement: str, params: object, *_: object) -> None:
        if "FROM claims" in statement and "ORDER BY" in statement:
            seen.append((statement, params))

    engine = ledger.store.engine
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        ledger.find_claims(where, order=order, limit=10, after=after)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    [(statement, params)] = seen
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)  # type: ignore[arg-type]
            return "\n".join(str(row[-1]) for row in rows)
        for setting in settings:
            conn.exec_driver_sql(f"SET {setting} = off")
        return "\n".join(
            row[0]
            for row in conn.exec_driver_sql(f"EXPLAIN {statement}", params)  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    ("field", "index"),
    [
        ("recorded", "claims_pkey"),
        ("made_on", "ix_claims_order_made_on"),
        ("source_published", "ix_claims_order_published"),
        ("score", "ix_claims_score_seq"),
    ],
)
@pytest.mark.parametrize("descending", [False, True])
def test_every_order_is_read_from_an_index_without_sorting(
    dated: tuple[Ledger, list[str]], field: str, index: str, descending: bool
) -> None:
    ledger, _ = dated
    order = ClaimOrder(field, descending)  # type: ignore[arg-type]
    sqlite = ledger.store.dialect == "sqlite"
    if field == "recorded" and sqlite:
        index = "INTEGER PRIMARY KEY"  # seq is the rowid: the table itself is in log order
    middle = ledger.find_claims(ClaimFilter(), order=order, limit=3)[-1]
    for after in (None, position_of(middle, order)):
        plan = _plan(ledger, order, ClaimFilter(), ["enable_seqscan", "enable_sort"], after)
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
        if after is not None:  # a later page seeks to its place instead of scanning to it
            using = "" if index == "INTEGER PRIMARY KEY" else "INDEX "
            assert f"SEARCH claims USING {using}{index}" in plan if sqlite else "Index Cond" in plan
        elif sqlite and index == "INTEGER PRIMARY KEY":
            assert "SCAN claims" in plan and "USING" not in plan, plan
        else:
            assert index in plan, plan


@pytest.mark.parametrize("field", ["recorded", "made_on", "score"])
def test_filters_that_match_many_keep_every_order_sort_free(
    dated: tuple[Ledger, list[str]], field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Status, signer, extractor and claimant matching more than ``FEW`` claims (here: any)
    filter the scan of the order's index, which still needs no sort (decision 0024)."""
    monkeypatch.setattr(sql, "FEW", 0)
    ledger, ids = dated
    signer = ledger.claim(ids[0]).signer
    where = ClaimFilter(status="active", signer=signer, extractor="test", claimant="shin")
    order = ClaimOrder(field)  # type: ignore[arg-type]
    plan = _plan(ledger, order, where, ["enable_seqscan", "enable_sort"])
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    assert len(ledger.find_claims(where, order=order, limit=10)) == len(ids)


def test_search_is_answered_from_the_search_index(dated: tuple[Ledger, list[str]]) -> None:
    """The search's probe (decision 0024) reads the search index, and only it."""
    ledger, _ = dated
    where = ClaimFilter(text='"north korea" contain*')
    seen: list[tuple[str, object]] = []

    def capture(_c: object, _cur: object, statement: str, params: object, *_: object) -> None:
        if ("claims_fts" in statement or "@@" in statement) and "ORDER BY" not in statement:
            seen.append((statement, params))

    engine = ledger.store.engine
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        assert ledger.find_claims(where, limit=10)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    [(statement, params)] = seen
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)  # type: ignore[arg-type]
            plan = "\n".join(str(row[-1]) for row in rows)
        else:
            for setting in ("enable_seqscan", "enable_indexscan"):
                conn.exec_driver_sql(f"SET {setting} = off")
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", params))  # type: ignore[arg-type]
    expected = "claims_fts" if ledger.store.dialect == "sqlite" else "ix_claims_search"
    assert expected in plan, plan
    assert "SCAN claims\n" not in f"{plan}\n" and "Seq Scan" not in plan, plan
