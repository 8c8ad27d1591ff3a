"""Quantities: normalized decimal strings, units, approximation markers."""

from __future__ import annotations

import pytest

from ledger.extract.model import Quantity
from ledger.extract.quantities import find_quantities


def only(text: str) -> Quantity:
    (quantity,) = find_quantities(text)
    return quantity


@pytest.mark.parametrize(
    ("text", "value", "unit", "approximate", "quoted"),
    [
        (
            "approximately 7,000 containers of weapons",
            "7000",
            "containers",
            True,
            "approximately 7,000 containers",
        ),
        ("3.5 million people", "3500000", "people", False, "3.5 million people"),
        ("45% of voters", "45", "percent", False, "45%"),
        ("rose 3 percent", "3", "percent", False, "3 percent"),
        ("up 0.25 percentage points", "0.25", "percentage points", False, "0.25 percentage points"),
        ("$52.4 billion", "52400000000", "USD", False, "$52.4 billion"),
        ("€2bn in aid", "2000000000", "EUR", False, "€2bn"),
        ("12.50 dollars", "12.5", "USD", False, "12.50 dollars"),
        ("More than 100 people died", "100", "people", True, "More than 100 people"),
        ("two containers", "2", "containers", False, "two containers"),
        (
            "450,000 active-duty soldiers",
            "450000",
            "soldiers",
            False,
            "450,000 active-duty soldiers",
        ),
        ("some 500", "500", None, True, "some 500"),
    ],
)
def test_normalization(
    text: str, value: str, unit: str | None, approximate: bool, quoted: str
) -> None:
    found = only(text)
    assert (found.value, found.unit, found.approximate, found.text) == (
        value,
        unit,
        approximate,
        quoted,
    )


@pytest.mark.parametrize(
    "text",
    ["one of the best", "in 2024 the", "COVID-19 cases", "at 10:30", "1st place", "F-16 jets"],
)
def test_not_quantities(text: str) -> None:
    assert find_quantities(text) == []


def test_verbs_are_not_units_but_casualties_are_people() -> None:
    assert [(q.value, q.unit) for q in find_quantities("300 killed and 500 injured")] == [
        ("300", "people"),
        ("500", "people"),
    ]
    assert [(q.value, q.unit) for q in find_quantities("The plant closed and 300 left.")] == [
        ("300", None),
    ]


def test_a_spelled_count_of_the_dead_or_hurt_is_people() -> None:
    for text in (
        "Coroners have named five of the deceased so far.",
        "Doctors said three of the injured were in a critical condition.",
    ):
        assert [(q.value, q.unit) for q in find_quantities(text)][:1] in (
            [("5", "people")],
            [("3", "people")],
        ), text
    assert find_quantities("One of the dead was a firefighter.") == []


def test_values_are_strings_never_floats() -> None:
    for quantity in find_quantities("0.1 tons, 1e3 and 3.50 million"):
        assert isinstance(quantity.value, str)
        assert "e" not in quantity.value.lower()


def test_skip_spans_and_window() -> None:
    text = "On March 18, 2024, 40 ships left."
    assert [q.value for q in find_quantities(text, skip=[(3, 17)])] == ["40"]
    assert [q.text for q in find_quantities(text, 18)] == ["40 ships"]


def described(text: str) -> list[tuple[str, str, str | None, str, str | None]]:
    return [(q.text, q.value, q.unit, q.bound, q.high) for q in find_quantities(text)]


