"""Who said it: mentions (names, roles, affiliations), resolution across the article, reporting."""

from __future__ import annotations

import datetime

import pytest

from ledger.extract import DeterministicExtractor, ExtractedClaim
from ledger.extract.claimants import UNATTRIBUTED, ClaimantIndex
from ledger.extract.mentions import Mention, find_mentions
from ledger.extract.model import Claimant
from ledger.extract.segment import segment
from ledger.extract.speech import find_speech

PUBLISHED = datetime.date(2024, 3, 20)


def mentions(text: str) -> list[tuple[str, str | None, str | None, str | None]]:
    return [
        (text[m.start : m.end], m.name, m.role, m.affiliation)
        for m in find_mentions(text, 0, len(text))
    ]


def extract(text: str) -> list[ExtractedClaim]:
    return DeterministicExtractor().extract(text, published=PUBLISHED)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "South Korea's defense minister announced it.",
            ("South Korea's defense minister", None, "defense minister", "South Korea"),
        ),
        (
            "Defense Minister Shin Won-shik spoke.",
            ("Defense Minister Shin Won-shik", "Shin Won-shik", "defense minister", None),
        ),
        (
            "Shin Won-shik, South Korea's defense minister, spoke.",
            (
                "Shin Won-shik, South Korea's defense minister",
                "Shin Won-shik",
                "defense minister",
                "South Korea",
            ),
        ),
        (
            "John Kirby, a spokesman for the National Security Council, spoke.",
            (
                "John Kirby, a spokesman for the National Security Council",
                "John Kirby",
                "spokesman",
                "National Security Council",
            ),
        ),
        (
            "Russia's foreign ministry spokeswoman Maria Zakharova spoke.",
            (
                "Russia's foreign ministry spokeswoman Maria Zakharova",
                "Maria Zakharova",
                "foreign ministry spokeswoman",
                "Russia",
            ),
        ),
        (
            "Sen. Elizabeth Warren spoke.",
            ("Sen. Elizabeth Warren", "Elizabeth Warren", "senator", None),
        ),
        ("Mr. Smith spoke.", ("Mr. Smith", "Smith", None, None)),
        ("Senior officials spoke.", ("Senior officials", None, "senior officials", None)),
    ],
)
def test_mention_patterns(
    text: str, expected: tuple[str, str | None, str | None, str | None]
) -> None:
    assert mentions(text)[0] == expected


def test_verbs_do_not_make_roles() -> None:
    roles = [m[2] for m in mentions("Reyes, who took office in 2021, left.")]
    assert "took office" not in roles


def test_role_only_mention_takes_the_name_given_later() -> None:
    text = (
        "South Korea's defense minister said on Monday that 7,000 containers were sent. "
        "Shin Won-shik spoke at a press conference. Defense Minister Shin Won-shik left."
    )
    found = find_mentions(text, 0, len(text))
    index = ClaimantIndex(found)
    expected = Claimant(
        name="Shin Won-shik", role="defense minister", affiliation="South Korea", kind="person"
    )
    assert {index.claimant(m) for m in found if m.name or m.role} == {expected}


def test_surname_role_and_pronoun_resolve_to_the_same_person() -> None:
    text = (
        "Defense Minister Shin Won-shik said 7,000 containers of weapons were shipped in March. "
        "Shin said the shipments included 3 million shells. "
        "The minister said 2 ships were seen on Monday. "
        "He said 40 percent of the shells were faulty."
    )
    claims = extract(text)
    assert len(claims) == 4
    assert {c.claimant.name for c in claims} == {"Shin Won-shik"}
    assert claims[3].statement == "Shin Won-shik said 40 percent of the shells were faulty."


def test_unattributed_when_nobody_is_named() -> None:
    (claim,) = extract("North Korea shipped 7,000 containers of weapons to Russia in 2023.")
    assert claim.claimant == UNATTRIBUTED
    assert claim.reporting == "assertion"
    assert claim.made_on == PUBLISHED


def test_unresolved_pronoun_is_unattributed() -> None:
    (claim,) = extract("He said 7,000 containers of weapons were shipped to Russia in March.")
    assert claim.claimant == UNATTRIBUTED
    assert claim.reporting == "reported_speech"


