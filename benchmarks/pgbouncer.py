"""Appends and reads through PgBouncer (transaction pooling) as ratios against direct
PostgreSQL connections, measured in the same run.

Three set-ups, each with ``--writers`` processes appending one source per transaction
(append lock, checkpoint: what an API mutation does) and as many reading claim pages:

- direct:           psycopg straight to PostgreSQL, prepared statements on (the default);
- direct, no prep.: the same with ``?prepare_threshold=none`` (its cost alone);
- pgbouncer:        through PgBouncer in transaction mode with ``--pool`` server
                    connections, ``?prepare_threshold=none`` (docs/operations.md).

Runs are interleaved (direct, no prep., pgbouncer; repeated) and medians reported.

    .venv/bin/python benchmarks/pgbouncer.py [--writers 4] [--appends 50] [--repeat 3]

Needs PostgreSQL at LEDGER_TEST_POSTGRES_URL's server and ``pgbouncer`` on PATH (as root
it runs pgbouncer as the ``postgres`` user). Creates and drops databases bench_pgb_*.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import pwd
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from ledger.config import Settings
from ledger.extract.deterministic import DeterministicExtractor
from ledger.ingest import ingest_paths
from ledger.instance import open_instance
from ledger.queries import ClaimFilter, ClaimOrder
from tests.conftest import POSTGRES_URL, SEED
from tests.helpers import append_sources

SERVER = POSTGRES_URL.split("://", 1)[1].split("@", 1)[1].rsplit("/", 1)[0]
HOST, PORT = SERVER.rsplit(":", 1)


def _settings(home: Path, url: str) -> Settings:
    return Settings.from_env(
        {"LEDGER_HOME": str(home), "LEDGER_DATABASE_URL": url, "LEDGER_KEY_PASSPHRASE": "pw"}
    )


def _worker(kind: str, home: str, url: str, first: int, count: int, ready: Any, out: Any) -> None:
    """Open the ledger, wait for every other process, then time ``count`` operations."""
    if kind == "append":
        instance = open_instance(_settings(Path(home), url))
        writer = instance.writer_key()
    else:
        instance = open_instance(_settings(Path(home), url), lazy_keys=True)
    ready.wait()
    began = time.perf_counter()
    for n in range(first, first + count):
        if kind == "append":
            append_sources(instance.ledger, writer, [n])
        else:
            instance.ledger.find_claims(ClaimFilter(), order=ClaimOrder(), limit=20)
    out.put((kind, time.perf_counter() - began))
    instance.close()


def run(home: Path, url: str, writers: int, ops: int, offset: int) -> tuple[float, float]:
    """(appends/s, reads/s) with ``writers`` appenders and as many readers at once: all
    operations of a kind over the slowest process's time for its share."""
    ctx = multiprocessing.get_context("spawn")
    ready, out = ctx.Barrier(2 * writers), ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker, args=("append", str(home), url, offset + i * ops, ops, ready, out)
        )
        for i in range(writers)
    ] + [
        ctx.Process(target=_worker, args=("read", str(home), url, 0, ops, ready, out))
        for _ in range(writers)
    ]
    for proc in procs:
        proc.start()
    times: dict[str, list[float]] = {"append": [], "read": []}
    for _ in procs:
        kind, elapsed = out.get(timeout=1800)
        times[kind].append(elapsed)
    for proc in procs:
        proc.join()
        assert proc.exitcode == 0
    total = writers * ops
    return total / max(times["append"]), total / max(times["read"])


def pgbouncer(pool: int) -> tuple[subprocess.Popen[bytes], str, Path]:
    folder = Path(tempfile.mkdtemp(prefix="bench-pgbouncer-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={HOST} port={PORT}\n[pgbouncer]\nlisten_addr = 127.0.0.1\n"
        f"listen_port = {port}\nunix_socket_dir =\nauth_type = trust\n"
        f"auth_file = {folder / 'users.txt'}\npool_mode = transaction\n"
        f"default_pool_size = {pool}\nmax_client_conn = 500\n"
    )
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    proc = subprocess.Popen([*prefix, binary, str(folder / "pgbouncer.ini")])
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"127.0.0.1:{port}", folder
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--appends", type=int, default=50, help="per writer and run")
    parser.add_argument("--pool", type=int, default=2, help="PgBouncer server connections")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}"
    )
    name = f"bench_pgb_{uuid.uuid4().hex[:8]}"
    admin = f"postgresql://postgres@{SERVER}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    bouncer, address, folder = pgbouncer(args.pool)
    home = Path(tempfile.mkdtemp(prefix="bench-pgb-home-"))
    setups = {
        "direct": f"postgresql://postgres@{SERVER}/{name}",
        "direct, no prep.": f"postgresql://postgres@{SERVER}/{name}?prepare_threshold=none",
        "pgbouncer": f"postgresql://postgres@{address}/{name}?prepare_threshold=none",
    }
    try:
        first = open_instance(_settings(home, setups["direct"]))  # entries 0, 1; keys
        ingest_paths(first.ledger, first.writer_key(), [SEED], extractor=DeterministicExtractor())
        first.close()
        results: dict[str, list[tuple[float, float]]] = {label: [] for label in setups}
        offset = 0
        for _ in range(args.repeat):
            for label, url in setups.items():
                results[label].append(run(home, url, args.writers, args.appends, offset))
                offset += args.writers * args.appends
        base_w = statistics.median(w for w, _ in results["direct"])
        base_r = statistics.median(r for _, r in results["direct"])
        print(
            f"{args.writers} writers x {args.appends} single appends and {args.writers} "
            f"readers x {args.appends} claim pages, pool {args.pool}, median of {args.repeat}"
        )
        print(f"{'set-up':<18} {'appends/s':>10} {'ratio':>6} {'reads/s':>10} {'ratio':>6}")
        for label, runs in results.items():
            w = statistics.median(x for x, _ in runs)
            r = statistics.median(y for _, y in runs)
            print(f"{label:<18} {w:>10,.0f} {w / base_w:>6.2f} {r:>10,.0f} {r / base_r:>6.2f}")
    finally:
        bouncer.terminate()
        bouncer.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
