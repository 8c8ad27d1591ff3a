"""``verify --since`` with the claim-state map checked (decision 0014, "Map"): what the
verifier's map file costs to load, update and save, for ``--new`` entries after a saved
state at ``--at`` entries, so that runs at different ``--at`` show whether the cost follows
the log's size (it should not: O(k log n) for k new entries).

Setup (untimed): a fixture home holding at least ``--at`` + ``--new`` entries with signed
checkpoints at both sizes (``benchmarks/fixture.py``; build a copy and extend it, e.g.
to 1,001,000 then 1,011,000 for states at 1,000,000 and 1,001,000). The saved state at
``--at`` is made from its stored checkpoint and tree frontier (``verify_since`` checks its
note), and the map at ``--at`` from the store's ``state_map_leaves`` rows (checked against
the checkpoint), written once as a version 2 map file (``write_map_file``: the figure a
full verify pays once). Each run starts from a copy of that file.

Measured, interleaved ``--repeat`` times, CPU time of this process (``--clock cpu``, the
default: the machine is shared) or wall time:

* ``load``: ``map_since.open_map`` (the header and the root's record, checked);
* ``checks``: ``verify_since`` over the new entries from the file-backed map (every new
  checkpoint's map root checked, absences answered from the map; the map's paths read and
  authenticated as the writes need them);
* ``save``: ``map_since.write_map`` (the changed nodes appended, fsync);
* ``checks, no map``: the same ``verify_since`` without the map (what ``--since`` did
  before the map);
* with ``--v1``, the version 1 file's load and write, for comparison in the same run.

Then one untimed run under ``tracemalloc`` for the Python heap's peak during load + checks
+ save, and the file's size before and after.

    .venv/bin/python benchmarks/verify_since_map.py --home DIR --at 1000000 --new 1000
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from benchmarks.fixture import fixture_settings
from ledger import merkle
from ledger.checkpoint import Checkpoint
from ledger.instance import open_instance
from ledger.map_since import (
    close_map,
    decode_map,
    encode_map,
    map_from_rows,
    map_path,
    open_map,
    write_map,
)
from ledger.mapfile import write_map_file
from ledger.statemap import StateMap
from ledger.store import Store
from ledger.trust_state import MapNodeRef
from ledger.verify_since import SinceResult, StoreLog, VerifiedState, verify_since

T = TypeVar("T")


def timed(call: Callable[[], T], clock: str) -> tuple[float, T]:
    """(seconds by ``clock``, result) of one call."""
    read = time.process_time if clock == "cpu" else time.perf_counter
    start = read()
    result = call()
    return read() - start, result


def state_at(store: Store, size: int) -> VerifiedState:
    """The state at ``size`` from the stored checkpoint and frontier nodes (setup only)."""
    with store.reader() as txn:
        checkpoint = txn.checkpoint(size)
        ids = merkle.frontier_ids(size)
        found = txn.read_nodes(ids)
        keys = txn.key_entries(size)
    if checkpoint is None:
        raise SystemExit(f"no signed checkpoint at {size}: extend the fixture to it first")
    frontier = tuple(found[i] for i in ids)
    return VerifiedState(
        size, merkle.Hash(checkpoint.root), frontier, checkpoint.note, tuple(d for _, d in keys)
    )


def since(store: Store, state: VerifiedState, stop: int, state_map: StateMap | None) -> SinceResult:
    """``verify_since`` over entries ``state.size``..``stop - 1`` (a checkpoint at ``stop``)."""
    with store.reader() as txn:
        rows = list(txn.entry_rows(state.size, stop))
        checkpoints = [
            c for s in txn.checkpoint_sizes(state.size, stop) if (c := txn.checkpoint(s))
        ]
    log = StoreLog(store)
    return verify_since(state, rows, log, checkpoints, store=store, nodes=log, state_map=state_map)


def one_run(
    store: Store,
    state: VerifiedState,
    stop: int,
    checkpoint: Checkpoint,
    pristine: Path,
    ref: MapNodeRef,
    work: Path,
    clock: str,
) -> dict[str, float]:
    shutil.copyfile(pristine, work)
    out: dict[str, float] = {}
    out["load"], loaded = timed(lambda: open_map(work, ref, checkpoint), clock)
    if loaded is None:
        with work.open("rb") as handle:
            header = handle.read(64)
        raise SystemExit(
            f"{work} was not opened: header {header.hex()}, {work.stat().st_size} bytes; "
            f"binding {ref}"
        )
    try:
        out["checks"], result = timed(lambda: since(store, state, stop, loaded), clock)
        assert result.state_map is loaded and result.map_roots >= 1
        new_map = result.state_map
        out["save"], _ = timed(lambda: write_map(work, stop, new_map), clock)
    finally:
        close_map(loaded)
    out["total"] = out["load"] + out["checks"] + out["save"]
    return out


def setup_map(
    store: Store, at: int, checkpoint: Checkpoint, pristine: Path, args: argparse.Namespace
) -> tuple[MapNodeRef, dict[str, list[float]]]:
    """The v2 map file at ``at`` (and, with ``--v1``, the v1 file's load and write times)."""
    built = map_from_rows(store, at, checkpoint)
    assert built is not None
    seconds, ref = timed(partial(write_map_file, pristine, built), args.clock)
    print(f"setup: {len(built):,} map keys; v2 file written whole in {seconds:.2f} s")
    v1: dict[str, list[float]] = {}
    path = args.work / "v1.map"
    for _ in range(args.repeat if args.v1 else 0):
        seconds, _ = timed(partial(write_v1, path, at, built), args.clock)
        v1.setdefault("v1 write", []).append(seconds)
        seconds, _ = timed(partial(decode_map, path.read_bytes(), at, where="v1"), args.clock)
        v1.setdefault("v1 load", []).append(seconds)
    return ref, v1


def write_v1(path: Path, at: int, built: StateMap) -> None:
    data = encode_map(at, built)
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, required=True, help="the (extended) fixture")
    parser.add_argument("--at", type=int, default=1_000_000, help="the saved state's size")
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--v1", action="store_true", help="also time the v1 file's load/write")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mapfile-bench/work"))
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    args.work.mkdir(parents=True, exist_ok=True)
    instance = open_instance(fixture_settings(args.home), lazy_keys=True)
    try:
        store = instance.ledger.store
        verifier = instance.ledger.log_verifier()
        stop = args.at + args.new
        state = state_at(store, args.at)
        checkpoint = state.check(verifier)
        assert checkpoint is not None
        state_at(store, stop)  # a checkpoint must close the new entries
        pristine = args.work / "pristine.map"
        ref, v1 = setup_map(store, args.at, checkpoint, pristine, args)
        figures: dict[str, list[float]] = {}
        work = map_path(args.work / "bench-state.json")
        for r in range(args.repeat):
            for name, value in one_run(
                store, state, stop, checkpoint, pristine, ref, work, args.clock
            ).items():
                figures.setdefault(name, []).append(value)
            seconds, _ = timed(lambda: since(store, state, stop, None), args.clock)
            figures.setdefault("checks, no map", []).append(seconds)
            print(f"  run {r + 1}/{args.repeat} (load average {os.getloadavg()[0]:.2f})")
        size_after = work.stat().st_size
        tracemalloc.start()
        one_run(store, state, stop, checkpoint, pristine, ref, work, args.clock)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        instance.close()
    print()
    print(
        f"medians of {args.repeat}, {args.clock} clock: {args.new:,} new entries after {args.at:,}"
    )
    for name, values in {**figures, **v1}.items():
        print(
            f"  {name:<16} {statistics.median(values):>8.3f} s   (runs: "
            + ", ".join(f"{v:.3f}" for v in values)
            + ")"
        )
    print(f"  map file: {ref.length:,} bytes at {args.at:,}, {size_after:,} after the save")
    print(f"  Python heap peak (tracemalloc) during load + checks + save: {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
