"""GraphQL-over-HTTP conventions and limits over real HTTP, on SQLite and PostgreSQL:
malformed requests get 400 (another content type 415), batches are refused, depth/token/page limits hold, and an
unexpected failure is masked with no stack trace or SQL."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from tests.api.conftest import Served


@pytest.fixture
def server(read_only_server: str) -> str:
    """The tests here taking ``server`` only read: one served ledger per module and database."""
    return read_only_server


JSON = {"content-type": "application/json"}


def test_malformed_requests_get_400(server: str) -> None:
    endpoint = f"{server}/graphql"
    not_objects = [b'"{ checkpoint { size } }"', b"42", b"null", b"true"]
    for body in not_objects:
        refused = httpx.post(endpoint, content=body, headers=JSON)
        assert refused.status_code == 400, body
        assert "must be a JSON object" in refused.json()["errors"][0]["message"]
    missing_query = httpx.post(endpoint, json={"variables": {}})
    assert missing_query.status_code == 400 and "No GraphQL query" in missing_query.text
    query_not_string = httpx.post(endpoint, json={"query": 7})
    assert (
        query_not_string.status_code == 400 and "`query` must be a string" in query_not_string.text
    )
    for variables in ([1, 2], "n=1", 3):
        bad = httpx.post(
            endpoint, json={"query": "{ checkpoint { size } }", "variables": variables}
        )
        assert bad.status_code == 400 and "`variables` must be an object" in bad.text
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        wrong = httpx.post(
            endpoint,
            content=b'{"query": "{ checkpoint { size } }"}',
            headers={"content-type": content_type},
        )
        # 415 Unsupported Media Type (RFC 9110 §15.5.16), with a JSON error body.
        assert wrong.status_code == 415 and "unsupported content type" in wrong.text
    assert httpx.put(endpoint, json={"query": "{ checkpoint { size } }"}).status_code == 405
    # A well-formed request whose document does not parse is a GraphQL error (200 for
    # application/json), not an HTTP one.
    syntax = httpx.post(endpoint, json={"query": "{ checkpoint { "})
    assert syntax.status_code == 200 and "Syntax Error" in syntax.json()["errors"][0]["message"]


def test_batched_requests_are_refused(server: str) -> None:
    batch = [{"query": "{ checkpoint { size } }"}, {"query": "{ keys { name } }"}]
    refused = httpx.post(f"{server}/graphql", json=batch)
    assert refused.status_code == 400
    assert "batched requests are not supported" in refused.json()["errors"][0]["message"]
    single = [{"query": "{ checkpoint { size } }"}]
    assert httpx.post(f"{server}/graphql", json=single).status_code == 400


def _errors(server: str, query: str) -> list[str]:
    body = httpx.post(f"{server}/graphql", json={"query": query}).json()
    return [error["message"] for error in body.get("errors", [])]


def _nested(depth: int) -> str:
    """A selection ``depth`` levels below ``claims``. No valid query in this schema is deeper
    than 7, so the inner fields do not exist: the limit is checked while validating."""
    return "{ claims { " + "a { " * (depth - 1) + "b" + " }" * (depth - 1) + " } }"


def test_depth_token_and_page_limits(server: str) -> None:
    deepest = "{ claims { edges { node { provenance { links { nodes { inclusionProof { hashes } } } } } } } }"
    assert _errors(server, deepest) == []
    assert not any("depth" in message for message in _errors(server, _nested(10)))
    assert "'anonymous' exceeds maximum operation depth of 10" in _errors(server, _nested(11))
    tokens = "{ " + " ".join("checkpoint { size }" for _ in range(500)) + " }"
    assert _errors(server, tokens) == [
        "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."
    ]
    for query in (
        "{ sources(first: 101) { edges { cursor } } }",
        "{ entries(first: 101) { seq } }",
        "{ claimants(first: 101) { edges { cursor } } }",
        "{ claims(first: 0) { totalCount } }",
    ):
        assert _errors(server, query) == ["first must be between 1 and 100"], query
    for query in ("{ claims(last: 101) { totalCount } }", "{ claims(last: -1) { totalCount } }"):
        assert _errors(server, query) == ["last must be between 1 and 100"], query


def test_unexpected_errors_are_masked_without_trace_or_sql(served: Served) -> None:
    engine = sa.create_engine(served.db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE tree_nodes RENAME TO tree_nodes_gone"))
    engine.dispose()
    response = httpx.post(
        f"{served.url}/graphql",
        json={"query": "{ inclusionProof(seq: 3) { hashes } keys { name } }"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == [
        {
            "message": "INTERNAL_SERVER_ERROR",
            "locations": [{"line": 1, "column": 3}],
            "path": ["inclusionProof"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    assert body["data"] is None
    for leak in ("tree_nodes", "SELECT", "Traceback", "sqlite", "psycopg", "File "):
        assert leak not in response.text
    assert httpx.get(f"{served.url}/healthz").json()["status"] == "ok"