@pytest.mark.parametrize(
    ("text", "quoted", "value", "unit"),
    [
        ("Kyiv asked for one-thousand drones", "one-thousand drones", "1000", "drones"),
        ("thirteen thousand sea containers left", "thirteen thousand sea containers", "13000",
         "sea containers"),
        ("two dozen tanks", "two dozen tanks", "24", "tanks"),
        ("a dozen officers resigned", "a dozen officers", "12", "officers"),
        ("half a million refugees", "half a million refugees", "500000", "refugees"),
        ("4.8 million artillery shells", "4.8 million artillery shells", "4800000",
         "artillery shells"),
        ("a shipment of 6 million 152-millimeter artillery shells",
         "6 million 152-millimeter artillery shells", "6000000", "artillery shells"),
        ("13,000 shipping containers", "13,000 shipping containers", "13000",
         "shipping containers"),
        ("12,000 ballistic missiles", "12,000 ballistic missiles", "12000", "missiles"),
        ("7,000 containers of weapons", "7,000 containers", "7000", "containers"),
        ("1,000 tons of rice", "1,000 tons", "1000", "tons"),
        ("a range of 600 km", "600 km", "600", "km"),
        ("a 100km corridor", "100km", "100", "km"),
        ("3 million barrels per day", "3 million barrels per day", "3000000",
         "barrels per day"),
        ("5,000 North Korean troops", "5,000 North Korean troops", "5000", "troops"),
        ("1,200 new cases", "1,200 new cases", "1200", "cases"),
        ("one container", "one container", "1", "containers"),  # units are plural
        ("a million people", "a million people", "1000000", "people"),
    ],
)  # fmt: skip
def test_number_words_and_counted_nouns(text: str, quoted: str, value: str, unit: str) -> None:
    assert described(text) == [(quoted, value, unit, "exact", None)]


@pytest.mark.parametrize(
    ("text", "quoted", "value", "unit"),
    [
        ("a $1.2bn deal", "$1.2bn", "1200000000", "USD"),
        ("fined £30m on", "£30m", "30000000", "GBP"),
        ("€2 billion in aid", "€2 billion", "2000000000", "EUR"),
        ("US$5 a day", "US$5", "5", "USD"),
        ("A$40 million", "A$40 million", "40000000", "AUD"),
        ("Rs 500 crore", "Rs 500 crore", "5000000000", "INR"),
        ("500 crore rupees", "500 crore rupees", "5000000000", "INR"),
        ("Rs 11.11 lakh crore", "Rs 11.11 lakh crore", "11110000000000", "INR"),
        ("5 million euros", "5 million euros", "5000000", "EUR"),
        ("100 million won", "100 million won", "100000000", "KRW"),
        ("10 billion yuan", "10 billion yuan", "10000000000", "CNY"),
        ("2 trillion yen", "2 trillion yen", "2000000000000", "JPY"),
        ("30 Canadian dollars", "30 Canadian dollars", "30", "CAD"),
        ("USD 4 million", "USD 4 million", "4000000", "USD"),
        ("30 per cent", "30 per cent", "30", "percent"),
        ("3.5pc growth", "3.5pc", "3.5", "percent"),
        ("2.5 percentage points", "2.5 percentage points", "2.5", "percentage points"),
        ("cut by 25 basis points", "25 basis points", "25", "basis points"),
        ("a fifth of households", "a fifth", "20", "percent"),
        ("half of all adults", "half", "50", "percent"),
        ("three-quarters of the budget", "three-quarters", "75", "percent"),
        ("an eighth of the fleet", "an eighth", "12.5", "percent"),
        ("1 in 5 adults had no savings", "1 in 5", "20", "percent"),
        ("one in four children", "one in four", "25", "percent"),
    ],
)
def test_money_and_shares(text: str, quoted: str, value: str, unit: str) -> None:
    assert described(text) == [(quoted, value, unit, "exact", None)]


def test_shares_that_do_not_end_are_approximate() -> None:
    assert described("a third of voters") == [("a third", "33.3", "percent", "approximate", None)]
    assert described("two-thirds of seats") == [
        ("two-thirds", "66.7", "percent", "approximate", None)
    ]


