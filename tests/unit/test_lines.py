"""Claim lines: subjects of figures, and figures grouped across sources, ordered by date made."""

from __future__ import annotations

import datetime

from ledger.extract import DeterministicExtractor
from ledger.extract.model import Quantity
from ledger.lines import LineClaim, Subject, clause_around, compatible, group, subject_of
from tests.unit.line_stories import CONTAINERS

EXTRACTOR = DeterministicExtractor()


def q(value: str, unit: str | None, text: str) -> Quantity:
    return Quantity(value=value, unit=unit, bound="exact", text=text)


def claim(text: str, *quantities: Quantity, ref: str = "c", **more: str | None) -> LineClaim:
    fields: dict[str, str | None] = {"made_on": None, "source": "s", **more}
    return LineClaim(
        claim_id=ref,
        source=fields["source"] or "s",
        text=text,
        quantities=quantities,
        made_on=fields["made_on"],
        made_on_precision="day" if fields["made_on"] else None,
        published=fields.get("published"),
    )


def subject(text: str, figure: str, unit: str) -> Subject:
    found = subject_of(claim(text, q("1", unit, figure)), q("1", unit, figure))
    assert found is not None
    return found


def story_claims(stories: list[tuple[str, datetime.date, str]]) -> list[LineClaim]:
    claims = []
    for source, published, text in stories:
        for index, found in enumerate(EXTRACTOR.extract(text, published=published)):
            claims.append(
                LineClaim(
                    claim_id=f"{source}#{index}",
                    source=source,
                    text=found.selector.exact,
                    quantities=found.quantities,
                    made_on=found.made_on.isoformat() if found.made_on else None,
                    made_on_precision=found.made_on_precision,
                    claimant_name=found.claimant.name,
                    published=published.isoformat(),
                )
            )
    return claims


def test_the_clause_stops_at_that_commas_and_reporting_verbs() -> None:
    text = "The minister said on Monday that North Korea sent 7,000 containers to Russia, signaling ties."
    at = text.index("7,000")
    left, right = clause_around(text, at, at + 5)
    assert text[left:right].strip() == "North Korea sent 7,000 containers to Russia"
    text = "Officials said North Korea sent 7,000 containers."
    left, _ = clause_around(text, text.index("7,000"), text.index("7,000") + 5)
    assert text[left:].strip() == "North Korea sent 7,000 containers."


def test_one_subject_across_synonyms_capitals_and_spelling() -> None:
    seed = subject(
        "North Korea has dispatched approximately 7,000 containers of weapons to Russia",
        "approximately 7,000 containers",
        "containers",
    )
    other = subject(
        "Pyongyang had shipped around 6,700 containers of arms to Moscow since September",
        "around 6,700 containers",
        "containers",
    )
    passive = subject(
        "About 10,000 containers of munitions were transferred from North Korea to Russia",
        "About 10,000 containers",
        "containers",
    )
    assert seed == other == passive
    assert seed.key == "container of weapon | from:north korea to:russi send | "


def test_the_direction_of_a_shipment_is_part_of_the_subject() -> None:
    there = subject("North Korea sent 500 containers to Russia", "500 containers", "containers")
    back = subject("Russia sent 500 containers to North Korea", "500 containers", "containers")
    assert not compatible(there, back)


def test_what_a_unit_counts_is_part_of_the_subject() -> None:
    arms = subject(
        "North Korea sent 500 containers of arms to Russia", "500 containers", "containers"
    )
    food = subject(
        "North Korea sent 500 containers of food to Russia", "500 containers", "containers"
    )
    plain = subject("North Korea sent 500 containers to Russia", "500 containers", "containers")
    assert not compatible(arms, food)
    assert compatible(arms, plain) and compatible(food, plain)


def test_units_must_agree() -> None:
    rate = subject("The unemployment rate rose to 4.3%", "4.3%", "percent")
    points = subject(
        "The unemployment rate rose by 0.2 percentage points",
        "0.2 percentage points",
        "percentage points",
    )
    again = subject("Unemployment rate fell to 4.1%", "4.1%", "percent")
    inflation = subject("Inflation rose to 4.3%", "4.3%", "percent")
    assert compatible(rate, again)
    assert not compatible(rate, points)
    assert not compatible(rate, inflation)


def test_a_figure_without_unit_or_outside_the_text_has_no_subject() -> None:
    c = claim("It rose 12 in a year.", q("12", None, "12"))
    assert subject_of(c, c.quantities[0]) is None
    assert subject_of(c, q("5", "ships", "5 ships")) is None


def test_points_are_ordered_by_date_made_then_log_order_and_carry_their_fields() -> None:
    text = "North Korea sent {} containers of arms to Russia"
    claims = [
        claim(
            text.format("7,000"),
            q("7000", "containers", "7,000 containers"),
            ref="a",
            source="x",
            made_on="2024-03-18",
        ),
        claim(
            text.format("1,000"),
            q("1000", "containers", "1,000 containers"),
            ref="b",
            source="y",
            made_on="2023-10-13",
        ),
        claim(
            text.format("6,700"),
            q("6700", "containers", "6,700 containers"),
            ref="c",
            source="z",
            published="2024-02-27",
        ),
        claim(
            text.format("9,000"), q("9000", "containers", "9,000 containers"), ref="d", source="w"
        ),
        claim(
            text.format("7,000"),
            q("7000", "containers", "7,000 containers"),
            ref="e",
            source="v",
            made_on="2024-03-18",
        ),
    ]
    (line,) = group(claims)
    assert line.id == "a:0"
    assert [p.claim_id for p in line.points] == ["b", "c", "a", "e", "d"]
    assert line.points[1].made_on is None and line.points[1].published == "2024-02-27"
    assert line.sources == ("y", "z", "x", "v", "w")
    assert line.label == "North Korea sent 7,000 containers of arms to Russia"


def test_appending_claims_keeps_every_line_and_its_points() -> None:
    claims = story_claims(CONTAINERS)
    for cut in range(len(claims) + 1):
        early = {line.id: {p.id for p in line.points} for line in group(claims[:cut])}
        later = {line.id: {p.id for p in line.points} for line in group(claims)}
        for line_id, points in early.items():
            assert points <= later[line_id]


def test_the_containers_story_gives_one_line_with_the_figure_moving() -> None:
    lines = group(story_claims(CONTAINERS))
    containers = [line for line in lines if len(line.sources) > 1]
    assert len(containers) == 1
    line = containers[0]
    assert [p.value for p in line.points] == ["1000", "6700", "7000", "10000", "13000"]
    assert [p.bound for p in line.points] == [
        "more_than", "approximate", "approximate", "approximate", "exact"
    ]  # fmt: skip
    assert [p.made_on for p in line.points] == [
        "2023-10-13", "2024-02-26", "2024-03-18", "2024-06-10", "2024-10-07"
    ]  # fmt: skip
    assert line.points[1].claimant_name == "Shin Won-sik"
    # The food sent the other way, the shells and the chip exports are lines of their own.
    others = {line.subject.unit for line in lines if line is not containers[0]}
    assert others == {"container", "shell", "percent"}
