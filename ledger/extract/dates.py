"""Date expressions in news text and the day, month or year each names.

Explicit dates ("Sept. 5, 2024", "5 March", "2024-03-05", "February 2023", "in 2023") and
relative ones ("on Tuesday", "yesterday", "last month", "earlier this year", "a week ago")
resolved against the published date. Relative expressions never resolve after publication.
Conventions are documented in docs/extraction.md ("Dates").
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

from ledger.extract.cues import MONTHS, WEEKDAYS, wordset
from ledger.extract.model import Precision


@dataclass(frozen=True, kw_only=True)
class DateMention:
    """A date expression at ``text[start:end]`` and the day it names.

    ``day`` is the first day of the period when ``precision`` is coarser than a day
    ("in February" -> February 1, precision ``month``).
    """

    start: int
    end: int
    text: str
    day: datetime.date
    precision: Precision = "day"


_Resolved = tuple[datetime.date, Precision] | None
_Resolver = Callable[["re.Match[str]", str, datetime.date | None], _Resolved]

_FULL_MONTH = "|".join(m.capitalize() for m in MONTHS)
# AP abbreviations (Jan. Feb. Aug. Sept. Oct. Nov. Dec.) and the common three-letter forms.
_MONTH = r"(?P<month>" + _FULL_MONTH + r"|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?)"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:1[89]|20)\d\d)"
_WEEKDAY = r"(?P<weekday>" + "|".join(d.capitalize() for d in WEEKDAYS) + r")"
_SMALL_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "a": 1, "an": 1,
}  # fmt: skip
# Words before a bare month or year that make it a date ("in February", "since 2022").
_CUES = (
    r"[Ii]n|[Ss]ince|[Dd]uring|[Uu]ntil|[Tt]ill|[Tt]hrough|[Tt]hroughout|[Bb]y|[Ff]rom|"
    r"[Bb]efore|[Aa]fter|[Oo]f|[Ff]or|[Tt]o|[Aa]nd"
)
# A year right after one of these is a count, not a date ("more than 2000 people").
_BOUND_WORDS = wordset(
    """than over about around approximately roughly nearly almost some estimated least most
    upwards excess under below"""
)
# Capitalized words that may stand right before a year; any other ("Vision 2030", "Section
# 1983") makes the number part of a name.
_BEFORE_YEAR_OK = wordset(
    """in since during until till through throughout by from before after of for to and the a
    an its his her their our this that early mid late fiscal"""
) | frozenset(MONTHS)
# Measures after a four-digit figure make it a count, not a year ("1850 kilometres").
_MEASURES = wordset(
    """km kilometres kilometers miles metres meters tonnes tons kg barrels feet acres hectares
    mph litres liters gallons"""
)
# "Black Friday", "Cyber Monday", "Good Friday" name a holiday, not the latest such weekday.
_HOLIDAY_WORDS = wordset("black cyber good super bloody ash holy palm easter")


def _month_number(name: str) -> int:
    """1..12 for a month name or its abbreviation."""
    prefix = name.rstrip(".").lower()[:3]
    return [m[:3] for m in MONTHS].index(prefix) + 1


def _calendar(year: int, month: int, day: int) -> datetime.date | None:
    """The date, or None when the day does not exist (such as February 30)."""
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _month_back(published: datetime.date, months: int) -> datetime.date:
    """The first day of the month ``months`` before the published one."""
    index = published.year * 12 + published.month - 1 - months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _word_before(text: str, position: int) -> str:
    """The word ending right before ``position`` (spaces skipped), lower case, or ""."""
    index = position
    while index > 0 and text[index - 1] in " \t":
        index -= 1
    stop = index
    while index > 0 and (text[index - 1].isalpha() or text[index - 1] == "-"):
        index -= 1
    return text[index:stop].lower().strip("-")


def _word_after(text: str, position: int) -> str:
    """The word starting right after ``position`` (one space skipped), lower case, or ""."""
    index = position + 1 if text[position : position + 1] == " " else position
    stop = index
    while stop < len(text) and text[stop].isalpha():
        stop += 1
    return text[index:stop].lower()


def _capitalized_before(text: str, position: int) -> bool:
    """Whether the word right before ``position`` starts with a capital letter."""
    word = _word_before(text, position)
    index = position
    while index > 0 and text[index - 1] in " \t":
        index -= 1
    return bool(word) and text[index - len(word)].isupper()


def _month_day(match: re.Match[str], text: str, published: datetime.date | None) -> _Resolved:
    """A month and day, with the year if given, else the latest such day up to publication."""
    month, day = _month_number(match["month"]), int(match["day"])
    if match["year"]:
        found = _calendar(int(match["year"]), month, day)
        return None if found is None else (found, "day")
    if published is None:
        return None
    candidate = _calendar(published.year, month, day)
    if candidate is None or candidate > published:
        candidate = _calendar(published.year - 1, month, day)
    return None if candidate is None else (candidate, "day")


def _iso(match: re.Match[str], text: str, published: datetime.date | None) -> _Resolved:
    """An ISO 8601 calendar date."""
    found = _calendar(int(match["year"]), int(match["month_num"]), int(match["day"]))
    return None if found is None else (found, "day")


def _month_year(match: re.Match[str], text: str, published: datetime.date | None) -> _Resolved:
    """A month with its year: "February 2023", "mid-March 2024"."""
    return datetime.date(int(match["year"]), _month_number(match["month"]), 1), "month"


def _bare_month(match: re.Match[str], text: str, published: datetime.date | None) -> _Resolved:
    """ "in February", "last February": the latest one not after publication ("last" excludes
    the publication's own month)."""
    if published is None or not (match["cue"] or match["part"] or match["last"]):
        return None
    month = _month_number(match["month"])
    year = published.year if month <= published.month else published.year - 1
    if match["last"] and month == published.month:
        year -= 1
    return datetime.date(year, month, 1), "month"


def _year(match: re.Match[str], text: str, published: datetime.date | None) -> _Resolved:
    """A year standing alone ("in 2023", "the 2024 election", "mid-2022")."""
    before = _word_before(text, match.start())
    if _word_after(text, match.end()) in _MEASURES:
        return None  # "1850 kilometres" is a distance
    if before in _BOUND_WORDS or (
        _capitalized_before(text, match.start()) and before not in _BEFORE_YEAR_OK
    ):
        return None
    return datetime.date(int(match["year"]), 1, 1), "year"


def _weekday(match: re.Match[str], text: str, published: datetime.date | None) -> _Resolved:
    """The latest such weekday on or before publication ("last ..." excludes that day)."""
    before = _word_before(text, match.start())
    if published is None or before in ("next", "coming") or before in _HOLIDAY_WORDS:
        return None
    target = WEEKDAYS.index(match["weekday"].lower())
    back = (published.weekday() - target) % 7
    if back == 0 and match["last"]:
        back = 7
    return published - datetime.timedelta(days=back), "day"


def _relative_day(match: re.Match[str], text: str, published: datetime.date | None) -> _Resolved:
    """Resolve "today", "yesterday", "last night", "the day before yesterday"."""
    if published is None:
        return None
    word = match["relative"].lower()
    back = 2 if "before" in word else 1 if ("yesterday" in word or "last" in word) else 0
    return published - datetime.timedelta(days=back), "day"


def _ago(match: re.Match[str], text: str, published: datetime.date | None) -> _Resolved:
    """Resolve "three days ago", "a week ago" (days), "a month ago" (month), "a year ago"."""
    if published is None:
        return None
    count_word = match["count"].lower()
    count = int(count_word) if count_word.isdigit() else _SMALL_NUMBERS[count_word]
    unit = match["unit"].lower()
    if unit.startswith("day"):
        return published - datetime.timedelta(days=count), "day"
    if unit.startswith("week"):
        return published - datetime.timedelta(weeks=count), "day"
    if unit.startswith("month"):
        return _month_back(published, count), "month"
    return datetime.date(published.year - count, 1, 1), "year"


def _relative_period(match: re.Match[str], text: str, published: datetime.date | None) -> _Resolved:
    """Resolve "this month", "earlier this month", "last month", "last year", "this year"."""
    if published is None:
        return None
    last = match["which"].lower() == "last"
    if match["period"].lower() == "month":
        return _month_back(published, 1 if last else 0), "month"
    return datetime.date(published.year - (1 if last else 0), 1, 1), "year"


_ISO = _YEAR + r"-(?P<month_num>[01]\d)-(?P<day>[0-3]\d)"
_MONTH_DAY = (
    rf"(?:\b{_WEEKDAY},?[ \t]+)?\b{_MONTH}[ \t]+{_DAY}(?![\w:]|[.,]\d)"
    rf"(?:,?[ \t]+{_YEAR}(?![\w-]))?"
)
_DAY_MONTH = (
    rf"(?:\b{_WEEKDAY},?[ \t]+)?(?<![\w.,$€£-]){_DAY}[ \t]+(?:of[ \t]+)?{_MONTH}(?![A-Za-z])"
    rf"(?:,?[ \t]+{_YEAR}(?![\w-]))?"
)
_MONTH_YEAR = (
    r"(?:\b(?:(?:early|mid|late)[- ]|(?:the )?(?:end|start|beginning|middle) of ))?"
    rf"{_MONTH},?[ \t]+{_YEAR}(?![\w-]|[.,]\d)"
)
_BARE_MONTH = (
    rf"(?:\b(?P<cue>{_CUES})[ \t]+)?(?P<expr>\b(?:(?P<last>[Ll]ast|[Tt]his past)[ \t]+)?"
    rf"(?:(?P<part>[Ee]arly|[Mm]id|[Ll]ate)[- ])?(?P<month>{_FULL_MONTH}))\b(?!-)"
)
_BARE_YEAR = (
    rf"(?<![\w.,$€£/–-])(?P<expr>(?:(?:[Ee]arly|[Mm]id|[Ll]ate)[- ])?{_YEAR})"
    r"(?![\w%/]|[.,]\d|[-–]\d|[ \t]*(?:percent|per cent)\b)"
)
_WEEKDAY_EXPR = (
    r"\b(?P<expr>(?:(?P<last>[Ll]ast|[Tt]his past)[ \t]+)?(?:(?:[Ll]ate|[Ee]arly)[ \t]+)?"
    rf"{_WEEKDAY}(?:[ \t]+(?:night|morning|afternoon|evening))?)\b"
)
_RELATIVE_DAY = (
    r"\b(?P<relative>the day before yesterday|yesterday|earlier today|today|tonight|"
    r"this (?:morning|afternoon|evening)|last night)\b"
)
_AGO = (
    r"\b(?P<count>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|an?)[ \t]+"
    r"(?P<unit>days?|weeks?|months?|years?)[ \t]+ago\b"
)
_RELATIVE_PERIOD = (
    r"\b(?:(?:earlier|later|early|late)[ \t]+(?:in[ \t]+)?)?(?P<which>this|last)[ \t]+"
    r"(?P<period>month|year)\b"
)

# Each pattern's ``expr`` group, when present, is the reported span (cue words such as
# "in" are matched for context but are not part of the expression).
_PATTERNS: tuple[tuple[re.Pattern[str], _Resolver], ...] = (
    (re.compile(rf"(?<![\w./–-]){_ISO}(?=T\d|(?![\w-]))"), _iso),
    (re.compile(_MONTH_DAY), _month_day),
    (re.compile(_DAY_MONTH), _month_day),
    (re.compile(_MONTH_YEAR), _month_year),
    (re.compile(_BARE_MONTH), _bare_month),
    (re.compile(_BARE_YEAR), _year),
    (re.compile(_WEEKDAY_EXPR), _weekday),
    (re.compile(_RELATIVE_DAY, re.I), _relative_day),
    (re.compile(_AGO, re.I), _ago),
    (re.compile(_RELATIVE_PERIOD, re.I), _relative_period),
)
# Patterns whose match is a date expression even when it names no day (an impossible date,
# or a month and day with no published date to find the year): nothing inside it is a date.
_CLAIMING = (_iso, _month_day)
_Found = tuple[int, int, datetime.date | None, Precision]


def find_dates(
    text: str, published: datetime.date | None, start: int = 0, end: int | None = None
) -> list[DateMention]:
    """Date expressions in ``text[start:end]``, in order, not overlapping.

    Relative expressions (weekdays, "last month", a month or day without a year) need
    ``published`` and are left out without it.
    """
    end = len(text) if end is None else end
    found: list[_Found] = []
    for pattern, resolve in _PATTERNS:
        for match in pattern.finditer(text, start, end):
            resolved = resolve(match, text, published)
            group = "expr" if "expr" in pattern.groupindex and match["expr"] else 0
            if resolved is not None:
                found.append((match.start(group), match.end(group), *resolved))
            elif resolve in _CLAIMING:
                # "February 30, 2024" is no date, and neither is its "2024" alone.
                found.append((match.start(group), match.end(group), None, "day"))
    return _without_overlaps(text, found)


# Words before a date that make it the time of an event the statement is about ("the
# largest cluster since 1992", "by March", "until 2019"), never the time it was made.
_EVENT_CUES = wordset(
    """since until till through throughout by from before after during for to between"""
)


def event_date(text: str, mention: DateMention) -> bool:
    """Whether ``mention`` dates an event rather than a statement: a date after "since",
    "by", "until", "before", "during"... bounds or places what happened ("the largest
    outbreak since 1992", "cases doubled by March"); "on Tuesday", "in February" and a bare
    "Tuesday" may date the saying."""
    return _word_before(text, mention.start) in _EVENT_CUES


def _without_overlaps(text: str, found: list[_Found]) -> list[DateMention]:
    """Keep the earliest, then longest, of overlapping expressions."""
    kept: list[_Found] = []
    for item in sorted(found, key=lambda item: (item[0], -item[1])):
        if not kept or item[0] >= kept[-1][1]:
            kept.append(item)
    return [
        DateMention(start=start, end=end, text=text[start:end], day=day, precision=precision)
        for start, end, day, precision in kept
        if day is not None
    ]