def test_direct_quote() -> None:
    text = '"We sent 300 soldiers to the border last year," said Maria Lopez, a resident of Tumen.'
    (claim,) = extract(text)
    assert claim.reporting == "direct_quote"
    assert claim.claimant == Claimant(
        name="Maria Lopez", role="resident", affiliation="Tumen", kind="person"
    )
    assert claim.statement == "Maria Lopez said: “We sent 300 soldiers to the border last year.”"


def test_reported_speech_frames() -> None:
    text = (
        "Exports rose 12.5% in February to $52.4 billion, the trade ministry said on Tuesday. "
        "According to the Bank of Korea, inflation slowed to 2.8 percent in March. "
        "Officials said more than 12,000 homes were damaged."
    )
    claims = extract(text)
    assert [(c.reporting, c.statement) for c in claims] == [
        (
            "reported_speech",
            "Exports rose 12.5% in February to $52.4 billion, the trade ministry said.",
        ),
        (
            "reported_speech",
            "According to the Bank of Korea, inflation slowed to 2.8 percent in March.",
        ),
        ("reported_speech", "Officials said more than 12,000 homes were damaged."),
    ]
    assert claims[0].claimant == Claimant(
        name="trade ministry", role=None, affiliation=None, kind="organization"
    )
    assert claims[0].made_on == datetime.date(2024, 3, 19)
    assert claims[1].claimant.name == "Bank of Korea"


def test_continuation_gerund_is_a_claim_of_its_own() -> None:
    text = (
        "Shin Won-shik, during a press conference, said 7,000 containers were shipped, "
        "while affirming Seoul's stance against providing lethal weaponry to Ukraine."
    )
    (sentence,) = segment(text)
    found = find_speech(text, sentence.start, sentence.end, find_mentions(text, 0, len(text)))
    assert [(s.verb, text[s.content_start : s.content_end]) for s in found] == [
        ("said", "7,000 containers were shipped"),
        ("affirmed", "Seoul's stance against providing lethal weaponry to Ukraine"),
    ]
    assert text[found[1].clause_start : found[1].clause_end] == (
        "affirming Seoul's stance against providing lethal weaponry to Ukraine"
    )


def test_writer_gloss_is_cut_from_the_content() -> None:
    text = "The minister announced that 7,000 containers were sent, signaling a deepening alliance."
    (claim,) = extract(text)
    assert claim.statement == "The minister announced that 7,000 containers were sent."
    assert claim.selector.exact == text


def test_present_tense_analysis_is_not_speech() -> None:
    text = "This move underscores the ties between Pyongyang and Moscow."
    (sentence,) = segment(text)
    mentioned: list[Mention] = find_mentions(text, 0, len(text))
    assert find_speech(text, sentence.start, sentence.end, mentioned) == []


def test_quotation_then_adding_that() -> None:
    text = (
        '"Prices rose by 4.1 percent last year," the central bank governor said, '
        "adding that rates would stay at 3.5%."
    )
    quote, added = extract(text)
    assert (quote.reporting, added.reporting) == ("direct_quote", "reported_speech")
    assert added.statement == "The central bank governor added that rates would stay at 3.5%."
    assert added.selector.exact == "adding that rates would stay at 3.5%"
    assert quote.selector.exact.endswith("the central bank governor said")


def test_told_reporters_becomes_said() -> None:
    text = "Governor Tom Reyes told reporters on Monday the state would release $20 million."
    (claim,) = extract(text)
    assert claim.statement == "Tom Reyes said the state would release $20 million."
    assert claim.made_on == datetime.date(2024, 3, 18)
    assert claim.claimant == Claimant(
        name="Tom Reyes", role="governor", affiliation=None, kind="person"
    )


def test_acronym_in_parentheses_resolves_to_the_full_name() -> None:
    text = (
        "The Office of Budget Analysis (OBA) published its forecast on Monday. "
        "OBA said the deficit would reach 3 percent of output."
    )
    claim = next(c for c in extract(text) if "deficit" in c.statement)
    assert claim.claimant.name == "Office of Budget Analysis"
    assert claim.claimant.kind == "organization"


def test_acronym_by_initials_and_a_shorter_form_resolve_to_the_fullest_name() -> None:
    text = (
        "The U.S. Forest Service closed 12 trails on Monday. "
        "The USFS said 4,000 acres had burned. "
        "The Forest Service said 300 firefighters were deployed."
    )
    claims = [c for c in extract(text) if c.reporting != "assertion"]
    assert [c.claimant.name for c in claims] == ["U.S. Forest Service"] * 2


