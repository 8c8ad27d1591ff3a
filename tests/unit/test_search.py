"""The search language (ledger.search): pure functions, checked without a database."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.echo import ECHO_CHARS, echo, shorten
from ledger.errors import InvalidInput
from ledger.queries import MAX_FILTER_CHARS, ClaimFilter
from ledger.search import (
    MAX_PHRASE_TOKENS,
    MAX_SEARCH_CHARS,
    MAX_TERMS,
    PART_SEPARATOR,
    SearchError,
    Term,
    fold,
    fts5_match,
    like_patterns,
    matches,
    parse_search,
    search_text,
    tokens,
    tsquery,
)


def test_tokens_are_folded_letters_and_digits() -> None:
    assert tokens("Zürich's CAFÉ — 7,000 €; naïve façade ﬁnal") == [
        "zurich",
        "s",
        "cafe",
        "7",
        "000",
        "naive",
        "facade",
        "final",
    ]
    assert tokens("Straße İstanbul ΟΔΟΣ") == ["strasse", "istanbul", "οδοσ"]
    assert tokens("e\u0301cole") == tokens("\u00e9cole") == ["ecole"]  # decomposed or not
    assert tokens("x" * 101 + " ok") == ["ok"]


def test_query_terms() -> None:
    query = parse_search('North "Korea sent"* won-shik pré* OR')
    assert query.terms == (
        Term(("north",)),
        Term(("korea", "sent"), prefix=True),
        Term(("won", "shik")),
        Term(("pre",), prefix=True),
        Term(("or",)),
    )
    assert parse_search('"unclosed phrase').terms == (Term(("unclosed", "phrase")),)
    assert parse_search("a a A").terms == (Term(("a",)),)


@pytest.mark.parametrize("text", ["", "   ", "***", '""', "!! -- ::", "\u0301"])
def test_a_query_without_a_word_is_refused(text: str) -> None:
    with pytest.raises(SearchError, match="no word to look for"):
        parse_search(text)
    assert issubclass(SearchError, InvalidInput)


def test_too_many_terms_are_refused() -> None:
    with pytest.raises(SearchError, match="at most"):
        parse_search(" ".join(f"w{i}" for i in range(MAX_TERMS + 1)))


def test_bounds_are_checked_before_the_work_and_refusals_quote_a_short_prefix() -> None:
    longest = ("w" * 99 + " ") * 9 + "w" * (MAX_SEARCH_CHARS - 900)
    assert len(longest) == MAX_SEARCH_CHARS
    assert len(parse_search(longest).terms) == 2  # at the bound: accepted
    huge = "x " * 950_000  # 1.9 MB: refused on its length alone, in no time
    started = time.perf_counter()
    with pytest.raises(SearchError, match=f"1900000 characters long; at most {MAX_SEARCH_CHARS}"):
        parse_search(huge)
    assert time.perf_counter() - started < 0.01
    phrase = '"' + " ".join(["word"] * (MAX_PHRASE_TOKENS + 1)) + '"'
    with pytest.raises(SearchError, match=f"at most {MAX_PHRASE_TOKENS} are allowed") as refused:
        parse_search(phrase)
    assert len(str(refused.value)) < 200 and "…" in str(refused.value)
    assert (
        len(parse_search('"' + " ".join(["word"] * MAX_PHRASE_TOKENS) + '"').terms[0].tokens)
        == MAX_PHRASE_TOKENS
    )
    many = " ".join(f"w{i}" for i in range(200))  # refused at the 21st term
    with pytest.raises(SearchError, match=f"over {MAX_TERMS} terms"):
        parse_search(many)
    with pytest.raises(SearchError) as empty:
        parse_search("-" * MAX_SEARCH_CHARS)
    assert str(empty.value).count("-") == ECHO_CHARS and "(1000 characters)" in str(empty.value)


@pytest.mark.parametrize("name", ["claimant", "source", "publisher", "extractor", "signer"])
def test_filter_values_are_bounded(name: str) -> None:
    assert getattr(ClaimFilter(**{name: "n" * MAX_FILTER_CHARS}), name)
    with pytest.raises(
        InvalidInput, match=f"{name} is 1001 characters long, over the limit of 1000"
    ):
        ClaimFilter(**{name: "n" * (MAX_FILTER_CHARS + 1)})


def test_echo_quotes_a_short_prefix() -> None:
    assert echo("abc") == "'abc'"
    assert echo(42) == "'42'"
    cut = echo("y" * 10_000)
    assert cut == repr("y" * ECHO_CHARS) + "… (10000 characters)"
    assert shorten("abc") == "abc"
    assert shorten("z" * (ECHO_CHARS + 1)) == "z" * ECHO_CHARS + f"… ({ECHO_CHARS + 1} characters)"


def test_reference_meaning() -> None:
    indexed = search_text("North Korea sent 7,000 containers.", "Zürich, said Won-shik")
    assert indexed == f"north korea sent 7 000 containers {PART_SEPARATOR} zurich said won shik"

    def hit(q: str) -> bool:
        return matches(parse_search(q), indexed)

    assert hit("korea NORTH") and hit("ZURICH") and hit("zür*") and hit("7,000")
    assert hit('"north korea"') and hit('"korea se"*') and hit("won-shik")
    assert not hit("kor") and not hit('"korea north"') and not hit("7000")
    assert not hit('"containers zurich"')  # a phrase never spans statement and quote
    assert not hit("north missing")


def test_translations_quote_every_token() -> None:
    query = parse_search('NEAR(a b) "x y"* c* AND \'; DROP TABLE claims; -- :* & !')
    assert fts5_match(query) == (
        '"near" AND "a" AND "b" AND "x" AND "y"* AND "c"* AND "and" AND "drop" AND "table" '
        'AND "claims"'
    )
    assert tsquery(query) == (
        "'near' & 'a' & 'b' & 'x' & 'y':* & 'c':* & 'and' & 'drop' & 'table' & 'claims'"
    )
    assert like_patterns(query)[:4] == ["% near a %", "% b %", "% x y%", "% c%"]


_TEXT = st.text(
    alphabet=st.sampled_from(list("abcéÉüß ÅåøΣς-.,'\"*:&|!()^ 0123\u0301\u00a0ﬁ")), max_size=40
)


@given(_TEXT)
def test_folding_is_idempotent_and_tokens_are_clean(text: str) -> None:
    assert tokens(fold(text)) == tokens(text)
    assert fold(fold(text)) == fold(text)
    for token in tokens(text):
        assert token.isalnum() and token == fold(token)


@given(_TEXT, _TEXT)
def test_a_query_made_of_a_claims_own_words_finds_it(statement: str, quote: str) -> None:
    words = tokens(statement)
    if words:
        indexed = search_text(statement, quote)
        assert matches(parse_search(" ".join(words)), indexed)
        assert matches(parse_search('"' + " ".join(words) + '"'), indexed)
        assert matches(parse_search(words[0][:1] + "*"), indexed)


@given(_TEXT)
def test_any_text_is_a_query_or_a_search_error(text: str) -> None:
    try:
        query = parse_search(text)
    except SearchError:
        assert not tokens(text)
        return
    assert fts5_match(query).count('"') == 2 * (fts5_match(query).count(" AND ") + 1)
    assert "'" not in "".join(t for term in query.terms for t in term.tokens)
