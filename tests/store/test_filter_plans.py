"""How every claims filter is answered (decision 0024), on SQLite and PostgreSQL alike: a
constraint whose index finds few claims is read from that index, the claims then fetched
by seq and sorted; otherwise the order's index is read in order with every constraint
checked on each row, never sorted. Both plans give the same claims; the statements are
captured and explained on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.entries import Rating
from ledger.queries import ORDER_FIELDS, ClaimFilter, ClaimOrder, position_of
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import sql
from tests.helpers import captured_statements, sent_messages
from tests.store.test_claim_queries import _dated_ledger

ORDERS = [ClaimOrder(field, descending) for field in ORDER_FIELDS for descending in (False, True)]


@pytest.fixture
def dated(ledger: Ledger, writer_key: SigningKey, log_key: SigningKey) -> tuple[Ledger, list[str]]:
    """``_dated_ledger``'s six claims; the second reviewed, the fourth retracted."""
    ids = _dated_ledger(ledger, writer_key)
    rating = Rating(textual="True", value=5, best=5, worst=1)
    ledger.review_claim(log_key, ids[1], follows=ids[1], rating=rating)
    ledger.retract_claim(writer_key, ids[3], follows=ids[3], reason="withdrawn")
    return ledger, ids


def _filters(ledger: Ledger, ids: list[str]) -> dict[str, ClaimFilter]:
    """One filter per constraint, each matching some of the claims and not all."""
    first = ledger.claim(ids[0])
    return {
        "claimant": ClaimFilter(claimant="won-SHIK"),
        "claimant-none": ClaimFilter(claimant="nobody"),
        "source": ClaimFilter(source=first.source_sha256),
        "source-uri": ClaimFilter(source="https://news.example/2"),
        "publisher": ClaimFilter(publisher="Example News"),
        "signer": ClaimFilter(signer=first.signer),
        "extractor": ClaimFilter(extractor="test"),
        "status": ClaimFilter(status="retracted"),
        "active": ClaimFilter(status="active"),
        "reviewed": ClaimFilter(reviewed=True),
        "unreviewed": ClaimFilter(reviewed=False),
        "made": ClaimFilter(made_from="2024-02-02", made_to="2024-02-03"),
        "published": ClaimFilter(published_from="2024-03-02"),
        "recorded": ClaimFilter(recorded_from="2030-01-02", recorded_to="2030-01-02"),
        "search": ClaimFilter(text="containers"),
        "phrase": ClaimFilter(text='"north korea" contain*'),
        "prefix": ClaimFilter(text="contain*"),
        "quantity": ClaimFilter(quantity_unit="containers", quantity_max="7020"),
        "combined": ClaimFilter(claimant="shin", extractor="test", made_from="2024-02-02"),
    }


PROBE_INDEXES = {
    "claimant": "ix_claims_claimant_seq",
    "source": "ix_claims_source_seq",
    "source-uri": "ix_claims_source_seq",
    "publisher": "ix_claims_source_seq",
    "signer": "ix_claims_signer_seq",
    "extractor": "ix_claims_extractor_seq",
    "status": "ix_claims_status_seq",
    "reviewed": "ix_claims_reviewed_seq",
    "made": "ix_claims_order_made_on",
    "published": "ix_claims_order_published",
    "search": "claims_fts|ix_claims_search",
    "phrase": "claims_fts|ix_claims_search",
    "prefix": "claims_fts|ix_claims_search",
    "quantity": "ix_claim_quantities_",
}
"""The index each filter's probe reads (SQLite's FTS5 table or PostgreSQL's GIN index for
search)."""