def test_the_agency_is_the_last_body_named() -> None:
    text = (
        "The National Weather Service issued 14 flood warnings on Monday. "
        "The agency said 6 inches of rain could fall overnight."
    )
    claim = next(c for c in extract(text) if "inches" in c.statement)
    assert claim.claimant.name == "National Weather Service"


def test_he_never_resolves_to_a_country() -> None:
    text = (
        "Saudi Arabia said it would cut output by 1 million barrels a day. "
        "He said the cut would last until June 2025."
    )
    first, second = extract(text)
    assert (first.claimant.name, first.claimant.kind) == ("Saudi Arabia", "organization")
    assert second.claimant == UNATTRIBUTED


def test_they_resolves_to_the_last_group_of_people() -> None:
    text = (
        "Government officials in Chile announced on Monday that 131 people had died. "
        "They said 1,600 homes were destroyed."
    )
    first, second = extract(text)
    assert (first.claimant.role, first.claimant.affiliation) == ("government officials", "Chile")
    assert second.claimant.role == "government officials"
    assert second.made_on == datetime.date(2024, 3, 18)


def test_unnamed_body_is_named_by_its_function() -> None:
    claim = extract(
        "Strikes killed 40 people overnight, the health ministry in the besieged Gaza Strip said."
    )[0]
    assert claim.claimant == Claimant(
        name="health ministry", role=None, affiliation="Gaza Strip", kind="organization"
    )


def test_the_official_is_the_senior_official_mentioned_before() -> None:
    text = (
        "A senior police official said 12 militants were killed in the raid. "
        '"Two missiles struck the compound," the official said.'
    )
    claims = extract(text)
    assert [c.claimant.role for c in claims] == ["senior police official"] * 2


def test_country_and_demonym_titles_give_the_affiliation() -> None:
    assert mentions("South Korean Defence Minister Shin Won-sik spoke.")[0] == (
        "South Korean Defence Minister Shin Won-sik",
        "Shin Won-sik",
        "defence minister",
        "South Korea",
    )
    assert mentions("Pentagon spokesman Pat Ryder spoke.")[0][1:] == (
        "Pat Ryder",
        "spokesman",
        "Pentagon",
    )


def test_hyphenated_titles_and_a_titled_name_after_a_role() -> None:
    text = (
        "Five soldiers were killed on Thursday, said military spokesman "
        "Major-General Amir Rahim. Rahim said 4 more were wounded."
    )
    first, second = extract(text)
    assert (first.claimant.name, first.claimant.role) == ("Amir Rahim", "military spokesman")
    assert second.claimant.name == "Amir Rahim"


def test_a_capitalised_role_word_before_a_name_is_part_of_the_name() -> None:
    (claim,) = extract("Turnout stood at 87.04 percent, according to Official Gazette.")
    assert (claim.claimant.name, claim.claimant.role) == ("Official Gazette", None)


@pytest.mark.parametrize(
    ("text", "wanted", "expected"),
    [
        (
            "The Defense Intelligence Agency estimated that the trade was worth $5 billion. "
            "The agency said the figure was preliminary. "
            "Brazil's statistics agency IBGE announced that unemployment fell to 7.8 percent.",
            "preliminary",
            "Defense Intelligence Agency",
        ),
        (
            "The Food Standards Agency recalled 12,000 jars on Monday. "
            "The agency said 40 people had fallen ill. "
            "Later, the environment agency Natur said 3 rivers were polluted.",
            "fallen ill",
            "Food Standards Agency",
        ),
        (
            "Officials at the Port Authority of Jamaica counted 900 ships in May. "
            "The authority said traffic rose 4 percent. "
            "The housing authority HAJ said rents rose 9 percent.",
            "traffic rose",
            "Port Authority of Jamaica",
        ),
        (
            "Brazil's statistics agency IBGE said unemployment fell to 7.8 percent. "
            "The Defense Intelligence Agency estimated that the trade was worth $5 billion. "
            "The agency said the figure was preliminary.",
            "preliminary",
            "Defense Intelligence Agency",
        ),
    ],
)
def test_the_agency_looks_back_before_it_looks_forward(
    text: str, wanted: str, expected: str
) -> None:
    claim = next(c for c in extract(text) if wanted in c.statement)
    assert claim.claimant.name == expected


def test_the_agency_falls_forward_only_when_nothing_earlier_fits() -> None:
    text = (
        "The agency said 2,000 homes lost power on Sunday. "
        "Officials at the state energy agency Enerco said crews were working."
    )
    claim = next(c for c in extract(text) if "homes" in c.statement)
    assert claim.claimant.name == "Enerco"


