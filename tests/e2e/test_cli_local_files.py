"""`claims-ledger ingest` reads regular files only: FIFOs, devices and kernel files are
refused at once with a one-line error, and folders skip what is not a regular file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, run_cli


def entries(home: Path) -> int:
    db = sqlite3.connect(home / "ledger.sqlite3")
    try:
        return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])
    finally:
        db.close()


def refused(home: Path, target: str, command: str = "ingest") -> str:
    """Run ``command target`` (it must not hang) and return its one-line error."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ledger.cli", command, target],
            cwd=ROOT,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")},
                "LEDGER_HOME": str(home),
                "COLUMNS": "200",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{command} {target} hung") from exc
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {target}: "), proc.stderr
    return lines[0]


def test_a_fifo_device_or_kernel_file_is_refused_promptly_and_writes_nothing(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    assert run_cli(home, "init").returncode == 0
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # no writer: a blocking open would wait for ever
    assert "a FIFO (named pipe), not a regular file" in refused(home, str(fifo))
    assert "under /proc, /sys or /dev" in refused(home, "/dev/zero")
    assert "under /proc, /sys or /dev" in refused(home, "/proc/self/environ")
    assert "a FIFO (named pipe)" in refused(home, str(fifo), command="submit")
    assert "under /proc, /sys or /dev" in refused(home, "/dev/zero", command="submit")
    assert entries(home) == 2


def test_a_folder_skips_what_is_not_a_regular_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "article.txt").write_text("The ministry said 4,000 troops were deployed.\n")
    os.mkfifo(folder / "pipe.txt")
    (folder / "environ.txt").symlink_to("/proc/self/environ")
    proc = run_cli(home, "ingest", str(folder))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 sources added" in proc.stdout
    assert f"skipped {folder / 'pipe.txt'}: a FIFO (named pipe), not a regular file" in proc.stderr
    assert (
        f"skipped {folder / 'environ.txt'}: under /proc, /sys or /dev, not a regular file"
        in proc.stderr
    )
