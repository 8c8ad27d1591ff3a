"""``claims-ledger verify --since STATE``: incremental verification of the newest entries
of a large ledger, against a full verify of the same ledger in the same run.

Setup (untimed, reused between runs): the benchmark fixture of ``--entries`` entries
(``benchmarks/fixture.py``, built first if missing), a full ``verify --save-state`` of it
(the saved state, at its head), then a copy of that home extended by ``--new`` entries with
the fixture's own ingest mix (``<fixture>-plus-<new>``; signed checkpoints every 5,000 and
at the head).

Measured, interleaved ``--repeat`` times on the extended copy, each as a subprocess from
spawn to exit (Python start-up included; ``ledger.cli --help`` start-up shown apart):

* ``verify --since STATE --save-state OUT``: the new entries, the checkpoints over them,
  the consistency proof from the saved checkpoint (the saved file is not rewritten, so
  every run starts from the same state);
* ``verify``: the full verify of the same ledger (the baseline).

Also, in this process, ``verify_store_since`` alone (no start-up, no state file), medians
of ``--repeat-core`` runs. Reported: medians, the ratio full / incremental, and the
incremental rate in new entries per second.

    .venv/bin/python benchmarks/verify_since.py [--entries 1000000] [--new 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.fixture import MARKER, build_ledger, default_path, fixture_env, fixture_settings
from ledger.instance import open_instance
from ledger.trust_state import load_state
from ledger.verify_since import from_trust_state, verify_store_since


def cli(home: Path, *args: str) -> tuple[float, str]:
    """Wall time of one ``claims-ledger`` run on ``home``, and what it printed."""
    env = {**os.environ, **fixture_env(home), "COLUMNS": "200"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited with {done.returncode}:\n{done.stderr}")
    return seconds, " ".join(done.stdout.split())


def extended_copy(base: Path, entries: int, new: int) -> Path:
    """A copy of the fixture at ``base`` with ``new`` more entries (built once, reused)."""
    target = base.parent / f"{base.name}-plus-{new}"
    if not (target / MARKER).exists():
        if target.exists():
            shutil.rmtree(target)
        print(f"setup: copying {base} to {target}", flush=True)
        shutil.copytree(base, target)
        (target / MARKER).unlink()
        build_ledger(target, entries + new)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000, help="fixture size")
    parser.add_argument("--new", type=int, default=1000, help="entries added after the state")
    parser.add_argument("--path", type=Path, default=None, help="fixture home (default: cache)")
    parser.add_argument("--repeat", type=int, default=3, help="--since CLI runs")
    parser.add_argument(
        "--repeat-full",
        type=int,
        default=None,
        help="full verify runs, interleaved with the first --since runs (default: --repeat; "
        "0: none, no ratio)",
    )
    parser.add_argument("--repeat-core", type=int, default=7)
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    print(
        f"machine: {platform.machine()} {cpus} cpus, python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    base = build_ledger(args.path or default_path(args.entries), args.entries)
    state = base / f"state-{args.entries}.json"
    if not state.exists():
        seconds, _said = cli(base, "verify", "--save-state", str(state))
        print(f"setup: full verify of {args.entries:,} entries, state saved: {seconds:.1f} s")
        (base / f"state-{args.entries}.seconds").write_text(f"{seconds:.3f}\n")
    home = extended_copy(base, args.entries, args.new)
    out = home / "state-out.json"

    startup: list[float] = []
    since: list[float] = []
    full: list[float] = []
    said_since = said_full = ""
    repeat_full = args.repeat if args.repeat_full is None else args.repeat_full
    for r in range(args.repeat):
        startup.append(cli(home, "--help")[0])
        seconds, said_since = cli(home, "verify", "--since", str(state), "--save-state", str(out))
        since.append(seconds)
        line = f"  run {r + 1}/{args.repeat}: --since {since[-1]:.2f} s"
        if r < repeat_full:
            seconds, said_full = cli(home, "verify")
            full.append(seconds)
            line += f", full {full[-1]:.1f} s, ratio {full[-1] / since[-1]:,.0f}x"
        print(f"{line} (load {os.getloadavg()[0]:.2f})", flush=True)
    print(f"  --since said: {said_since}")
    print(f"  full said:    {said_full}")

    instance = open_instance(fixture_settings(home), lazy_keys=True)
    try:
        saved = load_state(state, instance.ledger.log_verifier())
        assert saved is not None
        plain = from_trust_state(saved)
        core = []
        for _ in range(args.repeat_core):
            start = time.perf_counter()
            result = verify_store_since(instance.ledger.store, plain)
            core.append(time.perf_counter() - start)
        assert result.new_entries == args.new
    finally:
        instance.close()

    s, c = statistics.median(since), statistics.median(core)
    up = statistics.median(startup)
    print()
    print(
        f"medians: {args.new:,} new entries on {args.entries:,} "
        f"({args.repeat} --since and {repeat_full} full CLI runs, interleaved; "
        f"{args.repeat_core} core runs)"
    )
    print(f"  verify --since (CLI)       {s:>10.2f} s")
    print(f"  python start-up (--help)   {up:>10.2f} s (included above)")
    print(f"  --since less start-up      {s - up:>10.2f} s")
    print(f"  verify_store_since (core)  {c:>10.3f} s = {args.new / c:,.0f} new entries/s")
    print(f"  inclusion proofs (core)    {result.proofs:>10}")
    if full:
        f = statistics.median(full)
        total = args.entries + args.new
        print(f"  full verify (CLI)          {f:>10.1f} s = {total / f:,.0f} entries/s")
        print(
            f"  ratio full / --since       {f / s:>10.0f}x (CLI), {(f - up) / (s - up):,.0f}x "
            f"(CLI less start-up), {f / c:,.0f}x (full CLI / core)"
        )


if __name__ == "__main__":
    main()
