"""The claimant names a store's claims have held, kept in memory for the ``claimant``
filter (decision 0046): searched in one casefolded string, and brought up to the log by
what was appended since (``Txn.claimant_names_at`` reads it; no SQL here)."""

from __future__ import annotations

import threading
from bisect import bisect_right
from dataclasses import dataclass

_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ASCII_LOWER = str.maketrans(_ASCII_UPPER, _ASCII_UPPER.lower())
"""Folds ASCII letters only, as the SQL of the claimant filter does (``sql._holds``)."""

_SEPARATOR = "\x00"
"""Between two names in the searched string: a substring without it lies in one name."""


@dataclass(frozen=True, slots=True)
class _Names:
    names: tuple[str, ...]
    folded: str
    """Every name ASCII-folded, each followed by ``_SEPARATOR``."""
    starts: tuple[int, ...]
    """Where each name begins in ``folded``."""
    base: int
    """The tree size of the full read: a superset of the current names at any size from it on."""
    size: int
    """The tree size the names reflect (every entry before it)."""


def _names(names: tuple[str, ...], base: int, size: int) -> _Names:
    starts, at = [], 0
    for name in names:
        starts.append(at)
        at += len(name) + 1
    folded = "".join(name.translate(ASCII_LOWER) + _SEPARATOR for name in names)
    return _Names(names, folded, tuple(starts), base, size)


class ClaimantNames:
    """Every claimant name the ``claims`` table held at tree size ``base`` or has held
    since, up to ``size``: for any snapshot of tree size ``base`` or more (once brought up
    to it), a superset of the names its current claims have (a name a revision replaced
    stays: it matches no claim, which the filter tolerates). One per store, shared by its
    threads: a state is replaced whole, never changed in place."""

    def __init__(self) -> None:
        self._state: _Names | None = None
        self._known: set[str] = set()
        """The state's names as a set, changed only under the lock (readers never use it)."""
        self._lock = threading.Lock()

    @property
    def size(self) -> int | None:
        """The tree size the names reflect (None: not read yet)."""
        state = self._state
        return None if state is None else state.size

    def covers(self, size: int) -> bool:
        """Whether the names serve a snapshot of tree size ``size``: read up to it, and
        not read whole after it (a snapshot older than the full read may have current
        names that a revision since replaced, which that read did not see)."""
        state = self._state
        return state is not None and state.base <= size <= state.size

    def reset(self, names: list[str], size: int) -> None:
        """Every current name at tree size ``size`` (a full read)."""
        with self._lock:
            state = self._state
            if state is None or state.size < size:  # else keep the later one
                self._state = _names(tuple(names), size, size)
                self._known = set(names)

    def extend(self, names: list[str], since: int, size: int) -> None:
        """The names the claims held from tree size ``since`` to ``size`` (those of the
        claims extracted or changed in that span, and of the states replaced in it)."""
        with self._lock:
            state = self._state
            if state is None or state.size < since or state.size >= size:
                return  # read from another point: a later refresh reads what it lacks
            new = tuple(dict.fromkeys(n for n in names if n not in self._known))
            self._known.update(new)
            if not new:
                self._state = _Names(state.names, state.folded, state.starts, state.base, size)
                return
            at = len(state.folded)
            starts = []
            for name in new:
                starts.append(at)
                at += len(name) + 1
            folded = state.folded + "".join(n.translate(ASCII_LOWER) + _SEPARATOR for n in new)
            self._state = _Names(
                state.names + new, folded, state.starts + tuple(starts), state.base, size
            )

    def holding(self, text: str, most: int) -> list[str] | None:
        """The names that contain ``text`` (ASCII letters caseless), if at most ``most``
        do; None if more do. Each match found by ``str.find`` in the folded string, the
        search resumed past the name it fell in: no pass over names that do not match."""
        state = self._state
        if state is None:
            raise RuntimeError("claimant names searched before they were read")
        needle = text.translate(ASCII_LOWER)
        if _SEPARATOR in needle:  # no name holds it as the string is split
            return holding_slowly(state.names, text, most)
        found: list[str] = []
        folded, starts, names = state.folded, state.starts, state.names
        at = folded.find(needle)
        while at >= 0:
            index = bisect_right(starts, at) - 1
            found.append(names[index])
            if len(found) > most:
                return None
            if index + 1 == len(starts):
                break
            at = folded.find(needle, starts[index + 1])
        return found


def holding_slowly(names: tuple[str, ...] | list[str], text: str, most: int) -> list[str] | None:
    """``ClaimantNames.holding`` name by name (the reference, and text holding a NUL)."""
    needle = text.translate(ASCII_LOWER)
    found = [name for name in names if needle in name.translate(ASCII_LOWER)]
    return found if len(found) <= most else None
