"""The GraphQL benchmark's queries (``benchmarks/graphql.py``) are answered without errors by
a served ledger, on SQLite and PostgreSQL: a change to the schema or to the query limits
that breaks one of them fails here, not in the middle of a benchmark run at 1,000,000
claims (the 20,000-object limit once refused the bare app's data collection)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import graphql as bench
from tests.api.conftest import SERVED_CLAIMS


def test_every_benchmark_query_is_answered(read_only_server: str) -> None:
    sample = bench.sample_values(read_only_server)
    names = []
    for query in bench.queries(sample):
        body = bench.post(read_only_server, query.text)  # raises on any error
        assert body["data"], query.name
        names.append(query.name)
    assert len(names) == len(set(names)) >= 30


@pytest.mark.parametrize("claims", [SERVED_CLAIMS - 1, SERVED_CLAIMS + 5])
def test_the_bare_apps_data_is_collected_in_pages(
    read_only_server: str, tmp_path: Path, claims: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "BARE_PAGE", 4)  # several pages from the small served ledger
    out = tmp_path / "bare.json"
    bench.collect_bare_data(read_only_server, claims, out)
    rows = json.loads(out.read_text())
    assert len(rows) == min(claims, SERVED_CLAIMS)
    assert len({row["claimId"] for row in rows}) == len(rows)
    assert all("links" in row["provenance"] and "nodes" in row["history"] for row in rows)


def test_a_page_of_the_collection_fits_the_query_limit() -> None:
    from api.limits import MAX_NODES

    per_claim = 1 + 100 + 100  # the claim, its provenance links and its history (defaults)
    assert bench.BARE_PAGE * per_claim <= MAX_NODES
