"""PostgreSQL at 1,000,000 entries (issue 13): proofs, state proofs, the read queries that
were slow there (a common search word, ``asOf``), bulk append into the large ledger.

Runs in process on a ledger whose entries live in ``--database-url`` (keys in ``--path``),
e.g. a copy of the shared PostgreSQL fixture (``benchmarks/fixture.py --database-url``):

    createdb -h 127.0.0.1 -U postgres -T bench_gql pgscale
    cp -a /tmp/claims-ledger-bench/ledger-1000000-bench_gql /tmp/pgscale/home
    .venv/bin/python benchmarks/pg_scale.py --path /tmp/pgscale/home \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/pgscale proofs queries
    ... append --append 20000   (changes the ledger: never point it at the shared fixture)

- ``proofs``: ``Ledger.inclusion_proof`` and ``Ledger.consistency_proof`` at random sizes
  and at the head, ``Ledger.state_proof`` of random claims (the first call builds the map:
  timed apart), interleaved call by call; medians and p99, wall and this process's CPU.
- ``queries``: first pages of 20 through ``Ledger.find_claims`` (what GraphQL calls):
  a common search word and a rare one at every order, ``asOf`` half the log and near its
  head, with and without a filter; the bounded count (``count_claims_bounded``) of each.
- ``append``: ``--append`` entries of the fixture's mix through ``Ledger.batch()`` in
  batches of ``--batch``, wall and CPU rate.
Wall clock is the figure for PostgreSQL (its work is in the server process).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy

from benchmarks.filters import build, settings
from ledger.instance import Instance, open_instance
from ledger.queries import ORDER_FIELDS, ClaimFilter, ClaimOrder
from ledger.service import Ledger


def timed(calls: dict[str, Callable[[int], object]], rounds: int) -> None:
    """Each call ``rounds`` times, interleaved; median and p99 of wall and CPU ms."""
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(rounds):
        for name, call in calls.items():
            w, c = time.perf_counter(), time.process_time()
            call(i)
            cpu[name].append(time.process_time() - c)
            wall[name].append(time.perf_counter() - w)
    print("| call | wall p50 ms | wall p99 ms | CPU p50 ms |")
    print("| --- | ---: | ---: | ---: |")
    for name in calls:
        ws = sorted(wall[name])
        p99 = ws[min(len(ws) - 1, int(0.99 * len(ws)))]
        print(
            f"| {name} | {statistics.median(ws) * 1000:.2f} | {p99 * 1000:.2f} "
            f"| {statistics.median(cpu[name]) * 1000:.2f} |",
            flush=True,
        )


def proofs(ledger: Ledger, rounds: int, *, state: bool = True) -> None:
    head = ledger.head().size
    rng = random.Random(1)
    sizes = [rng.randint(2, head) for _ in range(rounds)]
    leaves = [rng.randrange(size) for size in sizes]
    olds = [rng.randint(1, size - 1) for size in sizes]
    claims = [c.claim_id for c in ledger.find_claims(ClaimFilter(), limit=1000)]
    claims += [c.claim_id for c in ledger.find_claims(ClaimFilter(), limit=1000, from_end=True)]
    if state:
        started = time.perf_counter()
        ledger.state_proof(claim_id=claims[0])
        print(f"first state proof (builds the map): {time.perf_counter() - started:.1f} s wall")
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    sqlalchemy.event.listen(ledger.store.engine, "before_cursor_execute", count)
    for name, call in (
        ("inclusion proof", lambda: ledger.inclusion_proof(leaves[0], sizes[0])),
        ("inclusion proof at the head", lambda: ledger.inclusion_proof(leaves[0])),
        ("consistency proof", lambda: ledger.consistency_proof(olds[0], sizes[0])),
        ("state proof", lambda: ledger.state_proof(claim_id=claims[1])),
        ("one row by seq", lambda: ledger.store.entry_by_seq(leaves[0])),
    ):
        if name == "state proof" and not state:
            continue
        statements[0] = 0
        call()
        print(f"{name}: {statements[0]} SQL statements")
    sqlalchemy.event.remove(ledger.store.engine, "before_cursor_execute", count)
    calls: dict[str, Callable[[int], object]] = {
        "baseline: one entry row by seq (Store.entry_by_seq)": lambda i: ledger.store.entry_by_seq(
            leaves[i]
        ),
        "inclusion proof, random size": lambda i: ledger.inclusion_proof(leaves[i], sizes[i]),
        "inclusion proof, head": lambda i: ledger.inclusion_proof(leaves[i], head),
        "inclusion proof, size not given (the head)": lambda i: ledger.inclusion_proof(leaves[i]),
        "consistency proof, random sizes": lambda i: ledger.consistency_proof(olds[i], sizes[i]),
        "consistency proof, to head": lambda i: ledger.consistency_proof(olds[i], head),
    }
    if state:
        calls["state proof, claim"] = lambda i: ledger.state_proof(claim_id=claims[i % len(claims)])
    timed(calls, rounds)


def queries(ledger: Ledger, rounds: int) -> None:
    head = ledger.head().size
    orders = [ClaimOrder(field) for field in ORDER_FIELDS]
    orders += [ClaimOrder("recorded", True), ClaimOrder("score", True)]
    cases: dict[str, Callable[[int], object]] = {}
    for label, where, as_of in (
        ("no filter", ClaimFilter(), None),
        ("search common (containers)", ClaimFilter(text="containers"), None),
        ('search common ("north korea" weap*)', ClaimFilter(text='"north korea" weap*'), None),
        ("search rare (7123)", ClaimFilter(text="7123"), None),
        ("search none (xylophone)", ClaimFilter(text="xylophone"), None),
        ("asOf half", ClaimFilter(), head // 2),
        ("asOf head - 1000", ClaimFilter(), head - 1000),
        ("asOf half, search containers", ClaimFilter(text="containers"), head // 2),
        ("asOf half, status active", ClaimFilter(status="active"), head // 2),
        ("asOf 3,000", ClaimFilter(), 3000),
    ):
        for order in orders:
            name = f"{label}, {order.field}{' desc' if order.descending else ''}"
            cases[name] = lambda _i, w=where, o=order, s=as_of: ledger.find_claims(
                w, order=o, limit=21, as_of=s
            )
        cases[f"{label}, bounded count 1,000"] = lambda _i, w=where, s=as_of: (
            ledger.count_claims_bounded(w, 1000, as_of=s)
        )
    timed(cases, rounds)


def append(instance: Instance, entries: int) -> None:
    ledger = instance.ledger
    start = ledger.head().size
    w, c = time.perf_counter(), time.process_time()
    build(instance, start + entries)
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    print(
        f"appended {entries:,} entries onto {start:,}: {wall:.1f} s wall "
        f"({entries / wall:,.0f} entries/s), {cpu:.1f} s CPU ({entries / cpu:,.0f} entries/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--append", type=int, default=20000)
    parser.add_argument(
        "--no-state",
        action="store_true",
        help="proofs: skip state proofs (their first call builds the map: minutes at 1M)",
    )
    parser.add_argument("what", nargs="+", choices=("proofs", "queries", "append"))
    args = parser.parse_args()
    instance = open_instance(settings(args.path, args.database_url))
    try:
        ledger = instance.ledger
        print(
            f"pg_scale: {ledger.store.dialect}, {ledger.head().size:,} entries, "
            f"load {os.getloadavg()[0]:.2f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        )
        for what in args.what:
            if what == "proofs":
                proofs(ledger, args.rounds, state=not args.no_state)
            elif what == "queries":
                queries(ledger, max(3, args.rounds // 20))
            else:
                append(instance, args.append)
        print(f"load at the end {os.getloadavg()[0]:.2f}")
    finally:
        instance.close()


if __name__ == "__main__":
    main()
