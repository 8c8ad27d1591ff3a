"""SQLite WAL checkpoints on a thread of their own, off the connections that write.

SQLite's automatic checkpoint runs on the connection that commits, inside its ``COMMIT``
(~3.5 µs an entry of a bulk append's commit, decision 0036). Here the ledger's connections
have it off (``wal_autocheckpoint=0``); after a connection that wrote is returned to the
pool, the WAL file's size is looked at (one ``os.stat``) and, past the threshold, a thread
with its own connection is woken to run ``PRAGMA wal_checkpoint(PASSIVE)``, which waits for
no reader or writer (the ``sqlite3`` module releases the GIL while it runs). The same work,
done beside the appender instead of inside its commit. Decision 0043.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

log = logging.getLogger(__name__)

THRESHOLD_PAGES = 1000
"""WAL pages past which the thread is woken (SQLite's own autocheckpoint default)."""

HARD_LIMIT_FACTOR = 10
"""Past this many thresholds the appending connection checkpoints itself (``after_write``)."""

RETRY_SECONDS = 1.0
"""How soon the thread tries again after a checkpoint a reader kept from completing."""

WAIT_SECONDS = 120.0
"""How long an appender past twice the hard limit waits for the thread's checkpoint to end
(the connections' busy timeout)."""

_WAL_HEADER = 32
_FRAME_HEADER = 24


class WalCheckpointer:
    """Checkpoints for one SQLite database file, run by a daemon thread started on first need.

    How the WAL's size is known cheaply: every writing connection has
    ``journal_size_limit`` set to the threshold, so SQLite truncates the WAL file back to it
    at the first commit after the WAL restarts (which it does once a checkpoint has copied
    every frame). The file is then longer than the threshold only when the WAL holds more
    frames than that, and ``os.stat`` after a write tells whether it does.
    """

    def __init__(self, path: str, *, threshold_pages: int = THRESHOLD_PAGES) -> None:
        if threshold_pages < 1:
            raise ValueError("threshold_pages must be at least 1")
        self.path = path
        self.wal_path = path + "-wal"
        self.threshold_pages = threshold_pages
        self.retry = RETRY_SECONDS
        self.threshold_bytes = 0
        """Set from the page size by ``configure`` (the first connection)."""
        self.limit_bytes = 0
        self.checkpoints = 0
        """Checkpoints the thread has run (complete or not)."""
        self.fallbacks = 0
        """Checkpoints run on a writing connection because the WAL passed the hard limit
        (busy ones, which found the thread checkpointing, not counted)."""
        self._signal_above = 0
        self._restart_above = 0
        self._seen = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._reset_primitives()

    def _reset_primitives(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()

    # -- on the writing connections ------------------------------------------------------

    def configure(self, conn: sqlite3.Connection) -> None:
        """Settings for a new connection of the engine: no automatic checkpoint, and the
        WAL file truncated back to the threshold after it restarts."""
        if not self.threshold_bytes:
            page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
            frames = self.threshold_pages * (page_size + _FRAME_HEADER)
            self.threshold_bytes = _WAL_HEADER + frames
            self.limit_bytes = _WAL_HEADER + HARD_LIMIT_FACTOR * frames
            self._signal_above = self.threshold_bytes
            self._restart_above = self.limit_bytes
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute(f"PRAGMA journal_size_limit={self.threshold_bytes}")

    def after_write(self, conn: sqlite3.Connection) -> None:
        """Called with a connection that has written and committed (outside a transaction).

        Wakes the thread each time the WAL has grown by another threshold. Past the hard
        limit, checkpoints on ``conn`` itself, as SQLite would have: an appender that is
        always inside a write transaction (one batch after another) never lets the WAL
        restart, since SQLite restarts it only for a transaction that began with every
        frame copied; the thread has copied all but the last commit's frames by then.
        """
        try:
            size = os.stat(self.wal_path).st_size
        except FileNotFoundError:
            return
        if size < self._seen:  # the WAL restarted (and was truncated back to the threshold)
            self._signal_above = self.threshold_bytes
            self._restart_above = self.limit_bytes
        self._seen = size
        if size <= self._signal_above:
            return
        if size > self._restart_above:
            self._restart(conn, size)
            return
        self._signal_above = size + self.threshold_bytes
        self._signal()

    def _try_checkpoint(self, conn: sqlite3.Connection) -> tuple[int, int, int]:
        try:
            return _checkpoint(conn)
        except sqlite3.Error:
            log.exception("a WAL checkpoint of %s failed", self.path)
            return 0, 0, -1

    def _restart(self, conn: sqlite3.Connection, size: int) -> None:
        busy, frames, copied = self._try_checkpoint(conn)
        if busy and size > 2 * self.limit_bytes:
            # The thread's checkpoint is slow (a slow disk): wait for it, as the appender
            # would have waited for its own, and then checkpoint what it left.
            self._idle.wait(WAIT_SECONDS)
            busy, frames, copied = self._try_checkpoint(conn)
        if busy:  # the thread is checkpointing right now: try again at the next commit
            return
        self.fallbacks += 1
        if copied != frames:
            # A reader pins the WAL: no checkpoint can complete until it ends, and trying
            # at every commit would only cost the appender. Again after another threshold.
            self._restart_above = size + self.threshold_bytes

    def _signal(self) -> None:
        if os.getpid() != self._pid:  # a forked child: the thread stayed in the parent
            self._thread = None
            self._stopping = False
            self._reset_primitives()
        self._wake.set()
        thread = self._thread
        if thread is None or not thread.is_alive():
            with self._lock:
                if self._stopping:
                    return
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run,
                        name=f"ledger-wal-checkpoint:{os.path.basename(self.path)}",
                        daemon=True,
                    )
                    self._thread.start()

    # -- on the thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        except sqlite3.Error:
            log.exception("the WAL checkpoint thread could not open %s", self.path)
            return
        try:
            complete = True
            while True:
                self._wake.wait(None if complete else self.retry)
                self._wake.clear()
                if self._stopping:
                    break
                complete = self._run_once(conn)
            self._run_once(conn)  # the final checkpoint
        finally:
            conn.close()

    def _run_once(self, conn: sqlite3.Connection) -> bool:
        """One passive checkpoint; whether it copied every frame of the WAL (if not, a
        reader holds frames back, and the thread tries again after ``retry`` seconds)."""
        self._idle.clear()
        try:
            busy, frames, copied = _checkpoint(conn)
        except sqlite3.Error:
            log.exception("a WAL checkpoint of %s failed", self.path)
            return False
        finally:
            self._idle.set()
        self.checkpoints += 1
        return not busy and frames == copied

    # -- closing -------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the thread to run its last checkpoint and end, without waiting for it."""
        self._stopping = True
        self._wake.set()

    def close(self) -> None:
        """Stop the thread and wait for it (its final checkpoint included). A later write
        starts a new thread."""
        with self._lock:
            self.stop()
            thread = self._thread
        here = threading.current_thread()
        if thread is not None and thread is not here and os.getpid() == self._pid:
            thread.join()
        with self._lock:
            self._thread = None
            self._stopping = False
            self._wake.clear()


def _checkpoint(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """``PRAGMA wal_checkpoint(PASSIVE)``: (busy, frames in the WAL, frames copied)."""
    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])
