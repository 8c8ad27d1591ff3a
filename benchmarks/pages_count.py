"""The search page (``/claims``) with its bounded count against the exact count it made
before (the baseline), on the benchmark fixture, in one process.

Each round renders the page once each way, in alternating order, for each query string;
the figure is the CPU time per page (``time.process_time``: the machine is shared), the
median over the rounds, and the ratio bounded / exact in the same run.

    .venv/bin/python benchmarks/pages_count.py --entries 100000 --rounds 15 [--path DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request

from api import pages
from benchmarks.fixture import ensure_fixture, fixture_settings
from ledger.instance import open_instance
from ledger.queries import ClaimFilter
from ledger.service import Ledger

QUERIES = ["", "search=korea", "status=active", "quantity_min=0", "claimant=Shin"]


def _request(query: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/claims",
            "query_string": query.encode(),
            "headers": [],
            "path_params": {},
        }
    )


def _exact(ledger: Ledger) -> Callable[..., tuple[int, bool]]:
    """The page's count as it was: every match read (``Ledger.count_claims``)."""

    def count(where: ClaimFilter, limit: int, *, as_of: int | None = None) -> tuple[int, bool]:
        return ledger.count_claims(where, as_of=as_of), True

    return count


def _cpu(site: pages.Pages, query: str) -> float:
    started = time.process_time()
    site.claims(_request(query))
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--path", type=Path, default=None, help="the fixture's home")
    args = parser.parse_args()
    home = ensure_fixture(args.entries, args.path)
    ledger = open_instance(fixture_settings(home)).ledger
    bounded_pages = pages.Pages(ledger)
    exact_ledger = open_instance(fixture_settings(home)).ledger
    exact_ledger.count_claims_bounded = _exact(exact_ledger)  # type: ignore[method-assign]
    exact_pages = pages.Pages(exact_ledger)
    print(f"{args.entries} entries, {args.rounds} rounds, CPU ms per page (median)")
    print("| query | exact count (before) | bounded count | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for query in QUERIES:
        before: list[float] = []
        after: list[float] = []
        for n in range(args.rounds):
            runs = [(before, exact_pages), (after, bounded_pages)]
            for times, site in runs if n % 2 == 0 else reversed(runs):
                times.append(_cpu(site, query))
        b, a = statistics.median(before) * 1000, statistics.median(after) * 1000
        print(f"| `/claims?{query}` | {b:.1f} | {a:.1f} | {a / b:.2f} |")


if __name__ == "__main__":
    main()
