"""Claim lines: subjects of figures, and figures grouped across sources, ordered by date made."""

from __future__ import annotations

import datetime
from dataclasses import replace

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


def measured(text: str, figure: str, unit: str | None) -> str | None:
    found = subject_of(claim(text, q("1", unit, figure)), q("1", unit, figure))
    return None if found is None else found.measured


def test_the_measure_of_people_killed_a_death_toll_and_deaths_is_death() -> None:
    assert (
        measured("An earthquake killed more than 2,400 people", "more than 2,400 people", "people")
        == "death"
    )
    assert measured("The death toll had risen to 2862", "2862", None) == "death"
    assert (
        measured("At least 2,300 have been killed, officials said", "At least 2,300", None)
        == "death"
    )
    assert measured("The quake caused 296 deaths", "296 deaths", "deaths") == "death"
    # the predicate nearest the figure, not across a conjunction
    text = "It killed more than 600 people and injured hundreds more"
    assert measured(text, "more than 600 people", "people") == "death"
    text = "93 patients have been hospitalized and two children have died"
    assert measured(text, "93 patients", "patients") == "hospitalization"
    assert measured(text, "two children", "children") == "death"
    assert (
        measured("More than 150 injured people were sent to hospitals", "More than 150", None)
        == "injury"
    )
    assert measured("10,000 people are missing", "10,000 people", "people") == "missing"
    assert (
        measured(
            "At least 124 people have been diagnosed with measles", "At least 124 people", "people"
        )
        == "case"
    )
    assert measured("The number of confirmed measles cases is now at 124", "124", None) == "case"


def test_what_is_not_the_level_itself_is_measured_apart() -> None:
    assert measured("the death toll could reach 20,000", "20,000", None) == "death projected"
    assert measured("20,000 people might have died", "20,000 people", "people") == "death projected"
    assert measured("Labour won 412 seats, up 211 from 2019", "211", None) is None
    assert measured("the Conservatives were down 250 seats", "250 seats", "seats") == "seat change"
    assert measured("the party will win 410 out of 650 seats", "410", None) == "seat"
    assert measured("the party will win 410 out of 650 seats", "650 seats", "seats") == "seat whole"
    assert measured("a thumping majority of 170", "170", None) == "majority"
    assert measured("Labour can boast a majority of 176 MPs", "176 MPs", "MPs") == "majority"
    assert measured("The magnitude 7.2 quake struck", "7.2 quake", "quakes") == "magnitude"
    assert measured("the epicenter was 11 miles below the surface", "11 miles", "miles") == "depth"
    assert measured("the Senate voted 50-48 to confirm him", "50-48", "votes") == "tally"


def test_different_measures_and_months_are_different_lines() -> None:
    claims = [
        claim(
            "The quake killed 600 people",
            q("600", "people", "600 people"),
            ref="a",
            made_on="2019-02-01",
        ),
        claim(
            "The quake injured 600 people",
            q("600", "people", "600 people"),
            ref="b",
            made_on="2019-02-01",
        ),
        claim(
            "Employers added 304,000 jobs in January",
            q("304000", "jobs", "304,000 jobs"),
            ref="c",
            made_on="2019-02-01",
        ),
        claim(
            "Employers added 304,000 jobs",
            q("304000", "jobs", "304,000 jobs"),
            ref="d",
            made_on="2019-02-01",
        ),
        claim(
            "In December, employers added 222,000 jobs",
            q("222000", "jobs", "222,000 jobs"),
            ref="e",
            made_on="2019-02-01",
        ),
    ]
    lines = {tuple(p.claim_id for p in line.points) for line in group(claims)}
    assert lines == {("a",), ("b",), ("c", "d"), ("e",)}


def test_a_line_prefers_the_one_naming_the_same_party() -> None:
    claims = [
        claim(
            "The Labour Party won 412 seats",
            q("412", "seats", "412 seats"),
            ref="a",
            made_on="2024-07-05",
        ),
        claim(
            "The Conservatives won 121 seats",
            q("121", "seats", "121 seats"),
            ref="b",
            made_on="2024-07-05",
        ),
        claim("They won 120 seats", q("120", "seats", "120 seats"), ref="c", made_on="2024-07-05"),
        claim(
            "The Conservatives won 131 seats",
            q("131", "seats", "131 seats"),
            ref="d",
            made_on="2024-07-04",
        ),
    ]
    lines = {tuple(p.claim_id for p in line.points) for line in group(claims)}
    # anchored on the party, not the earliest line "They" fits; "They", naming no one,
    # goes on from the sentence before it in its source (the Conservatives')
    assert lines == {("a",), ("d", "b", "c")}


