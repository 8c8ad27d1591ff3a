"""The per-request time limit over real HTTP, on SQLite and PostgreSQL: a server started
with `serve --timeout 0.5` stops a query or a mutation that runs past it, answers
`extensions.code = "TIMEOUT"` (HTTP 200, as for any GraphQL error of a well-formed
request), writes nothing for a mutation that timed out, and keeps serving."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.ids import cursor
from ledger.config import Settings
from ledger.instance import open_instance
from ledger.tokens import create_token
from tests.api.conftest import launch
from tests.helpers import add_source_with_claims

LIMIT = "0.5"
PAGES = 25
# 25 pages of 100 claims with full provenance and history: well over a second of work (ten
# were not once a worker built its claim-state map at start, not in the first such query).
# Each claim has one or two entries, so pages of 3 are the whole lists, and the operation
# stays under the limiter's node limit (25 x (100 + 100 x 6) = 17,500).
SLOW = (
    "{ "
    + " ".join(
        f'p{n}: claims(first: 100, after: "{cursor(n * 120)}") {{ edges {{ node {{ statement '
        "provenance { links(first: 3) { nodes { role signatureValid inclusionProof { hashes "
        "rootHash } } } } history(first: 3) { nodes { kind signerName changes { field after } } } "
        "} } }"
        for n in range(PAGES)
    )
    + " }"
)
NORMAL = "{ checkpoint { size } claims(first: 3) { totalCount edges { node { statement } } } }"
INGEST = """mutation($text: String!) { ingestSource(text: $text) { __typename
  ... on SourceIngested { claims source { sha256 } } } }"""


@dataclass
class Limited:
    url: str
    token: str
    size: int


@pytest.fixture
def limited(db_url: str, tmp_path: Path) -> Iterator[Limited]:
    home = tmp_path / "home"
    instance = open_instance(Settings(home=home, database_url=db_url, passphrase=b"pw"))
    for n in range(PAGES * 24):
        add_source_with_claims(instance.ledger, instance.writer_key(), n, claims=5)
    token = create_token(instance.ledger.store, "writer", instance.writer_key())
    size = instance.ledger.head().size
    instance.close()
    proc, url = launch(home, db_url, "--timeout", LIMIT)
    yield Limited(url, token, size)
    proc.terminate()
    proc.wait(timeout=10)


def _post(limited: Limited, query: str, **variables: str) -> dict[str, object]:
    response = httpx.post(
        f"{limited.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {limited.token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _healthy(limited: Limited, size: int) -> None:
    assert httpx.get(f"{limited.url}/healthz").json() == {"status": "ok", "entries": size}
    normal = _post(limited, NORMAL)
    assert "errors" not in normal, normal
    assert normal["data"]["checkpoint"]["size"] == size  # type: ignore[index]


def test_a_query_past_the_limit_gets_timeout_and_the_server_keeps_serving(
    limited: Limited,
) -> None:
    _healthy(limited, limited.size)
    for _ in range(2):
        body = _post(limited, SLOW)
        assert body == {
            "data": None,
            "errors": [
                {
                    "message": f"the request ran past its time limit of {LIMIT} s",
                    "extensions": {"code": "TIMEOUT"},
                }
            ],
        }
        _healthy(limited, limited.size)


def _article(sentences: int, tag: str) -> str:
    return " ".join(
        f"The ministry said on Monday that {1000 + n} troops were deployed near town {tag}{n}."
        for n in range(sentences)
    )


def test_a_mutation_past_the_limit_writes_nothing(limited: Limited) -> None:
    big = _article(3000, "a")  # seconds of extraction and a 3,000-entry append
    body = _post(limited, INGEST, text=big)
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": f"the request ran past its time limit of {LIMIT} s",
            "locations": [{"line": 1, "column": 28}],
            "path": ["ingestSource"],
            "extensions": {"code": "TIMEOUT"},
        }
    ]
    sha = hashlib.sha256(big.encode()).hexdigest()
    found = _post(limited, "query($h: String!) { source(hash: $h) { sha256 } }", h=sha)
    assert found == {"data": {"source": None}}
    _healthy(limited, limited.size)
    # The append lock was released: a small write goes through.
    small = _post(limited, INGEST, text=_article(2, "b"))["data"]["ingestSource"]  # type: ignore[index]
    assert small["__typename"] == "SourceIngested" and small["claims"] == 2
    _healthy(limited, limited.size + 3)


def test_in_a_document_of_mutations_the_error_names_the_one_that_timed_out(
    limited: Limited,
) -> None:
    both = """mutation($small: String!, $big: String!) {
      first: ingestSource(text: $small) { __typename ... on SourceIngested { claims } }
      second: ingestSource(text: $big) { __typename ... on SourceIngested { claims } } }"""
    body = _post(limited, both, small=_article(2, "c"), big=_article(3000, "d"))
    # Mutation results are non-null, so the failed one nulls `data`; its error's path says
    # which one timed out, and everything before it was committed.
    assert body == {
        "data": None,
        "errors": [
            {
                "message": f"the request ran past its time limit of {LIMIT} s",
                "locations": [{"line": 3, "column": 7}],
                "path": ["second"],
                "extensions": {"code": "TIMEOUT"},
            }
        ],
    }
    _healthy(limited, limited.size + 3)  # the first one (a source and 2 claims), only it
