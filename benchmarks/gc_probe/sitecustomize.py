"""Times every garbage collection of every Python process started with this directory on
``PYTHONPATH`` and ``LEDGER_BENCH_GC_LOG`` set (``benchmarks/healthz_under_abuse.py
--gc-log``): each process appends one JSON line per collection that took at least 1 ms
(its process's command line, wall start and end, generation, objects collected) to ``<LEDGER_BENCH_GC_LOG>/gc-<pid>
.jsonl``, and counts the shorter ones. With ``LEDGER_BENCH_GC_THRESHOLDS=a,b,c`` the
worker's collector thresholds are those instead of ``GC_THRESHOLDS``. Benchmark
instrumentation only: nothing imports it."""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

_FOLDER = os.environ.get("LEDGER_BENCH_GC_LOG")


def _install(folder: Path) -> None:
    lock = threading.Lock()
    started: list[float] = []
    short = [0, 0, 0]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
            return
        if not started:
            return
        took = time.perf_counter() - started.pop()
        generation = int(info.get("generation", 0))
        if took < 0.001:
            short[generation] += 1
            return
        now = time.time()
        line = {
            "pid": os.getpid(),
            "process": " ".join(sys.argv)[:120],
            "start": now - took,
            "end": now,
            "generation": generation,
            "collected": info.get("collected"),
            "short_before": list(short),
        }
        with lock, (folder / f"gc-{os.getpid()}.jsonl").open("a") as handle:
            handle.write(json.dumps(line) + "\n")

    gc.callbacks.append(timed)


def _thresholds(text: str) -> None:
    """Make every later ``gc.set_threshold`` (a serve worker's ``settle_start_up``) set
    these thresholds instead: to measure other thresholds without changing the code."""
    wanted = tuple(int(part) for part in text.split(","))
    setter = gc.set_threshold
    gc.set_threshold = lambda *_: setter(*wanted)  # type: ignore[assignment]


if _FOLDER:
    _install(Path(_FOLDER))
if os.environ.get("LEDGER_BENCH_GC_THRESHOLDS"):
    _thresholds(os.environ["LEDGER_BENCH_GC_THRESHOLDS"])
