"""The ledger's bulk append alternated in one process with schema variants (decision 0044).

Each variant is SQL run on the fresh ledger database right after its migration (before the
first append): an index added back or dropped, say. ``benchmarks/append.py``'s
``ledger_rate`` (its ingest mix, batches of 1,000) runs once per variant per round, the
variants interleaved, timed by this process's CPU time; prints µs an entry per variant
(medians over rounds) and the difference from the first variant. One process, so the
ledger's Python is the same code in every run: only the schema differs.

    .venv/bin/python benchmarks/append_variants.py [--entries 20000] [--rounds 7] \
        [--variant 'NAME=SQL' ...]

Without ``--variant``: this schema; it with ``ix_claims_source_sha256`` (the random-key
index decision 0044 replaced) added back; it with ``ix_claims_source_seq`` dropped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import ledger.store.sql as sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
import append

DEFAULT = [
    "shipped=",
    "+ix_claims_source_sha256=CREATE INDEX ix_claims_source_sha256 ON claims (source_sha256)",
    "-ix_claims_source_seq=DROP INDEX ix_claims_source_seq",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--variant", action="append", help="NAME=SQL (SQL may be empty)")
    args = parser.parse_args()
    variants = dict(v.split("=", 1) for v in (args.variant or DEFAULT))
    real = sql.migrate
    current = {"sql": ""}

    def migrate_then(engine: Any) -> None:
        real(engine)
        if current["sql"]:
            with engine.begin() as conn:
                conn.exec_driver_sql(current["sql"])

    sql.migrate = migrate_then  # type: ignore[assignment]
    append.CLOCK[0] = time.process_time
    spent: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.rounds):
        for name, statement in variants.items():
            current["sql"] = statement
            spent[name].append(1e6 / append.ledger_rate(args.entries, 1000, False))
        shown = ", ".join(f"{name} {us[-1]:.1f}" for name, us in spent.items())
        print(f"round {r + 1}: {shown}", flush=True)
    first = statistics.median(next(iter(spent.values())))
    print(f"CPU µs an entry, {args.entries:,} entries, medians of {args.rounds}:")
    for name, us in spent.items():
        median = statistics.median(us)
        print(f"  {name:<28} {median:8.2f}  {median - first:+6.2f}  ({min(us):.1f}-{max(us):.1f})")


if __name__ == "__main__":
    main()
