"""The writer's background upkeep of the derived caches (claimant identities and claim lines,
decision 0027): readers never write them, so a process that appends brings them up to the
log, without making an append wait.

An API worker that can sign runs one ``DerivedKeeper``: each committed append batch calls
``notify`` (it only sets an event), and a thread waits ``delay`` seconds for the burst to
end, then refreshes once (``Ledger.refresh_derived``: derivation outside the append lock,
only the changed rows written under it). Appends that commit while it refreshes make one
more refresh after it, so the work is at most one refresh at a time however fast appends
come, and query-only workers see an answer at most about one refresh behind.

Decision 0039: one process of a serve refreshes at a time (``refresh_lock``, a database
lock); a keeper that finds another at it tries again ``retry`` seconds later and keeps
serving meanwhile. With ``child`` (what ``serve`` uses) the refreshes run in a child
process at a lower CPU priority that keeps what it derived between refreshes: a catch-up
from nothing (minutes of CPU at a million claims) never holds the serving process's GIL.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.service import Ledger

log = logging.getLogger("ledger.keeper")
DEFAULT_DELAY = 0.5
"""Seconds a refresh waits after the append that asked for it, for more to come."""
DEFAULT_RETRY = 5.0
"""Seconds before trying again when another process holds the refresh lock."""
READ_YOUR_WRITES = 5.0
"""Seconds a read of identities or lines in the worker that appended waits for the keeper
(``Ledger.keep_derived``) before answering with the caches as they are (flagged behind)."""
CHILD_NICE = 10
"""How much lower the child's CPU priority is than the server's."""


@dataclass(frozen=True)
class Child:
    """Where a keeper's child process finds the ledger: its database URL (passed in the
    child's environment, not its command line) and origin."""

    database_url: str
    origin: str


class DerivedKeeper:
    """A thread that refreshes the derived caches after appends (``notify``), debounced."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        delay: float = DEFAULT_DELAY,
        retry: float = DEFAULT_RETRY,
        child: Child | None = None,
    ) -> None:
        self.ledger = ledger
        self.delay = delay
        self.retry = retry
        self.child = child
        self.refreshes = 0
        """Refreshes run so far (each may have found the caches current already)."""
        self.busy_skips = 0
        """Refreshes put off because another process held the refresh lock."""
        self._process: subprocess.Popen[bytes] | None = None
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._first = True
        """The catch-up ``start`` asks for runs at once: no burst of appends to wait for."""

    def start(self) -> DerivedKeeper:
        """Start the thread, and catch up at once: the caches may be behind from a writer
        that stopped before it refreshed, or computed by other rules (an upgrade)."""
        self._thread = threading.Thread(target=self._run, name="derived keeper", daemon=True)
        self._thread.start()
        self.notify()
        return self

    def attach(self) -> DerivedKeeper:
        """Be notified after each append batch the ledger commits (after whatever already
        listens to ``on_checkpoint``), and be who the ledger's own reads of identities and
        lines wait for (``keep_derived``) instead of deriving in the reading thread."""
        before = self.ledger.on_checkpoint

        def appended() -> None:
            self.notify()
            if before is not None:
                before()

        self.ledger.on_checkpoint = appended
        self.ledger.derived_waiter = self.refresh_and_wait
        return self

    def notify(self) -> None:
        """The log grew: refresh soon. Never blocks."""
        with self._idle:
            self._busy = True
            self._wanted.set()

    def refresh_and_wait(self) -> None:
        """Ask for a refresh and wait up to ``READ_YOUR_WRITES`` seconds for it."""
        self.notify()
        self.wait_idle(READ_YOUR_WRITES)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no refresh is wanted or running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (a refresh under way gets ``timeout`` seconds to finish) and
        the child process."""
        self._stop.set()
        self._wanted.set()
        process = self._process
        if process is not None and process.stdin is not None:
            process.stdin.close()  # the child ends at the end of its input
        if self._thread is not None:
            self._thread.join(timeout)
        if process is not None:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            delay, self._first = (0.0 if self._first else self.delay), False
            if self._stop.wait(delay) or self._stop.is_set():
                return
            self._wanted.clear()
            done: int | None = 0
            try:
                self.ledger.derived_behind = False  # this refresh covers this process's appends
                done = self._refresh()
            except Exception:  # a worker thread must survive anything; the next append retries
                self.ledger.derived_behind = True
                log.exception("refreshing the derived caches failed")
            finally:
                self.refreshes += 1
            if done is None:  # another process is refreshing: ours may cover more, later
                self.busy_skips += 1
                self.ledger.derived_behind = True
                if self._stop.wait(self.retry):
                    return
                self._wanted.set()
                continue
            with self._idle:
                if not self._wanted.is_set():
                    self._busy = False
                self._idle.notify_all()

    def _refresh(self) -> int | None:
        if self.child is None:
            return self.ledger.refresh_derived(wait=False)
        process = self._process
        if process is None or process.poll() is not None:
            process = self._process = _spawn(self.child)
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(b"refresh\n")
        process.stdin.flush()
        answer = process.stdout.readline().decode().strip()  # blocks without the GIL
        if answer == "busy":
            return None
        if answer.startswith("ok "):
            return int(answer[3:])
        raise RuntimeError(f"the derived keeper's child process answered {answer!r}")


def _spawn(child: Child) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LEDGER_KEEPER_DATABASE_URL": child.database_url,
        "LEDGER_KEEPER_ORIGIN": child.origin,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ledger.keeper"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )


def serve_child(commands: IO[bytes], answers: IO[bytes]) -> None:
    """The child's loop: one refresh per ``refresh`` line, answered ``ok SIZE``, ``busy``
    (another process holds the refresh lock) or ``error MESSAGE``; ends with its input."""
    from ledger.service import Ledger
    from ledger.store import Store

    os.nice(CHILD_NICE)
    parent = os.getppid()

    def orphaned() -> None:  # the server ended (however): end now, even mid-refresh
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)  # an unfinished write rolls back; the refresh lock ends with us

    threading.Thread(target=orphaned, name="parent watch", daemon=True).start()
    store = Store.open(os.environ["LEDGER_KEEPER_DATABASE_URL"])
    ledger = Ledger(store, os.environ["LEDGER_KEEPER_ORIGIN"])
    try:
        for line in commands:
            if line.strip() != b"refresh":
                continue
            try:
                size = ledger.refresh_derived(wait=False)
                answer = "busy" if size is None else f"ok {size}"
            except Exception as exc:  # reported to the parent, which logs it and retries
                log.exception("refreshing the derived caches failed")
                answer = "error " + " ".join(str(exc).split())[:500]
            answers.write(answer.encode() + b"\n")
            answers.flush()
    finally:
        store.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    serve_child(sys.stdin.buffer, sys.stdout.buffer)
