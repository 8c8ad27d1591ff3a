"""Automatic persisted queries (Apollo's protocol) over real HTTP and in the cache:
the exact PersistedQueryNotFound shape, registration after the hash is checked, GET and
POST, mismatches refused, a bounded cache, and mutations by hash still rate-limited."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.apq import PersistedQueries, PersistedQueryError, sha256_hex
from api.guards import mutation_cost
from tests.api.server_process import running
from tests.api.test_metrics import scrape, value

QUERY = "query Size { checkpoint { size } }"
NOT_FOUND_BODY = {
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _ext(sha: str, version: object = 1) -> dict[str, object]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha}}


def test_protocol_over_http(db_url: str, tmp_path: Path) -> None:
    with running(tmp_path / "home", db_url) as server:
        graphql = f"{server.url}/graphql"
        sha = _sha(QUERY)
        # 1. The hash alone, unknown: exactly Apollo's answer (200 with application/json).
        miss = httpx.post(graphql, json={"extensions": _ext(sha)})
        assert miss.status_code == 200
        assert miss.json() == NOT_FOUND_BODY
        assert "no-cache" in miss.headers["cache-control"]
        # With graphql-response+json it is a request error: 400, same body.
        strict = httpx.post(
            graphql,
            json={"extensions": _ext(sha)},
            headers={"accept": "application/graphql-response+json"},
        )
        assert (strict.status_code, strict.json()) == (400, NOT_FOUND_BODY)
        # 2. The client retries with the query: it runs and is kept.
        full = httpx.post(graphql, json={"query": QUERY, "extensions": _ext(sha)})
        assert full.status_code == 200 and full.json()["data"]["checkpoint"]["size"] >= 1
        # 3. The hash alone now runs it, over POST and over GET.
        by_hash = httpx.post(graphql, json={"extensions": _ext(sha)})
        assert by_hash.json() == full.json()
        got = httpx.get(graphql, params={"extensions": json.dumps(_ext(sha))})
        assert got.status_code == 200 and got.json() == full.json()
        # Upper-case hex names the same query.
        assert httpx.post(graphql, json={"extensions": _ext(sha.upper())}).json() == full.json()
        # A hash that is not the query's: refused, and nothing kept under it.
        other = _sha("{ keys { name } }")
        bad = httpx.post(graphql, json={"query": QUERY, "extensions": _ext(other)})
        assert bad.status_code == 400
        assert bad.json() == {
            "errors": [
                {
                    "message": "provided sha does not match query",
                    "extensions": {"code": "BAD_REQUEST"},
                }
            ]
        }
        assert httpx.post(graphql, json={"extensions": _ext(other)}).json() == NOT_FOUND_BODY
        # Malformed requests.
        for extensions in (_ext(sha, 2), _ext("abc"), {"persistedQuery": "x"}):
            refused = httpx.post(graphql, json={"extensions": extensions})
            assert refused.status_code == 400
            assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        # Counted in the metrics.
        metrics = scrape(httpx.get(f"{server.url}/metrics").text)
        counted = {
            result: value(metrics, "claims_ledger_persisted_queries_total", result=result)
            for result in ("miss", "hit", "registered")
        }
        assert counted == {"miss": 3, "hit": 3, "registered": 1}
        assert value(metrics, "claims_ledger_persisted_query_cache_entries") == 1
        # The access log names the persisted operation.
        server.stop()
        logged = [line for line in server.access_lines() if line["path"] == "/graphql"]
        assert logged[2]["operation"] == "Size" and logged[3]["operation"] == "Size"


RETRACT = (
    'mutation Retract { retractClaim(claimId: "x", follows: "y", reason: "z") { __typename } }'
)


def test_mutation_by_hash_counts_against_the_rate_limit(db_url: str, tmp_path: Path) -> None:
    env = {"LEDGER_API_CLIENT_MUTATION_RATE": "2/minute", "LEDGER_API_MUTATION_RATE": "off"}
    with running(tmp_path / "home", db_url, env=env) as server:
        graphql = f"{server.url}/graphql"
        sha = _sha(RETRACT)
        first = httpx.post(graphql, json={"query": RETRACT, "extensions": _ext(sha)})
        assert first.status_code == 200
        statuses = [
            httpx.post(graphql, json={"extensions": _ext(sha)}).status_code for _ in range(2)
        ]
    assert statuses == [200, 429]


def test_mutation_cost_reads_the_persisted_query() -> None:
    sha = _sha(RETRACT)
    body = json.dumps({"extensions": _ext(sha)}).encode()
    assert mutation_cost(body) == 0  # without the cache: nothing to size
    assert mutation_cost(body, {sha: RETRACT}.get) == 1
    assert mutation_cost(body, {}.get) == 0


def test_cache_is_bounded_least_recently_used_first() -> None:
    cache = PersistedQueries(2)
    queries = [f"query Q{n} {{ checkpoint {{ size }} }}" for n in range(3)]
    for query in queries[:2]:
        assert cache.resolve(query, _ext(_sha(query))) == query
    assert cache.resolve(None, _ext(_sha(queries[0]))) == queries[0]  # Q0 used last
    cache.resolve(queries[2], _ext(_sha(queries[2])))
    assert len(cache) == 2
    assert cache.lookup(_sha(queries[1])) is None  # the least recently used went
    assert cache.lookup(_sha(queries[0])) == queries[0]


def test_cache_bounds_bytes_and_keeps_only_documents_within_limits() -> None:
    query = "query Big { checkpoint { size } }" + " " * 1000
    cache = PersistedQueries(100, max_bytes=2500)
    for n in range(5):
        text = query + "#" * n
        cache.resolve(text, _ext(_sha(text)))
    assert len(cache) == 2 and cache.bytes <= 2500
    broken = "{ not graphql"
    assert cache.resolve(broken, _ext(_sha(broken))) == broken  # runs (and fails) as usual
    assert cache.lookup(_sha(broken)) is None


def test_lone_surrogate_is_a_mismatch() -> None:
    with pytest.raises(PersistedQueryError, match="does not match"):
        PersistedQueries(4).resolve("{ a }\ud800", _ext("0" * 64))


@given(st.text(max_size=300), st.text(max_size=300))
def test_round_trip_and_only_the_true_hash_registers(query: str, other: str) -> None:
    cache = PersistedQueries(8)
    sha = sha256_hex(query)
    if sha is None:  # no UTF-8 for it: never a hash to match
        return
    assert sha == hashlib.sha256(query.encode()).hexdigest()
    assert cache.resolve(query, _ext(sha)) == query  # runs whether or not it is kept
    if cache.lookup(sha) is not None:
        assert cache.resolve(None, _ext(sha)) == query
    if other != query:
        with pytest.raises(PersistedQueryError):
            cache.resolve(other, _ext(sha))
    assert cache.resolve(other, None) == other  # no persisted query: untouched
