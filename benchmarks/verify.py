"""``claims-ledger verify`` over a large ledger: speed against the machine's raw Ed25519
verify rate (all cores), and peak memory.

Measured: ``python -m ledger.cli verify`` run as a subprocess on the benchmark fixture
(``benchmarks/fixture.py``; built first if missing) with ``LEDGER_HOME`` set to it and
``LEDGER_KEY_PASSPHRASE=bench``. Wall time from spawn to exit (Python start-up included;
the start-up of ``ledger.cli --help`` is shown for reference), entries per second, and
peak resident memory: the larger of the child's exact high-water mark (``ru_maxrss``
from ``wait4``, largest single process) and the sampled (every 20 ms) sum of PSS
(``/proc/<pid>/smaps_rollup``: shared pages split between their sharers) over the child
and all its descendants, so a parallel verify is charged for its workers but pages its
forked workers share are counted once. The summed RSS (an upper bound) is shown too.
Sampling is not free: reading ``smaps_rollup`` walks the page tables of the sampled
processes, and every 20 ms it slowed this very verify by about a tenth (59.5 s against
54.5 s, 2026-11-27). So the timed runs only wait for the child (its exact ``ru_maxrss``
still comes with ``wait4``), and one more run, untimed, samples the tree for memory.

Baseline, in the same run (interleaved with the verify runs): N = os.cpu_count()
processes, each verifying its share of ``--baseline-signatures`` Ed25519 signatures over
``--message-bytes`` messages with ``cryptography`` (a pool of distinct signed messages,
cycled; one public key object); total signatures / wall time from a common start
barrier to the last result. Also shown: the same with one process.

Also reported for every run: CPU time (user + system of the verify process and its
workers, from ``wait4``, which a loaded machine does not inflate as it does wall time),
and with sampling each process's own high-water mark (``VmHWM``, sampled every 20 ms; the
main process's exact one from ``wait4``) and their sum.

Goals: verify entries/s >= 0.8 x baseline verifies/s; peak RSS < 200 MB.

    .venv/bin/python benchmarks/verify.py [--entries 1000000] [--repeat 3]
    .venv/bin/python benchmarks/verify.py --once [--database-url postgresql+psycopg://...]

``--once``: one sampled run and no baseline (a 1,000,000-entry verify on a shared machine
takes long enough). ``--database-url``: verify the fixture built in that database
(``benchmarks/fixture.py --database-url``; home ``ledger-<entries>-<database>``).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks.fixture import (
    DATABASE,
    default_path,
    default_pg_path,
    ensure_fixture,
    fixture_env,
    is_complete,
)

POOL = 256  # distinct (signature, message) pairs per baseline process
GOAL_RATIO = 0.8
GOAL_RSS_MB = 200.0
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# Baseline ------------------------------------------------------------------------------


def _baseline_worker(count: int, message_bytes: int, barrier: Barrier, results: Any) -> None:
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    messages = [os.urandom(message_bytes) for _ in range(POOL)]
    pairs = [(private.sign(m), m) for m in messages]
    barrier.wait()
    for i in range(count):
        signature, message = pairs[i % POOL]
        public.verify(signature, message)  # raises InvalidSignature on failure
    results.put(count)


def baseline_rate(total: int, processes: int, message_bytes: int) -> float:
    """Ed25519 verifies per second with ``processes`` processes sharing ``total`` verifies."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    share = total // processes
    workers = [
        ctx.Process(target=_baseline_worker, args=(share, message_bytes, barrier, results))
        for _ in range(processes)
    ]
    for w in workers:
        w.start()
    barrier.wait()  # everyone has its keys and signed messages: start the clock
    start = time.perf_counter()
    done = sum(results.get() for _ in workers)
    elapsed = time.perf_counter() - start
    for w in workers:
        w.join()
        if w.exitcode != 0:
            raise RuntimeError(f"baseline worker exited with {w.exitcode}")
    return float(done) / elapsed


# The measured command --------------------------------------------------------------------


@dataclass
class VerifyRun:
    seconds: float
    maxrss_mb: float  # exact high-water mark of the largest single process (wait4)
    tree_pss_mb: float  # sampled peak of the summed PSS of the process tree
    tree_rss_mb: float  # sampled peak of the summed RSS (counts shared pages repeatedly)
    processes: int  # most processes seen in the tree at once
    output: str
    cpu_seconds: float = 0.0  # user + system of the verify process and its workers (wait4)
    hwm_mb: tuple[float, ...] = ()  # each process's own high-water mark, largest first

    @property
    def hwm_sum_mb(self) -> float:
        """The processes' high-water marks added up (an upper bound on the tree's peak)."""
        return sum(self.hwm_mb)

    @property
    def peak_mb(self) -> float:
        return max(self.maxrss_mb, self.tree_pss_mb)