@pytest.mark.parametrize(
    ("text", "quoted", "bound"),
    [
        ("more than 500 people", "more than 500 people", "more_than"),
        ("over 40 countries", "over 40 countries", "more_than"),
        ("upwards of 3,000 troops", "upwards of 3,000 troops", "more_than"),
        ("in excess of 900 tonnes", "in excess of 900 tonnes", "more_than"),
        ("at least 12 people", "at least 12 people", "at_least"),
        ("no fewer than 8 ships", "no fewer than 8 ships", "at_least"),
        ("up to 70,000 soldiers", "up to 70,000 soldiers", "at_most"),
        ("as many as 300 drones", "as many as 300 drones", "at_most"),
        ("at most 5 percent", "at most 5 percent", "at_most"),
        ("a maximum of 20 tonnes", "a maximum of 20 tonnes", "at_most"),
        ("fewer than 100 cases", "fewer than 100 cases", "less_than"),
        ("less than 2%", "less than 2%", "less_than"),
        ("under 18 years", "under 18 years", "less_than"),
        ("below 3 percent", "below 3 percent", "less_than"),
        ("around 50 vessels", "around 50 vessels", "approximate"),
        ("roughly 1,200 miles", "roughly 1,200 miles", "approximate"),
        ("nearly 40% of voters", "nearly 40%", "approximate"),
        ("almost 600 km", "almost 600 km", "approximate"),
        ("some 500 troops", "some 500 troops", "approximate"),
        ("an estimated 2,000 people", "an estimated 2,000 people", "approximate"),
        ("close to 10,000 sheep", "close to 10,000 sheep", "approximate"),
        ("~300 people", "~300 people", "approximate"),
        ("dozens of ballistic missiles", "dozens of ballistic missiles", "approximate"),
        ("hundreds of thousands of people", "hundreds of thousands of people", "approximate"),
        ("nearly a third of voters", "nearly a third", "approximate"),
    ],
)
def test_bounds(text: str, quoted: str, bound: str) -> None:
    (found,) = find_quantities(text)
    assert (found.text, found.bound) == (quoted, bound)


def test_round_plurals_are_twice_the_round_number() -> None:
    values = [q.value for q in find_quantities(
        "dozens of drones, hundreds of shells, thousands of people, tens of thousands of "
        "troops, millions of doses"
    )]  # fmt: skip
    assert values == ["24", "200", "2000", "20000", "2000000"]


@pytest.mark.parametrize(
    "text",
    [
        "over the weekend 5 people died",  # the bound word is not attached to the figure
        "some of the 5 ships",
        "they took over 30 towns",  # "took over" is a verb
    ],
)
def test_bound_words_must_be_attached(text: str) -> None:
    (found,) = find_quantities(text)
    assert found.bound == "exact"


@pytest.mark.parametrize(
    ("text", "quoted", "value", "high", "unit"),
    [
        ("between 12 and 17 percent", "between 12 and 17 percent", "12", "17", "percent"),
        ("12 to 17 percent", "12 to 17 percent", "12", "17", "percent"),
        ("12-17%", "12-17%", "12", "17", "percent"),
        ("from 5,000 to 7,000 troops", "from 5,000 to 7,000 troops", "5000", "7000", "troops"),
        ("10,000-12,000 people", "10,000-12,000 people", "10000", "12000", "people"),
        ("10,000–12,000 people", "10,000–12,000 people", "10000", "12000", "people"),
        ("5 to 7 million people", "5 to 7 million people", "5000000", "7000000", "people"),
        ("5-7bn tonnes", "5-7bn tonnes", "5000000000", "7000000000", "tonnes"),
        ("Rs 5 to 11.11 lakh crore", "Rs 5 to 11.11 lakh crore", "5000000000000",
         "11110000000000", "INR"),
        ("$5 billion to $7 billion", "$5 billion to $7 billion", "5000000000", "7000000000",
         "USD"),
    ],
)  # fmt: skip
def test_ranges(text: str, quoted: str, value: str, high: str, unit: str) -> None:
    assert described(text) == [(quoted, value, unit, "exact", high)]