def test_a_bare_range_takes_no_unit_from_the_clause() -> None:
    ages = Quantity(value="5", unit=None, bound="exact", text="5 to 17", high="17")
    c = claim("most of the cases are in children ages 5 to 17", ages)
    assert subject_of(c, ages) is None


def test_a_point_of_a_role_only_claimant_shows_the_role_and_keeps_no_identity() -> None:
    text = "Floods in Chiang Rai left 12,000 homes under water"
    figure = q("12000", "homes", "12,000 homes")
    plain = claim(text, figure, ref="a")
    labelled = replace(plain, claimant_label="provincial governor (Chiang Rai)")
    named = replace(labelled, claimant_name="Somchai Wong")
    (line,) = group([labelled])
    assert line.points[0].claimant_name == "provincial governor (Chiang Rai)"
    assert line.points[0].claimant is None
    assert group([named])[0].points[0].claimant_name == "Somchai Wong"
    # The label is shown, not read: the place it names stays in the subject.
    assert group([labelled])[0].subject == group([plain])[0].subject


def test_more_ways_a_count_of_the_dead_or_hurt_is_said() -> None:
    text = "The toll from the cyclone in Fiji has climbed to 812 people, police said"
    assert measured(text, "812 people", "people") == "death"
    assert measured("Rangers found 9 dead bodies near the pass", "9 dead bodies", "bodies") == (
        "death"
    )
    text = "the bodies of 14 hikers were pulled from the ravine"
    assert measured(text, "14 hikers", "hikers") == "death"
    assert measured("Over 700 bodies were buried on Tuesday", "700 bodies", "bodies") == "burial"
    assert measured("Officials in Peru estimated 3,120 were hurt", "3,120", None) == "injury"
    text = "so far 31 have been confirmed dead, the mayor said"
    assert measured(text, "31", None) == "death"
    text = "the number feared to have drowned in the delta had climbed to 2,215"
    assert measured(text, "2,215", None) == "death"
    text = "the toll had climbed to 2,215 and the number of injured to 5,040"
    assert measured(text, "5,040", None) == "injury"


def test_a_figure_is_read_where_it_stands_as_a_word_of_its_own() -> None:
    text = "The count rose to 1,953 in Peru, while officials in Chile said the toll there was 53"
    found = subject_of(claim(text, q("53", None, "53")), q("53", None, "53"))
    assert found is not None and found.places == {"chile"}


def test_the_attribution_gives_the_place_when_the_clause_names_none() -> None:
    text = "Officials in Chile said the toll there had reached 640."
    found = subject_of(claim(text, q("640", None, "640")), q("640", None, "640"))
    assert found is not None and found.places == {"chile"} and found.measure == "death"
    # A closing quotation mark ends the clause; of the attribution only places count.
    text = '"The death toll has reached 640," a Peru police spokesman told Reuters.'
    found = subject_of(claim(text, q("640", None, "640")), q("640", None, "640"))
    assert found is not None and found.places == {"peru"} and found.measure == "death"
    text = "A Peru police spokesman said the death toll had reached 640 in Lima"
    found = subject_of(claim(text, q("640", None, "640")), q("640", None, "640"))
    assert found is not None and found.places == {"lima"}  # the clause's own place wins


def test_a_count_in_a_part_of_a_country_is_not_the_country_count() -> None:
    peru = "Floods in Peru have killed {} people, officials said"
    andes = "Officials said {} people were killed when a mudslide hit Mount Huascaran in Peru"
    claims = [
        claim(peru.format("210"), q("210", "people", "210 people"), ref="a", made_on="2024-02-01"),
        claim(andes.format("12"), q("12", "people", "12 people"), ref="b", made_on="2024-02-01"),
        claim(peru.format("260"), q("260", "people", "260 people"), ref="c", made_on="2024-02-02"),
        claim(
            "There are 15 dead bodies on Mount Huascaran",
            q("15", "dead bodies", "15 dead bodies"),
            ref="d",
            made_on="2024-02-03",
        ),
    ]
    assert sorted([p.claim_id for p in line.points] for line in group(claims)) == [
        ["a", "c"],
        ["b", "d"],
    ]
    # A state and a part of it named by the state's name are one scope.
    west = subject("measles cases in West Texas reached 300", "300", "cases")
    state = subject("Texas reported 300 measles cases", "300", "cases")
    assert compatible(west, state)


