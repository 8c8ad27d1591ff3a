"""Per-request DataLoaders: a page of claims with sources, provenance and history costs the
same small number of SQL statements whatever the page size (no query per claim)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from api.app import create_app
from ledger.entries import ClaimChanges
from ledger.instance import Instance
from tests.helpers import add_source_with_claims

QUERY = """query($n: Int!) { claims(first: $n) { totalCount edges { node {
  statement source { sha256 publisher }
  provenance { checkpoint { size } links { nodes { role signerName signatureValid inclusionProof { hashes } } } }
  history { nodes { seq kind signerName reason status changes { field before after } } } } } } }"""


@pytest.fixture
def many(instance: Instance) -> Instance:
    ids = []
    for n in range(12):
        ids += add_source_with_claims(instance.ledger, instance.writer_key(), n, claims=5)
    instance.ledger.revise_claim(
        instance.writer_key(),
        ids[1],
        follows=ids[1],
        changes=ClaimChanges(statement="Revised."),
        reason="correction",
    )
    return instance


def _statements(instance: Instance, first: int) -> tuple[int, dict[str, Any]]:
    count = 0

    def counter(*_: object) -> None:
        nonlocal count
        count += 1

    async def ask() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=create_app(instance.ledger))
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger.test") as client:
            response = await client.post(
                "/graphql", json={"query": QUERY, "variables": {"n": first}}
            )
            return response.json()  # type: ignore[no-any-return]

    engine = instance.ledger.store.engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        body = asyncio.run(ask())
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
    assert "errors" not in body, body
    return count, body["data"]


def test_a_page_of_claims_with_provenance_and_history_costs_a_constant_number_of_statements(
    many: Instance,
) -> None:
    small, _ = _statements(many, 5)
    large, data_large = _statements(many, 50)
    nodes = [edge["node"] for edge in data_large["claims"]["edges"]]
    assert len(nodes) == 50
    roles = [[link["role"] for link in node["provenance"]["links"]["nodes"]] for node in nodes]
    assert roles.count(["source", "extraction", "revision"]) == 1
    assert roles.count(["source", "extraction"]) == 49
    kinds = [[event["kind"] for event in node["history"]["nodes"]] for node in nodes]
    assert kinds.count(["claim.extracted", "claim.revised"]) == 1
    assert kinds.count(["claim.extracted"]) == 49
    revised = next(node for node in nodes if len(node["history"]["nodes"]) == 2)
    assert revised["statement"] == "Revised."
    assert revised["history"]["nodes"][1]["reason"] == "correction"
    assert revised["history"]["nodes"][1]["signerName"] == "ingest"
    assert {
        "field": "statement",
        "before": revised["history"]["nodes"][0]["changes"][0]["after"],
        "after": "Revised.",
    } in revised["history"]["nodes"][1]["changes"]
    assert large == small, (small, large)
    assert large <= 20
