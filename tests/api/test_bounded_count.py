"""``countAtMost``: a count of matching claims that reads at most ``limit`` + 1 matches and
says whether it is exact (decision 0024), next to the exact ``totalCount``."""

# ruff: noqa: F811
from __future__ import annotations

from typing import Any

# The in-process ledger fixture of the mutation tests, shared by import (pytest's pattern,
# which ruff reads as a redefinition in every test that takes it).
from tests.api.test_mutations_in_process import Local, local  # noqa: F401
from tests.helpers import add_source_with_claims

QUERY = """query($limit: Int!, $search: String) {
  claims(first: 1, filter: {search: $search}) { totalCount countAtMost(limit: $limit) { value exact } }
}"""


def _count(local: Local, limit: int, search: str | None = None) -> dict[str, Any]:
    return local.run(QUERY, limit=limit, search=search)


def test_a_bounded_count_is_exact_up_to_its_limit_then_says_at_least(local: Local) -> None:
    ledger = local.instance.ledger
    add_source_with_claims(ledger, local.instance.writer_key(), 1, claims=3)
    total = _count(local, 100)["data"]["claims"]["totalCount"]
    assert total == 5
    for limit, expected in ((100, (5, True)), (5, (5, True)), (4, (4, False)), (1, (1, False))):
        body = _count(local, limit)
        assert "errors" not in body, body
        found = body["data"]["claims"]["countAtMost"]
        assert (found["value"], found["exact"]) == expected, limit
        assert body["data"]["claims"]["totalCount"] == total
    nothing = _count(local, 1, search="zzzznotaword")["data"]["claims"]["countAtMost"]
    assert nothing == {"value": 0, "exact": True}


def test_a_limit_outside_1_to_100000_is_refused(local: Local) -> None:
    for limit in (0, -1, 100_001, 2**31 - 1):
        body = _count(local, limit)
        assert body["data"] is None, limit
        assert "count limit must be 1 to 100,000" in body["errors"][0]["message"], body
