"""A claim's ``source`` is read with the claims that name it (``api.types.claim_nodes``):
every way of reaching a claim answers it, a page reads its sources in one query whatever
its size, and an operation that does not select it reads none."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.context import Context
from api.ids import global_id
from api.schema import build_schema
from ledger.config import Settings
from ledger.deadline import Deadline
from ledger.instance import Instance, open_instance
from ledger.tokens import authenticate, create_token
from tests.helpers import add_source_with_claims, source_sha

SCHEMA = build_schema()


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
        passphrase=b"pw",
    )
    inst = open_instance(settings)
    for n in range(3):
        add_source_with_claims(inst.ledger, inst.writer_key(), n, claims=4)
    yield inst
    inst.close()


def _run(instance: Instance, query: str, token: str | None = None, **variables: Any) -> Any:
    ledger = instance.ledger
    context = Context(
        ledger=ledger,
        keyring=instance.keyring,
        token=authenticate(ledger.store, token) if token is not None else None,
        deadline=Deadline(60),
    )
    result = asyncio.run(SCHEMA.execute(query, variable_values=variables, context_value=context))
    assert not result.errors, result.errors
    return result.data


def _statements(instance: Instance, query: str, **variables: Any) -> tuple[list[str], Any]:
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    engine = instance.ledger.store.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        data = _run(instance, query, **variables)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen, data


def _reads_sources(statements: list[str]) -> int:
    return sum(1 for s in statements if "FROM sources" in s)


PAGE = "query($n: Int!) { claims(first: $n) { edges { node { claimId source { sha256 } } } } }"


def test_a_page_reads_its_sources_in_one_query_whatever_its_size(instance: Instance) -> None:
    for size in (1, 5, 12):
        statements, data = _statements(instance, PAGE, n=size)
        edges = data["claims"]["edges"]
        assert len(edges) == size
        assert _reads_sources(statements) == 1
        want = {source_sha(n) for n in range(3)}
        assert {e["node"]["source"]["sha256"] for e in edges} <= want


def test_a_page_without_source_reads_no_source(instance: Instance) -> None:
    for query in (
        "{ claims(first: 12) { edges { node { claimId } } } }",
        "{ claims(first: 12) { edges { node { claimId source @skip(if: true) { sha256 } } } } }",
        "query($no: Boolean!) { claims(first: 12) { edges { node { claimId "
        "source @include(if: $no) { sha256 } } } } }",
    ):
        statements, data = _statements(instance, query, **({"no": False} if "$no" in query else {}))
        assert len(data["claims"]["edges"]) == 12
        assert _reads_sources(statements) == 0, query


@pytest.mark.parametrize(
    "query",
    [
        "{ claims(first: 12) { edges { node { ...C } } } } fragment C on Claim { source { sha256 } }",
        "{ claims(first: 12) { edges { ... on ClaimEdge { node { ... on Claim { source { sha256 } } } } } } }",
        "{ claims(first: 12) { edges { n: node { s: source { sha256 } } } } }",
    ],
    ids=["fragment", "inline fragments", "aliases"],
)
def test_a_page_finds_source_through_fragments_and_aliases(instance: Instance, query: str) -> None:
    data = _run(instance, query)
    nodes = [next(iter(e.values())) for e in data["claims"]["edges"]]
    assert len(nodes) == 12
    assert all(next(iter(n.values()))["sha256"] == source_sha(0) for n in nodes[:4])


def test_every_way_to_a_claim_answers_its_source(instance: Instance) -> None:
    ledger = instance.ledger
    page = _run(instance, "{ claims(first: 12) { edges { node { claimId seq } } } }")
    nodes = [e["node"] for e in page["claims"]["edges"]]
    last = nodes[-1]
    claim_id, want = last["claimId"], source_sha(2)
    size = ledger.head().size
    identity = ledger.claimant_identity(claim_id).id
    answers = {
        "claim": _run(instance, f'{{ claim(id: "{claim_id}") {{ source {{ sha256 }} }} }}')[
            "claim"
        ],
        "claim asOf": _run(
            instance, f'{{ claim(id: "{claim_id}", asOf: {size}) {{ source {{ sha256 }} }} }}'
        )["claim"],
        "node": _run(
            instance,
            f'{{ node(id: "{global_id("Claim", claim_id)}") '
            "{ ... on Claim { source { sha256 } } } }",
        )["node"],
        "claimant claims": _run(
            instance,
            f'{{ claimant(id: "{identity}") {{ claims(first: 50) '
            "{ edges { node { claimId source { sha256 } } } } } }",
        )["claimant"]["claims"]["edges"][-1]["node"],
    }
    for way, claim in answers.items():
        assert claim["source"]["sha256"] == want, way


def test_a_mutation_result_answers_the_claim_source(instance: Instance) -> None:
    ledger = instance.ledger
    token = create_token(ledger.store, "writer", instance.writer_key())
    claim_id = _run(instance, "{ claims(first: 1) { edges { node { claimId } } } }")["claims"][
        "edges"
    ][0]["node"]["claimId"]
    data = _run(
        instance,
        """mutation($input: ReviseClaimInput!) { reviseClaim(input: $input) {
          ... on ClaimChanged { claim { statement source { sha256 } } } } }""",
        token,
        input={
            "claimId": claim_id,
            "follows": ledger.claim(claim_id).head,
            "reason": "r",
            "statement": "Revised.",
        },
    )
    assert data["reviseClaim"]["claim"] == {
        "statement": "Revised.",
        "source": {"sha256": source_sha(0)},
    }
