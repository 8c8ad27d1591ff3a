"""Searches by prefix on a large ledger: the first page of each, at three orders, and its
bounded count, against an exact word measured in the same run (decision 0042).

Runs in process through ``Ledger.find_claims`` and ``Ledger.count_claims_bounded`` (what
the API calls) on a ledger home, read only: each case's first page of ``--page`` claims
in log order, newest first and by score, round after round, the cases interleaved; then
each case's ``count_claims_bounded`` (``--count-limit``). The baseline is the exact word
``korea`` (every claim of the fixture holds it: its FTS5 probe stops after 2,001 rows).

    .venv/bin/python benchmarks/prefix_search.py --path DIR [--repeat 15] [--clock cpu]

The fixture's claims (``benchmarks/fixture.py``) all read "north korea sent about <n>
containers of weapons to russia", n = seq + 7,000: ``korea*``, ``k*`` and ``k* r*`` match
every claim, a number's prefix matches blocks of consecutive claims (``1006*``: the last
1,000 or so, the head of newest-first order and the tail of log order), ``zyzz*`` none.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.fixture import fixture_settings
from ledger.instance import open_instance
from ledger.queries import ClaimFilter, ClaimOrder
from ledger.service import Ledger

CLOCK: list[Callable[[], float]] = [time.perf_counter]
ORDERS = [ClaimOrder(), ClaimOrder("recorded", True), ClaimOrder("score")]
SEARCHES = [
    "korea",  # the baseline: an exact word in every claim
    "korea*",
    "k*",
    "k* r*",
    "n* k* s* a* c* o* w* r*",  # eight prefixes
    "5*",  # ~100,000 claims, in two blocks (seq 43,000-52,999 and 493,000-592,999)
    "100*",  # ~7,300 claims, most of them the newest
    "1006*",  # ~1,000 claims, the newest
    "7123*",  # 111 claims: 7123, 71230-71239, 712300-712399
    "zyzz*",  # none
    '"north kor"*',  # a phrase whose last word is a prefix
    "weapons k*",  # a prefix beside an exact word
]


def label(order: ClaimOrder) -> str:
    return f"{order.field}{' desc' if order.descending else ''}"


def run(ledger: Ledger, repeat: int, page: int, count_limit: int) -> None:
    pages: dict[tuple[int, int], list[float]] = {}
    counts: dict[int, list[float]] = {}
    found: dict[int, int] = {}
    for _ in range(repeat):
        for o, order in enumerate(ORDERS):
            for s, text in enumerate(SEARCHES):
                started = CLOCK[0]()
                ledger.find_claims(ClaimFilter(text=text), order=order, limit=page)
                pages.setdefault((s, o), []).append(CLOCK[0]() - started)
        for s, text in enumerate(SEARCHES):
            started = CLOCK[0]()
            n, exact = ledger.count_claims_bounded(ClaimFilter(text=text), count_limit)
            counts.setdefault(s, []).append(CLOCK[0]() - started)
            found[s] = n if exact else n + 1
    base = {o: statistics.median(pages[(0, o)]) for o in range(len(ORDERS))}
    heads = " | ".join(f"{label(o)} ms (x korea)" for o in ORDERS)
    print(f"| search | {heads} | count ms | matches (to {count_limit:,}) |")
    print("| --- |" + " ---: |" * (len(ORDERS) + 2))
    for s, text in enumerate(SEARCHES):
        cells = []
        for o in range(len(ORDERS)):
            median = statistics.median(pages[(s, o)])
            cells.append(f"{median * 1000:.1f} ({median / base[o]:.1f})")
        n = found[s]
        shown = f"{'>' if n > count_limit else ''}{min(n, count_limit):,}"
        count = statistics.median(counts[s]) * 1000
        print(f"| `{text}` | {' | '.join(cells)} | {count:.1f} | {shown} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--page", type=int, default=20)
    parser.add_argument("--count-limit", type=int, default=1000)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args()
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    instance = open_instance(fixture_settings(args.path), bootstrap=False)
    try:
        ledger = instance.ledger
        print(
            f"prefix_search: {ledger.store.dialect}, {ledger.head().size:,} entries, "
            f"page {args.page}, repeat {args.repeat}, clock {args.clock}; "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
            f"load {os.getloadavg()[0]:.2f}"
        )
        run(ledger, args.repeat, args.page, args.count_limit)
        print(f"load at the end {os.getloadavg()[0]:.2f}")
    finally:
        instance.close()


if __name__ == "__main__":
    main()
