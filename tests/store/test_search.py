"""Full-text search on SQLite (FTS5) and PostgreSQL (GIN): the same answers as the reference
meaning in ledger.search, for the same queries, on both databases (fixture ``db_url``)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.entries import ClaimChanges
from ledger.queries import ClaimFilter
from ledger.search import SearchError, matches, parse_search, search_text
from ledger.service import Ledger
from ledger.signing import SigningKey
from ledger.verify import rebuild_projections, verify_store
from tests.helpers import claim_payload, selector_for, text_source

CORPUS = [
    ("North Korea sent about 7,000 containers to Russia.", "sent about 7,000 containers"),
    ("Zürich's café serves crème brûlée.", "the CAFÉ in ZURICH"),
    ("The minister, Shin Won-shik, said so.", "Won-shik said"),
    ("Prices rose 1.5% in Straße district", "rose 1.5%"),
    ("ΟΔΟΣ signs were replaced", "Ὀδός"),
    ("Nothing about Korea here; north winds", "winds from the north"),
    ('He said "AND OR NOT" loudly', "NEAR(x y) * : & | !"),
    ("naïve façade 東京 データ", "東京"),
]

QUERIES = [
    "korea",
    "KOREA north",
    '"north korea"',
    '"korea north"',
    "zurich",
    "ZÜRICH cafe",
    "creme brulee",
    "caf*",
    "won-shik",
    '"shin won"*',
    "7,000",
    "7000",
    "1.5",
    "strasse",
    "οδος",
    "naive facade",
    "東京",
    "and or not",
    "NEAR(x",
    '" OR 1=1 --',
    "x* y*",
    '"containers the"',
    "north* wind*",
    "'; DROP TABLE claims; --",
    "nosuchword",
]


def _add_corpus(ledger: Ledger, writer: SigningKey, corpus: list[tuple[str, str]]) -> None:
    text = "\n\n".join(quote for _, quote in corpus)
    payload, data = text_source(text)
    with ledger.batch() as batch:
        batch.add_blob(payload.sha256, data)
        source = batch.add(payload, writer)
        for n, (statement, quote) in enumerate(corpus):
            base = claim_payload(source.hash.hex(), payload.sha256, n)
            selector = selector_for(text, quote)
            batch.add(
                base.model_copy(update={"statement": statement, "selector": selector}), writer
            )


def _found(ledger: Ledger, query: str) -> set[str]:
    where = ClaimFilter(text=query)
    found = {c.statement for c in ledger.find_claims(where, limit=1000)}
    assert ledger.count_claims(where) == len(found)
    return found


def _expected(ledger: Ledger, query: str) -> set[str]:
    parsed = parse_search(query)
    return {
        c.statement
        for c in ledger.store.all_claims()
        if matches(parsed, search_text(c.statement, c.selector.exact))
    }


@pytest.fixture
def corpus(ledger: Ledger, writer_key: SigningKey) -> Ledger:
    _add_corpus(ledger, writer_key, CORPUS)
    return ledger


def test_search_answers_as_the_reference_on_both_databases(corpus: Ledger) -> None:
    for query in QUERIES:
        assert _found(corpus, query) == _expected(corpus, query), query


def test_search_semantics_by_example(corpus: Ledger) -> None:
    statements = [s for s, _ in CORPUS]
    assert _found(corpus, "korea") == {statements[0], statements[5]}
    assert _found(corpus, '"north korea"') == {statements[0]}
    assert _found(corpus, "zurich") == {statements[1]}  # diacritics: quote says ZURICH
    assert _found(corpus, "brulee CREME") == {statements[1]}
    assert _found(corpus, "caf*") == {statements[1]}
    assert _found(corpus, "won-shik") == {statements[2]}
    assert _found(corpus, "7,000") == {statements[0]}
    assert _found(corpus, "7000") == set()  # tokens, not substrings
    assert _found(corpus, "οδος") == {statements[4]}
    assert _found(corpus, "東京") == {statements[7]}
    assert _found(corpus, '"containers the"') == set()  # phrases stay within one field
    assert _found(corpus, "NEAR(x") == {statements[6]}  # operators are plain words


@pytest.mark.parametrize("query", ["", "  ", "***", '""', "-- ; :"])
def test_a_search_without_a_word_is_a_clear_error(corpus: Ledger, query: str) -> None:
    with pytest.raises(SearchError, match="no word to look for"):
        corpus.find_claims(ClaimFilter(text=query))


def test_revisions_and_rebuilds_keep_the_index_in_step(
    corpus: Ledger, writer_key: SigningKey
) -> None:
    [claim] = corpus.find_claims(ClaimFilter(text='"north korea"'))
    corpus.revise_claim(
        writer_key,
        claim.claim_id,
        follows=claim.head,
        changes=ClaimChanges(statement="Pyongyang shipped 6,700 containers."),
        reason="correction",
    )
    assert _found(corpus, "pyongyang") == {"Pyongyang shipped 6,700 containers."}
    assert _found(corpus, '"north korea"') == set()
    assert _found(corpus, '"7,000 containers"') == {"Pyongyang shipped 6,700 containers."}
    if corpus.store.dialect == "sqlite":  # a damaged FTS5 index is repaired by rebuild
        with corpus.store.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO claims_fts(claims_fts) VALUES ('delete-all')"))
        assert _found(corpus, "pyongyang") == set()
        rebuild_projections(corpus.store)
        assert _found(corpus, "pyongyang") == {"Pyongyang shipped 6,700 containers."}
    verify_store(corpus.store)


WORDS = ["north", "korea", "zurich", "cafe", "won", "shik", "7", "000", "east", "ο"]
_QUERY_TEXT = st.lists(
    st.tuples(
        st.sampled_from([*WORDS, "NORTH", "Zür", "Café", "wön", "ko", "caf"]),
        st.sampled_from(["", "*", '"', "-", ",", " OR", ":", "&", "'", "("]),
    ),
    min_size=1,
    max_size=4,
).map(lambda parts: " ".join(word + mark for word, mark in parts))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(query=_QUERY_TEXT)
def test_random_queries_agree_with_the_reference(corpus: Ledger, query: str) -> None:
    try:
        parse_search(query)
    except SearchError:
        return
    assert _found(corpus, query) == _expected(corpus, query)
