"""The GraphQL-over-HTTP specification over real HTTP: the response media type follows
``Accept`` (406 when neither type is acceptable, graphql-response+json without one), the
status follows the media type (400 for request errors with graphql-response+json, 200
with application/json), a mutation over GET is 405 with ``Allow: POST``, a body that is
not application/json is 415, every refusal has a JSON error body, and CORS answers only
the origins the server lists."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ledger.config import Settings
from ledger.instance import open_instance
from ledger.tokens import create_token
from tests.api.conftest import Served, launch

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON_TYPE = "application/json"
NEW = {"accept": GRAPHQL_RESPONSE}
LEGACY = {"accept": JSON_TYPE}
QUERY = "{ keys { name } }"
RETRACT = 'mutation { retractClaim(claimId: "%s", follows: "%s", reason: "by GET") { __typename } }'
ALLOWED_ORIGIN = "https://factcheck.example"


@pytest.fixture
def server(read_only_server: str) -> str:
    """The tests here taking ``server`` only read: one served ledger per module and database
    (the one that mutates takes ``served``, a ledger of its own)."""
    return read_only_server


def _post(server: str, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{server}/graphql", json=body, headers=headers or {}, timeout=10)


def _media(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


def _only_error(response: httpx.Response) -> dict[str, Any]:
    """The one error of a JSON error body (and the body has nothing else)."""
    body = response.json()
    assert set(body) == {"errors"}, body
    [error] = body["errors"]
    assert isinstance(error["message"], str) and error["message"]
    return error  # type: ignore[no-any-return]


def test_response_media_type_follows_accept(server: str) -> None:
    cases = {
        GRAPHQL_RESPONSE: GRAPHQL_RESPONSE,
        JSON_TYPE: JSON_TYPE,
        f"{GRAPHQL_RESPONSE}; charset=utf-8, {JSON_TYPE}; charset=utf-8": GRAPHQL_RESPONSE,
        f"{JSON_TYPE}, {GRAPHQL_RESPONSE};q=0.5": JSON_TYPE,
        "*/*": JSON_TYPE,  # a generic client that named neither type
        f"{JSON_TYPE};q=0, */*": GRAPHQL_RESPONSE,
        f"text/html, {GRAPHQL_RESPONSE};q=0.2": GRAPHQL_RESPONSE,
    }
    for accept, expected in cases.items():
        response = _post(server, {"query": QUERY}, {"accept": accept})
        assert response.status_code == 200, (accept, response.text)
        assert _media(response) == expected, accept
        assert "charset=utf-8" in response.headers["content-type"]
        assert response.json()["data"]["keys"]


def test_no_accept_header_means_graphql_response_json(server: str) -> None:
    # http.client sends no Accept unless told to (httpx always sends */*).
    parts = urlsplit(server)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/graphql",
            body=json.dumps({"query": "{ noSuchField }"}),
            headers={"content-type": "application/json"},
        )
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.getheader("content-type", "").startswith(GRAPHQL_RESPONSE)
    assert response.status == 400 and "data" not in body and body["errors"]


def test_accepting_neither_media_type_gets_406(server: str) -> None:
    for accept in ("text/html", "application/xml, text/plain;q=0.5", f"{JSON_TYPE};q=0"):
        response = _post(server, {"query": QUERY}, {"accept": accept})
        assert response.status_code == 406, accept
        assert _media(response) == JSON_TYPE
        assert GRAPHQL_RESPONSE in response.headers["accept"]
        assert "Accept" in _only_error(response)["message"]


def test_status_codes_follow_the_media_type(server: str) -> None:
    request_errors = [
        {"query": "{ keys { name "},  # does not parse
        {"query": "{ keys { noSuchField } }"},  # does not validate
        {"query": "query($n: Int!) { entries(first: $n) { seq } }", "variables": {"n": "two"}},
        {"query": "query A { keys { name } } query B { keys { name } }"},  # which one?
        {"query": "query A { keys { name } }", "operationName": "C"},
    ]
    for body in request_errors:
        strict = _post(server, body, NEW)
        assert strict.status_code == 400, (body, strict.text)
        assert _media(strict) == GRAPHQL_RESPONSE
        assert "data" not in strict.json() and strict.json()["errors"], body
        legacy = _post(server, body, LEGACY)
        assert legacy.status_code == 200, (body, legacy.text)
        assert _media(legacy) == JSON_TYPE and legacy.json()["errors"]
    # A field error is a partial response: data is there, so 200 with either type.
    field_error = {"query": '{ keys { name } claim(id: "not-an-id") { claimId } }'}
    for headers in (NEW, LEGACY):
        partial = _post(server, field_error, headers)
        assert partial.status_code == 200, partial.text
        assert partial.json()["data"]["keys"] and partial.json()["errors"]
    # A request that is not well-formed is 400 with either type.
    for headers in (NEW, LEGACY):
        for malformed in ({"variables": {}}, {"query": QUERY, "operationName": 7}):
            response = _post(server, malformed, headers)
            assert response.status_code == 400, (malformed, response.text)
            _only_error(response)


def _head(server: str) -> tuple[str, str]:
    data = _post(server, {"query": "{ claims(first: 1) { edges { node { claimId head } } } }"})
    node = data.json()["data"]["claims"]["edges"][0]["node"]
    return node["claimId"], node["head"]


def test_a_mutation_over_get_is_405_with_allow_post(served: Served) -> None:
    claim, head = _head(served.url)
    auth = {"authorization": f"Bearer {served.tokens['writer']}"}
    for accept in (NEW, LEGACY):
        response = httpx.get(
            f"{served.url}/graphql",
            params={"query": RETRACT % (claim, head)},
            headers={**auth, **accept},
        )
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == "POST"
        assert _media(response) == accept["accept"]
        assert "POST" in _only_error(response)["message"]
    assert _head(served.url) == (claim, head)  # nothing ran
    # Two operations and no operationName: GetOperation() refuses (strawberry alone ran
    # the first, which the mutation rate limit did not count).
    two = (
        RETRACT.replace("mutation {", "mutation M {") % (claim, head) + " query Q { keys { name } }"
    )
    for accept in (NEW, LEGACY):
        unnamed = _post(served.url, {"query": two, "operationName": ""}, {**auth, **accept})
        assert unnamed.status_code == (400 if accept is NEW else 200), unnamed.text
        assert "operationName" in unnamed.json()["errors"][0]["message"]
    assert _head(served.url) == (claim, head)
    # Over POST, with the operation named, it runs.
    posted = _post(served.url, {"query": two, "operationName": "M"}, {**auth, **NEW})
    assert posted.status_code == 200 and posted.json()["data"]["retractClaim"]
    assert _head(served.url) != (claim, head)


def test_a_body_that_is_not_json_is_415(server: str) -> None:
    body = json.dumps({"query": QUERY}).encode()
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/json; charset=latin-1",
    ):
        response = httpx.post(
            f"{server}/graphql", content=body, headers={"content-type": content_type, **NEW}
        )
        assert response.status_code == 415, content_type
        assert _media(response) == GRAPHQL_RESPONSE
        assert "accept-post" in response.headers
        _only_error(response)
    # No Content-Type at all.
    bare = httpx.Request("POST", f"{server}/graphql", content=body, headers=NEW)
    bare.headers.pop("content-type", None)  # content= bytes sets none; make sure
    with httpx.Client() as client:
        response = client.send(bare)
    assert response.status_code == 415
    # The type's own spellings are accepted.
    for content_type in ("Application/JSON", "application/json; charset=UTF-8"):
        ok = httpx.post(f"{server}/graphql", content=body, headers={"content-type": content_type})
        assert ok.status_code == 200, content_type


def test_refusals_have_json_error_bodies(server: str) -> None:
    endpoint = f"{server}/graphql"
    refusals = [
        httpx.post(endpoint, content=b"{not json", headers={"content-type": JSON_TYPE, **NEW}),
        httpx.post(endpoint, json={"variables": {}}, headers=NEW),
        httpx.post(endpoint, json={"query": 7}, headers=NEW),
        httpx.put(endpoint, json={"query": QUERY}, headers=NEW),
        httpx.delete(endpoint, headers=NEW),
        httpx.get(f"{server}/no-such-path", headers=NEW),
        httpx.post(f"{server}/healthz", headers=NEW),
        httpx.post(endpoint, json={"query": "x" * (3 * 1024 * 1024)}, headers=NEW),
    ]
    expected = [400, 400, 400, 405, 405, 404, 405, 413]
    assert [r.status_code for r in refusals] == expected
    for response in refusals:
        assert _media(response) == GRAPHQL_RESPONSE, response.request.url
        _only_error(response)
    assert set(refusals[3].headers["allow"].split(", ")) == {"GET", "POST", "OPTIONS"}


@pytest.fixture
def tuned(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A server listing one CORS origin, one mutation a minute per token, and a 1 s
    header timeout; with a writer's token."""
    home = tmp_path / "home"
    instance = open_instance(Settings(home=home, database_url=db_url, passphrase=b"pw"))
    token = create_token(instance.ledger.store, "web", instance.writer_key())
    instance.close()
    proc, url = launch(
        home,
        db_url,
        "--header-timeout",
        "1",
        env={
            "LEDGER_API_CORS_ORIGINS": f"{ALLOWED_ORIGIN}, http://localhost:3000",
            "LEDGER_API_MUTATION_RATE": "1/minute",
        },
    )
    yield url, token
    proc.terminate()
    proc.wait(timeout=15)


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def _preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(
        f"{url}/graphql",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )


