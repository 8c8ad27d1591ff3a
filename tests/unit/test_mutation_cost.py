"""Which requests the mutation rate limit counts, and how much: root mutation fields of
the operation that would run; nothing for queries or requests that cannot run."""

from __future__ import annotations

import json

import limits

from api.guards import mutation_cost
from api.limits import MAX_TOKENS
from ledger.config import Settings


def _body(query: str, **extra: object) -> bytes:
    return json.dumps({"query": query, **extra}).encode()


def test_mutations_cost_one_per_root_field() -> None:
    assert mutation_cost(_body('mutation { ingestSource(text: "x") { __typename } }')) == 1
    aliased = "mutation { a: retractClaim(claimId: 1) { __typename } b: retractClaim(claimId: 2) { __typename } }"
    assert mutation_cost(_body(aliased)) == 2
    fragments = """mutation { ...M ... on Mutation { c: retractClaim(claimId: 3) { __typename } } }
        fragment M on Mutation { a: retractClaim(claimId: 1) { __typename } ...M }"""
    assert mutation_cost(_body(fragments)) == 2  # a fragment counts once, even if it loops


def test_queries_and_requests_that_cannot_run_cost_nothing() -> None:
    both = "query Q { checkpoint { size } } mutation M { retractClaim(claimId: 1) { __typename } }"
    assert mutation_cost(_body(both, operationName="Q")) == 0
    assert mutation_cost(_body(both, operationName="M")) == 1
    assert mutation_cost(_body(both)) == 0  # no operation selected: refused before running
    assert mutation_cost(_body("{ checkpoint { size } }")) == 0
    deep = b'{"query": "mutation { x }", "variables": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    for body in (b"not json", b"[1]", b'{"query": 1}', _body("mutation {"), _body(""), deep):
        assert mutation_cost(body) == 0
    too_long = "mutation { " + "a: x " * MAX_TOKENS + "}"  # over the schema's token limit
    assert mutation_cost(_body(too_long)) == 0


def test_every_accepted_rate_setting_is_a_limits_rate() -> None:
    for rate in ("30/minute", "100 per hour", "5 per 10 seconds", "1/SECOND", "2 per day"):
        setting = Settings.from_env({"LEDGER_HOME": "/x", "LEDGER_API_MUTATION_RATE": rate})
        assert setting.api_mutation_rate is not None
        assert limits.parse(setting.api_mutation_rate).amount >= 1
