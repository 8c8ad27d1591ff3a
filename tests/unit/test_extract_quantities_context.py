"""Quantities whose unit, bound or value the surrounding text decides: units left out
because the sentence (or the one before) gave them, figure-word compounds, shares of a
share, temperature scales, earthquake magnitudes, verbs that bound a figure."""

from __future__ import annotations

import pytest

from ledger.extract.quantities import find_quantities


def units(text: str, start: int = 0) -> list[tuple[str, str, str | None]]:
    return [(q.text, q.value, q.unit) for q in find_quantities(text, start)]


def test_a_bare_figure_takes_the_counted_noun_given_before_it_in_its_sentence() -> None:
    assert units("Rebels seized 12 trucks on Monday and 7 on Tuesday.") == [
        ("12 trucks", "12", "trucks"),
        ("7", "7", "trucks"),
    ]
    assert units("Farming lost 310 jobs, retail 95 and mining 40.") == [
        ("310 jobs", "310", "jobs"),
        ("95", "95", "jobs"),
        ("40", "40", "jobs"),
    ]


def test_spelled_out_counts_in_a_list_keep_the_noun_of_the_first() -> None:
    text = "Four miners were rescued, two injured and one was still trapped."
    assert units(text) == [
        ("Four miners", "4", "miners"),
        ("two", "2", "miners"),
        ("one", "1", "miners"),
    ]
    assert units("The blast killed three guards and wounded five near the gate.") == [
        ("three guards", "3", "guards"),
        ("five", "5", "guards"),
    ]
    # with no noun anywhere, a spelled-out figure is no quantity
    assert units("She said two were enough.") == []


def test_a_revision_takes_the_unit_of_the_sentence_before() -> None:
    text = "The plant built 48,000 cars in May. The April figure was revised to 41,000 from 39,500."
    assert units(text) == [
        ("48,000 cars", "48000", "cars"),
        ("41,000", "41000", "cars"),
        ("39,500", "39500", "cars"),
    ]
    # the sentence before the window is read too
    start = text.index("The April")
    assert [u for _, _, u in units(text, start)] == ["cars", "cars"]


def test_a_noun_compounded_with_gains_or_growth_counts_that_noun() -> None:
    assert units("Payroll growth in March was revised to 96,000.") == [
        ("96,000", "96000", "payrolls")
    ]


def test_the_whole_of_a_part_gives_the_unit() -> None:
    assert units("Inspectors closed 30 of the 45 bridges.") == [
        ("30", "30", "bridges"),
        ("45 bridges", "45", "bridges"),
    ]
    assert units("The party won 21 out of 40 districts.") == [
        ("21", "21", "districts"),
        ("40 districts", "40", "districts"),
    ]
    assert units("Eight of the eleven judges agreed.")[0][2] == "judges"
    assert units("It was one of the best.") == []


def test_tolls_counts_of_and_casualties() -> None:
    assert units("The death toll from the storm climbed to 87.") == [("87", "87", "deaths")]
    assert units("The number of registered voters rose to 3.2 million.")[0][2] == "voters"
    assert units("Police said 14 were injured.") == [("14", "14", "people")]
    assert units("a town with a population of 9,000")[0][2] == "people"
    assert units("The number of injured passed 300.")[0][2] == "people"


def test_the_search_back_stops_at_a_contrast_and_skips_places_and_causes() -> None:
    text = "Crews found no survivors, but 4 have been reported missing."
    assert units(text) == [("4", "4", "people")]
    text = "The storm hit large parts of Fiji and the toll passed 40."
    assert units(text)[0][2] == "deaths"
    text = "The toll from the landslides rose to 52."
    assert units(text)[0][2] == "deaths"


def test_a_noun_that_modifies_another_is_not_the_counted_thing() -> None:
    # "police" names the spokesman here, not what 61 counts
    text = "The number of deaths rose, and a police spokesman put it at 61."
    assert units(text)[0][2] == "deaths"


def test_persons_and_individuals_are_people_and_others_take_the_noun_before() -> None:
    assert units("1,200 persons")[0][2] == "people"
    assert units("at least nine individuals")[0][2] == "people"
    assert units("The raid killed 4 guards and wounded 3 others.")[1][2] == "guards"