def test_a_figure_naming_no_place_does_not_carry_another_place_onto_a_line() -> None:
    text = "Floods in {} have killed {} people"
    claims = [
        claim(text.format("Peru", "210"), q("210", "people", "210 people"), ref="a"),
        claim("The death toll has reached 230", q("230", None, "230"), ref="b"),
        claim(text.format("Peru", "260"), q("260", "people", "260 people"), ref="c"),
        claim(text.format("Bolivia", "17"), q("17", "people", "17 people"), ref="d"),
    ]
    claims = [replace(c, made_on="2024-02-01") for c in claims]
    assert sorted([p.claim_id for p in line.points] for line in group(claims)) == [
        ["a", "b", "c"],
        ["d"],
    ]


def test_of_lines_that_fit_alike_a_figure_joins_the_one_sharing_most_words() -> None:
    claims = [
        claim(
            "Floods in Peru killed 210 people",
            q("210", "people", "210 people"),
            ref="a",
            made_on="2024-02-01",
        ),
        claim(
            "An avalanche on Mount Huascaran in Peru killed 12 people",
            q("12", "people", "12 people"),
            ref="b",
            made_on="2024-02-01",
        ),
        claim(
            "The avalanches killed 14 people",
            q("14", "people", "14 people"),
            ref="c",
            made_on="2024-02-02",
        ),
    ]
    lines = {p.claim_id: line.id for line in group(claims) for p in line.points}
    assert lines["c"] == lines["b"] != lines["a"]


def test_one_act_by_one_place_is_one_subject_whoever_is_said_to_do_it() -> None:
    firms = subject("U.S. firms exported 1,200 tractors to Kenya", "1,200 tractors", "tractors")
    economy = subject("The U.S. economy exported 1,200 tractors", "1,200 tractors", "tractors")
    assert compatible(firms, economy)
    # A generic change of a level does not make two levels one ("rose" is any level's act).
    wages = subject("Wages of Canadian workers rose 3 percent", "3 percent", "percent")
    share = subject("The share of Canadians working rose 3 percent", "3 percent", "percent")
    assert not compatible(wages, share)


def test_a_place_in_the_claimants_name_still_places_the_figure() -> None:
    text = "Data show Kenya's economy added 9,000 jobs in May, the Kenya National Bureau of Statistics said"
    figure = q("9000", "jobs", "9,000 jobs")
    found = subject_of(
        replace(claim(text, figure), claimant_name="Kenya National Bureau of Statistics"), figure
    )
    assert found is not None and found.places == {"kenya"}


def test_new_items_are_a_change_and_an_expected_figure_a_projection() -> None:
    assert measured("The ministry logged 212 new cases", "212 new cases", "cases") == (
        "case change"
    )
    text = "Analysts had expected an increase of 40,000 jobs"
    assert measured(text, "40,000 jobs", "jobs") == "job change projected"
    text = "They forecast, on average, 38,000 new jobs"
    assert measured(text, "38,000 new jobs", "jobs") == "job change projected"
    text = "They forecast 38,000, but employers added 52,000 jobs"
    assert measured(text, "52,000 jobs", "jobs") == "job"  # what happened, not the forecast


def test_the_party_of_a_clause_is_the_party_the_source_just_named() -> None:
    claims = [
        claim("The Green Party won 12 seats", q("12", "seats", "12 seats"), ref="a", source="x"),
        claim("Polls show the Green Party is set to gain ground", ref="b", source="y"),
        claim(
            "Voters say the party will win 14 seats",
            q("14", "seats", "14 seats"),
            ref="c",
            source="y",
        ),
        claim("The Pirate Party won 3 seats", q("3", "seats", "3 seats"), ref="d", source="x"),
        claim(
            "Officials say the party will win 4 seats",
            q("4", "seats", "4 seats"),
            ref="e",
            source="z",
        ),
    ]
    claims = [replace(c, made_on="2024-05-02") for c in claims]
    lines = {p.claim_id: line.id for line in group(claims) for p in line.points}
    assert lines["c"] == lines["a"] != lines["d"]
    # With no party named before it in its source, "the party" is no one's.
    alone = subject_of(claims[4], q("4", "seats", "4 seats"))
    assert alone is not None and alone.entities == frozenset()
    named = subject_of(claims[2], q("14", "seats", "14 seats"), claims[1].text)
    assert named is not None and named.entities == {"from:green party"}