def test_a_change_from_one_figure_to_another_is_not_a_range() -> None:
    assert described("unemployment rose from 4.1 to 4.3 percent") == [
        ("4.1", "4.1", "percent", "exact", None),
        ("4.3 percent", "4.3", "percent", "exact", None),
    ]
    assert [q.text for q in find_quantities("inflation fell from 3.2% to 2.3%")] == [
        "3.2%",
        "2.3%",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "2016 unemployment", "in 2023", "the 2022-23 season", "since mid-2022", "the 2024 election",
        "2016 votes", "2019-2023", "in the 1990s", "March 5", "5 March", "Sept. 12", "10:30",
        "3 p.m.", "at 9 am", "by 12 noon tomorrow", "1st place", "the third time", "Apollo 11", "Article 5", "No. 10",
        "Windows 11", "F-16", "COVID-19", "G7 leaders", "Su-27 fighters", "call 555-0100",
        "+44 20 7946 0958", "the match was 3-2", "a 15-year-old boy", "a six-month-old calf",
        "24/7", "version 1.2.3", "4G networks", "one of the best", "thousands protested",
        "thousands of them", "priced at 812p",
    ],
)  # fmt: skip
def test_years_dates_times_and_names_are_not_quantities(text: str) -> None:
    assert find_quantities(text) == []


def test_a_year_like_figure_counts_with_a_currency_a_percent_or_a_bound_and_unit() -> None:
    assert described("$2000") == [("$2000", "2000", "USD", "exact", None)]
    assert described("more than 1900 people") == [
        ("more than 1900 people", "1900", "people", "more_than", None)
    ]
    assert described("2,016 votes") == [("2,016 votes", "2016", "votes", "exact", None)]
    assert described("a 1850 km pipeline") == [("1850 km", "1850", "km", "exact", None)]


def test_figures_in_real_sentences() -> None:
    text = (
        "The ministry said 2,500 people, including 800 children, were evacuated on March 3, "
        "and that about 1.1 million personnel had been deployed since 2022."
    )
    assert described(text) == [
        ("2,500 people", "2500", "people", "exact", None),
        ("800 children", "800", "children", "exact", None),
        ("about 1.1 million personnel", "1100000", "personnel", "approximate", None),
    ]


def test_offsets_are_exact_and_decimal_strings_exact() -> None:
    text = "It paid $1.50 for 0.10 tonnes, or 3.140 percent."
    found = find_quantities(text)
    assert [q.value for q in found] == ["1.5", "0.1", "3.14"]
    for quantity in found:
        assert quantity.text in text


def test_hostile_input_is_scanned_in_linear_time() -> None:
    import time

    def seconds(text: str) -> float:
        begun = time.perf_counter()
        find_quantities(text)
        return time.perf_counter() - begun

    for unit in ["1,", "9", "1-", "1 to ", "more than ", "a ", "$", "tens of ", "- ", "5 sea "]:
        short, long = unit * (5_000 // len(unit)), unit * (50_000 // len(unit))
        # Ten times the input: a linear scan takes about ten times as long; a quadratic one
        # a hundred times. The bounds are generous so a busy machine does not fail the test.
        assert seconds(long) < 30 * seconds(short) + 1.0
        assert seconds(long) < 10.0


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("The near party-line vote was 50-48, capping a fight", "50-48"),
        ("The final tally was 50-48.", "50-48"),
        ("after the Senate voted 50-48 to confirm him", "50-48"),
        ("He was confirmed 50 to 48, the thinnest margin", "50 to 48"),
    ],
)
def test_a_vote_tally_is_the_votes_for_then_the_votes_against(text: str, quoted: str) -> None:
    assert find_quantities(text) == [
        Quantity(value="50", unit="votes", bound="exact", text=quoted),
        Quantity(value="48", unit="votes", bound="exact", text="48"),
    ]


@pytest.mark.parametrize(
    "text", ["the side won 3-2 on Sunday", "children ages 5 to 17", "a vote on 12-17 March"]
)
def test_a_tally_needs_a_vote_word_right_before_and_the_larger_figure_first(text: str) -> None:
    assert all(q.unit != "votes" for q in find_quantities(text))


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("the unemployment rate inched up to 4 percent", "exact"),
        ("the rate edged up to 4 percent", "exact"),
        ("up to 4 percent of voters", "at_most"),
    ],
)
def test_up_to_after_a_verb_of_change_is_the_level_reached(text: str, bound: str) -> None:
    assert only(text).bound == bound
