"""The ``claimant`` filter on a ledger of many distinct claimant names (issue 13).

Runs in process through ``Ledger.find_claims`` (a first page) and
``Ledger.count_claims_bounded`` (``countAtMost``) on a home built with
``benchmarks/fixture.py --claimants N``, for substrings matching no name, one name (a
common one, a rare one), a few names, thousands of names and nearly every name ("a",
"e"), at every order; and, once a revision has renamed a claim's claimant, that new name.
Every case is timed against the baseline measured in the same run (the first page with no
filter, same order), interleaved, round after round; CPU time of this process by default
(SQLite runs in it; use ``--clock wall`` on PostgreSQL, whose work is in the server).

    .venv/bin/python benchmarks/claimant_names.py --path COPY [--repeat 15]
    .venv/bin/python benchmarks/claimant_names.py --path KEYDIR --database-url postgresql://...

``--path`` is a copy of the fixture's home (the revision changes it; the shared fixture is
refused). Prints how many names and claims each case matches, then a table.

Each case is a class of substring (``CLASSES``: how many names hold it, how many claims
they have, against ``FEW``, the bound of the filter's plans); its substring is the first of
its candidates whose counts on this ledger fall in the class, read from the data (the
store's names, an exact count): the 200,000-entry fixture's strings come first, then the
ones the 1,000,000-entry fixture (``--claimants 250000``) needs, where the first ones
moved class ("Søren K" holds 150 names there, "Ministry of Health of" 3,960 claims). A
class no candidate fits stops the run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.fixture import PASSPHRASE
from ledger.config import Settings
from ledger.entries import Claimant, ClaimChanges
from ledger.instance import open_instance
from ledger.queries import ORDER_FIELDS, ClaimFilter, ClaimOrder
from ledger.service import Ledger
from ledger.store.sql import FEW

PAGE = 21  # the API asks for one more than the page to know whether there is a next
COUNT_LIMIT = 1000  # api.pages.PAGE_COUNT_LIMIT
RENAMED = "Renamed Claimant Zqx"
ANY = (0, 10**12)
CLASSES: tuple[tuple[str, tuple[str, ...], tuple[int, int], tuple[int, int]], ...] = (
    # class, candidates, names (least, most), claims (least, most); the names / claims each
    # candidate holds in the 200,000-entry fixture (60,000 names asked) / the 1,000,000 one
    ("nothing", ("Qzxw",), (0, 0), ANY),  # 0 / 0; 0 / 0
    ("one name (common)", ("Anna Smith",), (1, 1), (FEW + 1, 10**12)),  # 1 / 5,653; 1 / 25,062
    # 1 / 1; 2 / 10, then 1 / 1
    ("one name (rare)", ("Adebayo A. Ali", "Adebayo A. Baptiste 2"), (1, 1), (1, 5)),
    # 39 / 117; 150 / 582, then 5 / 14
    ("a few names", ("Søren K", "Søren K. A"), (2, 99), (1, FEW)),
    # 297 / 759; 1,309 / 3,960, then 277 / 996
    (
        "hundreds of names, few claims",
        ("Ministry of Health of", "Ministry of Health of Kenya"),
        (100, FEW),
        (1, FEW),
    ),
    # 593 / 33,543; 2,499 / 149,323, then 157 / 25,587 (1,309 / 3,960 for the one above)
    ("hundreds of names, many claims", ("Smith", "Anna S"), (100, FEW), (FEW + 1, 10**12)),
    ("thousands of names", ("ia",), (FEW + 1, 10**12), ANY),  # 6,599 / 24,229; 28,345 / 119,925
    ("nearly all names", ("a",), (FEW + 1, 10**12), ANY),  # 45,677 / 156,914; 197,770 / 783,151
    ("nearly all names", ("e",), (FEW + 1, 10**12), ANY),  # 35,554 / 114,195; 152,177 / 569,701
)
CASES: list[tuple[str, str]] = []
"""(class, substring) as measured: ``CLASSES`` resolved by ``choose_cases``, then the name
a revision gave one claim (1 / 1)."""
CLOCK: list[Callable[[], float]] = [time.process_time]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def choose_cases(ledger: Ledger) -> None:
    """``CASES``: for each class the first candidate whose names (the store's, in memory)
    and claims (counted exactly) fall in its bounds; each printed with its counts."""
    ledger.load_claimant_names()
    names = ledger.store.claimant_names
    for label, candidates, (least, most), (fewest, most_claims) in CLASSES:
        for text in candidates:
            held = names.holding(text, 10**9) or []
            claims = ledger.count_claims(ClaimFilter(claimant=text))
            fits = least <= len(held) <= most and fewest <= claims <= most_claims
            print(
                f"{label}: {text!r} {len(held):,} names / {claims:,} claims",
                "" if fits else "(not this class)",
            )
            if fits:
                CASES.append((label, text))
                break
        else:
            raise SystemExit(f"no candidate of {label!r} fits this ledger: add one from its data")
    CASES.append(("renamed by a revision", RENAMED))


def rename_one(ledger: Ledger, instance: object) -> None:
    """A revision giving one claim a claimant name no other claim has (once)."""
    if ledger.find_claims(ClaimFilter(claimant=RENAMED), limit=1):
        return
    claim = ledger.find_claims(ClaimFilter(), limit=1)[0]
    writer = instance.writer_key()  # type: ignore[attr-defined]
    claimant = Claimant(name=RENAMED, role="analyst", affiliation=None, kind=None, cites=())
    ledger.revise_claim(
        writer,
        claim.claim_id,
        follows=claim.head or claim.claim_id,
        changes=ClaimChanges(claimant=claimant),
        reason="bench: a renamed claimant",
    )


def run(ledger: Ledger, repeat: int, orders: list[ClaimOrder]) -> None:
    names: dict[str, int] = {}
    for claimant, count in ledger.claimants(limit=1000):
        names[claimant.name or ""] = count
    pages: dict[tuple[int, int], list[float]] = {}
    counts: dict[int, list[float]] = {}
    baseline: dict[int, list[float]] = {}
    for _ in range(repeat):
        for o, order in enumerate(orders):
            started = CLOCK[0]()
            ledger.find_claims(ClaimFilter(), order=order, limit=PAGE)
            baseline.setdefault(o, []).append(CLOCK[0]() - started)
            for i, (_, text) in enumerate(CASES):
                started = CLOCK[0]()
                ledger.find_claims(ClaimFilter(claimant=text), order=order, limit=PAGE)
                pages.setdefault((i, o), []).append(CLOCK[0]() - started)
        for i, (_, text) in enumerate(CASES):
            started = CLOCK[0]()
            ledger.count_claims_bounded(ClaimFilter(claimant=text), COUNT_LIMIT)
            counts.setdefault(i, []).append(CLOCK[0]() - started)
    pooled_base = [t for ts in baseline.values() for t in ts]
    base50 = statistics.median(pooled_base)
    print(
        f"baseline (no filter, first page of {PAGE}, orders pooled): p50 {base50 * 1000:.2f} ms,"
        f" p99 {percentile(pooled_base, 0.99) * 1000:.2f} ms"
    )
    print(
        "| case | substring | claims (count at most 1000) | page p50 ms | page p99 ms "
        "| worst order p99 ms | p50 / baseline | countAtMost p50 ms | countAtMost p99 ms |"
    )
    print("| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    for i, (label, text) in enumerate(CASES):
        n, exact = ledger.count_claims_bounded(ClaimFilter(claimant=text), COUNT_LIMIT)
        pooled = [t for o in range(len(orders)) for t in pages[(i, o)]]
        worst = max(range(len(orders)), key=lambda o: percentile(pages[(i, o)], 0.99))
        order = orders[worst]
        worst_label = f"{order.field}{' desc' if order.descending else ''}"
        print(
            f"| {label} | {text!r} | {'' if exact else '> '}{n:,} "
            f"| {statistics.median(pooled) * 1000:.2f} | {percentile(pooled, 0.99) * 1000:.2f} "
            f"| {worst_label} {percentile(pages[(i, worst)], 0.99) * 1000:.2f} "
            f"| {statistics.median(pooled) / base50:.1f}x "
            f"| {statistics.median(counts[i]) * 1000:.2f} "
            f"| {percentile(counts[i], 0.99) * 1000:.2f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="cpu")
    args = parser.parse_args()
    if args.clock == "wall":
        CLOCK[0] = time.perf_counter
    if "claims-ledger-bench" in str(args.path.resolve()):
        raise SystemExit("refusing to change the shared fixture: copy it and pass the copy")
    url = args.database_url or f"sqlite:///{args.path}/ledger.sqlite3"
    instance = open_instance(Settings(home=args.path, database_url=url, passphrase=PASSPHRASE))
    try:
        ledger = instance.ledger
        rename_one(ledger, instance)
        choose_cases(ledger)
        orders = [ClaimOrder(field) for field in ORDER_FIELDS] + [
            ClaimOrder("recorded", True),
            ClaimOrder("score", True),
        ]
        print(
            f"claimant_names: {ledger.store.dialect}, {ledger.head().size:,} entries, "
            f"{len(orders)} orders, repeat {args.repeat}, clock {args.clock}; "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
            f"load {os.getloadavg()[0]:.2f}"
        )
        run(ledger, args.repeat, orders)
        print(f"load at the end {os.getloadavg()[0]:.2f}")
    finally:
        instance.close()


if __name__ == "__main__":
    main()
