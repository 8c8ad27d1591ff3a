"""Resolving an id prefix (``ledger.ids.resolve``) as a ratio against a table scan
measured in the same run, on the same database.

Ledger: ``resolve(store, "claim", prefix)``, the CLI's lookup: a range scan of the unique
index on ``entries.hash`` (``hash >= low AND hash < high AND kind = 'claim.extracted'``),
through the store's read transaction. Baseline: the same answer by a plain scan,
``SELECT hash FROM entries WHERE substr(hash, 1, n) = ? AND kind = 'claim.extracted'``
on a bare sqlite3 connection. Rows are written straight into ``entries`` (random hashes,
no signatures): only the lookup is measured. Medians over ``--repeat`` rounds of
``--lookups`` random 8-digit prefixes of existing ids.

    .venv/bin/python benchmarks/id_prefix.py [--entries 200000] [--lookups 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from ledger.ids import resolve
from ledger.store.sql import Store


def fill(path: Path, entries: int) -> list[str]:
    """``entries`` rows of random hashes in a migrated ledger database (9 in 10 claims)."""
    store = Store.open(f"sqlite:///{path}")
    store.close()
    rng = random.Random(15)
    hashes = [rng.randbytes(32).hex() for _ in range(entries)]
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO entries (seq, hash, kind, signer, ts, subject, data) "
        "VALUES (?, ?, ?, ?, ?, NULL, x'')",
        (
            (
                seq,
                h,
                "source.registered" if seq % 10 == 0 else "claim.extracted",
                "0" * 64,
                "2026-11-30T00:00:00.000000Z",
            )
            for seq, h in enumerate(hashes)
        ),
    )
    db.commit()
    db.close()
    return [h for seq, h in enumerate(hashes) if seq % 10]


def timed(run: object, prefixes: list[str]) -> float:
    start = time.perf_counter()
    for prefix in prefixes:
        run(prefix)  # type: ignore[operator]
    return (time.perf_counter() - start) / len(prefixes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.sqlite3"
        claims = fill(path, args.entries)
        store = Store.open(f"sqlite:///{path}")
        bare = sqlite3.connect(path)
        rng = random.Random(16)

        def ledger(prefix: str) -> None:
            assert resolve(store, "claim", prefix).startswith(prefix)

        def scan(prefix: str) -> None:
            rows = bare.execute(
                "SELECT hash FROM entries WHERE substr(hash, 1, ?) = ? "
                "AND kind = 'claim.extracted' LIMIT 6",
                (len(prefix), prefix),
            ).fetchall()
            assert len(rows) == 1

        ours, base = [], []
        for _ in range(args.repeat):
            prefixes = [h[:8] for h in rng.sample(claims, args.lookups)]
            base.append(timed(scan, prefixes))
            ours.append(timed(ledger, prefixes))
        store.close()
        bare.close()
    b, o = statistics.median(base), statistics.median(ours)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"entries {args.entries}; {args.lookups} lookups x {args.repeat} rounds (medians)")
    print(f"table scan (baseline)  {b * 1e3:9.3f} ms per lookup")
    print(f"resolve (range scan)   {o * 1e3:9.3f} ms per lookup")
    print(f"ratio baseline/resolve {b / o:9.1f}")


if __name__ == "__main__":
    main()