def test_a_figure_naming_nothing_goes_on_from_its_sources_last_line() -> None:
    quake = "An earthquake in Peru killed 210 people"
    slide = "A mudslide on Mount Huascaran in Peru killed 12 people"
    claims = [
        claim(quake, q("210", "people", "210 people"), ref="a", source="x"),
        claim(slide, q("12", "people", "12 people"), ref="b", source="x"),
        claim("So far 12 have been reported dead", q("12", None, "12"), ref="c", source="x"),
        claim(slide, q("12", "people", "12 people"), ref="d", source="y"),
        claim(quake, q("210", "people", "210 people"), ref="e", source="y"),
        claim("By now 214 have been confirmed dead", q("214", None, "214"), ref="f", source="y"),
    ]
    claims = [replace(c, made_on="2024-02-01") for c in claims]
    lines = {p.claim_id: line.id for line in group(claims) for p in line.points}
    assert lines["c"] == lines["b"] == lines["d"] != lines["a"] == lines["e"] == lines["f"]


def test_an_area_scopes_a_figure_only_in_its_own_predicate() -> None:
    text = "The storm hit Peru, killing 40 people and flooding towns in the Ucayali Region"
    found = subject(text, "40 people", "people")
    country = subject("Storms in Peru have killed 55 people", "55 people", "people")
    assert found.areas == frozenset() and compatible(found, country)
    text = "The storm killed 40 people in the Ucayali Region"
    assert not compatible(subject(text, "40 people", "people"), country)


def test_a_revised_figure_given_its_unit_joins_its_months_line() -> None:
    """Bare figures of a revision ("to 120,000 from a previously estimated 150,000") once
    the extractor gives them their unit from context: on the month's line, not the next
    month's."""
    claims = [
        claim(
            "The Canadian economy added 95,000 jobs in April",
            q("95000", "jobs", "95,000 jobs"),
            ref="a",
            source="x",
        ),
        claim(
            "In March, the Canadian economy added a revised 120,000 jobs",
            q("120000", "jobs", "120,000 jobs"),
            ref="b",
            source="x",
        ),
        claim(
            "The agency also revised down its estimate of job growth in March, to 120,000 from"
            " a previously estimated 150,000",
            q("120000", "jobs", "120,000"),
            q("150000", "jobs", "estimated 150,000"),
            ref="c",
            source="y",
        ),
    ]
    claims = [replace(c, made_on="2024-05-03") for c in claims]
    lines = {p.id: line.id for line in group(claims) for p in line.points}
    assert lines["c:0"] == lines["c:1"] == lines["b:0"] != lines["a:0"]


def test_directions_and_organisations_are_not_areas() -> None:
    western = subject("Aid from Western donors reached 300 villages", "300 villages", "villages")
    assert western.areas == frozenset()  # "Western" alone is a region somewhere, not here
    fighters = subject("Islamic State fighters killed 30 people in Iraq", "30 people", "people")
    assert fighters.areas == frozenset()
    county = subject("The storm killed 30 people in Harris County", "30 people", "people")
    assert county.areas == {"harri count"}


def _lines_of(claims: list[LineClaim]) -> list[list[str]]:
    return [[p.id for p in line.points] for line in group(claims)]


def test_a_line_does_not_bridge_half_a_year_without_a_figure() -> None:
    said = "Canada exported 300 tonnes of maple syrup to France."
    later = "Canada exported 320 tonnes of maple syrup to France."
    close = [
        claim(said, q("300", "tonnes", "300 tonnes"), ref="a", source="x", made_on="2021-03-01"),
        claim(later, q("320", "tonnes", "320 tonnes"), ref="b", source="y", made_on="2021-07-15"),
    ]
    assert _lines_of(close) == [["a:0", "b:0"]]  # four months: one line, as before
    apart = [close[0], replace(close[1], made_on="2023-03-01", published="2023-03-01")]
    assert _lines_of(apart) == [["a:0"], ["b:0"]]  # two years: a shared place is not enough
    undated = [replace(close[0], made_on=None, made_on_precision=None), apart[1]]
    assert _lines_of(undated) == [["b:0", "a:0"]]  # no date to be far from: undated last
    # A figure in between carries the line on.
    middle = claim(
        "Canada exported 310 tonnes of maple syrup to France.",
        q("310", "tonnes", "310 tonnes"),
        ref="m",
        source="z",
        made_on="2022-01-15",
    )
    last = replace(close[1], claim_id="d", source="w", made_on="2022-07-01", published=None)
    chained = [close[0], replace(close[1], made_on="2021-08-15"), middle, last]
    assert _lines_of(chained) == [["a:0", "b:0", "m:0", "d:0"]]


