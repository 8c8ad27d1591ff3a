"""Dates as news writes them: precision, relative months and years, datelines, and the
numbers that look like years but are not dates."""

from __future__ import annotations

import datetime

import pytest

from ledger.extract.dates import find_dates

# Published on Wednesday, March 20, 2024.
PUBLISHED = datetime.date(2024, 3, 20)
D = datetime.date


def mentions(text: str, published: datetime.date | None = PUBLISHED) -> list[tuple[str, D, str]]:
    return [(m.text, m.day, m.precision) for m in find_dates(text, published)]


@pytest.mark.parametrize(
    ("text", "quoted", "day", "precision"),
    [
        # weekdays: the latest such day on or before publication
        ("The ministry said on Tuesday that", "Tuesday", D(2024, 3, 19), "day"),
        ("Officials confirmed Friday the", "Friday", D(2024, 3, 15), "day"),
        ("talks collapsed last Friday", "last Friday", D(2024, 3, 15), "day"),
        ("she said on Monday night", "Monday night", D(2024, 3, 18), "day"),
        ("in a statement late Tuesday", "late Tuesday", D(2024, 3, 19), "day"),
        ("Monday's announcement surprised", "Monday", D(2024, 3, 18), "day"),
        ("Last Sunday, protesters", "Last Sunday", D(2024, 3, 17), "day"),
        ("he said this past Wednesday", "this past Wednesday", D(2024, 3, 13), "day"),
        # days relative to publication
        ("the agency said yesterday", "yesterday", D(2024, 3, 19), "day"),
        ("said last night that", "last night", D(2024, 3, 19), "day"),
        ("reported this morning", "this morning", PUBLISHED, "day"),
        ("the strike began a week ago", "a week ago", D(2024, 3, 13), "day"),
        ("two weeks ago the", "two weeks ago", D(2024, 3, 6), "day"),
        # months
        ("prices rose earlier this month", "earlier this month", D(2024, 3, 1), "month"),
        ("the report published last month", "last month", D(2024, 2, 1), "month"),
        ("a deal due this month", "this month", D(2024, 3, 1), "month"),
        ("late last month, the", "late last month", D(2024, 2, 1), "month"),
        ("a month ago", "a month ago", D(2024, 2, 1), "month"),
        ("The minister told parliament in February", "February", D(2024, 2, 1), "month"),
        ("it was signed in June", "June", D(2023, 6, 1), "month"),  # never after publication
        ("since last March", "last March", D(2023, 3, 1), "month"),  # excludes this March
        ("in March the", "March", D(2024, 3, 1), "month"),
        ("talks began in early May", "early May", D(2023, 5, 1), "month"),
        ("in February 2023 the", "February 2023", D(2023, 2, 1), "month"),
        ("by mid-March 2022,", "mid-March 2022", D(2022, 3, 1), "month"),
        ("In Sept. 2021 the", "Sept. 2021", D(2021, 9, 1), "month"),
        # years
        ("the economy shrank last year", "last year", D(2023, 1, 1), "year"),
        ("earlier this year, the", "earlier this year", D(2024, 1, 1), "year"),
        ("this year", "this year", D(2024, 1, 1), "year"),
        ("exports fell in 2023 as", "2023", D(2023, 1, 1), "year"),
        ("prices have risen since mid-2022", "mid-2022", D(2022, 1, 1), "year"),
        ("said in a 2021 report", "2021", D(2021, 1, 1), "year"),
        ("a year ago", "a year ago", D(2023, 1, 1), "year"),
        # explicit days
        ("WASHINGTON, Aug. 3 (UPI) -- The", "Aug. 3", D(2023, 8, 3), "day"),
        ("on Sept. 5, 2023, the", "Sept. 5, 2023", D(2023, 9, 5), "day"),
        ("on 5 March the", "5 March", D(2024, 3, 5), "day"),
        ("on the 12th of January 2022", "12th of January 2022", D(2022, 1, 12), "day"),
        ("Tuesday, March 19, 2024", "Tuesday, March 19, 2024", D(2024, 3, 19), "day"),
        ("Published 2024-03-19T10:00", "2024-03-19", D(2024, 3, 19), "day"),
        ("by March 25 the", "March 25", D(2023, 3, 25), "day"),  # no year: not in the future
    ],
)
def test_news_expressions(text: str, quoted: str, day: D, precision: str) -> None:
    assert mentions(text) == [(quoted, day, precision)]


@pytest.mark.parametrize(
    "text",
    [
        "COVID-19 cases rose",
        "the 2022-23 season",  # a span of years has no single precision
        "the 2022–2023 budget",
        "in the 1990s",
        "more than 2000 people",  # a count after a bound word
        "$2024 in cash",
        "2020 percent",
        "a 1850 km pipeline",  # a distance
        "Vision 2030 plan",  # a year inside a name
        "F-16 jets",
        "at 10:30 on",
        "he will travel next Monday",  # the future is not resolved
        "Black Friday sales",
        "last week",
        "may rise",
        "May is",  # a capital May without a cue is not a month
        "the March 2024-2025 plan",
        "1,2024",
        "February 30, 2024",
    ],
)
def test_not_dates(text: str) -> None:
    assert mentions(text) == []


def test_spans_exclude_the_preposition_and_are_exact() -> None:
    text = "Exports rose in 2023, the ministry said on Tuesday, in February and since May."
    found = find_dates(text, PUBLISHED)
    assert [m.text for m in found] == ["2023", "Tuesday", "February", "May"]
    for mention in found:
        assert text[mention.start : mention.end] == mention.text


def test_relative_months_roll_back_across_the_new_year() -> None:
    january = D(2024, 1, 10)
    assert mentions("last month", january) == [("last month", D(2023, 12, 1), "month")]
    assert mentions("in December", january) == [("December", D(2023, 12, 1), "month")]
    assert mentions("last January", january) == [("last January", D(2023, 1, 1), "month")]
    assert mentions("in January", january) == [("January", D(2024, 1, 1), "month")]


def test_last_weekday_on_that_weekday_is_a_week_before() -> None:
    assert mentions("last Wednesday") == [("last Wednesday", D(2024, 3, 13), "day")]
    assert mentions("on Wednesday") == [("Wednesday", PUBLISHED, "day")]


def test_without_a_published_date_only_explicit_dates_resolve() -> None:
    text = "In 2023 and on March 5, 2024, but also last month, on Friday and in June."
    assert mentions(text, None) == [
        ("2023", D(2023, 1, 1), "year"),
        ("March 5, 2024", D(2024, 3, 5), "day"),
    ]


def test_year_inside_a_full_date_is_not_a_second_mention() -> None:
    assert mentions("on March 18, 2024 and in March 2024") == [
        ("March 18, 2024", D(2024, 3, 18), "day"),
        ("March 2024", D(2024, 3, 1), "month"),
    ]
