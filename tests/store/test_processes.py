"""Several OS processes appending at once, and a process killed mid-append, on both databases."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.instance import open_instance
from ledger.verify import verify_store
from tests.helpers import append_sources
from tests.store.workers import append_many, settings_for

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_processes_appending_at_once_leave_no_gaps_and_no_forks(
    db_url: str, tmp_path: Path
) -> None:
    home = str(tmp_path / "home")
    open_instance(settings_for(home, db_url)).close()  # keys and genesis first
    workers, each = 4, 25
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=append_many, args=(home, db_url, w, each)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    instance = open_instance(settings_for(home, db_url))
    try:
        report = verify_store(instance.ledger.store)  # dense seqs, every prev link, signatures
        assert report.entries == 2 + workers * each
        assert report.kinds["source.registered"] == workers * each
    finally:
        instance.close()


def test_a_process_killed_during_bulk_appends_leaves_a_consistent_ledger(
    db_url: str, tmp_path: Path
) -> None:
    home = str(tmp_path / "home")
    open_instance(settings_for(home, db_url)).close()
    batch = 200
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.store.workers", home, db_url, str(batch)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    for _ in range(3):  # let some batches commit, then kill it while it writes the next
        line = proc.stdout.readline()
        assert line.startswith("committed"), line
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    instance = open_instance(settings_for(home, db_url))
    try:
        report = verify_store(instance.ledger.store)
        sources = report.kinds.get("source.registered", 0)
        assert sources >= 3 * batch
        assert sources % batch == 0, "a batch was partly committed"
        assert report.entries == 2 + sources
        append_sources(instance.ledger, instance.writer_key(), [10**9])  # still appendable
        verify_store(instance.ledger.store)
    finally:
        instance.close()