def test_sources_about_different_countries_do_not_share_a_line() -> None:
    first = "Australian voters went to the polls on Saturday."
    second = "British voters went to the polls on Thursday."
    claims = [
        claim(first, ref="a0", source="au", made_on="2030-05-04"),
        claim(
            "Labour won 80 seats, the electoral commission said.",
            q("80", "seats", "80 seats"),
            ref="a1",
            source="au",
            made_on="2030-05-04",
        ),
        claim(second, ref="b0", source="gb", made_on="2030-05-09"),
        claim(
            "Labour won 390 seats, the returning officers said.",
            q("390", "seats", "390 seats"),
            ref="b1",
            source="gb",
            made_on="2030-05-09",
        ),
    ]
    assert _lines_of(claims) == [["a1:0"], ["b1:0"]]
    # Without the countries (sources that name none), the party's name joins them.
    unplaced = [c for c in claims if c.quantities]
    assert _lines_of(unplaced) == [["a1:0", "b1:0"]]


def test_names_keep_their_spelling_and_common_words_fold() -> None:
    labor = claim(
        "By Sunday Labor had won 80 seats.", q("80", "seats", "80 seats"), ref="a", source="x"
    )
    labour = claim(
        "By Sunday Labour had won 83 seats.", q("83", "seats", "83 seats"), ref="b", source="y"
    )
    assert _lines_of([labor, labour]) == [["a:0"], ["b:0"]]  # two parties' names
    idf = subject("the Israel Defence Forces said 40 rockets were fired", "40 rockets", "rockets")
    us = subject("the Israel Defense Forces said 38 rockets were fired", "38 rockets", "rockets")
    assert idf.entities == us.entities  # one name spelled two ways (its words cut short)
    assert subject("labour costs rose 3 percent", "3 percent", "percent").words == {"labor", "cost"}


def test_close_in_time_is_not_enough_for_sources_that_name_nothing_in_common() -> None:
    claims = [
        claim(
            "A cyclone struck Port Halden on Monday.", ref="a0", source="a", made_on="2031-02-03"
        ),
        claim(
            "At least 140 people were killed.",
            q("140", "people", "140 people"),
            ref="a1",
            source="a",
            made_on="2031-02-03",
        ),
        claim("Wildfires swept through Vella Ridge.", ref="b0", source="b", made_on="2031-02-05"),
        claim(
            "At least 60 people were killed.",
            q("60", "people", "60 people"),
            ref="b1",
            source="b",
            made_on="2031-02-05",
        ),
        claim(
            "Rescuers in Port Halden said at least 180 people were killed.",
            q("180", "people", "180 people"),
            ref="c1",
            source="c",
            made_on="2031-02-06",
        ),
    ]
    assert _lines_of(claims) == [["a1:0", "c1:0"], ["b1:0"]]


def test_countries_are_read_from_names_and_their_adjectives_only() -> None:
    from ledger.lines import _countries_in

    text = "The Moroccan army and Libyan officials met Liberal lawmakers from North Korea."
    assert _countries_in(text, "") == {"moroc", "libya", "north korea", "korea"}
    assert _countries_in("The French and British envoys spoke to US officials.", "") == {
        "franc",
        "uk",
        "us",
    }