def _children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return found


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def _hwm_kb(pid: int) -> int:
    """The process's own resident high-water mark (VmHWM), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return 0


def _pss_kb(pid: int) -> int:
    """Proportional set size; the RSS where smaps_rollup is unavailable (kernel < 4.14)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return _rss_kb(pid)


class TreeSampler(threading.Thread):
    """Samples the summed PSS and RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_pss_kb, self.peak_rss_kb, self.most = 0, 0, 0
        self.hwm_kb: dict[int, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            pids = _tree(self.pid)
            for p in pids:
                self.hwm_kb[p] = max(self.hwm_kb.get(p, 0), _hwm_kb(p))
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(p) for p in pids))
            self.peak_rss_kb = max(self.peak_rss_kb, sum(_rss_kb(p) for p in pids))
            self.most = max(self.most, len(pids))
            self.stop.wait(self.interval)


def run_verify(
    home: Path, timeout: float | None, *, sample: bool, database_url: str | None = None
) -> VerifyRun:
    """One ``verify`` run; ``sample``: also sample the process tree's memory (slows it)."""
    env = {**os.environ, **fixture_env(home, database_url)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "verify"], env=env, stdout=out, stderr=err
        )
        sampler = TreeSampler(proc.pid)
        if sample:
            sampler.start()
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        # wait4, not wait: it returns this child's own rusage (RUSAGE_CHILDREN would mix in
        # every child this process ever had, baseline workers included).
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if sample:
            sampler.stop.set()
            sampler.join()
        if timer:
            timer.cancel()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"verify exited with {proc.returncode}:\n{stdout}{stderr}")
    main_kb = max(sampler.hwm_kb.get(proc.pid, 0), usage.ru_maxrss)
    others = [kb for pid, kb in sampler.hwm_kb.items() if pid != proc.pid]
    return VerifyRun(
        seconds=seconds,
        maxrss_mb=usage.ru_maxrss / 1024,  # Linux: kilobytes
        tree_pss_mb=sampler.peak_pss_kb / 1024,
        tree_rss_mb=sampler.peak_rss_kb / 1024,
        processes=sampler.most,
        output=stdout.strip(),
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        hwm_mb=tuple(kb / 1024 for kb in sorted([main_kb, *others], reverse=True))
        if sample
        else (),
    )


