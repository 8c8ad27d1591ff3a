"""``verify --since`` with the claim-state map checked (decision 0014, "Map"): what the map
file costs, against ``--since`` without the map in the same run.

Setup (untimed): a copy of the benchmark fixture (``benchmarks/fixture.py``) extended by
``--new`` entries (``--home``, built first if missing; the lead's fixture is only read).
The saved state at the fixture's size is made from its stored checkpoint and tree
frontier, not by a full verify (that is ``benchmarks/verify_since.py``'s figure; here the
state is only the starting point, and ``verify_since`` checks its note's signature).

Measured, interleaved ``--repeat`` times, CPU time of this process (``time.process_time``:
the machine is shared) and wall time:

* ``fallback``: the map at the saved size rebuilt from ``state_map_leaves`` and checked
  against the saved checkpoint (``map_since.map_from_rows``);
* ``write``: the map file written (``map_since.write_map``), and its size;
* ``load``: the map file read, hashed and rebuilt (``map_since.load_map``);
* ``since, map``: ``verify_since`` over the new entries from the loaded map (every new
  checkpoint's map root checked, absences answered from the map);
* ``since, no map``: the same without the map (the baseline: what ``--since`` did before);

and ``--repeat-cli`` runs of ``claims-ledger verify --since STATE --save-state OUT`` with
the map file present, and without it (fallback), from spawn to exit.

    .venv/bin/python benchmarks/verify_since_map.py [--entries 1000000] [--new 1000]
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
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from benchmarks.fixture import MARKER, build_ledger, default_path, fixture_env, fixture_settings
from ledger import merkle
from ledger.instance import open_instance
from ledger.map_since import load_map, map_from_rows, map_path, write_map
from ledger.store import Store
from ledger.trust_state import save_state
from ledger.verify_since import StoreLog, VerifiedState, to_trust_state, verify_since

T = TypeVar("T")


def timed(call: Callable[[], T]) -> tuple[float, float, T]:
    """(CPU seconds, wall seconds, result) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = call()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def state_at(store: Store, size: int) -> VerifiedState:
    """The state at ``size`` from the stored checkpoint and frontier nodes (setup only)."""
    with store.reader() as txn:
        checkpoint = txn.checkpoint(size)
        ids = merkle.frontier_ids(size)
        found = txn.read_nodes(ids)
        keys = txn.key_entries(size)
    assert checkpoint is not None
    frontier = tuple(found[i] for i in ids)
    return VerifiedState(
        size, checkpoint.root, frontier, checkpoint.note, tuple(data for _, data in keys)
    )


def since(store: Store, state: VerifiedState, state_map: object) -> object:
    head = store.head().size
    with store.reader() as txn:
        rows = list(txn.entry_rows(state.size, head))
        checkpoints = [
            c for s in txn.checkpoint_sizes(state.size, head) if (c := txn.checkpoint(s))
        ]
    log = StoreLog(store)
    return verify_since(
        state,
        rows,
        log,
        checkpoints,
        store=store,
        nodes=log,
        state_map=state_map,  # type: ignore[arg-type]
    )


def cli(home: Path, *args: str) -> tuple[float, str, str]:
    env = {**os.environ, **fixture_env(home), "COLUMNS": "200"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited with {done.returncode}:\n{done.stderr}")
    return seconds, " ".join(done.stdout.split()), " ".join(done.stderr.split())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--home", type=Path, required=True, help="the extended copy")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--repeat-cli", type=int, default=2)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    home = args.home
    if not (home / MARKER).exists():
        base = build_ledger(default_path(args.entries), args.entries)
        if home.exists():
            shutil.rmtree(home)
        shutil.copytree(base, home)
        (home / MARKER).unlink()
        build_ledger(home, args.entries + args.new)
    instance = open_instance(fixture_settings(home), lazy_keys=True)
    try:
        store = instance.ledger.store
        verifier = instance.ledger.log_verifier()
        state = state_at(store, args.entries)
        state.check(verifier)
        figures: dict[str, list[tuple[float, float]]] = {}
        size_bytes = 0
        state_file = home / "bench-state.json"
        for r in range(args.repeat):
            cpu, wall, built = timed(
                lambda: map_from_rows(store, state.size, state.check(verifier))
            )
            assert built is not None
            figures.setdefault("fallback: map rebuilt from rows", []).append((cpu, wall))
            cpu, wall, ref = timed(partial(write_map, map_path(state_file), state.size, built))
            figures.setdefault("map file written", []).append((cpu, wall))
            size_bytes = ref.length
            save_state(state_file, to_trust_state(state, verifier, ref))
            cpu, wall, loaded = timed(partial(load_map, map_path(state_file), ref, state.size))
            figures.setdefault("map file loaded", []).append((cpu, wall))
            cpu, wall, _ = timed(partial(since, store, state, loaded))
            figures.setdefault("since, map checked (from loaded map)", []).append((cpu, wall))
            cpu, wall, _ = timed(lambda: since(store, state, None))
            figures.setdefault("since, no map (baseline)", []).append((cpu, wall))
            print(f"  run {r + 1}/{args.repeat} done (load {os.getloadavg()[0]:.2f})", flush=True)
        del built, loaded
    finally:
        instance.close()
    out = home / "bench-out.json"
    with_file: list[float] = []
    without: list[float] = []
    said = noted = ""
    for _ in range(args.repeat_cli):
        seconds, said, _ = cli(home, "verify", "--since", str(state_file), "--save-state", str(out))
        with_file.append(seconds)
        hidden = map_path(state_file).with_suffix(".hidden")
        map_path(state_file).rename(hidden)
        try:
            seconds, _, noted = cli(
                home, "verify", "--since", str(state_file), "--save-state", str(out)
            )
        finally:
            hidden.rename(map_path(state_file))
        without.append(seconds)
    print()
    print(
        f"medians of {args.repeat} (in-process) and {args.repeat_cli} (CLI) runs: "
        f"{args.new:,} new entries on {args.entries:,}"
    )
    for name, values in figures.items():
        cpu = statistics.median(v[0] for v in values)
        wall = statistics.median(v[1] for v in values)
        print(f"  {name:<40} cpu {cpu:>7.2f} s   wall {wall:>7.2f} s")
    base = statistics.median(v[0] for v in figures["since, no map (baseline)"])
    mapped = statistics.median(v[0] for v in figures["since, map checked (from loaded map)"])
    load = statistics.median(v[0] for v in figures["map file loaded"])
    print(f"  ratio (load + since with map) / since without, cpu: {(load + mapped) / base:.2f}x")
    print(f"  map file: {size_bytes:,} bytes")
    print(f"  CLI verify --since, map file present   {statistics.median(with_file):>7.2f} s wall")
    print(f"  CLI verify --since, no map file         {statistics.median(without):>7.2f} s wall")
    print(f"  --since said: {said}")
    print(f"  fallback note: {noted}")


if __name__ == "__main__":
    main()
