"""Sentence segmentation with exact offsets: paragraphs, heading lines and sentences."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ledger.extract.cues import wordset


@dataclass(frozen=True, kw_only=True)
class Segment:
    """One unit of the text: a sentence or a heading line, with its paragraph number."""

    start: int
    end: int
    text: str
    heading: bool
    paragraph: int


# Abbreviations after which a period never ends a sentence (titles, months, Latin, units).
_ABBREVIATIONS = wordset(
    """mr mrs ms dr prof sen rep gov gen col lt sgt capt cmdr adm st mt rev hon pres jr sr
    messrs no nos vs v etc approx est fig cf al inc ltd co corp bros dept univ jan feb mar
    apr jun jul aug sep sept oct nov dec"""
)

# Words that, after a dotted acronym such as "U.S.", show that a new sentence began.
_SENTENCE_STARTERS = wordset(
    """the a an he she it they we i you his her its their our this that these those but and or
    so yet however meanwhile in on at after before when while if as there what who why how
    officials many some"""
)

_HEADING_MAX_WORDS = 12
_HEADING_MAX_CHARS = 100
# A headline: the article's first line when more text follows, one sentence not ended by a
# period (it may end with "?" or "!"); headlines run longer than section headings.
_HEADLINE_MAX_WORDS = 30
_HEADLINE_MAX_CHARS = 250
# A candidate boundary: terminal punctuation plus any closing quotes/brackets, then a space.
_BOUNDARY = re.compile(r"[.!?…]+[\"”’')\]]*(?=\s)")
_TOKEN_LOOKBACK = 40
_INITIAL = re.compile(r"[A-Z]")
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_NEXT_CHAR = re.compile(r"\s*(\S)")
_NEXT_WORD = re.compile(r"\s*[\"“‘'(\[]*([A-Za-z]+)?")
_OPENERS = "\"“‘'(["


def segment(text: str) -> list[Segment]:
    """Split ``text`` into headings and sentences, in order, with exact offsets."""
    units: list[Segment] = []
    blocks = list(_blocks(text))
    for paragraph, (start, end) in enumerate(blocks):
        more = paragraph + 1 < len(blocks)
        units.extend(_block_units(text, start, end, paragraph, followed=more))
    return units


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of runs of non-blank lines; blank lines separate paragraphs."""
    block_start: int | None = None
    block_end = 0
    offset = 0
    for line in text.split("\n"):
        if line.strip():
            if block_start is None:
                block_start = offset
            block_end = offset + len(line)
        elif block_start is not None:
            yield block_start, block_end
            block_start = None
        offset += len(line) + 1
    if block_start is not None:
        yield block_start, block_end


def _block_units(
    text: str, start: int, end: int, paragraph: int, *, followed: bool
) -> Iterator[Segment]:
    """Yield the heading (a short unpunctuated first line) and sentences of one block."""
    first_line_end = text.find("\n", start, end)
    one_line = first_line_end == -1
    first_line_end = end if one_line else first_line_end
    line = text[start:first_line_end]
    headline = paragraph == 0 and (followed or not one_line)
    if _is_heading(line) or (headline and _is_headline(line)):
        yield _unit(text, start, first_line_end, heading=True, paragraph=paragraph)
        start = first_line_end
    for s_start, s_end in _sentences(text, start, end):
        yield _unit(text, s_start, s_end, heading=False, paragraph=paragraph)


def _is_heading(line: str) -> bool:
    """A heading is a short line with letters and no sentence-final punctuation."""
    stripped = line.strip()
    if not stripped or len(stripped) > _HEADING_MAX_CHARS:
        return False
    if len(stripped.split()) > _HEADING_MAX_WORDS or not any(c.isalpha() for c in stripped):
        return False
    return stripped[-1] not in ".!?…:;,\"”’'"


def _is_headline(line: str) -> bool:
    """A headline may be longer and end with "?", "!" or a quote, but never with a period."""
    stripped = line.strip().rstrip("\"”’')")
    if not stripped or len(line.strip()) > _HEADLINE_MAX_CHARS:
        return False
    if len(stripped.split()) > _HEADLINE_MAX_WORDS or not any(c.isalpha() for c in stripped):
        return False
    if stripped[-1] in ".…:;,":
        return False
    return len(list(_sentences(line, 0, len(line)))) == 1


def _unit(text: str, start: int, end: int, *, heading: bool, paragraph: int) -> Segment:
    """Build a segment trimmed of surrounding whitespace (offsets follow the trim)."""
    chunk = text[start:end]
    start += len(chunk) - len(chunk.lstrip())
    end -= len(chunk) - len(chunk.rstrip())
    return Segment(start=start, end=end, text=text[start:end], heading=heading, paragraph=paragraph)


def _sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield non-empty sentence spans between ``start`` and ``end``."""
    chunk = text[start:end]
    sentence_start = 0
    for match in _BOUNDARY.finditer(chunk):
        if _ends_sentence(chunk, match.start(), match.end()):
            if chunk[sentence_start : match.end()].strip():
                yield start + sentence_start, start + match.end()
            sentence_start = match.end()
    if chunk[sentence_start:].strip():
        yield start + sentence_start, end


def _ends_sentence(chunk: str, punct_start: int, punct_end: int) -> bool:
    """Decide whether the punctuation at ``punct_start`` closes the sentence."""
    next_word = _NEXT_WORD.match(chunk, punct_end)
    following = _NEXT_CHAR.match(chunk, punct_end)
    if following is None:
        return True
    if following.group(1).islower():
        # "etc. and", '"Stop!" he said': the sentence goes on.
        return False
    if chunk[punct_start] != ".":
        return True
    token = _token_before(chunk, punct_start).lstrip(_OPENERS)
    return _period_ends(token, next_word.group(1) if next_word else None)


def _token_before(chunk: str, pos: int) -> str:
    """The non-space run ending at ``pos`` (bounded, so long runs stay linear)."""
    start = pos
    while start > 0 and not chunk[start - 1].isspace() and pos - start < _TOKEN_LOOKBACK:
        start -= 1
    return chunk[start:pos]


def _period_ends(token: str, next_word: str | None) -> bool:
    """Apply the abbreviation rules to the token a period follows."""
    if token.lower() in _ABBREVIATIONS or _INITIAL.fullmatch(token):
        return False
    if _DOTTED.fullmatch(token):
        # "the U.S. The next day": only a typical sentence opener ends it.
        return next_word is not None and next_word.lower() in _SENTENCE_STARTERS
    return True
