"""Deadlines: a time limit that the work done on someone's behalf (an API request) carries
down to the database.

``bounded(deadline)`` makes a deadline current for the code it wraps (a context variable,
so it follows the work through threads' contexts and asyncio tasks). While one is
current, the store bounds every transaction by it — SQLite through a progress handler
that interrupts the running statement, PostgreSQL through ``statement_timeout`` — and
long loops call ``check()`` between steps. Past the deadline, ``TimedOut`` is raised and
an append in progress rolls back.

Once an append has committed, the deadline is suspended: what follows (reading back
what was written to report it) is not cut short, so a caller never hears "timed out"
about a write that happened. ``resume()`` re-arms it for the next piece of work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ledger.errors import TimedOut

Clock = Callable[[], float]


class Deadline:
    """A point in time ``seconds`` from now (on a monotonic clock)."""

    def __init__(self, seconds: float, *, clock: Clock = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.expires = clock() + seconds
        self.suspended = False

    def remaining(self) -> float:
        """Seconds left (negative once past)."""
        return self.expires - self.clock()

    def expired(self) -> bool:
        """Past the deadline and not suspended."""
        return not self.suspended and self.clock() >= self.expires

    def check(self) -> None:
        """Raise ``TimedOut`` if past the deadline (and not suspended)."""
        if self.expired():
            raise TimedOut(f"the request ran past its time limit of {self.seconds:g} s")

    def suspend(self) -> None:
        """Stop enforcing (a write committed: let the caller report it)."""
        self.suspended = True

    def resume(self) -> None:
        """Enforce again (the next piece of work starts)."""
        self.suspended = False


_current: ContextVar[Deadline | None] = ContextVar("ledger_deadline", default=None)


def current() -> Deadline | None:
    """The deadline the running code must meet, if any."""
    return _current.get()


@contextmanager
def bounded(deadline: Deadline | None) -> Iterator[None]:
    """Make ``deadline`` current inside the block (None: no limit)."""
    token = _current.set(deadline)
    try:
        yield
    finally:
        _current.reset(token)


def check() -> None:
    """Raise ``TimedOut`` if the current deadline has passed; call between steps of long work."""
    deadline = _current.get()
    if deadline is not None:
        deadline.check()
