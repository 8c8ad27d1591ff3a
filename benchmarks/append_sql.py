"""What a bulk append's SQL costs on SQLite, statement by statement, and what a schema or
setting change would save (decision 0036).

One ledger run (``benchmarks/append.py``'s mix, batches of 1,000) is recorded: every
statement the store sends through ``exec_driver_sql`` and every commit. The recording is
then replayed into a fresh migrated database with plain ``sqlite3`` (the engine's
pragmas), once per *variant* and round, variants interleaved; each statement and commit
is timed by this process's CPU time (``time.process_time``) and summed per table. The
replay holds only SQLite's work and the driver's binding, none of the ledger's Python.

    .venv/bin/python benchmarks/append_sql.py [--entries 20000] [--last 0] [--rounds 3]
        [VARIANT ...]

``--last K`` times only the last K batches (the earlier ones build the database up: the
cost at a size). Variants (``base`` is the shipped schema and settings): ``drop:INDEX`` (drop
that index), ``pragma:NAME=VALUE`` (on the replaying connection), ``page:BYTES`` (a new
database with that page size), ``blob`` (every 64-hex-digit value bound as its 32 bytes).
Prints µs an entry (medians over rounds) per table, for the commit, in all, and the
database's size with its WAL.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

Recording = list[tuple[str, Any]]
"""("commit", None) or (statement, parameters), in the order the store sent them."""

_TABLE = re.compile(r"INSERT INTO (\w+)")
_HEX = re.compile(r"[0-9a-f]{64}\Z")


def record(entries: int) -> Recording:
    """The statements and commits of one ledger bulk append of ``entries`` entries."""
    import sqlalchemy.engine.base as base
    import sqlalchemy.engine.default as default

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import append

    log: Recording = []
    real_sql, real_commit = base.Connection.exec_driver_sql, default.DefaultDialect.do_commit

    def spy_sql(self: Any, statement: str, parameters: Any = None, options: Any = None) -> Any:
        log.append((statement, parameters))
        return real_sql(self, statement, parameters, options)

    def spy_commit(self: Any, dbapi_connection: Any) -> None:
        log.append(("commit", None))
        real_commit(self, dbapi_connection)

    base.Connection.exec_driver_sql = spy_sql  # type: ignore[method-assign]
    default.DefaultDialect.do_commit = spy_commit  # type: ignore[method-assign]
    try:
        append.ledger_rate(entries, 1000, False)
    finally:
        base.Connection.exec_driver_sql = real_sql  # type: ignore[method-assign]
        default.DefaultDialect.do_commit = real_commit  # type: ignore[method-assign]
    # From the first append (the key registrations) on: writes, their BEGINs, commits.
    first = next(i for i, (s, _) in enumerate(log) if s.startswith("INSERT INTO keys"))
    first = max(i for i in range(first) if log[i][0].startswith("BEGIN"))
    return [(s, p) for s, p in log[first:] if s == "commit" or s.startswith(("INSERT", "BEGIN"))]


def fresh(directory: str, page: int | None) -> sqlite3.Connection:
    """A migrated ledger database (through the ledger's own engine), opened with sqlite3."""
    from ledger.store.engine import make_engine, migrate

    path = f"{directory}/l.sqlite3"
    if page is not None:  # the page size is fixed by the first table written
        db = sqlite3.connect(path, isolation_level=None)
        db.execute(f"PRAGMA page_size={page}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE first (x)")
        db.execute("DROP TABLE first")
        db.close()
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        db.execute(f"PRAGMA {pragma}")
    return db


def as_blobs(parameters: Any) -> Any:
    """Every 64-hex-digit text parameter as its 32 bytes."""
    if not isinstance(parameters, list):
        return parameters
    return [
        tuple(bytes.fromhex(v) if isinstance(v, str) and _HEX.match(v) else v for v in row)
        for row in parameters
    ]


def replay(recording: Recording, variant: str, last: int) -> dict[str, float]:
    """Seconds of CPU per table and for the commits, over the last ``last`` batches."""
    page = int(variant.split(":")[1]) if variant.startswith("page:") else None
    convert: Callable[[Any], Any] = as_blobs if variant == "blob" else (lambda p: p)
    commits = sum(1 for s, _ in recording if s == "commit")
    start = commits - last if last else 0
    spent: dict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory() as directory:
        db = fresh(directory, page)
        if variant.startswith("drop:"):
            db.execute(f"DROP INDEX {variant[5:]}")
        elif variant.startswith("pragma:"):
            db.execute(f"PRAGMA {variant[7:]}")
        clock, done = time.process_time, 0
        for statement, parameters in recording:
            timed = done >= start
            if statement == "commit":
                began = clock()
                db.execute("COMMIT")
                spent["commit"] += (clock() - began) * timed
                done += 1
            elif statement.startswith("BEGIN"):
                db.execute(statement)
            else:
                values = parameters if statement.startswith("INSERT INTO claims_fts") else None
                values = convert(parameters) if values is None else values
                began = clock()
                if isinstance(values, list):
                    db.executemany(statement, values)
                else:
                    db.execute(statement, values or ())
                match = _TABLE.match(statement)
                spent[match.group(1) if match else "other"] += (clock() - began) * timed
        db.close()
        files = [f"{directory}/l.sqlite3", f"{directory}/l.sqlite3-wal"]
        spent["MB"] = sum(os.path.getsize(f) for f in files if os.path.exists(f)) / 1e6
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("variants", nargs="*", default=["base"])
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--last", type=int, default=0, help="time only the last K batches")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    recording = record(args.entries)
    runs: dict[str, list[dict[str, float]]] = {v: [] for v in args.variants}
    for _ in range(args.rounds):
        for variant in args.variants:
            runs[variant].append(replay(recording, variant, args.last))
    timed = args.last * 1000 if args.last else args.entries
    print(f"CPU µs an entry over {timed:,} entries (medians of {args.rounds}); MB: database + WAL")
    base = runs.get("base", next(iter(runs.values())))
    tables = sorted({k for r in base for k in r} - {"MB", "commit"})
    tables.sort(key=lambda k: -statistics.median(r.get(k, 0.0) for r in base))
    heads = "".join(f" {t[:10]:>10}" for t in tables)
    print(f"{'variant':<34} {'total':>7} {'commit':>7}{heads} {'MB':>7}")
    for variant, results in runs.items():
        cells = [
            statistics.median(sum(v for k, v in r.items() if k != "MB") for r in results),
            *(statistics.median(r.get(k, 0.0) for r in results) for k in ["commit", *tables]),
        ]
        text = "".join(f" {c / timed * 1e6:{7 if i < 2 else 10}.2f}" for i, c in enumerate(cells))
        print(f"{variant:<34}{text} {statistics.median(r['MB'] for r in results):7.1f}")


if __name__ == "__main__":
    main()
