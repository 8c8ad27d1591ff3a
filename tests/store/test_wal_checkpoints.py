"""SQLite WAL checkpoints run on a thread of their own, not inside the appending commit
(decision 0043): the WAL stays bounded, the thread is joined on close, a reader that pins
the WAL only delays the checkpoint, and what was committed survives without it."""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import ledger.store.wal as wal
from ledger.config import Settings
from ledger.instance import Instance, open_instance
from ledger.store.engine import wal_checkpointer
from ledger.store.sql import Store
from ledger.store.wal import WalCheckpointer
from tests.helpers import append_sources

PAGES = 20
"""The threshold in these tests: a batch of 20 sources writes ~20 pages (~170 KB)."""

THREAD = "ledger-wal-checkpoint"


@pytest.fixture
def small_wal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wal, "THRESHOLD_PAGES", PAGES)
    monkeypatch.setattr(wal, "RETRY_SECONDS", 0.05)


@pytest.fixture
def opened(tmp_path: Path, small_wal: None) -> Iterator[Instance]:
    settings = Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / 'l.sqlite3'}", passphrase=b"pw"
    )
    instance = open_instance(settings)
    yield instance
    instance.close()


def wal_size(instance: Instance) -> int:
    path = Path(str(instance.ledger.store.engine.url.database) + "-wal")
    return path.stat().st_size if path.exists() else 0


def checkpointer(instance: Instance) -> WalCheckpointer:
    found = wal_checkpointer(instance.ledger.store.engine)
    assert found is not None
    return found


def threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD)]


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def append(instance: Instance, batch: int) -> None:
    append_sources(instance.ledger, instance.writer_key(), range(batch * 20, batch * 20 + 20))


def test_the_appending_connection_does_not_checkpoint(opened: Instance) -> None:
    with opened.ledger.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0


def test_checkpoints_run_on_their_own_thread(
    opened: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    where: list[str] = []
    real = wal._checkpoint

    def spy(conn: sqlite3.Connection) -> tuple[int, int, int]:
        where.append(threading.current_thread().name)
        return real(conn)

    monkeypatch.setattr(wal, "_checkpoint", spy)
    limit = checkpointer(opened).limit_bytes
    for n in range(12):  # with pauses, as a server appends: the thread keeps up
        append(opened, n)
        time.sleep(0.1)
    assert where, "no checkpoint ran"
    assert all(name.startswith(THREAD) for name in where), where
    assert checkpointer(opened).fallbacks == 0
    assert wal_size(opened) < limit


def test_the_wal_stays_bounded_over_many_appends(opened: Instance) -> None:
    """Back-to-back batches (each begins before the thread is done with the last) keep
    the WAL from restarting until the appender checkpoints at the hard limit; SQLite's
    own automatic checkpoint would have let it reach 1,000 pages (8 MB) instead."""
    sizes = []
    for n in range(60):  # ~10 MB of WAL frames in all
        append(opened, n)
        sizes.append(wal_size(opened))
    limit = checkpointer(opened).limit_bytes
    batch = max(b - a for a, b in itertools.pairwise(sizes))
    assert max(sizes) <= 2 * limit + 2 * batch < 6_000_000
    assert checkpointer(opened).checkpoints > 0


def test_close_joins_the_thread(tmp_path: Path, opened: Instance) -> None:
    for n in range(4):
        append(opened, n)
    started = threads()
    assert started and all(t.daemon for t in started)  # never keeps the process alive
    opened.close()
    assert not any(t.is_alive() for t in started)
    assert not threads()
    assert not (tmp_path / "l.sqlite3-wal").exists()  # the last connection closed cleanly


def test_a_reader_pins_the_wal_until_it_ends(tmp_path: Path, opened: Instance) -> None:
    append(opened, 0)
    reader = sqlite3.connect(tmp_path / "l.sqlite3", isolation_level=None)
    reader.execute("BEGIN")
    before = reader.execute("SELECT count(*) FROM entries").fetchone()[0]
    limit = checkpointer(opened).limit_bytes
    for n in range(1, 30):  # ~5 MB: past the hard limit, which cannot restart it either
        append(opened, n)
    pinned = wal_size(opened)
    assert pinned > limit
    assert reader.execute("SELECT count(*) FROM entries").fetchone()[0] == before
    reader.execute("COMMIT")
    reader.close()
    done = checkpointer(opened).checkpoints
    wait_for(lambda: checkpointer(opened).checkpoints > done)  # the thread's retry
    time.sleep(0.1)
    append(opened, 30)  # begins on a checkpointed WAL: restarts it, truncated back
    assert wal_size(opened) < pinned // 4
    assert opened.ledger.store.head().size == before + 29 * 20 + 20


def test_committed_entries_survive_a_crash_before_any_checkpoint(tmp_path: Path) -> None:
    """A process that appends and dies at once (no close, no checkpoint: the thread never
    got to run): what it committed is in the WAL and is read back after reopening."""
    url = f"sqlite:///{tmp_path / 'l.sqlite3'}"
    script = f"""
import os
from pathlib import Path
import ledger.store.wal as wal
wal.WalCheckpointer._signal = lambda self: None  # the thread never runs
from ledger.config import Settings
from ledger.instance import open_instance
from tests.helpers import append_sources
settings = Settings(home=Path({str(tmp_path)!r}), database_url={url!r}, passphrase=b"pw")
instance = open_instance(settings)
for n in range(10):
    append_sources(instance.ledger, instance.writer_key(), range(n * 20, n * 20 + 20))
print(instance.ledger.store.head().size, os.stat({str(tmp_path / "l.sqlite3-wal")!r}).st_size)
os._exit(0)
"""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=True,
    )
    size, wal_bytes = (int(v) for v in done.stdout.split())
    assert size == 2 + 200
    assert wal_bytes > 1_000_000  # the entries were only in the WAL when it died
    store = Store.open(url)
    try:
        assert store.head().size == size
    finally:
        store.close()


def test_only_a_sqlite_file_has_a_checkpointer(store: Store) -> None:
    """PostgreSQL (and SQLite in memory) have none: nothing changes for them."""
    found = wal_checkpointer(store.engine)
    assert (found is not None) == (store.dialect == "sqlite")
