"""The claim search language, defined once: folding, tokens, queries, and what matches.

Text is *folded* before anything is compared: compatibility-decomposed (NFKD), case-folded,
every combining mark (accent, diacritic) dropped. A *token* is a run of letters and digits
of the folded text (``str.isalnum``); everything else separates tokens. No stemming.

A query is a list of *terms*, all of which must match (AND):

- ``word``: a token equal to ``word``;
- ``word*``: a token starting with ``word`` (prefix);
- ``"several words"``: those tokens next to each other, in that order (phrase); a ``*``
  right after the closing quote makes the last one a prefix;
- a bare chunk that folds to several tokens (``won-shik``, ``7,000``) is a phrase.

Unbalanced quotes close at the end of the query. Operators of the engines (``AND``, ``OR``,
``NEAR``, ``:``, ``&``, ``!``…) mean nothing here: they are words or separators, so user
text can never reach FTS5 or tsquery syntax. A query without a single token is refused
with ``SearchError``.

The databases index ``search_text(statement, quote)``: the folded tokens of each joined by
single spaces, the two parts separated by the token ``¶`` (which no query can produce, so a
phrase never spans statement and quote). ``matches`` is the reference meaning of a query over
that text. Both databases answer a query the same way: their index (FTS5, GIN) finds the
claims holding every token (``fts5_match``, ``tsquery``), then the adjacency of phrases is
checked on the text itself (``like_patterns(phrases(query))``). The conformance tests hold
both to ``matches``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ledger.echo import echo
from ledger.errors import InvalidInput

PART_SEPARATOR = "\u00b6"
"""The token between the statement's and the quote's tokens in ``search_text``."""
MAX_TOKEN = 100
"""Longer tokens are neither indexed nor searched (PostgreSQL caps lexemes at 2 KiB)."""
MAX_TERMS = 20
MAX_SEARCH_CHARS = 1000
"""Longer search strings are refused before any work on them."""
MAX_PHRASE_TOKENS = 32
"""A phrase (a quoted chunk, or a bare one that folds to several tokens) of more tokens is
refused."""

_TOKEN = re.compile(r"[^\W_]+")
_ASCII_TOKEN = re.compile(r"[a-z0-9]+")


class SearchError(InvalidInput):
    """A search query that cannot be run (no word to look for, too long, too many terms or
    too long a phrase)."""


@dataclass(frozen=True, slots=True)
class Term:
    """Tokens that must appear next to each other, in order; ``prefix``: the last one may
    be any token starting with it."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    terms: tuple[Term, ...]


def fold(text: str) -> str:
    """Compatibility-decomposed, case-folded, without combining marks."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))


def tokens(text: str) -> list[str]:
    """The searchable tokens of ``text``, folded, in order."""
    folded = fold(text)
    found: list[str] = (_ASCII_TOKEN if folded.isascii() else _TOKEN).findall(folded)
    if len(folded) <= MAX_TOKEN:
        return found
    return [token for token in found if len(token) <= MAX_TOKEN]


def search_text(statement: str, quote: str) -> str:
    """What the databases index for a claim: statement tokens, ``¶``, quote tokens."""
    first = " ".join(tokens(statement))
    second = first if quote == statement else " ".join(tokens(quote))
    return f"{first} {PART_SEPARATOR} {second}".strip(" ")


def parse_search(text: str) -> SearchQuery:
    """The query ``text`` means; ``SearchError`` if it has no token, is over
    ``MAX_SEARCH_CHARS`` characters, has over ``MAX_TERMS`` terms or a phrase of over
    ``MAX_PHRASE_TOKENS`` tokens. Each bound is checked as soon as it can be broken, so a
    refusal costs no more than reading the input once."""
    if len(text) > MAX_SEARCH_CHARS:
        raise SearchError(
            f"search is {len(text)} characters long; at most {MAX_SEARCH_CHARS} are allowed"
        )
    terms: dict[Term, None] = {}
    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        if char == '"':
            end = text.find('"', position + 1)
            end = length if end < 0 else end
            chunk = text[position + 1 : end]
            position = end + 1
            prefix = position < length and text[position] == "*"
        elif char.isspace():
            position += 1
            continue
        else:
            end = position
            while end < length and not text[end].isspace() and text[end] != '"':
                end += 1
            chunk = text[position:end]
            position = end
            prefix = chunk.endswith("*")
        found = tokens(chunk)
        if len(found) > MAX_PHRASE_TOKENS:
            raise SearchError(
                f"search phrase {echo(chunk)} has {len(found)} words; "
                f"at most {MAX_PHRASE_TOKENS} are allowed in one phrase"
            )
        if found:
            terms[Term(tuple(found), prefix=prefix)] = None
            if len(terms) > MAX_TERMS:
                raise SearchError(
                    f"search has over {MAX_TERMS} terms; at most {MAX_TERMS} are allowed"
                )
    if not terms:
        raise SearchError(
            f"search {echo(text)} has no word to look for (words are letters and digits)"
        )
    return SearchQuery(tuple(terms))


def matches(query: SearchQuery, indexed: str) -> bool:
    """Whether a claim whose ``search_text`` is ``indexed`` matches (the reference meaning)."""
    padded = f" {indexed} "
    return all(_needle(term) in padded for term in query.terms)


def _needle(term: Term) -> str:
    """The term as a substring of ``' ' + search_text + ' '``: whole tokens, in order."""
    return " " + " ".join(term.tokens) + ("" if term.prefix else " ")


def like_patterns(query: SearchQuery) -> list[str]:
    """LIKE patterns over ``' ' || search_text || ' '``, one per term (all must match).

    Tokens hold only letters and digits, so no pattern holds a LIKE wildcard of its own.
    """
    return [f"%{_needle(term)}%" for term in query.terms]


def _lexemes(query: SearchQuery) -> list[tuple[str, bool]]:
    """Every token of every term once, with whether it is a prefix (a phrase's last token)."""
    found: dict[tuple[str, bool], None] = {}
    for term in query.terms:
        for index, token in enumerate(term.tokens):
            found[(token, term.prefix and index == len(term.tokens) - 1)] = None
    return list(found)


def fts5_match(query: SearchQuery) -> str:
    """An FTS5 MATCH expression every matching claim satisfies: each token of each term as
    a quoted string (tokens hold no quote), ANDed, prefixes ``*``. The index keeps no
    positions: adjacency within phrases is checked separately (``phrases``)."""
    return " AND ".join(f'"{token}"' + ("*" if prefix else "") for token, prefix in _lexemes(query))


def tsquery(query: SearchQuery) -> str:
    """The same as a tsquery literal: lexemes quoted, ANDed, prefixes ``:*``."""
    return " & ".join(f"'{token}'" + (":*" if prefix else "") for token, prefix in _lexemes(query))


def exact_words(query: SearchQuery) -> SearchQuery:
    """Each token of the query that is not a prefix, as a one-word term: every claim
    matching ``query`` holds them all (no term at all when every token is a prefix)."""
    return SearchQuery(tuple(Term((token,)) for token, prefix in _lexemes(query) if not prefix))


def phrases(query: SearchQuery) -> SearchQuery:
    """The terms whose adjacency the indexes' token lists cannot check (two tokens or more)."""
    return SearchQuery(tuple(t for t in query.terms if len(t.tokens) > 1))
