"""A search of prefixes only (decision 0042): on SQLite its FTS5 probe merges the doclist of
every token a prefix starts before its first row, so the head of the order's index is read
first (``HEAD_ROWS`` rows, the filter checked on each) and the probe runs only when those do
not fill the page. Every plan gives the claims the reference meaning gives (``matches``),
page after page, in every order, with other constraints and ``asOf``; on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.entries import ClaimChanges
from ledger.queries import ORDER_FIELDS, ClaimFilter, ClaimOrder, position_of
from ledger.search import matches, parse_search, search_text
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import sql
from tests.helpers import add_source, captured_statements, claim_payload, source_payload

ORDERS = [ClaimOrder(field, descending) for field in ORDER_FIELDS for descending in (False, True)]
WORDS = ["korea", "korean", "koala", "kit", "russia", "rust", "ships", "shipped", "70", "7000"]


def _statement(n: int) -> str:
    """Three of ``WORDS`` per claim, varied by ``n``: each word in some claims, not all."""
    return " ".join(WORDS[(n * k + k) % len(WORDS)] for k in (1, 3, 7))


@pytest.fixture
def mixed(ledger: Ledger, writer_key: SigningKey) -> tuple[Ledger, list[int]]:
    """24 claims over four sources (dates and scores varied, some missing), then three of
    them revised to other words; returns the tree sizes before and after the revisions."""
    claims = []
    for s in range(4):
        with ledger.batch() as batch:
            published = None if s == 2 else f"2024-03-0{s + 1}"
            payload = source_payload(s).model_copy(update={"published": published})
            source = add_source(batch, writer_key, s, payload)
            for i in range(6):
                n = 6 * s + i
                claim = claim_payload(source.hash.hex(), payload.sha256, n).model_copy(
                    update={
                        "statement": _statement(n),
                        "score": (n * 37) % 5 * 50,
                        "made_on": None if n % 7 == 3 else f"2024-02-{n % 9 + 1:02d}",
                    }
                )
                claims.append(batch.add(claim, writer_key).hash.hex())
    sizes = [ledger.head().size]
    for claim_id, words in zip(claims[::8], ("koalas rusty", "kit ships", "korea 70"), strict=True):
        ledger.revise_claim(
            writer_key,
            claim_id,
            follows=claim_id,
            changes=ClaimChanges(statement=words),
            reason="words",
        )
    return ledger, [*sizes, ledger.head().size]


def _reference(ledger: Ledger, query: str, order: ClaimOrder) -> list[str]:
    """The current claims matching ``query`` (``ledger.search.matches``), in ``order`` (the
    unfiltered listing's)."""
    parsed = parse_search(query)
    every = ledger.find_claims(ClaimFilter(), order=order, limit=1000)
    return [
        c.claim_id for c in every if matches(parsed, search_text(c.statement, c.selector.exact))
    ]


def _paged(
    ledger: Ledger, where: ClaimFilter, order: ClaimOrder, limit: int, as_of: int | None
) -> tuple[list[str], list[str], tuple[int, bool]]:
    """Every matching claim page by page; the last ``limit`` taken from the end; a count
    bounded at 2."""
    found: list[str] = []
    after = None
    while page := ledger.find_claims(where, order=order, limit=limit, after=after, as_of=as_of):
        assert len(page) <= limit
        found += [c.claim_id for c in page]
        after = position_of(page[-1], order)
    last = ledger.find_claims(where, order=order, limit=limit, from_end=True, as_of=as_of)
    return found, [c.claim_id for c in last], ledger.count_claims_bounded(where, 2, as_of=as_of)


_TERM = st.one_of(
    st.sampled_from(["k", "ko", "kor", "korea", "r", "rus", "s", "ship", "7", "70", "z"]).map(
        lambda w: w + "*"
    ),
    st.sampled_from(['"korea rus"*', '"rust k"*', '"70 ko"*']),  # a phrase, its last a prefix
    st.sampled_from(["korea", "kit", "7000", "ships"]),  # an exact word beside prefixes
)
_OTHER = st.sampled_from(
    [
        ClaimFilter(),
        ClaimFilter(made_from="2024-02-04"),
        ClaimFilter(published_from="2024-03-02"),
        ClaimFilter(reviewed=False),
        ClaimFilter(status="revised"),
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    terms=st.lists(_TERM, min_size=1, max_size=3),
    other=_OTHER,
    order=st.sampled_from(ORDERS),
    limit=st.integers(1, 5),
    head_rows=st.sampled_from([0, 3, 10**6]),
    few=st.sampled_from([0, 5, 10**6]),
    past=st.booleans(),
)
def test_every_plan_pages_as_the_reference(
    mixed: tuple[Ledger, list[int]],
    monkeypatch: pytest.MonkeyPatch,
    terms: list[str],
    other: ClaimFilter,
    order: ClaimOrder,
    limit: int,
    head_rows: int,
    few: int,
    past: bool,
) -> None:
    """Pages, the last page and a bounded count under the head of the order, the probe and
    the walk (``HEAD_ROWS``, ``FEW`` varied) against the plan of before (the probe always:
    ``HEAD_ROWS`` 0, ``FEW`` as shipped) and, unfiltered otherwise, the reference meaning."""
    ledger, (before_revisions, _) = mixed
    query = " ".join(terms)
    where = ClaimFilter(**{**other.__dict__, "text": query})
    as_of = before_revisions if past else None
    with monkeypatch.context() as patched:
        patched.setattr(sql, "HEAD_ROWS", 0)
        expected = _paged(ledger, where, order, limit, as_of)
    with monkeypatch.context() as patched:
        patched.setattr(sql, "HEAD_ROWS", head_rows)
        patched.setattr(sql, "FEW", few)
        assert _paged(ledger, where, order, limit, as_of) == expected, (query, order)
    if other == ClaimFilter() and as_of is None:
        assert expected[0] == _reference(ledger, query, order), query


def _fts_queries(seen: list[tuple[str, Any]]) -> list[str]:
    """The FTS5 MATCH expressions of the statements seen (SQLite's positional parameters)."""
    return [
        next(p for p in params if isinstance(p, str) and '"' in p)
        for statement, params in seen
        if "claims_fts MATCH" in statement
    ]


@pytest.mark.parametrize("order", ORDERS[:4], ids=lambda o: f"{o.field}{'-desc' * o.descending}")
def test_a_common_prefix_never_reaches_fts5_and_a_rare_one_does(
    mixed: tuple[Ledger, list[int]], order: ClaimOrder
) -> None:
    """Fails without decision 0042: the first page and the bounded count of ``k* r*`` ran
    ``claims_fts MATCH '"k"* AND "r"*'``, which merges every token either starts."""
    ledger, _ = mixed
    if ledger.store.dialect != "sqlite":
        pytest.skip("SQLite's FTS5 plan")
    common = ClaimFilter(text="k* r*")
    assert len(_reference(ledger, "k* r*", order)) > 4
    for action in (
        lambda: ledger.find_claims(common, order=order, limit=3),
        lambda: ledger.count_claims_bounded(common, 3),
        lambda: ledger.find_claims(common, order=order, limit=3, as_of=ledger.head().size - 1),
    ):
        seen = captured_statements(ledger, action)
        assert _fts_queries(seen) == [], seen
    # (asOf: its probe of the claims before that size finds few here, read by seq.)
    seen = captured_statements(ledger, lambda: ledger.find_claims(common, order=order, limit=3))
    assert any("head_rows" in s for s, _ in seen), seen
    # A prefix few claims hold: the head does not fill the page, the probe follows.
    rare = ClaimFilter(text="koalas*")
    assert 0 < len(_reference(ledger, "koalas*", order)) < 3
    seen = captured_statements(ledger, lambda: ledger.find_claims(rare, order=order, limit=3))
    assert _fts_queries(seen) == ['"koalas"*'], seen


def test_a_prefix_beside_exact_words_is_left_out_of_the_probe(
    mixed: tuple[Ledger, list[int]],
) -> None:
    """A phrase's first words are exact: the probe asks for them, not for the prefix."""
    ledger, _ = mixed
    if ledger.store.dialect != "sqlite":
        pytest.skip("SQLite's FTS5 plan")
    for query, probed in (('"korea rus"*', '"korea"'), ('kit "70 ko"*', '"kit" AND "70"')):
        where = ClaimFilter(text=query)
        seen = captured_statements(ledger, lambda w=where: ledger.find_claims(w, limit=3))
        assert _fts_queries(seen) == [probed], seen
        assert not any("head_rows" in s for s, _ in seen), seen
