"""Choosing the response media type from Accept (GraphQL over HTTP, RFC 9110 §12.5.1)."""

from __future__ import annotations

import pytest

from api.media import GRAPHQL_RESPONSE, JSON, negotiate


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, GRAPHQL_RESPONSE),  # no header: the type the spec prefers since 2025
        ("", GRAPHQL_RESPONSE),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (JSON, JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),  # both named: the preferred one
        (f"{GRAPHQL_RESPONSE};q=0.4, {JSON};q=0.9", JSON),  # q decides
        ("*/*", JSON),  # named neither: the type every client reads
        ("application/*", JSON),
        (f"*/*;q=0.8, {GRAPHQL_RESPONSE};q=0.8", GRAPHQL_RESPONSE),  # named beats wildcard
        (f"{JSON};q=0, */*", GRAPHQL_RESPONSE),  # q=0 refuses, the specific range wins
        (f"{GRAPHQL_RESPONSE}; charset=utf-8, {JSON}; charset=utf-8", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}; charset=iso-8859-1, {JSON}", JSON),  # the answer is UTF-8
        ("APPLICATION/JSON", JSON),
        (f"{JSON};q=nonsense, {GRAPHQL_RESPONSE};q=0.1", GRAPHQL_RESPONSE),
        ("text/html", None),
        (f"{JSON};q=0, {GRAPHQL_RESPONSE};q=0", None),
        ("garbage", None),
    ],
)
def test_negotiate(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept) == chosen
