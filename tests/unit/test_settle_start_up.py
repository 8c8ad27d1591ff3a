"""A serve worker hides its start-up objects from the garbage collector once built
(``ledger.instance.settle_start_up``, which ``api.serve`` calls): the garbage made so far
is collected, not frozen, and a full collection afterwards walks none of what remains; the
collector's thresholds are then ``GC_THRESHOLDS``, so that a request's objects die
young."""

from __future__ import annotations

import gc
import weakref

from ledger.instance import GC_THRESHOLDS, settle_start_up


class _Node:
    def __init__(self) -> None:
        self.me = self


def test_start_up_garbage_is_collected_and_the_rest_frozen() -> None:
    cycle = _Node()  # start-up garbage only a collection frees (a reference cycle)
    gone = weakref.ref(cycle)
    del cycle
    kept = [_Node() for _ in range(50_000)]  # what the worker keeps: its app, caches, ...
    thresholds = gc.get_threshold()
    try:
        settle_start_up()
        assert gone() is None
        assert gc.get_freeze_count() >= len(kept)
        tracked = {id(o) for o in gc.get_objects()}
        assert not any(id(node) in tracked for node in kept)
        assert all(node.me is node for node in kept)  # frozen, not freed
        assert gc.get_threshold() == GC_THRESHOLDS
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