def test_cors_answers_listed_origins_only(tuned: tuple[str, str]) -> None:
    url, token = tuned
    preflight = _preflight(url, ALLOWED_ORIGIN)
    assert preflight.status_code == 204
    headers = _cors_headers(preflight)
    assert headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert {"GET", "POST"} <= set(headers["access-control-allow-methods"].split(", "))
    allowed_headers = {h.lower() for h in headers["access-control-allow-headers"].split(", ")}
    assert {"authorization", "content-type"} <= allowed_headers
    assert int(headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in headers
    assert _cors_headers(_preflight(url, "http://localhost:3000"))  # the second one listed
    for other in ("https://evil.example", "https://factcheck.example.evil.example", "null"):
        refused = _preflight(url, other)
        assert refused.status_code < 500
        assert _cors_headers(refused) == {}, other
    # Actual requests: the listed origin is echoed (never *), with Vary: Origin.
    auth = {"authorization": f"Bearer {token}"}
    ok = _post(url, {"query": QUERY}, {"origin": ALLOWED_ORIGIN})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "origin" in ok.headers["vary"].lower()
    assert _cors_headers(_post(url, {"query": QUERY}, {"origin": "https://evil.example"})) == {}
    # Refusals carry them too, and Retry-After is readable by the page.
    mutation = {
        "query": 'mutation { retractClaim(claimId: "a", follows: "b", reason: "c") { __typename } }'
    }
    first = _post(url, mutation, {**auth, **NEW, "origin": ALLOWED_ORIGIN})
    assert first.status_code == 200
    limited = _post(url, mutation, {**auth, **NEW, "origin": ALLOWED_ORIGIN})
    assert limited.status_code == 429
    assert _media(limited) == GRAPHQL_RESPONSE
    assert _only_error(limited)["extensions"] == {"code": "RATE_LIMITED"}
    assert limited.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "retry-after" in limited.headers["access-control-expose-headers"].lower()


def test_cors_is_off_by_default(server: str) -> None:
    preflight = _preflight(server, ALLOWED_ORIGIN)
    assert preflight.status_code == 204 and _cors_headers(preflight) == {}
    assert "POST" in preflight.headers["allow"]
    assert _cors_headers(_post(server, {"query": QUERY}, {"origin": ALLOWED_ORIGIN})) == {}


def test_a_header_timeout_answers_a_json_body(tuned: tuple[str, str]) -> None:
    parts = urlsplit(tuned[0])
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")  # never finishes its headers
        started, answer = time.monotonic(), b""
        while time.monotonic() - started < 4:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"application/json" in head.lower()
    assert json.loads(body)["errors"][0]["extensions"] == {"code": "REQUEST_TIMEOUT"}
