"""Line rules added for the last dev-set misses, each on sentences of our own: "they" after a
named group, party nicknames, figures of other years, one distinctive figure described two
ways, an identification count; and the extractor's estimate verbs and long introductions."""

from __future__ import annotations

import datetime

from ledger.extract import DeterministicExtractor
from ledger.lines import Subject, group, subject_of
from tests.unit.test_lines import claim, q, story_claims

EXTRACTOR = DeterministicExtractor()
DAY = datetime.date(2031, 5, 9)


def _line_values(stories: list[tuple[str, datetime.date, str]]) -> list[set[str]]:
    return [{p.value for p in line.points} for line in group(story_claims(stories))]


def _together(lines: list[set[str]], *values: str) -> bool:
    return any(set(values) <= line for line in lines)


def test_they_after_a_named_group_is_that_group_and_nicknames_meet() -> None:
    lines = _line_values(
        [
            ("a", DAY, "The exit poll put the Conservatives on 131 seats, the BBC said."),
            (
                "b",
                DAY,
                "In 2001 the Tories were reduced to 166 seats, the paper said. "
                "So far they have won only 119 seats, the paper said.",
            ),
            ("c", DAY, "The Greens have won 9 seats, officials said."),
        ]
    )
    assert _together(lines, "131", "119")
    assert not _together(lines, "166", "119")  # 2001 is another election
    assert not _together(lines, "9", "119")


def test_they_is_left_alone_after_a_place_or_a_name() -> None:
    def entities(context: str) -> frozenset[str]:
        text = "So far they have won 31 seats."
        figure = q("31", "seats", "31 seats")
        found = subject_of(claim(text, figure), figure, context)
        assert found is not None
        return found.entities

    assert entities("In 2001 the Greens were reduced to 6 seats.") == {"from:green"}
    assert entities("Voters in the Netherlands went to the polls.") == frozenset()
    assert entities("Sunak said the result was a disappointment.") == frozenset()


def test_a_figure_of_a_named_year_is_no_point_of_this_years_line() -> None:
    lines = _line_values(
        [
            ("a", DAY, "The Liberals won 88 seats in the election, officials said."),
            ("b", DAY, "The Liberals won 97 seats in the election, the paper reported."),
            ("c", DAY, "In 1993 the Liberals won 177 seats in the election, the paper said."),
        ]
    )
    assert _together(lines, "88", "97")
    assert not _together(lines, "177", "88")


def test_a_story_over_new_year_keeps_its_line() -> None:
    lines = _line_values(
        [
            ("a", datetime.date(2030, 12, 20), "The Liberals won 88 seats, officials said."),
            ("b", datetime.date(2031, 1, 3), "The Liberals won 88 seats, the paper said."),
        ]
    )
    assert _together(lines, "88")
    assert len([line for line in lines if "88" in line]) == 1


def test_one_distinctive_figure_described_two_ways_is_one_point_of_time() -> None:
    lines = _line_values(
        [
            (
                "a",
                DAY,
                "The share of adults who hold a job or look for one rose to 61.7 percent in "
                "April, the agency said.",
            ),
            (
                "b",
                DAY,
                "The labor force participation rate in Ruritania rose to 61.7 percent in "
                "April, the ministry said.",
            ),
            (
                "c",
                DAY,
                "The homeownership rate in Ruritania rose to 58 percent in April, the "
                "ministry said.",
            ),
        ]
    )
    assert _together(lines, "61.7")
    assert len([line for line in lines if "61.7" in line]) == 1
    assert not _together(lines, "61.7", "58")


def test_identified_victims_are_one_measure_whatever_the_noun() -> None:
    lines = _line_values(
        [
            ("a", DAY, "Three of the victims in Arendal have been identified, police said."),
            (
                "b",
                datetime.date(2031, 5, 11),
                "Police in Arendal said they have identified seven of the deceased.",
            ),
            ("c", DAY, "Twelve people were killed in Arendal, police said."),
        ]
    )
    assert _together(lines, "3", "7")
    assert not _together(lines, "12", "7")