def test_more_and_participles_stand_between_a_figure_and_its_noun() -> None:
    assert units("33 more people fell ill")[0][2] == "people"
    assert units("there were over 700 confirmed cases")[0][2] == "cases"
    # a verb is never a unit, whatever the lexicon's plural guess
    assert units("almost 20 million came to vote")[0][2] != "cames"


def test_a_change_of_a_share_is_in_percentage_points() -> None:
    text = "Support was 41% for Blue (down 2.5%) and 30% for Green (up 1.5%)."
    assert [u for _, _, u in units(text)] == [
        "percent", "percentage points", "percent", "percentage points",
    ]  # fmt: skip
    assert units("a 4% swing to the opposition")[0][2] == "percentage points"
    text = "Containment is now at 60 percent, a 5 percent rise since Monday."
    assert [u for _, _, u in units(text)] == ["percent", "percentage points"]
    # a change of a change is not: the growth rate is itself the level
    text = "Output rose 0.4 percent after a 0.6 percent increase in May."
    assert [u for _, _, u in units(text)] == ["percent", "percent"]


@pytest.mark.parametrize(
    ("text", "quoted", "value", "unit"),
    [
        ("it reached 41.2 Celsius", "41.2 Celsius", "41.2", "degrees Celsius"),
        ("0.3C warmer than", "0.3C", "0.3", "degrees Celsius"),
        ("a high of 104 Fahrenheit", "104 Fahrenheit", "104", "degrees Fahrenheit"),
        ("below 2  degrees Celsius", "below 2  degrees Celsius", "2", "degrees Celsius"),
        ("water at 30°C", "30°C", "30", "degrees Celsius"),
    ],
)
def test_temperature_scales(text: str, quoted: str, value: str, unit: str) -> None:
    (found,) = find_quantities(text)
    assert (found.text, found.value, found.unit) == (quoted, value, unit)


def test_degrees_take_the_scale_given_before() -> None:
    text = "Warming hit 1.1 degrees Celsius, 0.4 degrees above the old mark."
    assert [u for _, _, u in units(text)] == ["degrees Celsius", "degrees Celsius"]


@pytest.mark.parametrize(
    "text",
    [
        "a magnitude 5.4 quake struck",
        "a magnitude-6.1 earthquake struck",
        "the 6.3-magnitude tremor",
        "a 5.9 earthquake hit the coast",
        "it had a magnitude of 4.8",
    ],
)
def test_earthquake_magnitudes(text: str) -> None:
    (found,) = find_quantities(text)
    assert found.unit == "magnitude"


@pytest.mark.parametrize(
    ("text", "quoted", "value", "unit"),
    [
        ("a 90-day pause", "90-day", "90", "days"),
        ("the 450-seat assembly", "450-seat", "450", "seats"),
        ("a five-year plan", "five-year", "5", "years"),
        ("a 25-bps cut", "25-bps", "25", "basis points"),
        ("a 40-strong delegation", "40-strong", "40", "people"),
        ("a 3,000-year-old mummy", "3,000-year-old", "3000", "years"),
        ("the 80-metre wall", "80-metre", "80", "m"),
        ("a 0.3-percent rise", "0.3-percent", "0.3", "percent"),
        ("$90-a-barrel oil", "$90", "90", "USD"),
    ],
)
def test_figure_word_compounds_are_quantities(
    text: str, quoted: str, value: str, unit: str
) -> None:
    (found,) = find_quantities(text)
    assert (found.text, found.value, found.unit) == (quoted, value, unit)


@pytest.mark.parametrize(
    "text", ["a 12-year-old girl", "a one-time payment", "the G7-led talks", "mid-2021 data"]
)
def test_ages_and_one_off_compounds_are_not(text: str) -> None:
    assert find_quantities(text) == []


def test_kilometres_are_written_km() -> None:
    assert units("45 kilometres west")[0][2] == "km"


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("the toll passed 2,000", "more_than"),
        ("sales topping 9,000 units", "more_than"),
        ("temperatures exceeded 40 degrees", "more_than"),
        ("waited longer than 18 weeks", "more_than"),
        ("oil near $80 a barrel", "approximate"),
        ("a near two-year high", "approximate"),
    ],
)
def test_verbs_and_phrases_that_bound_a_figure(text: str, bound: str) -> None:
    (found,) = find_quantities(text)
    assert found.bound == bound


