"""Abuse of GraphQL and of HTTP itself, against a served ledger on SQLite and PostgreSQL.

Cases: depth bombs; alias floods; duplicate-field floods; directive floods; batches (JSON
arrays, one holding a mutation); mutations over GET; CSRF-prone content types
(text/plain, form-urlencoded, multipart) carrying a mutation; oversized bodies, with and
without Content-Length (chunked); malformed JSON; 5,000-deep JSON in variables; huge
variables; fragment cycles; fragment bombs (40 fragments each spreading the previous
twice). Each one is refused, writes nothing and leaves the server answering.

The fragment bomb runs last: on a server that expands fragments without bound it blocks
the server, and the rest of the module would fail for that reason instead of their own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx

from tests.abuse.conftest import Abused, codes, post, untouched

JSON = {"content-type": "application/json"}
LIMIT = 2 * 1024 * 1024


def _claim(abused: Abused) -> tuple[str, str]:
    """A claim id and its head, for a mutation that would succeed if it ran."""
    body = post(abused, "{ claims(first: 1) { edges { node { claimId head } } } }").json()
    node = body["data"]["claims"]["edges"][0]["node"]
    return node["claimId"], node["head"]


def _retraction(abused: Abused) -> dict[str, object]:
    claim, head = _claim(abused)
    return {
        "query": "mutation($c: String!, $f: String!) { retractClaim(claimId: $c, follows: $f, "
        'reason: "csrf") { __typename } }',
        "variables": {"c": claim, "f": head},
    }


def _refused(response: httpx.Response, *needles: str) -> None:
    """A GraphQL-level refusal: no data, an error whose message has every needle."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("data") is None, body
    messages = " | ".join(e["message"] for e in body["errors"])
    for needle in needles:
        assert needle in messages, messages


def test_depth_bomb_is_refused(abused: Abused) -> None:
    # No valid query in this schema is deeper than 7, so a deep one names fields that do
    # not exist; the depth limit must still refuse it (and quickly) for its depth.
    with untouched(abused):
        started = time.monotonic()
        for depth, refusal in (
            (12, "exceeds maximum operation depth of 10"),
            (300, "Document is nested too deeply"),  # the parser stops first
        ):
            bomb = "{ claims { " + "edges { " * depth + "cursor" + " }" * depth + " } }"
            _refused(post(abused, bomb), refusal)
        assert time.monotonic() - started < 2


def test_alias_flood_is_refused(abused: Abused) -> None:
    flood = "{ " + " ".join(f"a{i}: checkpoint {{ size }}" for i in range(300)) + " }"
    with untouched(abused):
        _refused(post(abused, flood), "aliases")


def test_duplicate_field_flood_is_refused_or_cheap(abused: Abused) -> None:
    over = "{ checkpoint { " + "size " * 5000 + "} }"
    under = "{ claims(first: 100) { edges { node { " + "statement " * 1900 + "} } } }"
    with untouched(abused):
        started = time.monotonic()
        _refused(post(abused, over), "2000 tokens")
        response = post(abused, under)
        assert time.monotonic() - started < 2
        assert response.status_code == 200
        assert len(response.content) < 200_000  # duplicates are merged, not repeated


def test_directive_flood_is_refused(abused: Abused) -> None:
    few = "{ checkpoint " + "@include(if: true) " * 200 + "{ size } }"
    many = "{ checkpoint " + "@include(if: true) " * 2000 + "{ size } }"
    with untouched(abused):
        started = time.monotonic()
        _refused(post(abused, few), "can only be used once")
        _refused(post(abused, many), "2000 tokens")
        assert time.monotonic() - started < 2


def test_batched_requests_are_refused_and_run_nothing(abused: Abused) -> None:
    retraction = _retraction(abused)
    headers = {**JSON, "authorization": f"Bearer {abused.tokens['writer']}"}
    with untouched(abused):
        for batch in (
            [retraction],
            [retraction, retraction],
            [{"query": "{ keys { name } }"}] * 500,
        ):
            response = abused.http.post(abused.graphql, json=batch, headers=headers, timeout=10)
            assert response.status_code == 400
            assert "batched requests are not supported" in response.text


def test_mutation_over_get_is_refused(abused: Abused) -> None:
    retraction = _retraction(abused)
    with untouched(abused):
        response = abused.http.get(
            abused.graphql,
            params={
                "query": str(retraction["query"]),
                "variables": json.dumps(retraction["variables"]),
            },
            headers={
                "authorization": f"Bearer {abused.tokens['writer']}",
                "accept": "application/json",
            },
            timeout=10,
        )
        assert response.status_code in (400, 405)
        assert "mutations are not allowed" in response.text


