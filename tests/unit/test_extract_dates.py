"""Dates: explicit ones, and weekdays / yesterday / today resolved against the published date."""

from __future__ import annotations

import datetime

import pytest

from ledger.extract.dates import event_date, find_dates

WEDNESDAY = datetime.date(2024, 3, 20)


def days(text: str, published: datetime.date | None = WEDNESDAY) -> list[datetime.date]:
    return [mention.day for mention in find_dates(text, published)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("announced on Monday that", datetime.date(2024, 3, 18)),
        ("on Wednesday", WEDNESDAY),  # the day of publication itself
        ("on Thursday", datetime.date(2024, 3, 14)),  # never in the future
        ("last Wednesday", datetime.date(2024, 3, 13)),
        ("yesterday", datetime.date(2024, 3, 19)),
        ("Today", WEDNESDAY),
        ("the day before yesterday", datetime.date(2024, 3, 18)),
        ("three days ago", datetime.date(2024, 3, 17)),
        ("2 days ago", datetime.date(2024, 3, 18)),
    ],
)
def test_relative_days(text: str, expected: datetime.date) -> None:
    assert days(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on March 18, 2024,", datetime.date(2024, 3, 18)),
        ("on 18 March 2024", datetime.date(2024, 3, 18)),
        ("on Monday, March 18", datetime.date(2024, 3, 18)),
        ("Dec. 25", datetime.date(2023, 12, 25)),  # no year: the latest one up to publication
        ("March 1", datetime.date(2024, 3, 1)),
        ("2023-11-05", datetime.date(2023, 11, 5)),
    ],
)
def test_explicit_dates(text: str, expected: datetime.date) -> None:
    assert days(text) == [expected]


def test_offsets_and_text() -> None:
    text = "He said on Monday, March 18, that it rained."
    (mention,) = find_dates(text, WEDNESDAY)
    assert text[mention.start : mention.end] == mention.text == "Monday, March 18"


def test_relative_days_need_a_published_date() -> None:
    assert days("on Monday and yesterday", None) == []
    assert days("March 18, 2024", None) == [datetime.date(2024, 3, 18)]


def test_impossible_dates_and_ranges_are_not_days() -> None:
    assert days("February 30, 2024") == []  # nor its year alone
    assert days("last week") == []  # a week has no precision of its own


def test_search_window() -> None:
    text = "On Monday he said it happened on Friday."
    assert [m.day for m in find_dates(text, WEDNESDAY, 0, 10)] == [datetime.date(2024, 3, 18)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the worst flooding since 2011", True),
        ("repairs finished by June", True),
        ("the curfew lasted until 1998", True),
        ("rationing during 2016", True),
        ("the mayor said on Monday", False),
        ("officials said in February", False),
        ("the mayor said Monday", False),
    ],
)
def test_event_dates_are_not_statement_dates(text: str, expected: bool) -> None:
    (mention,) = find_dates(text, WEDNESDAY)
    assert event_date(text, mention) is expected
