"""What the writer's projection changes cost on PostgreSQL, two code trees interleaved
(decision 0031): before, a plain UPDATE/DELETE; after, the functions bound to the log.

Each run is a child process with one tree's code (``PYTHONPATH=TREE``) on a fresh schema
of ``--database-url`` (migrated by that tree, dropped after), timing:

- ``extract``: ``--claims`` entries of the fixture's mix (one source, nine claims)
  through ``Ledger.batch()`` in batches of 1,000 — inserts only, the bulk ingest path;
- ``change batch``: ``--changes`` claim changes (revisions and reviews, alternating; a
  claim changed once per batch) in batches of ``--batch`` — each batch's changed rows
  through one ``ledger_change_claims`` call after, one UPDATE statement before;
- ``change single``: ``--single`` reviews, one per transaction (what an API mutation
  appends);
- ``refresh``: ``Ledger.refresh_derived`` after the changes (the derived caches' diff
  written through ``ledger_write_derived`` after, plain DELETE/INSERT before), and
  ``refresh +1 doc`` after one more document.

Runs alternate tree by tree, ``--repeat`` times; medians of wall time (PostgreSQL's work
is in the server process, so wall is the figure), of this process's CPU time, and of the
wall time spent inside the projection writes alone (``Txn.write`` and ``write_derived``,
the functions that changed), and the ratio of each tree's median to the first tree's:

    .venv/bin/python benchmarks/pg_writer.py --trees /path/to/main /path/to/branch
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent


def child(url: str, claims: int, changes: int, batch_size: int, single: int) -> None:
    """One run in this process (this tree's code); prints its timings as JSON."""
    import tempfile

    import sqlalchemy as sa

    import ledger.store.derived as derived_store
    import ledger.store.sql as store_sql
    from benchmarks.filters import build, settings
    from ledger.entries import ClaimChanges, ClaimReviewed, Rating
    from ledger.instance import open_instance
    from tests.helpers import source_bytes

    # The projection writes alone: wall time inside Txn.write and write_derived (the same
    # functions in every tree), summed per step; the rest of a step (signing, rules, the
    # tree, the checkpoint, the derivation) is the same code in both trees.
    inside = [0.0]

    def clocked(function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                inside[0] += time.perf_counter() - start

        return run

    store_sql.Txn.write = clocked(store_sql.Txn.write)  # type: ignore[method-assign]
    derived_store.write_derived = clocked(derived_store.write_derived)

    schema = f"bench_writer_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    out: dict[str, tuple[float, float, float]] = {}

    def timed(name: str, call: Callable[[], object]) -> None:
        wall, cpu, before = time.perf_counter(), time.process_time(), inside[0]
        call()
        out[name] = (time.perf_counter() - wall, time.process_time() - cpu, inside[0] - before)

    try:
        with tempfile.TemporaryDirectory() as home:
            instance = open_instance(
                settings(Path(home), f"{url}{sep}options=-csearch_path%3D{schema}")
            )
            ledger, writer, reviewer = instance.ledger, instance.writer_key(), instance.log_key()
            start = ledger.head().size
            timed("extract", lambda: build(instance, start + claims))
            ids = [c.claim_id for c in ledger.store.all_claims()]
            rating = Rating(textual="Mostly true", value=4, best=5, worst=1)

            def change_batches() -> None:
                done = 0
                while done < changes:
                    with ledger.batch() as batch:
                        for i in range(done, min(done + batch_size, changes)):
                            claim = ids[i % len(ids)]
                            head = ledger.claim(claim).head if i >= len(ids) else claim
                            if i % 2:
                                payload: Any = ClaimReviewed(
                                    claim=claim, follows=head, rating=rating, note=None, url=None
                                )
                            else:
                                payload = ledger_revision(claim, head, i)
                            batch.add(payload, reviewer if i % 2 else writer)
                    done += batch_size

            def ledger_revision(claim: str, head: str, i: int) -> Any:
                from ledger.entries import ClaimRevised

                return ClaimRevised(
                    claim=claim,
                    follows=head,
                    changes=ClaimChanges(statement=f"Revised statement number {i}."),
                    reason="bench",
                )

            def singles() -> None:
                for i in range(single):
                    claim = ids[-1 - i]
                    ledger.review_claim(
                        reviewer, claim, follows=ledger.claim(claim).head, rating=rating
                    )

            timed("change batch", change_batches)
            timed("change single", singles)
            timed("refresh", ledger.refresh_derived)
            from ledger.ingest import ingest_document, read_target

            path = Path(home) / "one-more.txt"
            path.write_bytes(source_bytes(10**6))
            ingest_document(ledger, writer, read_target(path, None), where=str(path))
            timed("refresh +1 doc", ledger.refresh_derived)
            instance.close()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--trees", nargs="+", default=[str(ROOT)])
    parser.add_argument("--claims", type=int, default=3000)
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--single", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database_url, args.claims, args.changes, args.batch, args.single)
        return
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs python {platform.python_version()}")
    print(f"load before: {os.getloadavg()}")
    runs: dict[str, list[dict[str, list[float]]]] = {tree: [] for tree in args.trees}
    for _ in range(args.repeat):
        for tree in args.trees:  # interleaved: machine noise hits every tree alike
            done = subprocess.run(
                [
                    *(sys.executable, __file__, "--child", "--database-url", args.database_url),
                    *("--claims", str(args.claims), "--changes", str(args.changes)),
                    *("--batch", str(args.batch), "--single", str(args.single)),
                ],
                env={**os.environ, "PYTHONPATH": tree},
                cwd=tree,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"{tree}: {done.stderr}")
            runs[tree].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"load after: {os.getloadavg()}")
    first = args.trees[0]
    names = list(runs[first][0])
    print(
        "| step | tree | wall median s | ratio | CPU median s | ratio "
        "| projection writes median s | ratio |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        base = [statistics.median(r[name][i] for r in runs[first]) for i in range(3)]
        for tree in args.trees:
            got = [statistics.median(r[name][i] for r in runs[tree]) for i in range(3)]
            cells = " | ".join(f"{g:.3f} | {g / b:.2f}" for g, b in zip(got, base, strict=True))
            print(f"| {name} | {tree} | {cells} |")


if __name__ == "__main__":
    main()
