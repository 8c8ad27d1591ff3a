"""Where a source was read from (``Store.add_location``): recorded once per location and
bytes, and recorded while another process writes (the first time is kept)."""

from __future__ import annotations

import sqlite3
import threading
import time

from ledger.store import Store

SHA = "ab" * 32


def test_a_location_is_recorded_once(store: Store) -> None:
    assert store.add_location("/docs/a.txt", SHA, "2026-01-01T00:00:00.000000Z")
    assert not store.add_location("/docs/a.txt", SHA, "2026-01-02T00:00:00.000000Z")
    assert store.add_location("/docs/a.txt", "cd" * 32, "2026-01-02T00:00:00.000000Z")


def test_a_location_is_recorded_while_another_process_writes(sqlite_url: str) -> None:
    """Another connection holds SQLite's write lock, then commits: the record waits for it
    like an append does. Read-then-write in one transaction failed at once ("database is
    locked"): its read snapshot was stale once the other committed (a CLI ingest beside a
    serve's keeper, tests/e2e/test_witnessed_log.py)."""
    store = Store.open(sqlite_url)
    try:
        path = store.engine.url.database
        assert path
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO source_locations VALUES ('/docs/other.txt', ?, '2026-01-01T00:00:00.000000Z')",
            (SHA,),
        )

        def commit_later() -> None:
            time.sleep(0.5)
            other.execute("COMMIT")

        committer = threading.Thread(target=commit_later)
        committer.start()
        try:
            assert store.add_location("/docs/a.txt", SHA, "2026-01-01T00:00:00.000000Z")
        finally:
            committer.join()
            other.close()
        assert not store.add_location("/docs/other.txt", SHA, "2026-01-02T00:00:00.000000Z")
    finally:
        store.close()