def test_a_figure_said_to_be_estimated_is_approximate() -> None:
    (found,) = EXTRACTOR.extract("Officials in Peru estimated 2,113 were hurt.", published=DAY)
    assert [(q.value, q.bound) for q in found.quantities] == [("2113", "approximate")]
    (found,) = EXTRACTOR.extract(
        "Officials estimated that 2,113 people were hurt and more than 40 homes fell, the "
        "ministry said.",
        published=DAY,
    )
    assert [(q.value, q.bound) for q in found.quantities] == [
        ("2113", "approximate"),
        ("40", "more_than"),
    ]
    (found,) = EXTRACTOR.extract("Officials said 2,113 people were hurt.", published=DAY)
    assert [(q.value, q.bound) for q in found.quantities] == [("2113", "exact")]


def test_a_long_introduction_does_not_make_the_speech_postposed() -> None:
    (found,) = EXTRACTOR.extract(
        "Speaking to reporters outside the regional hospital after a long night of rescue "
        "work, Governor Ana Ruiz said the death toll will rise above the 41 reported.",
        published=DAY,
    )
    assert found.statement.startswith("Ana Ruiz said the death toll will rise")
    assert [q.value for q in found.quantities] == ["41"]
    (found,) = EXTRACTOR.extract(
        "At least 212 people in six districts have fallen ill since the outbreak began in "
        "early March, health officials said, making it the largest cluster in a decade.",
        published=DAY,
    )
    assert [q.value for q in found.quantities] == ["212", "6"]


def _subject(text: str, figure: str, unit: str, value: str = "1") -> Subject:
    quantity = q(value, unit, figure)
    found = subject_of(claim(text, quantity), quantity)
    assert found is not None
    return found


def test_a_place_named_with_its_state_keeps_one_clause_and_the_town_as_scope() -> None:
    text = (
        "The number of those confirmed dead after the flood in Riverton, Wyoming has risen to 23."
    )
    found = _subject(text, "23", "people")
    assert found.measure == "death"  # "the number of those confirmed dead": the clause is whole
    assert "wyomi" not in found.areas  # the state only says where Riverton is
    assert any(place.startswith("river") for place in found.places)


def test_a_predicate_right_after_a_count_beats_the_toll_before_it() -> None:
    text = "Officials updated the death toll to 11 on Monday with 150 people still missing."
    assert _subject(text, "150 people", "people").measure == "missing"
    assert _subject(text, "11", "deaths").measure == "death"


def test_victims_recovered_or_found_are_deaths_and_additional_ones_a_change() -> None:
    text = (
        "Crews recovered an additional 9 victims, raising the total number of victims found to 41."
    )
    assert _subject(text, "41", "victims").measure == "death"
    assert _subject(text, "9 victims", "victims").measure == "death change"
    identified = "Police identified those additional three people as A. Lund and B. Lund."
    assert _subject(identified, "three people", "people").measure == "identified change"


def test_ages_in_a_list_of_names_are_not_counts() -> None:
    text = "Police named the dead as Ana Ruiz, 61; Tom Lee, 33; and Mia Chen, 9."
    (found,) = EXTRACTOR.extract(text, published=DAY)
    assert found.quantities == ()


def test_a_total_carried_on_by_a_participle_is_part_of_the_statement() -> None:
    (found,) = EXTRACTOR.extract(
        "The mayor said crews recovered 6 more victims, bringing the death toll to 41.",
        published=DAY,
    )
    assert [q.value for q in found.quantities] == ["6", "41"]
    (glossed,) = EXTRACTOR.extract(
        "The ministry said 6,000 troops were sent, signaling a deepening alliance.",
        published=DAY,
    )
    assert "signaling" not in glossed.statement


def test_an_opening_subordinate_clause_with_commas_of_its_own_is_not_the_content() -> None:
    (found,) = EXTRACTOR.extract(
        "After days of searching, which storms had slowed, the governor said 52 people "
        "have now been identified.",
        published=DAY,
    )
    assert found.statement.startswith("The governor said 52 people")
    assert [q.value for q in found.quantities] == ["52"]


def test_a_toll_moving_between_spelled_out_figures_gives_both() -> None:
    (found,) = EXTRACTOR.extract(
        "The fire chief said the death toll had increased from two to five overnight.",
        published=DAY,
    )
    assert [(q.value, q.unit) for q in found.quantities] == [("2", "deaths"), ("5", "deaths")]
