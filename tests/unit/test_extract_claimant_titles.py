"""Titles, ranks and bodies written in front of a name come off it: the name is the person's."""

from __future__ import annotations

import datetime

import pytest

from ledger.extract import DeterministicExtractor
from ledger.extract.mentions import find_mentions

PUBLISHED = datetime.date(2024, 3, 20)


def first_mention(text: str) -> tuple[str | None, str | None, str | None]:
    found = find_mentions(text, 0, len(text))[0]
    return found.name, found.role, found.affiliation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ESA Mission Manager Clara Veldt said the probe was healthy.",
            ("Clara Veldt", "mission manager", "ESA"),
        ),
        (
            "Harbour Authority Chairman Piet Olsen said the port would reopen.",
            ("Piet Olsen", "chairman", "Harbour Authority"),
        ),
        (
            "Inspector Lena Haugh of the county police said two cars collided.",
            ("Lena Haugh", "inspector", None),
        ),
        (
            "Transport Commission Ruth Abello says fares will rise.",
            ("Ruth Abello", None, "Transport Commission"),
        ),
        (
            "The Chairman of the Water Board Tomas Rendo said supplies were safe.",
            ("Tomas Rendo", "chairman", "Water Board"),
        ),
        (
            "The President of Freedonia's High Court Board (HCB) Ana Lutz said it met.",
            ("Ana Lutz", "president", "High Court Board"),
        ),
    ],
)
def test_title_before_a_name_is_split_off(
    text: str, expected: tuple[str | None, str | None, str | None]
) -> None:
    assert first_mention(text) == expected


def test_a_rank_after_a_role_is_left_off_the_name() -> None:
    text = "Harbour police spokesman Major Ivo Brandt said three boats sank."
    assert first_mention(text) == ("Ivo Brandt", "police spokesman", "Harbour")


def test_an_organisation_name_is_not_split_into_a_person() -> None:
    assert first_mention("The Ministry of Foreign Affairs said it would reply.")[0] == (
        "Ministry of Foreign Affairs"
    )
    assert first_mention("Major League Baseball said the season would start.")[0] == (
        "Major League Baseball"
    )


def test_the_acronym_of_a_body_finds_its_officer_again() -> None:
    text = (
        "President Ola Brun opened the session on Monday.\n\n"
        "The President of the National Vote Board (NVB) Kari Moen said turnout was 61 percent.\n\n"
        "The NVB President noted that 12 complaints were filed."
    )
    claims = DeterministicExtractor().extract(text, published=PUBLISHED)
    noted = next(c for c in claims if "complaints" in c.statement)
    assert noted.claimant.name == "Kari Moen"


def test_a_body_described_by_its_name_and_kind_is_named() -> None:
    text = (
        "The Crimson Dawn Marxist group said it had seized 12 trucks.\n\n"
        "Later, the group said three of its fighters were killed."
    )
    claims = DeterministicExtractor().extract(text, published=PUBLISHED)
    assert [c.claimant.name for c in claims] == ["Crimson Dawn", "Crimson Dawn"]


def test_a_demonym_before_a_body_is_its_country_not_its_name() -> None:
    assert first_mention("A Danish company said it would cut 400 jobs.") == (
        None,
        "company",
        "Denmark",
    )


def test_apposition_without_its_closing_comma_is_the_same_person() -> None:
    text = (
        "Ms Petra Lind, the spokesperson of the agency gave no details about where the "
        "cases were reported. "
        "She said the director would brief 30 mayors on the outbreak."
    )
    claims = DeterministicExtractor().extract(text, published=PUBLISHED)
    said = next(c for c in claims if "30 mayors" in c.statement)
    assert said.claimant.name == "Petra Lind"


def test_a_title_word_inside_a_bodys_name() -> None:
    assert first_mention("The Directorate General of Water Services said 12 dams leak.")[0] == (
        "Directorate General of Water Services"
    )
    assert first_mention("Secretary General of the Alliance Ana Ruiz said 12 ships sank.")[1] == (
        "secretary general"
    )


def test_an_honorific_after_a_title_keeps_the_title() -> None:
    assert first_mention("Water Minister Dr. Ruth Okafor said 12 wells dried up.") == (
        "Ruth Okafor",
        "water minister",
        None,
    )


def test_a_plural_noun_for_people_opening_a_sentence_is_no_name() -> None:
    claim = DeterministicExtractor().extract(
        "Organizers said 40,000 runners took part in the race.", published=PUBLISHED
    )[0]
    assert claim.claimant.name is None
    assert claim.claimant.role == "organizers"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Minister of Health Lena Marsh said 12 clinics closed.",
            ("Lena Marsh", "minister", "Health"),
        ),
        (
            "President of Kenya Anna Wekesa said 12 clinics closed.",
            ("Anna Wekesa", "president", "Kenya"),
        ),
        # "State" and "Affairs" are common nouns in lower case, "Foreign" an adjective
        (
            "Secretary of State Tom Brandt said 12 embassies closed.",
            ("Tom Brandt", "secretary", "State"),
        ),
        (
            "Minister of Foreign Affairs Lena Marsh said 12 envoys were recalled.",
            ("Lena Marsh", "minister", "Foreign Affairs"),
        ),
    ],
)
def test_a_titles_portfolio_then_a_name(
    text: str, expected: tuple[str | None, str | None, str | None]
) -> None:
    assert first_mention(text) == expected