def test_a_vote_verb_that_also_bounds_still_reads_a_tally_as_exact() -> None:
    found, against = find_quantities("the bill passed 61-38")
    assert (found.value, found.unit, found.bound) == ("61", "votes", "exact")
    assert (against.value, against.unit, against.text) == ("38", "votes", "38")


def test_a_change_by_an_amount_to_a_level_is_not_a_range() -> None:
    assert [(q.value, q.high) for q in find_quantities("claims fell by 300 to 12,400")] == [
        ("300", None),
        ("12400", None),
    ]


def test_figures_split_by_their_scale_or_by_spaces() -> None:
    assert units("turnout was 2 million 48,112 voters") == [
        ("2 million 48,112 voters", "2048112", "voters")
    ]
    assert units("registered voters numbered 41 220 315") == [("41 220 315", "41220315", "voters")]
    assert units("call +44 20 7946 0958") == []


def test_a_count_after_a_name_is_read_when_its_noun_follows() -> None:
    assert units("the challenger Ortiz 48,210 votes")[0][1:] == ("48210", "votes")
    assert units("Apollo 11 astronauts") == []


def test_scores_counts_only_as_a_round_plural() -> None:
    assert units("scores of homes burned")[0][1:] == ("40", "homes")
    assert units("their test scores rose") == []


def test_the_unit_search_is_linear_in_a_long_sentence() -> None:
    import time

    def seconds(text: str) -> float:
        begun = time.perf_counter()
        find_quantities(text)
        return time.perf_counter() - begun

    for piece in ["7 jobs and 8 ", "9, ", "killed 3 and 4 ", "five were "]:
        short, long = piece * (2_000 // len(piece)), piece * (20_000 // len(piece))
        assert seconds(long) < 30 * seconds(short) + 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Garcia, 47, was elected",
        "children ages 6 to 11",
        "those under the age of 12.",
        "ending one of the longest sieges",
        "one of the hardest-hit towns",
        "in the second half of 2019",
    ],
)
def test_ages_superlatives_and_ordinal_halves_are_not_quantities(text: str) -> None:
    assert find_quantities(text) == []


def test_one_of_a_figure_says_which_not_how_many() -> None:
    assert units("for one of 12 approved drugs") == [("12", "12", "drugs")]


@pytest.mark.parametrize(
    ("text", "quoted", "value", "unit", "bound"),
    [
        ("a few dozen cases", "a few dozen cases", "24", "cases", "approximate"),
        ("by half a percentage point", "half a percentage point", "0.5", "percentage points",
         "exact"),
        ("by a quarter of a percentage point", "a quarter of a percentage point", "0.25",
         "percentage points", "exact"),
        ("a third of a mile", "a third of a mile", "0.33", "miles", "approximate"),
        ("2.4 million cubic metres", "2.4 million cubic metres", "2400000", "cubic metres",
         "exact"),
        ("one council member", "one council member", "1", "council members", "exact"),
    ],
)  # fmt: skip
def test_parts_of_a_unit_few_dozens_and_noun_pairs(
    text: str, quoted: str, value: str, unit: str, bound: str
) -> None:
    (found,) = find_quantities(text)
    assert (found.text, found.value, found.unit, found.bound) == (quoted, value, unit, bound)


def test_a_range_may_repeat_its_percent() -> None:
    (found,) = find_quantities("a target between 1.5 percent and 1.75 percent")
    assert (found.value, found.high, found.unit) == ("1.5", "1.75", "percent")


def test_number_of_names_the_counted_thing_across_a_relative_clause() -> None:
    text = "The number of towns that reported such shortages had grown to 41."
    assert units(text)[0][2] == "towns"


def test_a_compound_is_no_antecedent_and_a_verb_after_a_noun_is_no_modifier() -> None:
    text = "The party took 301 seats in the 500-member chamber, up 44 from 2019."
    assert [u for _, _, u in units(text)] == ["seats", "members", "seats"]
    assert units("and valid votes cast were 8,120,004")[0][2] == "votes"