def test_csrf_content_types_do_not_run_a_mutation(abused: Abused) -> None:
    retraction = _retraction(abused)
    text = json.dumps(retraction)
    auth = {"authorization": f"Bearer {abused.tokens['writer']}"}
    with untouched(abused):
        plain = abused.http.post(
            abused.graphql, content=text, headers={**auth, "content-type": "text/plain"}
        )
        form = abused.http.post(
            abused.graphql,
            data={
                "query": str(retraction["query"]),
                "variables": json.dumps(retraction["variables"]),
            },
            headers=auth,
        )
        multipart = abused.http.post(
            abused.graphql,
            data={"operations": text, "map": "{}"},
            files={"0": ("x.txt", b"x", "text/plain")},
            headers=auth,
        )
        for response in (plain, form, multipart):
            assert response.status_code in (400, 415), response.text
            assert "retractClaim" not in response.text


def test_oversized_body_gets_413(abused: Abused) -> None:
    padding = "x" * (LIMIT + 1)
    with untouched(abused):
        response = abused.http.post(
            abused.graphql,
            json={"query": "{ checkpoint { size } }", "variables": {"pad": padding}},
            timeout=10,
        )
        assert response.status_code == 413


def test_chunked_oversized_body_without_content_length_gets_413(abused: Abused) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "{ checkpoint { size } }", "variables": {"pad": "'
        for _ in range(40):
            yield b"x" * 65536  # 2.5 MiB in all
        yield b'"}}'

    with untouched(abused):
        response = abused.http.post(abused.graphql, content=chunks(), headers=JSON, timeout=10)
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert response.status_code == 413


def test_malformed_json_gets_400(abused: Abused) -> None:
    with untouched(abused):
        for body in (b'{"query": "{ checkpoint { size } }"', b"{'query': 1}", b"\xff\xfe{}", b""):
            response = abused.http.post(abused.graphql, content=body, headers=JSON, timeout=10)
            assert response.status_code == 400, (body, response.text)


def test_deeply_nested_json_in_variables_gets_400(abused: Abused) -> None:
    nested = "[" * 5000 + "]" * 5000
    body = (
        '{"query": "query($v: [String]) { checkpoint { size } }", "variables": {"v": '
        + nested
        + "}}"
    )
    with untouched(abused):
        started = time.monotonic()
        response = abused.http.post(abused.graphql, content=body, headers=JSON, timeout=10)
        assert time.monotonic() - started < 2
        assert response.status_code == 400, response.text
        assert "INTERNAL" not in response.text


def test_huge_variables_are_refused(abused: Abused) -> None:
    mutation = "mutation($d: String!) { submitSignedEntry(data: $d) { __typename } }"
    unknown = {f"k{i}": i for i in range(20_000)}
    with untouched(abused):
        started = time.monotonic()
        entry = post(abused, mutation, "writer", d="A" * 1_900_000)
        assert entry.status_code == 200
        assert entry.json()["data"]["submitSignedEntry"]["__typename"] == "InvalidInputError"
        flood = post(
            abused,
            "query($f: ClaimFilterInput) { claims(filter: $f) { totalCount } }",
            f={"search": "korea", **unknown},
        )
        assert time.monotonic() - started < 4
        assert flood.status_code == 200
        body = flood.json()
        assert body.get("data") is None and body["errors"]
        assert len(flood.content) < 100_000, "the refusal should not echo every field"


def test_fragment_cycle_is_refused(abused: Abused) -> None:
    cycle = (
        "{ checkpoint { ...A } } fragment A on Checkpoint { size ...B } "
        "fragment B on Checkpoint { origin ...A }"
    )
    with untouched(abused):
        started = time.monotonic()
        _refused(post(abused, cycle), "Cannot spread fragment")
        assert time.monotonic() - started < 2


def test_fragment_bomb_is_refused_quickly(abused: Abused) -> None:
    parts = ["fragment F0 on Checkpoint { size }"]
    parts += [f"fragment F{i} on Checkpoint {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 41)]
    bomb = "{ checkpoint { ...F40 } } " + " ".join(parts)
    assert len(bomb) < 2000
    with untouched(abused):
        started = time.monotonic()
        response = post(abused, bomb, timeout=5)
        assert time.monotonic() - started < 2
        assert response.status_code == 200
        body = response.json()
        assert body.get("data") is None and body["errors"], body
        assert codes(body) != ["INTERNAL_SERVER_ERROR"]