def test_a_source_sharing_a_name_with_any_source_of_the_line_may_join_it_by_time() -> None:
    """The sources already on a line report one event: a third source that shares a name
    with one of them reports it too, even if the figure it fits is the other's."""
    day = "2031-04-04"
    claims = [
        claim("Figures came from Ruritania's Statistics Office.", ref="a0", source="a"),
        claim(
            "Officials trimmed their estimate of factory output in March to 4,100 units",
            q("4100", "units", "4,100 units"),
            ref="a1",
            source="a",
        ),
        claim("The Ruritania Statistics Office spoke of Ostrava plants.", ref="b0", source="b"),
        claim(
            "The tally was trimmed to 4,100 units",
            q("4100", "units", "4,100 units"),
            ref="b1",
            source="b",
        ),
        claim("Plants near Ostrava had slowed, analysts said.", ref="c0", source="c"),
        claim(
            "In March, factory output was a revised 4,100 units",
            q("4100", "units", "4,100 units"),
            ref="c1",
            source="c",
        ),
    ]
    claims = [replace(c, made_on=day) for c in claims]
    assert _lines_of(claims) == [["a1:0", "b1:0", "c1:0"]]
    # Without the source in between, the two name nothing in common: two lines.
    assert len(_lines_of([c for c in claims if c.source != "b"])) == 2


def test_a_sentence_opening_with_a_demonstrative_goes_on_about_the_figure_before() -> None:
    """ "That was below the 9,800 first announced": the figure is another value of the
    subject of the figure just before, whatever its own words; its own months count."""
    claims = [
        claim(
            "In May, the mills shipped a revised 9,200 tonnes.",
            q("9200", "tonnes", "9,200 tonnes"),
            ref="a",
        ),
        claim(
            "That was below the remarkable 9,800 first announced.",
            q("9800", "tonnes", "9,800"),
            ref="b",
        ),
        claim(
            "It was well above the 8,700 in April, when the strike began.",
            q("8700", "tonnes", "8,700"),
            ref="c",
        ),
    ]
    claims = [replace(c, made_on="2031-06-06") for c in claims]
    assert _lines_of(claims) == [["a:0", "b:0"], ["c:0"]]  # April's is another month
    # Not across a claim without the figure, nor for a figure in a later clause.
    apart = [*claims[:1], claim("Mills were busy.", ref="x"), claims[1]]
    assert _lines_of(apart) == [["a:0"], ["b:0"]]


def test_a_figure_said_new_or_said_more_than_another_is_not_the_level() -> None:
    assert measured("The ministry logged six new cases", "six", "cases") == "case change"
    text = "The bill drew 61 votes, eight more than it needed"
    assert measured(text, "eight", "votes") == "vote margin"
    assert measured(text, "61 votes", "votes") == "vote"


def test_a_spaced_dash_ends_a_clause_unless_it_opens_an_aside() -> None:
    text = "Greens took 14 seats - well short of the 30 they sought."
    at = text.index("30")
    left, right = clause_around(text, at, at + 2)
    assert text[left:right] == "well short of the 30 they sought."
    at = text.index("14")
    assert text[slice(*clause_around(text, at, at + 8))] == "Greens took 14 seats"
    text = "Some 5,300 pupils – a fifth of the year – were absent in May, the council said."
    at = text.index("5,300")
    left, right = clause_around(text, at, at + 12)
    assert text[left:right] == "Some 5,300 pupils – a fifth of the year – were absent in May"
    text = "Reds won 40 seats – a record – and the Blues 12."
    at = text.index("40")
    assert text[slice(*clause_around(text, at, at + 8))] == "Reds won 40 seats"


def test_basis_points_and_percentage_points_are_two_units() -> None:
    bank = subject("The bank raised its rate by 50 basis points", "50 basis points", "basis points")
    other = subject("The bank raised its rate by 0.5 percentage points", "0.5", "percentage points")
    assert bank.unit == "basis point" and other.unit == "percentage point"
    assert not compatible(bank, other)


def test_what_a_unit_counts_is_compared_by_its_head() -> None:
    people = subject("Some 60% of the region's people have no clean water", "60%", "percent")
    land = subject("Drought hit 45% of the region's farmland this year", "45%", "percent")
    assert (people.head, land.head) == ("people", "farmland")
    assert not compatible(people, land)  # both "of the region's", not one thing
    sent = subject("It sent 300 tons of food and medicine", "300 tons", "tons")
    food = subject("It sent 250 tons of food", "250 tons", "tons")
    assert compatible(sent, food)


