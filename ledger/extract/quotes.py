"""Quotation marks: the quotations of a sentence, and quotations that run across sentences.

A quotation may open in one sentence and close in a later one of the same paragraph
('“C1. C2,” X said.'); its sentences are all said by whoever the quotation is attributed to.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.extract.segment import Segment

_MIN_QUOTE_WORDS = 3
_QUOTE_MARKS = ' \t\n"“”'


def quotations(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans (marks included) of quotations with at least a few words.

    A quotation that began in an earlier sentence starts one before ``start``; one that
    goes on into the next sentence ends one after ``end``.
    """
    spans: list[tuple[int, int]] = []
    opened: int | None = None
    closed_any = False
    for position, mark in _quote_marks(text, start, end):
        if mark == "open" and opened is None:
            opened = position
        elif mark == "close":
            q_start = start - 1 if opened is None and not closed_any else opened
            if q_start is not None:
                spans.append((q_start, position + 1))
            opened, closed_any = None, True
    if opened is not None:
        spans.append((opened, end + 1))
    return [
        (q_start, q_end)
        for q_start, q_end in spans
        if len(text[max(q_start + 1, start) : min(q_end - 1, end)].split()) >= _MIN_QUOTE_WORDS
    ]


def quoted_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The parts of ``text[start:end]`` inside quotation marks (marks included)."""
    return [
        (max(q_start, start), min(q_end, end)) for q_start, q_end in quotations(text, start, end)
    ]


def quote_continues(text: str, start: int, end: int) -> tuple[bool, bool]:
    """Whether the sentence closes a quotation opened before it, and leaves one open."""
    spans = quotations(text, start, end)
    return (
        any(q_start < start for q_start, _ in spans),
        any(q_end > end for _, q_end in spans),
    )


def _quote_marks(text: str, start: int, end: int) -> list[tuple[int, str]]:
    """Each double quotation mark in ``text[start:end]`` as an opening or closing one."""
    marks: list[tuple[int, str]] = []
    for position in range(start, end):
        char = text[position]
        if char == "“":
            marks.append((position, "open"))
        elif char == "”":
            marks.append((position, "close"))
        elif char == '"':
            before = text[position - 1] if position > start else " "
            after = text[position + 1] if position + 1 < end else " "
            opening = (before.isspace() or before in "([—–-") and not after.isspace()
            marks.append((position, "open" if opening else "close"))
    return marks


def quoted_parts(text: str, units: Sequence[Segment]) -> dict[Segment, list[tuple[int, int]]]:
    """The quoted parts of each sentence, a sentence inside a longer quotation all of it."""
    parts: dict[Segment, list[tuple[int, int]]] = {}
    open_quote = False
    paragraph = -1
    for unit in units:
        if unit.paragraph != paragraph:
            open_quote, paragraph = False, unit.paragraph
        spans = quoted_spans(text, unit.start, unit.end)
        closes, opens = quote_continues(text, unit.start, unit.end)
        if open_quote and not spans and not closes:
            spans = [(unit.start, unit.end)]
        parts[unit] = spans
        open_quote = opens or (open_quote and not closes)
    return parts


def quotation_sources(
    text: str, units: Sequence[Segment], spoken: Sequence[bool]
) -> dict[int, int]:
    """For each sentence inside a quotation that spans sentences, the sentence whose
    attribution covers it: '“C1. C2,” X said.' or 'X said: “C1. C2.”' (one paragraph)."""
    sources: dict[int, int] = {}
    run: list[int] = []
    for position, unit in enumerate(units):
        if run and units[run[0]].paragraph != unit.paragraph:
            _attribute_run(run, None, spoken, sources)
            run = []
        closes, opens = quote_continues(text, unit.start, unit.end)
        if run or opens:
            run.append(position)
        if run and closes and not opens:
            _attribute_run(run, position, spoken, sources)
            run = []
        elif closes and opens and len(run) > 1:
            _attribute_run(run, position, spoken, sources)
            run = [position]
    if run:
        _attribute_run(run, None, spoken, sources)
    _attribute_follow_ups(text, units, spoken, sources)
    return sources


def _attribute_follow_ups(
    text: str, units: Sequence[Segment], spoken: Sequence[bool], sources: dict[int, int]
) -> None:
    """A sentence that is all quotation, with no attribution of its own, right after an
    attributed statement (or such a sentence) is said by the same speaker, news style:
    '“C1,” X said. “C2.”', or a new paragraph '“C2.”' after '“C1,” X said.'."""
    for position in range(1, len(units)):
        unit, previous = units[position], units[position - 1]
        if spoken[position] or position in sources or unit.paragraph - previous.paragraph > 1:
            continue
        if not _all_quoted(text, unit):
            continue
        if spoken[position - 1]:
            sources[position] = position - 1
        elif position - 1 in sources:
            sources[position] = sources[position - 1]


def _all_quoted(text: str, unit: Segment) -> bool:
    """Whether the whole sentence lies inside quotation marks."""
    start, end = quotation_body(text, unit.start, unit.end)
    return start < end and any(
        q_start <= start and end <= q_end
        for q_start, q_end in quotations(text, unit.start, unit.end)
    )


def _attribute_run(
    run: list[int], closing: int | None, spoken: Sequence[bool], sources: dict[int, int]
) -> None:
    """Credit a run of quoted sentences to its closing attribution, else its opening one."""
    candidates = [position for position in (closing, run[0]) if position is not None]
    source = next((p for p in candidates if spoken[p]), None)
    if source is None:
        return
    for position in run:
        if position != source and not spoken[position]:
            sources[position] = source


def quotation_body(text: str, start: int, end: int) -> tuple[int, int]:
    """A quoted sentence without its quotation marks and surrounding spaces."""
    while start < end and text[start] in _QUOTE_MARKS:
        start += 1
    while end > start and text[end - 1] in _QUOTE_MARKS:
        end -= 1
    return start, end
