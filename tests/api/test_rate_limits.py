"""Mutation rate limits over real HTTP: past a token's (or a client address's) rate a
mutation gets 429 with Retry-After and RATE_LIMITED and writes nothing; queries and
other tokens are not held back by it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.config import Settings
from ledger.instance import open_instance
from ledger.tokens import create_token
from tests.api.conftest import launch

INGEST = """mutation($text: String!) { ingestSource(text: $text) { __typename } }"""
TWO = """mutation { a: retractClaim(claimId: "x", follows: "y", reason: "z") { __typename }
  b: retractClaim(claimId: "x", follows: "y", reason: "z") { __typename } }"""


@pytest.fixture
def limited(db_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    home = tmp_path / "home"
    instance = open_instance(Settings(home=home, database_url=db_url, passphrase=b"pw"))
    writer = instance.writer_key()
    tokens = {name: create_token(instance.ledger.store, name, writer) for name in ("a", "b")}
    instance.close()
    proc, url = launch(
        home,
        db_url,
        env={"LEDGER_API_MUTATION_RATE": "3/minute", "LEDGER_API_CLIENT_MUTATION_RATE": "8/minute"},
    )
    yield url, tokens
    proc.terminate()
    proc.wait(timeout=15)


def _post(url: str, query: str, token: str | None = None, **variables: object) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers
    )


def _size(url: str) -> int:
    response = _post(url, "{ checkpoint { size } }")
    assert response.status_code == 200
    return int(response.json()["data"]["checkpoint"]["size"])


def _refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 60
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED"}
    assert reason in error["message"]


def test_mutations_past_the_rate_get_429_and_write_nothing(
    limited: tuple[str, dict[str, str]],
) -> None:
    url, tokens = limited
    for n in range(3):
        done = _post(url, INGEST, tokens["a"], text=f"The ministry said {n} ships sailed.")
        assert done.json()["data"]["ingestSource"]["__typename"] == "SourceIngested"
    size = _size(url)
    again = _post(url, INGEST, tokens["a"], text="The ministry said 9 ships sailed.")
    _refused(again, "from this token: the limit is 3 per 1 minute")
    assert _size(url) == size  # nothing written
    for _ in range(10):  # queries are not limited
        assert _size(url) == size
    # Another token has its own allowance; a document's mutation fields count one each.
    assert _post(url, TWO, tokens["b"]).status_code == 200
    _refused(_post(url, TWO, tokens["b"]), "from this token")  # 2 + 2 > 3
    # The client address's 8 count every mutation it sent, with or without a token:
    # 3 + 2 so far, refused ones not counted.
    for _ in range(3):
        unauthenticated = _post(url, INGEST, text="no token").json()["errors"][0]
        assert unauthenticated["extensions"]["code"] == "UNAUTHENTICATED"
    _refused(_post(url, INGEST, text="no token"), "from this client: the limit is 8 per 1 minute")
    assert _size(url) == size
