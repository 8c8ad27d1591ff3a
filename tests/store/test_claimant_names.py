"""The claimant filter over many distinct claimant names (issue 13, decision 0046): the
store's names are read once and kept up to the log (by this process's appends and by
another's), searched in memory, and never bound as more than ``FEW`` parameters; pages
and counts are those of the reference filter (claims whose current claimant name holds
the substring, ASCII letters caseless), at every order and at a past tree size."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from ledger.config import Settings
from ledger.entries import Claimant, ClaimChanges
from ledger.instance import open_instance
from ledger.queries import ORDER_FIELDS, ClaimFilter, ClaimOrder
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.store import sql
from ledger.store.claimant_names import ClaimantNames, holding_slowly
from tests.helpers import (
    add_source,
    captured_statements,
    claim_payload,
    sent_messages,
    source_sha,
)

ORDERS = [ClaimOrder(field, descending) for field in ORDER_FIELDS for descending in (False, True)]
NAMES = [f"{first} {last}" for first in ("Ana", "Bo", "Cy", "Dee") for last in ("Xu", "Yates")]
"""Eight names; "a" is in five of them (Ana ×2, Yates ×3 more), "Xu" in four, "e" in five."""
SUBSTRINGS = ("a", "A", "xu", "Ana Xu", "e", "nobody", "o Y", "%", "_")


def _fold(text: str) -> str:
    return text.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))


def _name(n: int) -> str:
    """The claimant of the claim numbered ``n``: ``NAMES`` in turn, a numbered one every
    third claim (so that many distinct names hold "a" and "e")."""
    return f"Zeta Ba {n}" if n % 3 == 2 else NAMES[n % len(NAMES)]


def _append(ledger: Ledger, writer: SigningKey, source: int, names: list[str]) -> list[str]:
    """One source and a claim by each of ``names`` (scores and dates varying)."""
    with ledger.batch() as batch:
        entry = add_source(batch, writer, source)
        ids = []
        for i, name in enumerate(names):
            claim = claim_payload(entry.hash.hex(), source_sha(source), 100 * source + i)
            claimant = claim.claimant.model_copy(update={"name": name})
            made = None if i % 4 == 3 else f"2024-02-{1 + i % 9:02d}"
            changed = claim.model_copy(
                update={"claimant": claimant, "score": (7 * i) % 5 * 100, "made_on": made}
            )
            ids.append(batch.add(changed, writer).hash.hex())
    return ids


@pytest.fixture
def named(ledger: Ledger, writer_key: SigningKey) -> Ledger:
    """Thirty claims in three sources, by twelve or so distinct names."""
    for source in range(3):
        _append(ledger, writer_key, source, [_name(10 * source + i) for i in range(10)])
    return ledger


@pytest.fixture
def few_names(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """``FEW`` at 3: most substrings here are held by more names than that."""
    monkeypatch.setattr(sql, "FEW", 3)
    yield 3


def _reference(ledger: Ledger, text: str, order: ClaimOrder, as_of: int | None = None) -> list[str]:
    """The claims whose claimant name (at ``as_of``) holds ``text``, in ``order``: every
    claim read unfiltered, then filtered here."""
    every = ledger.find_claims(ClaimFilter(), order=order, limit=1000, as_of=as_of)
    return [c.claim_id for c in every if _fold(text) in _fold(c.claimant.name or "")]


def _pages_match_the_reference(ledger: Ledger, as_of: int | None = None) -> None:
    for text in SUBSTRINGS:
        where = ClaimFilter(claimant=text)
        for order in ORDERS:
            expected = _reference(ledger, text, order, as_of)
            found = ledger.find_claims(where, order=order, limit=1000, as_of=as_of)
            assert [c.claim_id for c in found] == expected, (text, order)
            first = ledger.find_claims(where, order=order, limit=4, as_of=as_of)
            assert [c.claim_id for c in first] == expected[:4], (text, order)
        exact = ledger.count_claims(where, as_of=as_of)
        assert exact == len(_reference(ledger, text, ClaimOrder(), as_of)), text
        assert ledger.count_claims_bounded(where, 2, as_of=as_of) == (
            (exact, True) if exact <= 2 else (2, False)
        )


def test_many_names_give_the_reference_pages(named: Ledger, few_names: int) -> None:
    with named.store.reader() as txn:
        held = {text: txn._names_holding(text) for text in SUBSTRINGS}
    assert held["a"] is None and held["e"] is None  # more than FEW names: not listed
    assert held["Ana Xu"] == ["Ana Xu"] and held["nobody"] == []
    _pages_match_the_reference(named)


def test_names_a_revision_replaced_and_past_sizes(
    named: Ledger, writer_key: SigningKey, few_names: int
) -> None:
    before = named.head().size
    named.find_claims(ClaimFilter(claimant="x"), limit=1)  # the names read before the revision
    [claim] = named.find_claims(ClaimFilter(claimant="Bo Yates"), limit=1)
    renamed = Claimant(name="Quill Renamed", role=None, affiliation=None, kind=None, cites=())
    named.revise_claim(
        writer_key,
        claim.claim_id,
        follows=claim.claim_id,
        changes=ClaimChanges(claimant=renamed),
        reason="the quote was someone else's",
    )
    [found] = named.find_claims(ClaimFilter(claimant="quill"), limit=5)
    assert found.claim_id == claim.claim_id
    assert [
        c.claim_id for c in named.find_claims(ClaimFilter(claimant="quill"), as_of=before)
    ] == []
    at_before = named.find_claims(ClaimFilter(claimant="Bo Yates"), limit=100, as_of=before)
    assert claim.claim_id in [c.claim_id for c in at_before]
    _pages_match_the_reference(named)
    _pages_match_the_reference(named, as_of=before)


def test_no_more_than_few_names_are_bound(named: Ledger, few_names: int) -> None:
    """A substring held by more names than FEW binds none of them (a probe by name
    could not find at most FEW claims); one held by at most FEW binds those."""
    for text, bound in (("a", 0), ("Ana", 2), ("Ana Xu", 1)):
        seen = captured_statements(
            named, lambda t=text: named.find_claims(ClaimFilter(claimant=t), limit=2)
        )
        names = [p for _, params in seen for p in _values(params) if p in set(NAMES)]
        assert len(set(names)) == bound, (text, seen)


def _values(params: object) -> list[object]:
    """Every value bound (``params``: a dict, a sequence, or a sequence of either; a value
    may be a list: an array bound as one parameter, PostgreSQL's ``= ANY``)."""
    if isinstance(params, dict):
        return _values(list(params.values()))
    if isinstance(params, list | tuple):
        return [
            v for p in params for v in (_values(p) if isinstance(p, list | tuple | dict) else [p])
        ]
    return []


def test_more_matching_names_than_sqlite_binds_is_no_error(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With SQLite's variable limit at 40 (this build's is 250,000; the usual default
    32,766), a substring held by 60 names: before, every one was bound (``too many SQL
    variables``, an INTERNAL error in the API); now at most FEW are."""
    monkeypatch.setattr(sql, "FEW", 30)
    instance = open_instance(
        Settings(home=tmp_path / "home", database_url=sqlite_url, passphrase=b"p")
    )
    try:
        ledger, writer = instance.ledger, instance.writer_key()
        _append(ledger, writer, 0, [f"Nadia Person {n}" for n in range(60)])
        engine = ledger.store.engine
        sa.event.listen(engine, "connect", _limit_variables)
        engine.dispose()  # every connection from now on limited
        where = ClaimFilter(claimant="nadia")
        for order in ORDERS:
            found = ledger.find_claims(where, order=order, limit=100)
            assert len(found) == 60
        assert ledger.count_claims_bounded(where, 1000) == (60, True)
        with engine.connect() as conn, pytest.raises(sa.exc.OperationalError, match="variables"):
            conn.exec_driver_sql(f"SELECT 1 WHERE 1 IN ({', '.join(['?'] * 41)})", (1,) * 41)
    finally:
        instance.close()


def _limit_variables(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40)


def test_names_appended_after_the_read_are_found(
    named: Ledger, writer_key: SigningKey, settings: Settings
) -> None:
    """In this process (the writer's own store) and from another store on the same
    database (another worker or process appending)."""
    assert named.find_claims(ClaimFilter(claimant="Olamide"), limit=5) == []
    [mine] = _append(named, writer_key, 7, ["Olamide Here"])
    assert [c.claim_id for c in named.find_claims(ClaimFilter(claimant="olamide"))] == [mine]
    assert named.store.claimant_names.holding("olamide", 5) == ["Olamide Here"]
    other = open_instance(settings)
    try:
        theirs = other.ledger
        assert [c.claim_id for c in theirs.find_claims(ClaimFilter(claimant="olamide"))] == [mine]
        [elsewhere] = _append(theirs, other.writer_key(), 8, ["Olamide There"])
    finally:
        other.close()
    found = named.find_claims(ClaimFilter(claimant="olamide"), limit=5)
    assert [c.claim_id for c in found] == [mine, elsewhere]
    assert named.count_claims(ClaimFilter(claimant="THERE")) == 1
    assert named.store.claimant_names.size == named.head().size
    assert sorted(named.store.claimant_names.holding("olamide", 5) or []) == [
        "Olamide Here",
        "Olamide There",
    ]


def test_a_snapshot_older_than_the_names_read_still_finds_its_names(
    named: Ledger, writer_key: SigningKey
) -> None:
    """A read that began before a revision renamed a claimant, served after the store's
    names were first read (after the revision: without the old name): the old name's
    claims are still found in it (its rows are checked one by one)."""
    [claim_id] = _append(named, writer_key, 9, ["Unique Dee"])
    with named.store.reader() as txn:
        txn.head()  # the snapshot starts here
        renamed = Claimant(name="Rae Other", role=None, affiliation=None, kind=None, cites=())
        named.revise_claim(
            writer_key,
            claim_id,
            follows=claim_id,
            changes=ClaimChanges(claimant=renamed),
            reason="misattributed",
        )
        assert named.find_claims(ClaimFilter(claimant="unique dee")) == []  # names read
        assert named.store.claimant_names.holding("unique dee", 5) == []
        for order in ORDERS:
            found = txn.find_claims(ClaimFilter(claimant="unique dee"), order=order, limit=5)
            assert [c.claim_id for c in found] == [claim_id], order


@given(
    names=st.lists(st.text(alphabet="aAbBéÉ \x00%_", max_size=6), max_size=12, unique=True),
    text=st.text(alphabet="aAbBéÉ \x00%_", min_size=1, max_size=3),
    most=st.integers(0, 12),
)
def test_the_in_memory_search_is_the_reference(names: list[str], text: str, most: int) -> None:
    index = ClaimantNames()
    index.reset(names[: len(names) // 2], 5)
    index.extend(names[len(names) // 2 :] + names[:1], 5, 9)  # a name seen again: once
    found = index.holding(text, most)
    expected = holding_slowly(names, text, most)
    assert (sorted(found) if found is not None else None) == (
        sorted(expected) if expected is not None else None
    )
    assert index.covers(9) and index.covers(5) and not index.covers(4) and not index.covers(10)


def test_a_server_reads_the_names_before_it_serves(named: Ledger) -> None:
    """``Ledger.load_claimant_names`` (what ``serve`` calls before it takes connections):
    the first request with a claimant filter then reads no name but its own appends'."""
    assert named.store.claimant_names.size is None
    assert named.load_claimant_names() == named.head().size
    seen = captured_statements(named, lambda: named.find_claims(ClaimFilter(claimant="ana")))
    assert not any("RECURSIVE names" in statement for statement, _ in seen), seen
    assert not any("claim_versions" in statement for statement, _ in seen), seen


def test_a_writer_leaves_the_names_alone(named: Ledger, writer_key: SigningKey) -> None:
    """A claimant filter inside an append transaction is answered row by row: the names
    it appended may roll back, so they never reach the store's names."""
    named.load_claimant_names()
    size = named.store.claimant_names.size
    with named.store.writer() as txn:
        assert not txn.keep_claimant_names()
        found = txn.find_claims(ClaimFilter(claimant="ana xu"), order=ClaimOrder(), limit=100)
        assert [c.claim_id for c in found] == _reference(named, "ana xu", ClaimOrder())
    assert named.store.claimant_names.size == size
    with named.store.statements() as txn:  # PostgreSQL: autocommit, a snapshot a statement
        assert txn.keep_claimant_names() == (named.store.dialect == "sqlite")


def _plan_of(ledger: Ledger, statement: str, params: object) -> str:
    """The database's plan of a statement, with a walk's planner settings on PostgreSQL
    (its tiny tables here would rather be scanned and sorted)."""
    with ledger.store.engine.connect() as conn:
        if ledger.store.dialect == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)  # type: ignore[arg-type]
            return "\n".join(str(row[-1]) for row in rows)
        for setting in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
            conn.exec_driver_sql(f"SET {setting} = off")
        rows = conn.exec_driver_sql(f"EXPLAIN {statement}", params)  # type: ignore[arg-type]
        return "\n".join(row[0] for row in rows)


def _checks_the_claimant(statement: str) -> bool:
    return any(
        check in statement
        for check in ("lower(claims.claimant_name)", "claimant_name ~", "translate(claims.")
    )


def _counted(
    ledger: Ledger, text: str, limit: int
) -> tuple[tuple[int, bool], list[tuple[str, object]]]:
    seen: list[tuple[str, object]] = []
    found: list[tuple[int, bool]] = []

    def count() -> None:
        found.append(ledger.count_claims_bounded(ClaimFilter(claimant=text), limit))

    seen = captured_statements(ledger, count)
    return found[0], [(s, p) for s, p in seen if "count(" in s]


def test_a_bounded_count_of_a_few_names_with_many_claims_reads_their_index(
    named: Ledger, few_names: int
) -> None:
    """ "Ana": two names (at most FEW: bound), six claims (more than FEW: no page by
    seqs): the count reads those names' entries of ``ix_claims_claimant_seq``, not the log
    (at 1,000,000 claims the log's walk read 227,000 rows for 1,001 matches: 2 s), and
    checks no substring on them (the names are exactly those holding it)."""
    assert named.count_claims(ClaimFilter(claimant="Ana")) == 6
    for limit, expected in ((4, (4, False)), (6, (6, True)), (10, (6, True))):
        answer, counts = _counted(named, "Ana", limit)
        assert answer == expected, limit
        (statement, params) = counts[-1]
        assert not _checks_the_claimant(statement), statement
        plan = _plan_of(named, statement, params)
        assert "ix_claims_claimant_seq" in plan, plan
        assert "claims_pkey" not in plan and "SCAN claims\n" not in f"{plan}\n", plan


def test_a_bounded_count_over_more_names_than_few_reads_the_log_in_order(
    named: Ledger, few_names: int
) -> None:
    """ "Xu": four names (more than FEW: none bound), the substring checked row by row.
    PostgreSQL reads the log in order (``claims_pkey``, as a page's walk in log order):
    in no order its planner read ``ix_claims_claimant_seq`` in name order, a heap fetch a
    row, where the matches can all lie at the end (1,000,000 claims: 24,361 rows for
    1,001 matches, 117-321 ms). SQLite reads that index alone, without the table: as
    before, in no order."""
    exact = named.count_claims(ClaimFilter(claimant="Xu"))
    assert exact == 10
    for limit, expected in ((3, (3, False)), (10, (10, True))):
        answer, counts = _counted(named, "Xu", limit)
        assert answer == expected, limit
        (statement, params) = counts[-1]
        assert _checks_the_claimant(statement), statement
        plan = _plan_of(named, statement, params)
        if named.store.dialect == "postgresql":
            assert "ORDER BY claims.seq" in statement, statement
            assert "claims_pkey" in plan and "ix_claims_claimant_seq" not in plan, plan
            assert "Sort" not in plan, plan
        else:
            assert "ORDER BY" not in statement, statement
            assert "COVERING INDEX ix_claims_claimant_seq" in plan, plan


def test_few_claims_are_sorted_by_their_keys_and_the_page_read_whole(named: Ledger) -> None:
    """ "Zeta Ba 1": three names, three claims. The page's statement materializes those
    claims' seqs and sort keys only, found by seq, the substring not checked again (the
    claimant's names found them, exactly those holding it), then reads the whole rows of
    the page's claims by seq (at 1,000,000 claims, 996 claims materialized whole, ~1 kB a
    row, and sorted cost 24 ms of the server against 7-9 ms for their keys). On
    PostgreSQL the names and the seqs are one array parameter each (1,273 parameters took
    ~25 ms of the process to render and split). A bounded count of it reads no claim."""
    where = ClaimFilter(claimant="Zeta Ba 1")
    expected = _reference(named, "Zeta Ba 1", ClaimOrder("score", True))
    assert len(expected) == 3
    seen = captured_statements(
        named, lambda: named.find_claims(where, order=ClaimOrder("score", True), limit=2)
    )
    (page, params) = next((s, p) for s, p in seen if "few_claims" in s)
    flat = " ".join(page.split())
    assert (
        "few_claims AS MATERIALIZED (SELECT claims.seq AS seq, claims.score AS score,"
        " claims.made_on AS made_on, claims.source_published AS source_published FROM claims"
    ) in flat, flat
    assert not _checks_the_claimant(page), page
    plan = _plan_of(named, page, params)
    if named.store.dialect == "postgresql":
        probe_params = next(p for s, p in seen if "claimant_name = ANY" in s)
        assert isinstance(probe_params, dict) and len(probe_params) == 2, probe_params  # + LIMIT
        assert isinstance(params, dict) and len(params) == 2, params
        assert "seq = ANY" in page, page
        assert "CTE Scan on few_claims" in plan and "Index Cond: (seq = " in plan, plan
        assert "Nested Loop" in plan or "Join" in plan, plan  # the page's rows, by seq
        # The names' probe streams their index (no bitmap of all their entries first):
        # the walk's planner settings, sent in the probe's own message.
        sent = sent_messages(
            named.store.engine,
            lambda: named.find_claims(where, order=ClaimOrder("score", True), limit=2),
            "Query|Parse",
        )
        (probe_sent,) = [m for m in sent if "claimant_name = ANY" in m]
        assert "set_config('enable_bitmapscan'" in probe_sent, sent
    else:
        assert "MATERIALIZE few_claims" in plan, plan
        assert plan.count("SEARCH claims USING INTEGER PRIMARY KEY (rowid=?)") == 2, plan
    found = named.find_claims(where, order=ClaimOrder("score", True), limit=2)
    assert [c.claim_id for c in found] == expected[:2]
    answer, counts = _counted(named, "Zeta Ba 1", 10)
    assert answer == (3, True) and counts == [], counts
    assert _counted(named, "Zeta Ba 1", 2)[0] == (2, False)


SPECIAL = ["Dr. K+J (x) [y]", "a\\b ^c$ d|e", "f?g h*i {2}", "Ønne Ärt", "ønne ärt", "A.B"]
"""Names holding what a regular expression or LIKE would read as an operator."""


@pytest.mark.parametrize("few", [10**6, 1])
def test_the_substring_is_matched_literally(
    ledger: Ledger, writer_key: SigningKey, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    """On PostgreSQL the substring is a regular expression (each ASCII letter the class of
    its two cases, anything else escaped); on SQLite ``lower() LIKE``: either way it is
    the text itself, ASCII letters caseless, any other letter as it is; through the names
    bound (``few`` large) and row by row (``few`` 1: a walk)."""
    _append(ledger, writer_key, 0, SPECIAL)
    monkeypatch.setattr(sql, "FEW", few)
    for text in (
        ".",
        "K+J",
        "(x)",
        "[y]",
        "\\",
        "^c",
        "c$",
        "d|e",
        "f?",
        "h*",
        "{2}",
        "a.b",
        "ab",
        "Ø",
        "ø",
        "ÄRT",
        "ärt",
        "ART",
        "dr. k+j (X) [Y]",
        "%",
        "_",
        " ",
    ):
        expected = [n for n in SPECIAL if _fold(text) in _fold(n)]
        found = ledger.find_claims(ClaimFilter(claimant=text), limit=100)
        assert sorted(c.claimant.name or "" for c in found) == sorted(expected), text
        assert ledger.count_claims(ClaimFilter(claimant=text)) == len(expected), text
