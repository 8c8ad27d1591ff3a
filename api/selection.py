"""Whether an operation selects a field below the one being resolved: a list resolver reads
what its items need (a page's sources) in one query, and only when it is asked for."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from api.context import Info


def selects(info: Info, *path: str) -> bool:
    """True when the field being resolved selects ``path`` below it (field names, not
    aliases), through fragments and inline fragments whatever their type condition; a
    field that ``@skip`` or ``@include`` leaves out does not count."""
    level: list[Selection] = [s for f in info.selected_fields for s in f.selections]
    for name in path:
        found = [f for f in _fields(level) if f.name == name]
        if not found:
            return False
        level = [s for f in found for s in f.selections]
    return True


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    """The fields of ``selections`` (fragments spread in) that are not skipped."""
    for selection in selections:
        if not _included(selection.directives):
            continue
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, InlineFragment | FragmentSpread):
            yield from _fields(selection.selections)


def _included(directives: dict[str, dict[str, object]]) -> bool:
    skip = directives.get("skip")
    include = directives.get("include")
    return not (skip is not None and skip.get("if") is True) and not (
        include is not None and include.get("if") is False
    )
