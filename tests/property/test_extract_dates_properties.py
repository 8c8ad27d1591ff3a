"""Property tests of date finding: exact spans, no overlaps, nothing after publication for
expressions without a year, and the same answer with unrelated text around."""

from __future__ import annotations

import datetime
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.extract.dates import find_dates

PHRASES = [
    "on Tuesday", "last Friday", "late Monday", "Sunday night", "yesterday", "today",
    "last month", "earlier this month", "this year", "last year", "earlier this year",
    "in February", "last February", "in February 2023", "Sept. 5", "Aug. 3, 2022",
    "5 March", "2023-11-05", "in 2021", "since mid-2022", "a week ago", "three days ago",
    "a month ago", "in early May", "the 2024 election", "COVID-19", "2022-23", "F-16",
    "7,000 containers", "March 30", "February 29", "May", "next Monday", "Black Friday",
]  # fmt: skip
NOISE = ["The council met.", "Prices rose sharply.", "\n\n", "It rained.", "Officials agreed."]

texts = st.lists(st.sampled_from(PHRASES + NOISE + [" ", ", ", " and "]), max_size=25).map(
    "".join
) | st.text(max_size=200)
published = st.one_of(st.none(), st.dates(datetime.date(1990, 1, 1), datetime.date(2090, 12, 31)))
HAS_YEAR = re.compile(r"(?:1[89]|20)\d\d")


@settings(max_examples=400, deadline=None)
@given(text=texts, day=published)
def test_spans_are_exact_ordered_and_disjoint(text: str, day: datetime.date | None) -> None:
    previous_end = 0
    for mention in find_dates(text, day):
        assert text[mention.start : mention.end] == mention.text
        assert previous_end <= mention.start < mention.end
        previous_end = mention.end
        if mention.precision != "day":
            assert mention.day.day == 1
        if mention.precision == "year":
            assert mention.day.month == 1


@settings(max_examples=400, deadline=None)
@given(text=texts, day=st.dates(datetime.date(1990, 1, 1), datetime.date(2090, 12, 31)))
def test_expressions_without_a_year_never_resolve_after_publication(
    text: str, day: datetime.date
) -> None:
    for mention in find_dates(text, day):
        if not HAS_YEAR.search(mention.text):
            assert mention.day <= day


@settings(max_examples=300, deadline=None)
@given(
    phrase=st.sampled_from(PHRASES),
    before=st.sampled_from(NOISE),
    after=st.sampled_from(NOISE),
    day=published,
)
def test_noise_around_a_phrase_changes_nothing_but_offsets(
    phrase: str, before: str, after: str, day: datetime.date | None
) -> None:
    alone = [(m.text, m.day, m.precision, m.start) for m in find_dates(phrase, day)]
    text = f"{before} {phrase} {after}"
    offset = len(before) + 1
    around = [(m.text, m.day, m.precision, m.start - offset) for m in find_dates(text, day)]
    assert around == alone


def test_hostile_input_is_linear() -> None:
    import time

    hostile = [
        "1," * 25_000,
        "March " * 10_000,
        "in " * 20_000 + "May",
        "2024-" * 10_000,
        "last " * 20_000,
        "9" * 50_000,
    ]
    for text in hostile:
        begun = time.perf_counter()
        find_dates(text, datetime.date(2024, 3, 20))
        assert time.perf_counter() - begun < 2.0  # generous: linear work is milliseconds
