"""Date expressions and the day each names: explicit dates, weekdays, yesterday, today.

Relative ones resolve against the published date; ranges ("last week") are not days.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

from ledger.extract.cues import MONTHS, WEEKDAYS
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


_Resolver = Callable[["re.Match[str]", datetime.date | None], datetime.date | None]

_MONTH = (
    r"(?P<month>"
    + "|".join(m.capitalize() for m in MONTHS)
    + r"|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?)"
)
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:1[89]|20)\d\d)"
_WEEKDAY = r"(?P<weekday>" + "|".join(d.capitalize() for d in WEEKDAYS) + r")"
_SMALL_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "a": 1,
}  # fmt: skip


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


def _month_day(match: re.Match[str], published: datetime.date | None) -> datetime.date | None:
    """A month and day, with the year if given, else the latest such day up to publication."""
    month, day = _month_number(match["month"]), int(match["day"])
    if match["year"]:
        return _calendar(int(match["year"]), month, day)
    if published is None:
        return None
    candidate = _calendar(published.year, month, day)
    if candidate is not None and candidate > published:
        candidate = _calendar(published.year - 1, month, day)
    return candidate


def _iso(match: re.Match[str], published: datetime.date | None) -> datetime.date | None:
    """An ISO 8601 calendar date."""
    return _calendar(int(match["year"]), int(match["month_num"]), int(match["day"]))


def _weekday(match: re.Match[str], published: datetime.date | None) -> datetime.date | None:
    """The latest such weekday on or before publication ("last ..." excludes that day)."""
    if published is None:
        return None
    target = WEEKDAYS.index(match["weekday"].lower())
    back = (published.weekday() - target) % 7
    if back == 0 and match["last"]:
        back = 7
    return published - datetime.timedelta(days=back)


def _relative_day(match: re.Match[str], published: datetime.date | None) -> datetime.date | None:
    """Resolve "today", "yesterday", "the day before yesterday" and the like."""
    if published is None:
        return None
    word = match["relative"].lower()
    back = 2 if "before" in word else 1 if "yesterday" in word else 0
    return published - datetime.timedelta(days=back)


def _days_ago(match: re.Match[str], published: datetime.date | None) -> datetime.date | None:
    """Resolve "three days ago", "2 days ago"."""
    if published is None:
        return None
    count = match["count"].lower()
    days = int(count) if count.isdigit() else _SMALL_NUMBERS[count]
    return published - datetime.timedelta(days=days)


_PATTERNS: tuple[tuple[re.Pattern[str], _Resolver], ...] = (
    (re.compile(r"\b" + _YEAR + r"-(?P<month_num>[01]\d)-(?P<day>[0-3]\d)\b"), _iso),
    (
        re.compile(
            r"(?:\b"
            + _WEEKDAY
            + r",?\s+)?\b"
            + _MONTH
            + r"\s+"
            + _DAY
            + r"\b(?:,?\s+"
            + _YEAR
            + r"\b)?"
        ),
        _month_day,
    ),
    (
        re.compile(
            r"(?:\b"
            + _WEEKDAY
            + r",?\s+)?\b"
            + _DAY
            + r"\s+"
            + _MONTH
            + r"(?:,?\s+"
            + _YEAR
            + r"\b)?"
        ),
        _month_day,
    ),
    (re.compile(r"\b(?P<last>(?:last|this past)\s+)?" + _WEEKDAY + r"\b"), _weekday),
    (
        re.compile(
            r"\b(?P<relative>the day before yesterday|yesterday|today|tonight|earlier today)\b",
            re.I,
        ),
        _relative_day,
    ),
    (
        re.compile(
            r"\b(?P<count>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|a)\s+days?\s+ago\b",
            re.I,
        ),
        _days_ago,
    ),
)


def find_dates(
    text: str, published: datetime.date | None, start: int = 0, end: int | None = None
) -> list[DateMention]:
    """Date expressions in ``text[start:end]`` that name a day, in order, not overlapping."""
    end = len(text) if end is None else end
    found: list[tuple[int, int, datetime.date]] = []
    for pattern, resolve in _PATTERNS:
        for match in pattern.finditer(text, start, end):
            day = resolve(match, published)
            if day is not None:
                found.append((match.start(), match.end(), day))
    return _without_overlaps(text, found)


def _without_overlaps(text: str, found: list[tuple[int, int, datetime.date]]) -> list[DateMention]:
    """Keep the earliest, then longest, of overlapping expressions."""
    kept: list[DateMention] = []
    for start, end, day in sorted(found, key=lambda item: (item[0], -item[1])):
        if kept and start < kept[-1].end:
            continue
        kept.append(DateMention(start=start, end=end, text=text[start:end], day=day))
    return kept