def startup_seconds() -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ledger.cli", "--help"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def mean_entry_bytes(home: Path) -> float:
    db = sqlite3.connect(f"file:{home / DATABASE}?mode=ro", uri=True)
    try:
        (value,) = db.execute("SELECT avg(length(data)) FROM entries WHERE seq < 10000").fetchone()
    finally:
        db.close()
    return float(value or 0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000, help="fixture size")
    parser.add_argument("--path", type=Path, default=None, help="fixture home (default: cache)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--baseline-signatures",
        type=int,
        default=200_000,
        help="Ed25519 verifies per baseline run, shared by the processes",
    )
    parser.add_argument("--message-bytes", type=int, default=1024)
    parser.add_argument(
        "--timeout", type=float, default=None, help="kill a verify run after this many seconds"
    )
    parser.add_argument("--database-url", default=None, help="the fixture's database")
    parser.add_argument("--once", action="store_true", help="one sampled run, no baseline")
    args = parser.parse_args()
    if args.once or args.database_url:
        once(args)
        return
    cpus = os.cpu_count() or 1
    print(
        f"machine: {platform.machine()} {cpus} cpus, python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    home = ensure_fixture(args.entries, args.path or default_path(args.entries))
    print(
        f"fixture: {home}; mean entry {mean_entry_bytes(home):,.0f} bytes (first 10,000); "
        f"baseline messages {args.message_bytes:,} bytes"
    )

    base_all, base_one, runs, startups = [], [], [], []
    for r in range(args.repeat):
        # Interleaved: machine noise hits baseline and verify alike.
        base_all.append(baseline_rate(args.baseline_signatures, cpus, args.message_bytes))
        base_one.append(baseline_rate(args.baseline_signatures // cpus, 1, args.message_bytes))
        startups.append(startup_seconds())
        run = run_verify(home, args.timeout, sample=False)
        runs.append(run)
        print(
            f"  run {r + 1}/{args.repeat}: baseline {base_all[-1]:,.0f}/s "
            f"({base_one[-1]:,.0f}/s on 1 process); verify {run.seconds:,.1f} s = "
            f"{args.entries / run.seconds:,.0f} entries/s, ratio "
            f"{args.entries / run.seconds / base_all[-1]:.2f}; largest process "
            f"{run.maxrss_mb:,.0f} MB",
            flush=True,
        )
    memory = run_verify(home, args.timeout, sample=True)
    print(
        f"  memory run (sampled, untimed): peak {memory.peak_mb:,.0f} MB (largest process "
        f"{memory.maxrss_mb:,.0f} MB; {memory.processes} processes: PSS "
        f"{memory.tree_pss_mb:,.0f} MB, RSS summed {memory.tree_rss_mb:,.0f} MB)"
    )
    print(f"  verify said: {' '.join(runs[-1].output.split()) or '-'}")

    seconds = statistics.median(r.seconds for r in runs)
    rate = args.entries / seconds
    base = statistics.median(base_all)
    peak = max(memory.peak_mb, *(r.maxrss_mb for r in runs))
    ratio = rate / base
    print()
    print(f"medians of {args.repeat} interleaved runs, {args.entries:,} entries")
    print(f"  verify wall time          {seconds:>12,.1f} s")
    print(f"  python start-up (--help)  {statistics.median(startups):>12,.2f} s (included above)")
    print(f"  verify entries/s          {rate:>12,.0f}")
    print(f"  baseline verifies/s       {base:>12,.0f}   ({cpus} processes)")
    print(f"  baseline verifies/s       {statistics.median(base_one):>12,.0f}   (1 process)")
    scaling = statistics.median(a / b for a, b in zip(base_all, base_one, strict=True))
    print(
        f"  baseline scaling          {scaling:>12.2f}x  ({cpus} processes vs 1; ~{cpus} on an "
        "idle machine, lower: other work held the cores and the ratio below is flattered)"
    )
    print(
        f"  ratio                     {ratio:>12.2f}   goal >= {GOAL_RATIO}: "
        f"{'met' if ratio >= GOAL_RATIO else 'NOT met'}"
    )
    print(
        f"  peak memory               {peak:>12,.0f} MB   goal < {GOAL_RSS_MB:.0f} MB: "
        f"{'met' if peak < GOAL_RSS_MB else 'NOT met'} (the memory run's peak, or any run's "
        "largest process if larger)"
    )
    print(
        f"    largest process         {max(r.maxrss_mb for r in [*runs, memory]):>12,.0f} MB"
        f"   process tree: PSS {memory.tree_pss_mb:,.0f} MB, "
        f"RSS summed {memory.tree_rss_mb:,.0f} MB"
    )


def once(args: argparse.Namespace) -> None:
    """One sampled ``verify`` of the fixture (SQLite, or ``--database-url``): wall and CPU
    time, and memory per process. The fixture must exist (PostgreSQL fixtures are built
    with ``benchmarks/fixture.py --database-url``)."""
    url = args.database_url
    if args.path is not None:
        home = args.path
    elif url:
        home = default_pg_path(args.entries, url)
    else:
        home = default_path(args.entries)
    if not is_complete(home, args.entries):
        raise SystemExit(f"{home}: no complete fixture of {args.entries:,} entries")
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python "
        f"{platform.python_version()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"fixture: {home} ({url or 'SQLite'})", flush=True)
    run = run_verify(home, args.timeout, sample=True, database_url=url)
    load = os.getloadavg()
    print(
        f"verify {args.entries:,} entries: wall {run.seconds:,.1f} s, CPU {run.cpu_seconds:,.1f} s "
        f"(the process and its workers), {args.entries / run.cpu_seconds:,.0f} entries per "
        f"CPU second; load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        f"memory: high-water marks {', '.join(f'{mb:,.0f}' for mb in run.hwm_mb)} MB "
        f"(largest first; the main process's from wait4: {run.maxrss_mb:,.0f} MB), summed "
        f"{run.hwm_sum_mb:,.0f} MB; sampled peaks of the tree: PSS {run.tree_pss_mb:,.0f} MB, "
        f"RSS {run.tree_rss_mb:,.0f} MB, {run.processes} processes"
    )
    print(f"verify said: {' '.join(run.output.split()) or '-'}")


if __name__ == "__main__":
    main()
