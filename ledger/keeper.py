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

A starting worker waits for the keeper's first catch-up (``catch_up``, a bounded wait)
before it serves; meanwhile the child runs at the server's priority (the worker serves
nothing yet), the bound counts from when the child is ready (its imports and connection,
a fixed cost of ~1 s of CPU, not the catch-up's), and a refresh that finds another
process at it tries again at once rather than ``retry`` seconds later. ``stop`` ends the child and waits for it (a
refresh under way gets a few seconds, then is ended: its write rolls back), so no child
holds a database connection once its server has stopped; a child whose parent dies
however (killed outright) ends within ``PARENT_POLL`` seconds, even mid-refresh.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import logging
import os
import signal
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
CHILD_START_WAIT = 60.0
"""Seconds ``catch_up`` waits at most for the child to be ready, before its own bound."""
HURRY_RETRY = 0.05
"""Seconds between tries of a refresh that found another process at it, while a starting
worker waits for its catch-up (``catch_up``): the other is most likely catching up the
same log, and this worker serves once the caches are current."""
STOP_GRACE = 2.0
"""Seconds a stopping keeper gives its child to finish a refresh under way before ending
it (a write it had begun rolls back)."""
PARENT_POLL = 0.5
"""Seconds between a child's checks that its parent is still alive."""
PARENT_ENV = "LEDGER_KEEPER_PARENT"
"""The child's environment variable naming its parent's process id."""
NICE_ENV = "LEDGER_KEEPER_NICE"
"""The child's environment variable: how much to lower its CPU priority at start."""


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
        self._hurry = threading.Event()
        self._nudge = threading.Event()
        """Ends a wait of ``retry`` seconds early (``catch_up``, ``stop``)."""
        self._spawning = threading.Lock()
        """Held while the child is started, so ``stop`` never misses one being started."""
        self._first = True
        """The catch-up ``start`` asks for runs at once: no burst of appends to wait for."""
        self._child_nice = CHILD_NICE
        """How much lower a child started now runs (0 during ``catch_up``)."""
        self._ready = threading.Event()
        """Set once the first child is ready for commands (or failed to start)."""
        self._refreshing = False
        """Whether the child has been asked for a refresh it has not answered yet."""

    def start(self, *, catching_up: bool = False) -> DerivedKeeper:
        """Start the thread, and catch up at once: the caches may be behind from a writer
        that stopped before it refreshed, or computed by other rules (an upgrade). With
        ``catching_up``, ``catch_up`` will be waited for: the child starts at the server's
        CPU priority (lowered when that wait ends) and retries a taken lock at once."""
        if catching_up:
            self._hurry.set()
            self._child_nice = 0
        if self.child is None:
            self._ready.set()
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

    def catch_up(self, timeout: float) -> bool:
        """What a starting worker waits for before it serves: ``wait_idle``, except that a
        refresh finding another process at it (another worker catching up the same log)
        tries again every ``HURRY_RETRY`` seconds meanwhile, not ``retry``: this worker's
        wait ends soon after the other's catch-up does. False on timeout (the catch-up
        goes on in the background). ``timeout`` counts from when the child is ready
        (``CHILD_START_WAIT`` at most): its start is a fixed cost, not the catch-up's.
        Then the child's CPU priority is lowered (``CHILD_NICE``): the worker serves. True
        at once when the caches already reflect the whole log (the usual start)."""
        self._hurry.set()
        self._nudge.set()  # a try put off by ``retry`` seconds is made now
        try:
            if self.ledger.derived_status().current:
                return True  # nothing to catch up: the child's start (its imports) not waited for
            self._ready.wait(CHILD_START_WAIT)
            return self.wait_idle(timeout)
        finally:
            self._hurry.clear()
            self._lower_priority()

    def _lower_priority(self) -> None:
        with self._spawning:
            raise_by, self._child_nice = CHILD_NICE - self._child_nice, CHILD_NICE
            process = self._process
            if raise_by <= 0 or process is None or process.poll() is not None:
                return
            try:  # on Linux, of the thread that refreshes (the child's main thread)
                now = os.getpriority(os.PRIO_PROCESS, process.pid)
                os.setpriority(os.PRIO_PROCESS, process.pid, now + raise_by)
            except OSError:  # it ended meanwhile
                pass

    def stop(self, timeout: float = STOP_GRACE) -> None:
        """Stop the thread and end the child process, waiting for it: a refresh under way
        gets ``timeout`` seconds to finish (the child ends at the end of its input), then
        the child is terminated (killed if it does not end). An idle child is terminated
        at once: it holds no transaction, and a child at low CPU priority on a busy host
        took seconds to wake up and exit by itself (a server's stop waited for it).
        Reads of the ledger refresh in their own thread after this."""
        self._stop.set()
        self._wanted.set()
        self._nudge.set()
        with self._spawning:  # no child starts after this
            process = self._process
            refreshing = self._refreshing
        if process is not None:
            if process.stdin is not None:
                # OSError: it had ended already (a broken pipe on the flush)
                with contextlib.suppress(OSError):
                    process.stdin.close()
            if refreshing:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.ledger.derived_waiter == self.refresh_and_wait:
            self.ledger.derived_waiter = None
        with self._idle:  # nobody waits for a keeper that stopped
            self._busy = False
            self._idle.notify_all()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            delay, self._first = (0.0 if self._first else self.delay), False
            if self._stop.wait(delay) or self._stop.is_set():
                return
            self._wanted.clear()
            done: int | None = 0
            appended = self.ledger.derived_behind
            try:
                self.ledger.derived_behind = False  # this refresh covers this process's appends
                done = self._refresh()
            except Exception:  # a worker thread must survive anything; the next append retries
                self.ledger.derived_behind = True
                if self._stop.is_set():  # the child was ended under it
                    return
                log.exception("refreshing the derived caches failed")
            finally:
                self.refreshes += 1
            if done is None:  # another process is refreshing: ours may cover more, later
                self.busy_skips += 1
                # this process's reads wait for a refresh only if it appended (read your
                # writes): not because another process is catching up
                if appended:
                    self.ledger.derived_behind = True
                self._nudge.wait(HURRY_RETRY if self._hurry.is_set() else self.retry)
                self._nudge.clear()
                if self._stop.is_set():
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
        with self._spawning:
            process = self._process
            if process is None or process.poll() is not None:
                if self._stop.is_set():
                    return 0
                process = self._process = _spawn(self.child, self._child_nice)
                started = True
            else:
                started = False
        assert process.stdin is not None and process.stdout is not None
        if started:
            try:
                ready = process.stdout.readline().decode().strip()
            finally:
                self._ready.set()  # ready, or failed: ``catch_up`` waits no longer for it
            if ready != "ready":
                raise RuntimeError(f"the derived keeper's child process did not start: {ready!r}")
        with self._spawning:
            if self._stop.is_set():
                return 0
            self._refreshing = True
        try:
            process.stdin.write(b"refresh\n")
            process.stdin.flush()
            answer = process.stdout.readline().decode().strip()  # blocks without the GIL
        finally:
            self._refreshing = False
        if answer == "busy":
            return None
        if answer.startswith("ok "):
            return int(answer[3:])
        raise RuntimeError(f"the derived keeper's child process answered {answer!r}")


def _spawn(child: Child, nice: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LEDGER_KEEPER_DATABASE_URL": child.database_url,
        "LEDGER_KEEPER_ORIGIN": child.origin,
        PARENT_ENV: str(os.getpid()),
        NICE_ENV: str(nice),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ledger.keeper"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )


def serve_child(commands: IO[bytes], answers: IO[bytes]) -> None:
    """The child's loop: ``ready`` once it can refresh, then one refresh per ``refresh``
    line, answered ``ok SIZE``, ``busy`` (another process holds the refresh lock) or
    ``error MESSAGE``; ends with its input. Its parent opened the store (and upgraded its
    schema): the child does not."""
    # Ctrl-C reaches the whole process group: the parent ends this child (``stop``).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())
    _die_with_parent()

    def orphaned() -> None:  # the server ended (however): end now, even mid-refresh
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(0)  # an unfinished write rolls back; the refresh lock ends with us

    threading.Thread(target=orphaned, name="parent watch", daemon=True).start()
    os.nice(int(os.environ.get(NICE_ENV, CHILD_NICE)))
    # What a refresh imports, before ``ready``: the parent's bound on the catch-up
    # (``catch_up``) then times the refresh, not the imports (~1 s of CPU).
    for module in ("ledger.derived", "ledger.store.derived"):
        importlib.import_module(module)
    from ledger.service import Ledger
    from ledger.store import Store

    store = Store.open(os.environ["LEDGER_KEEPER_DATABASE_URL"], upgrade=False)
    ledger = Ledger(store, os.environ["LEDGER_KEEPER_ORIGIN"])
    try:
        answers.write(b"ready\n")
        answers.flush()
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


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """On Linux, be sent SIGTERM (its default action: end at once) when the parent's
    thread that started this child ends (the keeper's thread: it ends in ``stop`` or
    with its process, killed outright or stopped while it was starting). Elsewhere the
    ``orphaned`` poll alone ends the child."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    serve_child(sys.stdin.buffer, sys.stdout.buffer)
