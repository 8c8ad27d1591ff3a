"""What a writer's catch-up of the derived caches costs on a large ledger whose caches were
never derived (the benchmark fixture: ``benchmarks/fixture.py``), and the refresh after one
more source that follows it in the same process (decision 0039).

Opens the fixture at ``--path`` (SQLite, or ``--database-url``) and times
``Ledger.refresh_derived`` from nothing: wall and CPU seconds, the rows written, and the
process's peak resident memory (``ru_maxrss``); then appends ``--steps`` sources of nine
claims each (``derived_refresh.Story``) and times each refresh after one. It WRITES the
derived tables and the sources: run it on a copy of the fixture (``cp -a``).

    PYTHONPATH=. .venv/bin/python benchmarks/derived_catchup.py --path /tmp/copy-of-1m

Run with another tree first on ``PYTHONPATH`` (e.g. ``/work/main``) for its figures: the
script uses only ``refresh_derived`` and the fixture's keys.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from benchmarks.derived_refresh import Story
from benchmarks.fixture import fixture_settings
from ledger.instance import open_instance
from ledger.store import derived as derived_store


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", type=Path, required=True, help="a copy of the fixture home")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    instance = open_instance(fixture_settings(args.path, args.database_url))
    ledger = instance.ledger
    with ledger.store.reader() as txn:
        size, was = txn.head().size, derived_store.derived_size(txn)
        claims = int(txn.conn.exec_driver_sql("SELECT count(*) FROM claims").scalar() or 0)
    rss_before = peak_rss_mb()
    print(f"tree size {size:,}, claims {claims:,}, derived at {was}, peak RSS {rss_before:,.0f} MB")
    wall, cpu = time.perf_counter(), time.process_time()
    ledger.refresh_derived()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with ledger.store.reader() as txn:
        rows = sum(len(r) for r in derived_store.stored_rows(txn).values())
    print(
        f"catch-up from nothing: wall {wall:,.1f} s  cpu {cpu:,.1f} s  rows {rows:,}  "
        f"peak RSS {peak_rss_mb():,.0f} MB (before it {rss_before:,.0f} MB)",
        flush=True,
    )
    story = Story(9 * args.steps, seed=7)
    walls, cpus = [], []
    for _ in range(args.steps):
        story.source(instance)
        wall, cpu = time.perf_counter(), time.process_time()
        ledger.refresh_derived()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(
        f"refresh after one more source (median of {args.steps}): "
        f"wall {statistics.median(walls):.3f} s  cpu {statistics.median(cpus):.3f} s  "
        f"peak RSS {peak_rss_mb():,.0f} MB"
    )
    instance.close()


if __name__ == "__main__":
    main()