@pytest.fixture
def walking(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every probe finds "many": the order's index is walked."""
    monkeypatch.setattr(sql, "FEW", 0)
    yield


def _plan(ledger: Ledger, statement: str, params: Any, settings: list[str]) -> str:
    """The database's plan (PostgreSQL: with ``settings`` off, which its tiny tables here
    would rather use: a sequential scan, a sort)."""
    with ledger.store.engine.connect() as conn:
        if ledger.store.dialect == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            return "\n".join(str(row[-1]) for row in rows)
        for setting in settings:
            conn.exec_driver_sql(f"SET {setting} = off")
        return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", params))


def _ids(ledger: Ledger, where: ClaimFilter, order: ClaimOrder) -> list[str]:
    return [c.claim_id for c in ledger.find_claims(where, order=order, limit=100)]


def test_both_plans_find_the_same_claims(
    dated: tuple[Ledger, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, ids = dated
    for name, where in _filters(ledger, ids).items():
        for order in ORDERS:
            monkeypatch.setattr(sql, "FEW", 10**6)
            few = _ids(ledger, where, order)
            monkeypatch.setattr(sql, "FEW", 0)
            walked = _ids(ledger, where, order)
            assert few == walked, (name, order)
            if name.endswith("-none"):
                assert few == [], name
            else:
                assert few, name
            if order == ORDERS[0]:
                expected = len(few)
                for limit, exact in ((10, True), (len(few), True), (len(few) - 1, False)):
                    if limit < 1:  # a bounded count's limit is 1 to MAX_COUNT_LIMIT
                        continue
                    bounded = ledger.count_claims_bounded(where, limit)
                    assert bounded == ((expected, True) if exact else (limit, False)), (name, limit)


@pytest.mark.parametrize("name", sorted(PROBE_INDEXES))
def test_a_filter_that_finds_few_claims_reads_its_index_then_the_claims_by_seq(
    dated: tuple[Ledger, list[str]], name: str
) -> None:
    ledger, ids = dated
    where = _filters(ledger, ids)[name]
    for order in (ClaimOrder(), ClaimOrder("made_on", descending=True)):
        seen = captured_statements(
            ledger, lambda o=order: ledger.find_claims(where, order=o, limit=10)
        )
        probes = [(s, p) for s, p in seen if "LIMIT" in s and "ORDER BY" not in s]
        pages = [(s, p) for s, p in seen if "ORDER BY" in s and "claims.claim_id" in s]
        heads = [(s, p) for s, p in seen if "head_rows" in s]
        pages = [page for page in pages if page not in heads]
        # On PostgreSQL a search first reads the head of the order (decision 0028), on
        # SQLite a search of prefixes only (decision 0042): here too few of its rows match
        # to fill the page, so the probe follows.
        searching = sql._search_deferred(where, ledger.store.dialect)
        assert searching == (
            where.text is not None and (ledger.store.dialect == "postgresql" or name == "prefix")
        )
        assert len(heads) == (1 if searching else 0), seen
        if searching and ledger.store.dialect == "sqlite" and order.field == "recorded":
            # In log order the page is read through FTS5's matches, in their seq order.
            assert not probes and len(pages) == 1, seen
            page = _plan(ledger, *pages[0], [])
            assert "SEARCH claims USING INTEGER PRIMARY KEY (rowid=?)" in page, page
            assert "claims_fts" in page and "TEMP B-TREE" not in page, page
            continue
        assert probes and len(pages) == 1, seen
        plans = [_plan(ledger, s, p, ["enable_seqscan"]) for s, p in probes]
        wanted = PROBE_INDEXES[name].split("|")
        assert any(index in plan for plan in plans for index in wanted), plans
        assert not any("SCAN claims\n" in f"{plan}\n" for plan in plans), plans
        # Those claims, materialized, fetched by seq: no plan can read more of the table.
        page = _plan(ledger, *pages[0], ["enable_seqscan", "enable_bitmapscan"])
        if ledger.store.dialect == "sqlite":
            assert "MATERIALIZE few_claims" in page, page
            assert "SEARCH claims USING INTEGER PRIMARY KEY (rowid=?)" in page, page
        else:
            assert "CTE Scan on few_claims" in page, page
            assert "Index Cond: (seq = " in page or "One-Time Filter: false" in page, page


@pytest.mark.usefixtures("walking")
@pytest.mark.parametrize("order", ORDERS, ids=lambda o: f"{o.field}{'-desc' * o.descending}")
def test_a_filter_that_finds_many_claims_walks_the_orders_index_unsorted(
    dated: tuple[Ledger, list[str]], order: ClaimOrder
) -> None:
    ledger, ids = dated
    for name, where in _filters(ledger, ids).items():
        if name.endswith("-none"):
            continue  # no claimant name holds it: answered without reading a claim
        seen = captured_statements(
            ledger, lambda w=where: ledger.find_claims(w, order=order, limit=10)
        )
        pages = [(s, p) for s, p in seen if "ORDER BY" in s and "claims.claim_id" in s]
        pages = [(s, p) for s, p in pages if "head_rows" not in s]  # see below
        assert len(pages) == 1, (name, seen)
        plan = _plan(ledger, *pages[0], ["enable_seqscan", "enable_sort"])
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, (name, plan)


def test_claimant_names_are_read_by_skipping_through_their_index(
    dated: tuple[Ledger, list[str]],
) -> None:
    ledger, _ = dated
    with ledger.store.reader() as txn:
        assert txn._claimant_names() == ["Shin Won-shik"]
    plan = _plan(ledger, sql.CLAIMANT_NAMES, (), ["enable_seqscan"])
    assert "ix_claims_claimant_seq" in plan, plan
    assert "SCAN claims\n" not in f"{plan}\n" and "Seq Scan on claims" not in plan, plan


def test_a_recorded_date_is_found_by_a_binary_search_over_seq(
    dated: tuple[Ledger, list[str]],
) -> None:
    ledger, _ = dated
    claims = ledger.store.all_claims()
    with ledger.store.reader() as txn:
        for day in ("2029-12-31", "2030-01-01", "2030-01-02", "2030-01-03", "2030-01-04"):
            later = [c.seq for c in claims if c.recorded_at >= day]
            expected = later[0] if later else claims[-1].seq + 1
            found = txn._first_recorded(day)
            assert all(c.recorded_at < day for c in claims if c.seq < found), day
            assert all(c.recorded_at >= day for c in claims if c.seq >= found), day
            assert found <= expected, day


def test_a_recorded_date_is_one_statement_reading_the_primary_key(
    dated: tuple[Ledger, list[str]],
) -> None:
    ledger, _ = dated
    seen = captured_statements(
        ledger, lambda: ledger.find_claims(ClaimFilter(recorded_from="2030-01-02"))
    )
    searches = [(s, p) for s, p in seen if "WITH RECURSIVE search" in s]
    assert len(searches) == 1 and not any("max(claims.seq)" in s for s, _ in seen), seen
    plan = _plan(ledger, searches[0][0], searches[0][1], ["enable_seqscan", "enable_bitmapscan"])
    if ledger.store.dialect == "sqlite":
        assert "SEARCH claims USING INTEGER PRIMARY KEY (rowid>?)" in plan, plan
        assert "SCAN claims\n" not in f"{plan}\n", plan
    else:
        assert "claims_pkey" in plan and "Seq Scan on claims" not in plan, plan


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 3), st.integers(0, 2)), max_size=40),
    st.integers(0, 45),
)
def test_the_recorded_date_search_finds_what_a_plain_scan_finds(
    steps: list[tuple[int, int]], day: int
) -> None:
    """``FIRST_RECORDED`` against the first claim at or after the moment found by reading
    every claim: seqs with gaps (entries that are not claims), days that repeat."""
    engine = sa.create_engine("sqlite://")
    seq, when, rows = 0, 0, []
    for gap, later in steps:
        seq, when = seq + gap, when + later
        rows.append((seq, f"2030-01-{when + 1:02d}"))
    moment = f"2030-01-{day + 1:02d}"
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE claims (seq INTEGER PRIMARY KEY, recorded_at TEXT)")
        if rows:
            conn.exec_driver_sql("INSERT INTO claims VALUES (?, ?)", rows)
        found = conn.execute(sa.text(sql.FIRST_RECORDED), {"moment": moment}).scalar_one()
    later_seqs = [s for s, recorded in rows if recorded >= moment]
    expected = later_seqs[0] if later_seqs else (rows[-1][0] + 1 if rows else 0)
    if later_seqs:
        # Any seq in the gap before that claim is as good an answer: no claim lies there.
        before = [s for s, _ in rows if s < expected]
        assert (before[-1] if before else -1) < found <= expected
    else:
        assert found == expected


