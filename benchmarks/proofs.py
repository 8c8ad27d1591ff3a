"""Merkle proof latency on a large ledger, as a ratio against one indexed row read.

On the benchmark fixture (``benchmarks/fixture.py``, 1,000,000 entries by default, built
first if missing), times what a server does per proof request:

- ``Ledger.inclusion_proof(seq, size)``: a read transaction, the head, the proof's
  stored nodes, the leaf and the root at ``size``;
- ``Ledger.consistency_proof(old, new)``: the head, the proof's nodes, both roots;

each for random (seed fixed) sizes in [1, head] and for the latest size, over
``--proofs`` requests per kind. Separately, the client's local cost:
``InclusionProof.verify()`` / ``ConsistencyProof.verify()`` on the proofs just produced
(every one must verify).

Baseline, measured in the same loop (calls interleaved, order rotated): one SQLite point
lookup of an ``entries`` row by ``seq`` on a plain ``sqlite3`` connection (primary key,
rowid). Also shown, not as a baseline: the same read through ``Ledger.entry(seq=...)``.
Reported: median and p99 latency (ms), calls per second (calls / total time, one thread)
and the ratio of medians against the baseline. Goal: median < 1 ms for each proof kind
at 1,000,000 entries. The page cache is warm (a warm-up pass runs first).

    .venv/bin/python benchmarks/proofs.py [--entries 1000000] [--proofs 2000] [--seed 1]
        [--warmup 100] [--path DIR]
"""

from __future__ import annotations

import argparse
import platform
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event

from benchmarks.fixture import DATABASE, default_path, ensure_fixture, fixture_settings
from ledger.instance import open_instance
from ledger.service import InclusionProof, Ledger

GOAL_MS = 1.0


@dataclass
class Series:
    """Latencies (ns) of one kind of call, and what the calls returned (for verification)."""

    label: str
    call: Callable[[int], Any]
    times: list[int] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)
    keep: bool = False

    def run(self, i: int) -> None:
        start = time.perf_counter_ns()
        result = self.call(i)
        self.times.append(time.perf_counter_ns() - start)
        if self.keep:
            self.results.append(result)


def summary(times: list[int]) -> tuple[float, float, float]:
    """(median ms, p99 ms, calls per second over the total time)."""
    ms = [t / 1e6 for t in times]
    p99 = statistics.quantiles(ms, n=100)[98] if len(ms) >= 2 else ms[0]
    return statistics.median(ms), p99, len(ms) / (sum(ms) / 1e3)


def interleave(series: list[Series], count: int) -> None:
    """Call every series once per round, rotating the order so none always goes first."""
    for i in range(count):
        shift = i % len(series)
        for s in series[shift:] + series[:shift]:
            s.run(i)


def draw(rng: random.Random, head: int, count: int) -> dict[str, list[tuple[int, int]]]:
    """Random request parameters (seed fixed): seq and sizes, uniform over the tree."""
    incl_random, incl_head, cons_random, cons_head, rows = [], [], [], [], []
    for _ in range(count):
        size = rng.randint(1, head)
        incl_random.append((rng.randrange(size), size))
        incl_head.append((rng.randrange(head), head))
        new = rng.randint(2, head)
        cons_random.append((rng.randint(1, new - 1), new))  # 0 < old < new: a real proof
        cons_head.append((rng.randint(1, head - 1), head))
        rows.append((rng.randrange(head), 0))
    return {
        "incl_random": incl_random,
        "incl_head": incl_head,
        "cons_random": cons_random,
        "cons_head": cons_head,
        "rows": rows,
    }


