"""Command line start-up: CPU time of ``python -m ledger.cli ARGS`` as a ratio against
``python -c pass`` (the interpreter alone) measured in the same run, interleaved.

Each repeat runs, in turn: the bare interpreter, then every command of ``--commands``
for this checkout and (with ``--before DIR``, an older checkout such as
``git archive <commit> | tar -x -C DIR``) for that one, each run from its own folder. The figure is the child's
user + system CPU time (``resource.getrusage(RUSAGE_CHILDREN)``), which a shared, loaded
machine disturbs far less than the wall clock; wall times are printed too.

    .venv/bin/python benchmarks/cli_start.py [--repeat 10] [--before DIR]

``status`` and ``claims`` run against a ledger created once in a temporary home
(unencrypted keys), so they open SQLite and read it as a user's would.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("--version", "--help", "status", "claims")


def _run(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child run to completion in ``cwd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--before", type=Path, help="an older checkout")
    parser.add_argument("--commands", default=",".join(COMMANDS))
    args = parser.parse_args()
    commands = [c for c in args.commands.split(",") if c]
    trees = {"now": ROOT}
    if args.before is not None:
        trees["before"] = args.before.resolve()
    with tempfile.TemporaryDirectory() as home:
        base = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        base.update({"LEDGER_HOME": home, "LEDGER_UNENCRYPTED_KEYS": "true"})
        envs = {name: {**base, "PYTHONPATH": str(tree)} for name, tree in trees.items()}
        _run([sys.executable, "-m", "ledger.cli", "init"], envs["now"])
        results: dict[str, list[tuple[float, float]]] = {}
        for _ in range(args.repeat):
            results.setdefault("python -c pass", []).append(
                _run([sys.executable, "-c", "pass"], base)
            )
            for command in commands:
                for name, env in envs.items():
                    argv = [sys.executable, "-m", "ledger.cli", command]
                    run = _run(argv, env, trees[name])
                    results.setdefault(f"{name}: {command}", []).append(run)
    floor = statistics.median(cpu for cpu, _ in results["python -c pass"])
    print(f"{platform.platform()}, {os.cpu_count()} cpus, load {os.getloadavg()}")
    print(f"{'run':<24} {'cpu s':>7} {'x bare':>7} {'wall s':>7}")
    for label, runs in results.items():
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        print(f"{label:<24} {cpu:7.3f} {cpu / floor:7.1f} {wall:7.3f}")


if __name__ == "__main__":
    main()
