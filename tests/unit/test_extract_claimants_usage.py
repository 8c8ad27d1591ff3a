"""Who a name is, from how the article uses it: bodies named by what they are before
their name, names of bodies read as persons. Sentences written for these tests."""

from __future__ import annotations

import datetime

from ledger.extract import DeterministicExtractor, ExtractedClaim
from ledger.extract.mentions import bodies_by_usage, find_mentions

PUBLISHED = datetime.date(2024, 3, 22)


def extract(text: str) -> list[ExtractedClaim]:
    return DeterministicExtractor().extract(text, published=PUBLISHED)


def kinds(text: str) -> dict[str, str | None]:
    mentions = bodies_by_usage(find_mentions(text, 0, len(text)))
    return {m.name: m.kind for m in mentions if m.name}


def test_a_name_repeated_in_full_ending_in_a_common_noun_is_a_body() -> None:
    text = (
        "Metro Water lowered its estimate of the leak to 3 million litres on Monday. "
        "Metro Water said crews would finish repairs by Friday."
    )
    assert kinds(text)["Metro Water"] == "organization"
    first = extract(text)[0]
    assert first.claimant.name == "Metro Water"  # a body verb needs a body


def test_a_person_is_cut_to_the_surname() -> None:
    text = "Jane Hill said 3,000 people came. Jane Hill spoke first. Hill said 40 were hurt."
    assert kinds(text)["Jane Hill"] == "person"


def test_a_name_given_once_or_ending_in_a_name_stays_a_person() -> None:
    assert kinds("Metro Water said the leak was fixed.")["Metro Water"] == "person"
    text = "Jane Roe said 3,000 people came. Jane Roe spoke first."
    assert kinds(text)["Jane Roe"] == "person"


def test_a_described_body_takes_the_name_that_opens_the_next_sentence() -> None:
    claims = extract(
        "Twelve cargo ships were delayed in the strait, the Oslo-based shipping agency "
        "said on Monday.\n\nThe Nordic Freight Office said 3 ports would stay closed."
    )
    assert [c.claimant.name for c in claims] == ["Nordic Freight Office"] * 2


def test_a_body_named_later_inside_a_sentence_is_not_the_described_one() -> None:
    claims = extract(
        "About 400 homes were evacuated, according to the regional fire command. "
        "The fire in Keld District had spread 4 km by Saturday, the command said."
    )
    assert [c.claimant.name for c in claims] == ["regional fire command"] * 2


def test_a_raised_passive_report_goes_on_from_the_statement_before() -> None:
    claims = extract(
        "The election board said on Tuesday that 412 of 500 districts had counted.\n\n"
        "Turnout was reported to be 61 percent, up from 55 percent in 2019."
    )
    second = claims[1]
    assert second.claimant.name == "election board"
    assert second.reporting == "reported_speech"
    assert second.made_on == datetime.date(2024, 3, 19)  # the board's Tuesday
    assert second.statement.startswith("According to ")


def test_no_raised_report_without_a_statement_before_or_with_an_agent() -> None:
    alone = extract("Turnout was reported to be 61 percent, up from 55 percent in 2019.")
    assert alone[0].claimant.name is None
    agent = extract(
        "The election board said on Tuesday that 412 of 500 districts had counted.\n\n"
        "Turnout of 61 percent was thought to be a record for the 500 districts."
    )
    assert agent[1].claimant.name is None  # "thought" is no reporting verb


def test_an_impersonal_passive_report_goes_on_from_the_statement_before() -> None:
    claims = extract(
        "The health ministry said on Tuesday that 40 clinics had closed. "
        "It was announced that 12 more would close by Friday."
    )
    assert claims[1].claimant.name == "health ministry"
    assert claims[1].made_on == datetime.date(2024, 3, 19)