def test_a_claim_whose_content_misses_its_figures_takes_them_from_its_clause() -> None:
    import datetime

    from ledger.extract import DeterministicExtractor

    text = (
        "Officials counted the ballots overnight.\n\n"
        "However, according to the commission, 1,250 complaints were filed in the past week.\n"
    )
    claims = DeterministicExtractor().extract(text, published=datetime.date(2024, 5, 2))
    (claim,) = [c for c in claims if "complaints" in c.selector.exact]
    assert [(q.value, q.unit) for q in claim.quantities] == [("1250", "complaints")]


def test_pct_is_percent_and_a_number_of_is_not_the_number_of() -> None:
    assert units("rates rose to 6.25 pct")[0][2] == "percent"
    text = "Hiring rose in a number of sectors: retail added 9,000 jobs, farming 2,000."
    assert [u for _, _, u in units(text)] == ["jobs", "jobs"]


def test_more_places_a_spelled_count_leaves_its_noun_out() -> None:
    text = "The Reds won 40 seats (down 6), the Blues nine (up two)."
    assert [(v, u) for _, v, u in units(text)] == [
        ("40", "seats"), ("6", "seats"), ("9", "seats"), ("2", "seats"),
    ]  # fmt: skip
    text = "Of 2,000 volunteers, only three of them fell ill."
    assert [(v, u) for _, v, u in units(text)] == [("2000", "volunteers"), ("3", "volunteers")]
    text = "The number of schools closed has risen to eleven."
    assert units(text)[-1][1:] == ("11", "schools")


def test_a_couple_half_the_and_a_percent_range_with_a_dash() -> None:
    (found,) = find_quantities("she called a couple of times")
    assert (found.value, found.unit, found.bound) == ("2", "times", "approximate")
    (found,) = find_quantities("it is about half the size of a bus")
    assert (found.value, found.unit, found.bound) == ("50", "percent", "approximate")
    (found,) = find_quantities("the 1%-3% target band")
    assert (found.value, found.high, found.unit) == ("1", "3", "percent")


def test_by_an_amount_to_a_level_is_two_figures_whatever_comes_before() -> None:
    found = find_quantities("claims fell in May by 210 to 9,870 in a month")
    assert [(q.value, q.high) for q in found] == [("210", None), ("9870", None)]


def test_by_a_few_to_a_few_more_is_a_range() -> None:
    (found,) = find_quantities("fares could rise by 5 to 15 cents")
    assert (found.value, found.high, found.unit) == ("5", "15", "cents")


def test_the_number_of_a_group_named_by_an_adjective_is_people() -> None:
    text = "The number of long-term jobless fell by 300 to 41,200."
    assert [u for _, _, u in units(text)] == ["people", "people"]


def test_the_number_who_or_waiting_counts_people() -> None:
    text = "The number waiting over a year for surgery hit 8,410, up from 7,950."
    assert [u for _, _, u in units(text)] == ["people", "people"]
    assert units("the number who lost their homes rose by 600")[0][2] == "people"


@pytest.mark.parametrize(
    ("text", "quoted", "unit"),
    [
        ("output of 2.5 million barrels a day", "2.5 million barrels a day", "barrels per day"),
        ("burned 12 homes and barns overnight", "12 homes and barns", "homes and barns"),
        ("at least 30 light-years away", "at least 30 light-years", "light-years"),
        ("40 of the 90 National Assembly of Wales seats", "90 National Assembly of Wales seats",
         "seats"),
    ],
)  # fmt: skip
def test_rates_pairs_of_nouns_hyphenated_measures_and_names_before_the_noun(
    text: str, quoted: str, unit: str
) -> None:
    found = find_quantities(text)[-1]
    assert (found.text, found.unit) == (quoted, unit)


def test_a_pair_of_nouns_stops_before_a_verb() -> None:
    assert units("won 4 seats and votes rose")[0][2] == "seats"


def test_points_after_a_share_are_percentage_points() -> None:
    assert units("Turnout was 61.3 percent, down 4.2 points.")[1][2] == "percentage points"
    assert units("The index rose 4.2 points.")[0][2] == "points"


def test_a_conversion_in_brackets_keeps_the_bound_of_the_figure_it_restates() -> None:
    found = find_quantities("a camp about 30 km (19 miles) north")
    assert [(q.value, q.unit, q.bound) for q in found] == [
        ("30", "km", "approximate"),
        ("19", "miles", "approximate"),
    ]
    found = find_quantities("a camp 30 km (19 miles) north")
    assert [q.bound for q in found] == ["exact", "exact"]
