"""Hostile arguments, against a served ledger on SQLite and PostgreSQL.

Cases: injection strings in search and filters (FTS5 operators, SQL quotes and comments,
LIKE wildcards ``%`` ``_`` ``\\``, NUL, lone surrogates); a 50,000-character claimant
pattern; a 1.9 MB search string; a phrase of 150,000 words; forged cursors (not base64,
huge digits, non-ASCII digits, a cursor from another order); claim ids that are not hex
or not 64 long; a 100,000-character rating; empty and 100,000-character reasons; a
statement over 100,000 characters; ``madeOn`` "yesterday", "2024-02-30", "0000-00-00" (in a revision and in a
filter). Each one is refused (``BAD_USER_INPUT`` or ``InvalidInputError``) or, for the
injection strings, answered as plain text would be; nothing is written; the server keeps
answering.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx

from tests.abuse.conftest import Abused, codes, post, untouched

COUNT = "query($f: ClaimFilterInput) { claims(filter: $f) { totalCount } }"
HEAD = "{ claims(first: 1, filter: {status: ACTIVE}) { edges { node { claimId head } } } }"
REVISE = """mutation($input: ReviseClaimInput!) { reviseClaim(input: $input) { __typename
  ... on InvalidInputError { message } ... on NotFoundError { message } } }"""
REVIEW = """mutation($input: ReviewClaimInput!) { reviewClaim(input: $input) { __typename
  ... on InvalidInputError { message } } }"""
RETRACT = """mutation($c: String!, $f: String!, $r: String!) {
  retractClaim(claimId: $c, follows: $f, reason: $r) { __typename } }"""


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _active(abused: Abused) -> tuple[str, str]:
    body = post(abused, HEAD).json()
    node = body["data"]["claims"]["edges"][0]["node"]
    return node["claimId"], node["head"]


def _bad_input(response: httpx.Response) -> dict[str, Any]:
    """A refusal as a GraphQL error with code BAD_USER_INPUT (never INTERNAL)."""
    assert response.status_code == 200, response.text[:500]
    body: dict[str, Any] = response.json()
    assert codes(body) and set(codes(body)) == {"BAD_USER_INPUT"}, body
    return body


def _member(response: httpx.Response, mutation: str) -> str:
    """The union member a mutation answered with (a GraphQL error instead fails)."""
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert not body.get("errors") and body["data"], body
    return str(body["data"][mutation]["__typename"])


def _plain_or_bad_input(response: httpx.Response) -> int | None:
    """Answered as text (the total), or refused as BAD_USER_INPUT; never INTERNAL."""
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    if body.get("errors"):
        assert set(codes(body)) == {"BAD_USER_INPUT"}, body
        return None
    return int(body["data"]["claims"]["totalCount"])


def _count(abused: Abused, **where: str) -> int | None:
    return _plain_or_bad_input(post(abused, COUNT, f=where))


def test_search_injection_strings_are_plain_text(abused: Abused) -> None:
    total = _count(abused)
    assert total is not None and total > 1
    attacks = [
        "korea OR 1",
        "NEAR(korea russia, 1)",
        "statement:korea",
        '"korea" NOT x',
        "{statement quote}: korea",
        "korea*)",
        "^korea",
        "' OR '1'='1",
        "'; DROP TABLE entries; --",
        'x") OR 1=1 --',
        "/* */ korea -- ",
        "korea \\",
    ]
    with untouched(abused):
        for attack in attacks:
            found = _count(abused, search=attack)
            assert found is None or found < total, attack


def test_filter_injection_strings_and_like_wildcards_match_literally(abused: Abused) -> None:
    attacks = ["%", "_", "%%", "\\", "\\%", "' OR '1'='1", "x' --", '") OR 1=1 --', "*"]
    with untouched(abused):
        for field in ("claimant", "publisher", "source", "extractor", "signer"):
            for attack in attacks:
                assert _count(abused, **{field: attack}) in (0, None), (field, attack)


def test_nul_and_lone_surrogates_are_refused_or_plain(abused: Abused) -> None:
    raw = [
        f'{{"query": {json.dumps(COUNT)}, "variables": {{"f": {{"{field}": "{value}"}}}}}}'
        for field in ("search", "claimant", "publisher", "source")
        for value in ("korea\\u0000", "\\u0000", "\\ud800", "korea \\udfff x", "\\udc00\\ud800")
    ]
    with untouched(abused):
        for body in raw:
            response = abused.http.post(
                abused.graphql,
                content=body.encode(),
                headers={"content-type": "application/json"},
                timeout=10,
            )
            assert response.status_code in (200, 400), (body, response.text)
            if response.status_code == 200:
                found = _plain_or_bad_input(response)
                # In a search NUL and surrogates separate words; in the others they match nothing.
                assert found in (0, None) or '"search"' in body, body


def test_fifty_thousand_character_claimant_pattern_is_refused(abused: Abused) -> None:
    with untouched(abused):
        started = time.monotonic()
        _bad_input(post(abused, COUNT, f={"claimant": "%_" * 25_000}))
        _bad_input(
            post(
                abused,
                "query($s: String) { claimants(search: $s) { edges { cursor } } }",
                s="a" * 50_000,
            )
        )
        assert time.monotonic() - started < 2


def test_two_megabyte_search_string_is_refused(abused: Abused) -> None:
    search = ("korea " * 320_000)[:1_900_000]
    with untouched(abused):
        started = time.monotonic()
        _bad_input(post(abused, COUNT, f={"search": search}))
        assert time.monotonic() - started < 2


def test_phrase_of_150000_words_is_refused(abused: Abused) -> None:
    phrase = '"' + " ".join(["a"] * 150_000) + '"'
    with untouched(abused):
        started = time.monotonic()
        _bad_input(post(abused, COUNT, f={"search": phrase}))
        assert time.monotonic() - started < 2


def test_forged_cursors_are_refused(abused: Abused) -> None:
    page = post(abused, "{ claims(first: 1, orderBy: {field: SCORE}) { edges { cursor } } }").json()
    score_cursor = page["data"]["claims"]["edges"][0]["cursor"]
    forged = [
        "!!!not base64!!!",
        "%%%",
        _encode("seq:" + "9" * 40),
        _encode("seq:" + "9" * 5000),
        _encode("seq:-1"),
        _encode("seq:\u0663"),  # ARABIC-INDIC DIGIT THREE
        _encode("seq:\uff13"),  # FULLWIDTH DIGIT THREE
        _encode("claims:score:asc:\u0663:5"),
        _encode("claims:score:asc:3:" + "9" * 5000),
        _encode("claims:made_on:asc:3:yesterday"),
        base64.urlsafe_b64encode(b"seq:\xff\xfe").decode(),
        score_cursor,  # made for orderBy SCORE ASC, used under the default order
    ]
    query = (
        "query($a: String, $b: String) { claims(first: 2, after: $a, before: $b) { totalCount } }"
    )
    with untouched(abused):
        for token in forged:
            _bad_input(post(abused, query, a=token))
            _bad_input(post(abused, query, b=token))
        _bad_input(
            post(
                abused,
                "query($a: String) { sources(after: $a) { edges { cursor } } }",
                a=_encode("seq:" + "9" * 40),
            )
        )


def test_claim_ids_not_hex_or_wrong_length_are_refused(abused: Abused) -> None:
    claim, head = _active(abused)
    bad = ["zz", claim[:63], claim + "0", "g" * 64, claim.upper().replace("A", "Ä"), "", " " * 64]
    with untouched(abused):
        for claim_id in bad:
            revised = {"claimId": claim_id, "follows": head, "reason": "r", "statement": "s"}
            member = _member(post(abused, REVISE, "writer", input=revised), "reviseClaim")
            assert member == "InvalidInputError", claim_id
            follows = {"claimId": claim, "follows": claim_id, "reason": "r", "statement": "s"}
            member = _member(post(abused, REVISE, "writer", input=follows), "reviseClaim")
            assert member == "InvalidInputError", claim_id
            for query in (
                "query($i: ID!) { claim(id: $i) { claimId } }",
                "query($i: ID!) { node(id: $i) { id } }",
            ):
                _bad_input(post(abused, query, i=claim_id or "!"))


def test_hundred_thousand_character_rating_is_refused(abused: Abused) -> None:
    claim, head = _active(abused)
    with untouched(abused):
        for rating in ("x" * 100_000, ""):
            review = {"claimId": claim, "follows": head, "rating": rating}
            member = _member(post(abused, REVIEW, "reviewer", input=review), "reviewClaim")
            assert member == "InvalidInputError", rating[:10]


def test_empty_reasons_are_refused(abused: Abused) -> None:
    claim, head = _active(abused)
    with untouched(abused):
        for reason in ("", "x" * 100_000):
            revised = {"claimId": claim, "follows": head, "reason": reason, "statement": "s"}
            member = _member(post(abused, REVISE, "writer", input=revised), "reviseClaim")
            assert member == "InvalidInputError", repr(reason)
            retracted = post(abused, RETRACT, "writer", c=claim, f=head, r=reason)
            assert _member(retracted, "retractClaim") == "InvalidInputError", repr(reason)


def test_statement_over_a_hundred_thousand_characters_is_refused(abused: Abused) -> None:
    claim, head = _active(abused)
    with untouched(abused):
        for statement in ("x" * 100_001, "word " * 100_000):  # the limit is 100,000
            revised = {"claimId": claim, "follows": head, "reason": "r", "statement": statement}
            member = _member(post(abused, REVISE, "writer", input=revised), "reviseClaim")
            assert member == "InvalidInputError"


def test_impossible_made_on_dates_are_refused(abused: Abused) -> None:
    claim, head = _active(abused)
    days = ["yesterday", "2024-02-30", "0000-00-00", "2024-2-3", "+02024-01-01", "2024-01-01T00:00"]
    with untouched(abused):
        for day in days:
            revised = {"claimId": claim, "follows": head, "reason": "r", "madeOn": day}
            member = _member(post(abused, REVISE, "writer", input=revised), "reviseClaim")
            assert member == "InvalidInputError", day
            for field in ("madeFrom", "madeTo", "publishedFrom", "recordedTo"):
                _bad_input(post(abused, COUNT, f={field: day}))
