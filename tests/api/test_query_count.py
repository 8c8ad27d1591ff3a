"""Per-request DataLoaders: a page of claims with sources and provenance costs the same
small number of SQL statements whatever the page size (no query per claim)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from api.app import create_app
from ledger.instance import Instance
from tests.helpers import add_source_with_claims

QUERY = """query($n: Int!) { claims(first: $n) { totalCount edges { node {
  statement source { sha256 publisher }
  provenance { checkpoint { size } links { role signerName signatureValid inclusionProof { hashes } } } } } } }"""


@pytest.fixture
def many(instance: Instance) -> Instance:
    for n in range(12):
        add_source_with_claims(instance.ledger, instance.writer_key(), n, claims=5)
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


def test_a_page_of_claims_with_provenance_costs_a_constant_number_of_statements(
    many: Instance,
) -> None:
    small, _ = _statements(many, 5)
    large, data_large = _statements(many, 50)
    assert len(data_large["claims"]["edges"]) == 50
    assert all(
        [link["role"] for link in edge["node"]["provenance"]["links"]] == ["source", "extraction"]
        for edge in data_large["claims"]["edges"]
    )
    assert large == small, (small, large)
    assert large <= 20