def test_the_whole_a_figure_is_of_the_threshold_needed_and_a_rates_change() -> None:
    text = "The Greens won 9 of the 120 seats in the chamber"
    assert measured(text, "120 seats", "seats") == "seat whole"
    assert measured(text, "9", "seats") == "seat"
    text = "Three of 40 wards reported outbreaks"
    assert measured(text, "40 wards", "wards") == "ward whole"
    assert measured("It fell short of the 61 needed for a majority", "61", "seats") == (
        "seat needed"
    )
    assert measured("Nurses required 300 beds", "300 beds", "beds") == "bed"  # a verb
    text = "The bank raised its rate by a further 0.25 percentage points"
    assert measured(text, "0.25 percentage points", "percentage points") == (
        "percentage point change"
    )
    text = "The storm was felt by 2,000 people"
    assert measured(text, "2,000 people", "people") == "people"  # by: no change of a count


def test_another_figure_adds_to_a_count_unless_its_predicate_names_a_measure() -> None:
    text = "Crews had buried 400 bodies, while another 250 were awaiting identification"
    assert measured(text, "250", "bodies") == "death change"
    assert measured(text, "400 bodies", "bodies") == "burial"
    text = "Officials said 90 people were killed and another 140 injured"
    assert measured(text, "140", "people") == "injury"


def test_additional_further_and_more_items_are_a_change() -> None:
    assert measured(
        "Nine additional deaths were confirmed", "Nine additional deaths", "deaths"
    ) == ("death change")
    assert measured("Police made 40 further arrests", "40 further arrests", "arrests") == (
        "arrest change"
    )
    assert measured("Crews found 12 more bodies", "12", "bodies") == "death change"
    assert measured("The bill drew 61 votes, eight more than needed", "eight", "votes") == (
        "vote margin"
    )


def test_a_bare_figure_after_a_toll_measures_the_toll_whatever_noun_gave_its_unit() -> None:
    text = "The death toll from the storms in Fiji stood at 61 on Monday"
    assert measured(text, "61", "storms") == "death"
    assert measured("The storms in Fiji destroyed 61 houses", "61 houses", "houses") == "house"


def test_a_figure_naming_only_an_unknown_town_may_join_a_line_of_known_places() -> None:
    # A town no gazetteer knows may lie in any of the line's places: it is not "elsewhere";
    # a known other country still is.
    text = "Floods in {} have killed {} people"
    claims = [
        claim(text.format("Peru", "210"), q("210", "people", "210 people"), ref="a"),
        claim("The death toll has reached 230", q("230", None, "230"), ref="b"),
        claim(text.format("Peru", "240"), q("240", "people", "240 people"), ref="c"),
        claim(
            "Floods that swept Quellaveco have killed 260 people",
            q("260", "people", "260 people"),
            ref="d",
        ),
        claim(text.format("Bolivia", "17"), q("17", "people", "17 people"), ref="e"),
    ]
    claims = [replace(c, made_on="2024-02-01") for c in claims]
    assert sorted([p.claim_id for p in line.points] for line in group(claims)) == [
        ["a", "b", "c", "d"],
        ["e"],
    ]


def test_a_figure_fitting_two_lines_by_time_only_joins_the_nearer_in_time() -> None:
    claims = [
        claim(
            "Floods in Peru have killed 210 people",
            q("210", "people", "210 people"),
            ref="a",
            source="peru",
            made_on="2024-01-01",
        ),
        claim(
            "An earthquake in Chile has killed 40 people",
            q("40", "people", "40 people"),
            ref="b",
            source="chile",
            made_on="2024-02-20",
        ),
        claim(
            "At least 50 people have been killed, officials said",
            q("50", "people", "At least 50 people"),
            ref="c",
            source="unnamed",
            made_on="2024-02-21",
        ),
    ]
    assert sorted([p.claim_id for p in line.points] for line in group(claims)) == [
        ["a"],
        ["b", "c"],
    ]


def test_a_figure_down_or_up_from_another_is_an_earlier_value_of_what_that_measures() -> None:
    claims = story_claims(
        [
            (
                "herald",
                datetime.date(2024, 5, 2),
                "The sheriff said that about 40 hikers remain missing, down from estimates "
                "of nearly 120 on Monday.",
            ),
            (
                "courier",
                datetime.date(2024, 5, 3),
                "The sheriff said that 35 hikers remain missing, up from 30 on Thursday.",
            ),
        ]
    )
    lines = [[p.value for p in line.points] for line in group(claims)]
    assert any({"40", "120", "35", "30"} <= set(values) for values in lines), lines
