"""The serving process's restart back-off: immediate after a long life, growing (capped)
while workers keep dying young."""

from __future__ import annotations

import threading

from api.serve import Backoff, _context


def test_restarts_back_off_while_workers_die_young() -> None:
    backoff = Backoff(first=0.25, most=2.0, healthy=10.0)
    assert backoff.after_death(lived=3600) == 0  # a worker that ran a while: at once
    delays = [backoff.after_death(lived=0.1) for _ in range(6)]
    assert delays == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]  # at most a few restarts a second
    assert backoff.after_death(lived=10) == 0  # healthy again: the delay resets
    assert backoff.after_death(lived=0.1) == 0.25


def test_workers_are_forked_only_from_a_single_threaded_process() -> None:
    if threading.active_count() == 1:
        assert _context().get_start_method() == "fork"
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert _context().get_start_method() == "spawn"
    finally:
        release.set()
        other.join()
