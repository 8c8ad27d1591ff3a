"""The writer's background upkeep of the derived caches (claimant identities and claim lines,
decision 0027): readers never write them, so a process that appends brings them up to the
log, without making an append wait.

An API worker that can sign runs one ``DerivedKeeper``: each committed append batch calls
``notify`` (it only sets an event), and a thread waits ``delay`` seconds for the burst to
end, then refreshes once (``Ledger.refresh_derived``: derivation outside the append lock,
only the changed rows written under it). Appends that commit while it refreshes make one
more refresh after it, so the work is at most one refresh at a time however fast appends
come, and query-only workers see an answer at most about one refresh behind.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.service import Ledger

log = logging.getLogger("ledger.keeper")
DEFAULT_DELAY = 0.5
"""Seconds a refresh waits after the append that asked for it, for more to come."""


class DerivedKeeper:
    """A thread that refreshes the derived caches after appends (``notify``), debounced."""

    def __init__(self, ledger: Ledger, *, delay: float = DEFAULT_DELAY) -> None:
        self.ledger = ledger
        self.delay = delay
        self.refreshes = 0
        """Refreshes run so far (each may have found the caches current already)."""
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
        listens to ``on_checkpoint``)."""
        before = self.ledger.on_checkpoint

        def appended() -> None:
            self.notify()
            if before is not None:
                before()

        self.ledger.on_checkpoint = appended
        return self

    def notify(self) -> None:
        """The log grew: refresh soon. Never blocks."""
        with self._idle:
            self._busy = True
            self._wanted.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no refresh is wanted or running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (a refresh under way gets ``timeout`` seconds to finish)."""
        self._stop.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            delay, self._first = (0.0 if self._first else self.delay), False
            if self._stop.wait(delay) or self._stop.is_set():
                return
            self._wanted.clear()
            try:
                self.ledger.derived_behind = False  # this refresh covers this process's appends
                self.ledger.refresh_derived()
            except Exception:  # a worker thread must survive anything; the next append retries
                self.ledger.derived_behind = True
                log.exception("refreshing the derived caches failed")
            finally:
                self.refreshes += 1
                with self._idle:
                    if not self._wanted.is_set():
                        self._busy = False
                    self._idle.notify_all()