def test_the_minister_and_the_report_look_back_first() -> None:
    text = (
        "Finance Minister Ana Ruiz said on Monday that the deficit fell to 3 percent. "
        "A central bank report found that inflation slowed to 2 percent. "
        "The minister said tax receipts rose 6 percent. "
        "The report said wages rose 4 percent. "
        "Trade Minister Leo Park said exports rose 8 percent. "
        "A ministry survey found that 30 firms closed."
    )
    claims = extract(text)
    receipts = next(c for c in claims if "receipts" in c.statement)
    assert receipts.claimant.name == "Ana Ruiz"
    wages = next(c for c in claims if "wages" in c.statement)
    assert wages.claimant.name == "central bank report"


@pytest.mark.parametrize(
    ("text", "wanted", "name", "role"),
    [
        (
            "An air raid killed at least 10 civilians on Tuesday, a Britain-based monitor, "
            "the Syrian Observatory for Human Rights, said.",
            "civilians",
            "Syrian Observatory for Human Rights",
            "monitor",
        ),
        (
            "A Geneva-based watchdog said 40 journalists were jailed in 2023. "
            "The watchdog, Press Freedom Now, said 9 of them were women.",
            "40 journalists",
            "Press Freedom Now",
            "watchdog",
        ),
        (
            "A London-based think tank said sanctions cut exports by 30 percent. "
            "The Halden Institute, a London-based think tank, has tracked trade since 2014.",
            "exports",
            "Halden Institute",
            "think tank",
        ),
        (
            "The rights group estimated that 5,000 people fled. "
            "Amnesty International, the rights group, has 70 offices.",
            "5,000",
            "Amnesty International",
            "rights group",
        ),
        (
            "According to a spokesman, Tom Reyes, 300 flights were cancelled on Monday.",
            "flights",
            "Tom Reyes",
            "spokesman",
        ),
    ],
)
def test_a_description_takes_the_name_given_with_it_or_later(
    text: str, wanted: str, name: str, role: str
) -> None:
    claim = next(c for c in extract(text) if wanted in c.statement)
    assert (claim.claimant.name, claim.claimant.role) == (name, role)


def test_a_function_noun_used_as_a_name_refers_to_the_body_described_before() -> None:
    text = (
        "An air raid killed at least 10 civilians on Tuesday, a Britain-based monitor said. "
        "The coalition's press office said it had no records of strikes there. "
        "According to the Observatory, another 11 civilians were killed last week."
    )
    claims = extract(text)
    first = next(c for c in claims if "10 civilians" in c.statement)
    assert (first.claimant.name, first.claimant.role) == ("Observatory", "monitor")
    office = next(c for c in claims if "records" in c.statement)
    assert office.claimant.name == "press office"


@pytest.mark.parametrize(
    ("text", "wanted", "expected"),
    [
        (
            "The ambulance service counted 80 calls. "
            "At least 2,300 have been killed, according to the ambulance authority in Derna.",
            "2,300",
            ("ambulance authority", "Derna"),
        ),
        (
            "The Tidewater Company posted record sales. "
            "The consumer agency said 40 complaints were filed.",
            "complaints",
            ("consumer agency", None),
        ),
    ],
)
def test_a_described_body_is_not_any_body_named_before(
    text: str, wanted: str, expected: tuple[str, str | None]
) -> None:
    claim = next(c for c in extract(text) if wanted in c.statement)
    assert (claim.claimant.name, claim.claimant.affiliation) == expected


def test_a_clipped_name_is_the_body_named_in_full_before() -> None:
    text = (
        "The US Federal Reserve raised its key rate by 0.25 percentage points. "
        "The rate is now between 4.5 and 4.75 percent, the Fed announced on Wednesday."
    )
    claim = next(c for c in extract(text) if "4.75" in c.statement)
    assert claim.claimant.name == "US Federal Reserve"


def test_the_company_is_the_body_last_called_a_company() -> None:
    text = (
        "Jeff Lin's Orbitek company confirmed 3 launches in May. "
        "The European Space Agency said 2 probes were launched on Sunday. "
        "The Texas-based company said 12 satellites were deployed."
    )
    claim = next(c for c in extract(text) if "satellites" in c.statement)
    assert claim.claimant.name == "Orbitek"