ORDER_INDEXES = {
    "recorded": "claims_pkey",
    "score": "ix_claims_score_seq",
    "made_on": "ix_claims_order_made_on",
    "source_published": "ix_claims_order_published",
}


def _asks_the_search_index(statement: str) -> bool:
    return "@@" in statement or "claims_fts MATCH" in statement


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: f"{o.field}{'-desc' * o.descending}")
def test_a_common_search_term_fills_its_page_from_the_orders_head(
    dated: tuple[Ledger, list[str]], order: ClaimOrder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search term in many claims is answered from the first ``HEAD_ROWS`` rows of the
    order's index, never asking the search index, which would find every match first:
    on PostgreSQL any term (its GIN index, decision 0028), on SQLite a prefix (FTS5 merges
    every token it starts, decision 0042); a rare one, from the search index. Same claims
    as the other plans, page after page."""
    ledger, _ = dated
    postgresql = ledger.store.dialect == "postgresql"
    common = ClaimFilter(text="containers" if postgresql else "contain* w*")
    every = _ids(ledger, common, order)
    assert len(every) >= 4
    seen = captured_statements(ledger, lambda: ledger.find_claims(common, order=order, limit=2))
    assert not any(_asks_the_search_index(s) for s, _ in seen), seen
    (head,) = [(s, p) for s, p in seen if "head_rows" in s]
    plan = _plan(ledger, *head, ["enable_seqscan", "enable_sort", "enable_bitmapscan"])
    if postgresql:
        assert ORDER_INDEXES[order.field] in plan and "Limit" in plan, plan
        assert "Seq Scan" not in plan and "Bitmap" not in plan, plan
    else:
        assert ORDER_INDEXES[order.field].replace("claims_pkey", "SCAN claims") in plan, plan
        assert "claims_fts" not in plan, plan
    # A bounded count of it, as far as the head: no search index either.
    seen = captured_statements(ledger, lambda: ledger.count_claims_bounded(common, 3))
    assert not any(_asks_the_search_index(s) for s, _ in seen), seen
    # Page by page, through the head page, the probe and the walk alike.
    for head_rows, few in ((10**6, 0), (3, 10**6), (0, 10**6), (0, 0)):
        monkeypatch.setattr(sql, "HEAD_ROWS", head_rows)
        monkeypatch.setattr(sql, "FEW", few)
        paged: list[str] = []
        after = None
        while found := ledger.find_claims(common, order=order, limit=2, after=after):
            paged += [c.claim_id for c in found]
            after = position_of(found[-1], order)
        assert paged == every, (head_rows, few)
        backward = ledger.find_claims(common, order=order, limit=3, from_end=True)
        assert [c.claim_id for c in backward] == every[-3:], (head_rows, few)


def test_a_rare_search_term_on_postgresql_asks_the_gin_index(
    dated: tuple[Ledger, list[str]],
) -> None:
    ledger, _ = dated
    if ledger.store.dialect != "postgresql":
        pytest.skip("PostgreSQL's plan")
    rare = ClaimFilter(text="7021 containers")
    expected = _ids(ledger, rare, ClaimOrder("score"))
    seen = captured_statements(
        ledger, lambda: ledger.find_claims(rare, order=ClaimOrder("score"), limit=50)
    )
    heads = [s for s, _ in seen if "head_rows" in s]
    probes = [(s, p) for s, p in seen if "@@" in s and "ORDER BY" not in s]
    assert len(heads) == 1 and len(probes) == 1, seen  # the head did not fill the page
    assert "ix_claims_search" in _plan(ledger, *probes[0], ["enable_seqscan"])
    assert len(expected) == 1 and expected == _ids(ledger, rare, ClaimOrder("score"))


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: f"{o.field}{'-desc' * o.descending}")
def test_a_page_without_a_filter_changes_no_planner_setting(
    dated: tuple[Ledger, list[str]], order: ClaimOrder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing to misjudge without a constraint: the page is one statement, no planner
    settings set and put back around it (two round trips on PostgreSQL); its plan reads
    the order's index unsorted (at 1,000,000 claims PostgreSQL's own choice, with its
    default settings: docs/benchmarks.md). A filtered walk still sets them."""
    ledger, _ = dated
    first = ledger.find_claims(ClaimFilter(), order=order, limit=2)
    for after in (None, position_of(first[-1], order)):
        seen = captured_statements(
            ledger, lambda a=after: ledger.find_claims(ClaimFilter(), order=order, limit=2, after=a)
        )
        assert not any("set_config" in s or "current_setting" in s for s, _ in seen), seen
        (page,) = [(s, p) for s, p in seen if "claims.claim_id" in s]
        plan = _plan(ledger, *page, ["enable_seqscan", "enable_sort"])
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    if ledger.store.dialect == "postgresql":
        monkeypatch.setattr(sql, "FEW", 0)  # the status index finds "many": a walk
        sent = sent_messages(
            ledger.store.engine,
            lambda: ledger.find_claims(ClaimFilter(status="active"), order=order, limit=2),
            "Query|Parse",
        )
        settings = [m for m in sent if "set_config('enable_sort'" in m]
        assert len(settings) == 1, sent
        assert "FROM claims" in settings[0], sent  # the walk's own message, no round trip more


def test_a_walk_sets_the_planner_settings_in_its_own_round_trip_and_puts_them_back(
    dated: tuple[Ledger, list[str]], walking: None
) -> None:
    """PostgreSQL: the settings go before the walk's statement and come back after it in
    the one message (``sql._WalkCursor``), so later statements of the same snapshot plan
    as before; what the walk finds is the plain filter's."""
    ledger, ids = dated
    if ledger.store.dialect != "postgresql":
        pytest.skip("SQLite has no planner settings")
    where = ClaimFilter(status="active")
    with ledger.snapshot():
        found = [c.claim_id for c in ledger.find_claims(where, limit=100)]
        with ledger.store.reader() as txn:
            after = txn.conn.exec_driver_sql("SHOW enable_sort").scalar_one()
    assert after == "on"
    retracted = ids[3]
    assert found == [i for i in ids if i != retracted]