def measure(
    ledger: Ledger, db: Path, count: int, seed: int, warm: int
) -> list[tuple[str, list[Series]]]:
    head = ledger.head().size
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
    read_row = "SELECT seq, hash, kind, signer, ts, subject, data FROM entries WHERE seq = ?"

    def sql_row(seq: int) -> Any:
        row = raw.execute(read_row, (seq,)).fetchone()
        assert row is not None
        return row

    def build(params: dict[str, list[tuple[int, int]]], keep: bool) -> list[Series]:
        p = params
        return [
            Series("baseline: sqlite3 row by seq", lambda i: sql_row(p["rows"][i][0])),
            Series("Ledger.entry(seq)", lambda i: ledger.entry(seq=p["rows"][i][0])),
            Series(
                "inclusion, random size",
                lambda i: ledger.inclusion_proof(*p["incl_random"][i]),
                keep=keep,
            ),
            Series(
                "inclusion, latest size",
                lambda i: ledger.inclusion_proof(*p["incl_head"][i]),
                keep=keep,
            ),
            Series(
                "consistency, random sizes",
                lambda i: ledger.consistency_proof(*p["cons_random"][i]),
                keep=keep,
            ),
            Series(
                "consistency, to latest",
                lambda i: ledger.consistency_proof(*p["cons_head"][i]),
                keep=keep,
            ),
        ]

    rng = random.Random(seed)
    interleave(build(draw(rng, head, warm), keep=False), warm)  # page cache, pool, statements
    requests = build(draw(rng, head, count), keep=True)
    interleave(requests, count)
    raw.close()

    # Local verification of every proof produced above (pure CPU, no database).
    proofs = [s for s in requests if s.keep]
    verifications = [Series(f"verify {s.label}", verify_call(s)) for s in proofs]
    interleave(verifications, count)

    latest = ledger.checkpoint(head)
    for s in proofs:
        for proof in s.results:
            root = proof.root if isinstance(proof, InclusionProof) else proof.new_root
            size = proof.size if isinstance(proof, InclusionProof) else proof.new_size
            if size == head and root != latest.root:
                raise AssertionError(f"{s.label}: root at {head} differs from the checkpoint")
    return [("produce (server, per request)", requests), ("verify (client, local)", verifications)]


def verify_call(series: Series) -> Callable[[int], None]:
    def call(i: int) -> None:
        series.results[i].verify()

    return call


def query_plans(ledger: Ledger, db: Path) -> list[tuple[str, list[str]]]:
    """The SQLite plan of every statement one inclusion and one consistency proof run.

    Captured from the engine as executed, so it follows whatever the store does.
    """
    head = ledger.head().size
    engine = ledger.store.engine
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        ledger.inclusion_proof(head // 3, head)
        ledger.consistency_proof(head // 3, head)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    plans = []
    for statement, params in dict(captured).items():  # one per distinct statement
        rows = raw.execute("EXPLAIN QUERY PLAN " + statement, tuple(params)).fetchall()
        plans.append((" ".join(statement.split()), [str(row[-1]) for row in rows]))
    raw.close()
    return plans


def full_scan(sql: str, plan: list[str]) -> bool:
    """A plan step that walks a whole table (not constant rows, not ended by a LIMIT)."""
    return "LIMIT" not in sql.upper() and any(
        step.startswith("SCAN ") and "CONSTANT ROW" not in step for step in plan
    )


def proof_length(series: Series) -> float:
    return statistics.mean(len(p.hashes) for p in series.results) if series.results else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000, help="fixture size")
    parser.add_argument("--path", type=Path, default=None, help="fixture home (default: cache)")
    parser.add_argument("--proofs", type=int, default=2000, help="requests per proof kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=100, help="untimed calls per kind first")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} "
        f"python {platform.python_version()} sqlite {sqlite3.sqlite_version}"
    )
    home = ensure_fixture(args.entries, args.path or default_path(args.entries))
    instance = open_instance(fixture_settings(home), bootstrap=False)
    try:
        ledger = instance.ledger
        head = ledger.head().size
        print(
            f"fixture: {home} ({head:,} entries); {args.proofs:,} calls per kind, seed {args.seed}"
        )
        plans = query_plans(ledger, home / DATABASE)
        scans = [(sql, plan) for sql, plan in plans if full_scan(sql, plan)]
        for sql, plan in scans:
            shown = sql if len(sql) <= 160 else sql[:157] + "..."
            print(f"warning: a proof statement scans a whole table: {shown}\n  plan: {plan}")
        sections = measure(ledger, home / DATABASE, args.proofs, args.seed, args.warmup)
    finally:
        instance.close()

    base_median = summary(sections[0][1][0].times)[0]
    print()
    print(
        f"{'':<36} {'median ms':>10} {'p99 ms':>9} {'calls/s':>9} {'x row read':>11} {'hashes':>7}"
    )
    verdicts = []
    for title, series in sections:
        print(title)
        for s in series:
            median, p99, rate = summary(s.times)
            hashes = f"{proof_length(s):>7.1f}" if s.keep else f"{'':>7}"
            print(
                f"  {s.label:<34} {median:>10.3f} {p99:>9.3f} {rate:>9,.0f} "
                f"{median / base_median:>11.1f} {hashes}"
            )
            if s.keep:
                verdicts.append((s.label, median))
    print()
    for label, median in verdicts:
        met = "met" if median < GOAL_MS else "NOT met"
        print(f"goal median < {GOAL_MS:g} ms at {head:,} entries, {label}: {median:.3f} ms, {met}")


if __name__ == "__main__":
    main()
