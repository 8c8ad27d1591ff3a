"""Reporting frames of real news: who said it, what exactly, citing what, and when.

Sentences are written for these tests in the styles of several outlets (wire copy,
broadsheets, business and statistics news); none is copied from an article.
"""

from __future__ import annotations

import datetime
import time

import pytest

from ledger.extract import DeterministicExtractor, ExtractedClaim
from ledger.extract.model import Cited

PUBLISHED = datetime.date(2024, 3, 22)  # a Friday
TUESDAY = datetime.date(2024, 3, 19)


def extract(text: str, published: datetime.date | None = PUBLISHED) -> list[ExtractedClaim]:
    return DeterministicExtractor().extract(text, published=published)


def only(text: str, published: datetime.date | None = PUBLISHED) -> ExtractedClaim:
    (claim,) = extract(text, published)
    return claim


def who(claim: ExtractedClaim) -> tuple[str | None, str | None, str | None, str | None]:
    c = claim.claimant
    return (c.name, c.role, c.affiliation, c.kind)


def test_postposed_speaker_with_a_day_and_a_citing_tail() -> None:
    claim = only(
        "Pyongyang has shipped over 9,000 containers of shells to Moscow since 2022, "
        "a lawmaker said Tuesday, citing a military intelligence report."
    )
    assert claim.reporting == "reported_speech"
    assert claim.statement == (
        "Pyongyang has shipped over 9,000 containers of shells to Moscow since 2022, "
        "a lawmaker said."
    )
    assert who(claim) == (None, "lawmaker", None, "person")
    assert claim.claimant.cites == (
        Cited(name="military intelligence report", role=None, affiliation=None, kind="document"),
    )
    assert (claim.made_on, claim.made_on_precision) == (TUESDAY, "day")
    assert [q.value for q in claim.quantities] == ["9000"]


def test_told_an_outlet_in_an_interview_published_on_a_day() -> None:
    claim = only(
        "Pyongyang has shipped about 5,000 containers to Moscow, Japanese Defense Minister "
        "Kenji Sato told the Financial Times in an interview published Tuesday."
    )
    assert claim.statement == (
        "Pyongyang has shipped about 5,000 containers to Moscow, Kenji Sato said."
    )
    assert who(claim) == ("Kenji Sato", "defense minister", "Japan", "person")
    assert claim.made_on == TUESDAY


def test_organisation_after_the_statement() -> None:
    claim = only("Tehran has delivered hundreds of drones to Moscow, the White House said.")
    assert who(claim) == ("White House", None, None, "organization")
    assert claim.statement.endswith(", the White House said.")
    assert (claim.made_on, claim.made_on_precision) == (PUBLISHED, "day")


def test_inverted_postposed_speaker_with_an_appositive() -> None:
    claim = only(
        "Retail sales fell 1.2 percent in January, said Laura Chen, an analyst at Nordbank."
    )
    assert who(claim) == ("Laura Chen", "analyst", "Nordbank", "person")
    assert claim.statement == "Retail sales fell 1.2 percent in January, Laura Chen said."


def test_introductory_phrase_is_not_the_content() -> None:
    claim = only("In a statement on Tuesday, the utility said 40,000 homes lost power.")
    assert claim.statement == "The utility said 40,000 homes lost power."
    assert claim.made_on == TUESDAY


@pytest.mark.parametrize("part", ["night", "evening", "morning", "afternoon"])
def test_said_a_weekday_and_a_part_of_it_before_that(part: str) -> None:
    claim = only(
        f"Harbour master Ines Duarte said Tuesday {part} that 14 boats had sunk at anchor."
    )
    assert (claim.made_on, claim.made_on_precision) == (TUESDAY, "day")


@pytest.mark.parametrize("said", ["said", "said Tuesday", "said Tuesday evening"])
def test_postposed_attribution_then_and_a_clause_of_its_own(said: str) -> None:
    # "At least" opens the content, not an introduction ("At a briefing, X said C").
    claim = only(
        f"At least 30 cabins have burned, county officials {said}, and two trails remain shut."
    )
    assert claim.statement == "At least 30 cabins have burned, county officials said."
    assert claim.claimant.role == "county officials"
    assert [q.text for q in claim.quantities] == ["At least 30 cabins"]


def test_told_someone_that() -> None:
    claim = only(
        "The finance minister told Bloomberg News in an interview published Tuesday that "
        "the deficit would reach 4 percent."
    )
    assert claim.statement == "The finance minister said that the deficit would reach 4 percent."
    assert claim.made_on == TUESDAY


def test_postposed_told() -> None:
    claim = only("Around 80 people were arrested overnight, a police spokesman told AFP.")
    assert who(claim) == (None, "police spokesman", None, "person")
    assert claim.statement == "Around 80 people were arrested overnight, a police spokesman said."


def test_speaker_citing_a_source_in_a_parenthetical() -> None:
    claim = only(
        "Lee, citing figures from the finance ministry, said 2,300 firms had closed in 2023."
    )
    assert claim.statement == "Lee said 2,300 firms had closed in 2023."
    (cited,) = claim.claimant.cites
    assert (cited.name, cited.affiliation, cited.kind) == (
        "figures",
        "finance ministry",
        "document",
    )


def test_a_report_inside_the_content_is_cited() -> None:
    claim = only(
        "Senator Ruth Alvarez says a study by the Hale Institute found that 30 percent of "
        "bridges need repair."
    )
    assert claim.statement == "Ruth Alvarez says that 30 percent of bridges need repair."
    assert who(claim) == ("Ruth Alvarez", "senator", None, "person")
    (cited,) = claim.claimant.cites
    assert (cited.name, cited.affiliation, cited.kind) == ("study", "Hale Institute", "document")


def test_a_document_after_the_statement() -> None:
    text = (
        "The Port Authority published its annual review on Monday. "
        "Cargo volumes rose 8 percent last year, the review said."
    )
    claim = next(c for c in extract(text) if "Cargo" in c.statement)
    assert who(claim) == ("annual review", None, None, "document")


def test_according_to_a_document_with_an_affiliation() -> None:
    claim = only(
        "The plant employs 2,000 people, according to a Labor Department report "
        "released on Tuesday."
    )
    assert claim.statement == (
        "The plant employs 2,000 people, according to a Labor Department report."
    )
    assert (claim.claimant.affiliation, claim.claimant.kind) == ("Labor Department", "document")
    assert claim.made_on == TUESDAY


def test_a_reporting_verb_wins_over_an_outer_according_to() -> None:
    claim = only("According to the news agency Tass, Orlov said 14 drones were shot down.")
    assert claim.claimant.name == "Orlov"
    assert claim.statement == "Orlov said 14 drones were shot down."


def test_organisation_announces_and_estimates() -> None:
    announced, estimated = extract(
        "Nordwerk announced that it would cut 1,500 jobs. "
        "The World Health Organization estimated that 1.3 million people die each year on roads."
    )
    assert announced.claimant.name == "Nordwerk"
    assert announced.statement == "Nordwerk announced that it would cut 1,500 jobs."
    assert who(estimated) == ("World Health Organization", None, None, "organization")


def test_acronym_is_an_organisation() -> None:
    claim = only("IBGE announced that unemployment fell to 6.9 percent in the quarter.")
    assert who(claim) == ("IBGE", None, None, "organization")


def test_possessive_spokesperson_with_name() -> None:
    claim = only("The ministry's spokesperson Ana Lima said 12 ships had been inspected.")
    assert claim.claimant.name == "Ana Lima"
    assert claim.claimant.role == "spokesperson"


def test_the_military_suspects() -> None:
    claim = only("The military suspects that 200 soldiers crossed the border in January.")
    assert who(claim) == (None, "military", None, "organization")


def test_dateline_is_left_out_of_the_statement() -> None:
    claim = only("LIMA, March 4 (Reuters) - Copper output rose 6 percent, the mines ministry said.")
    assert claim.statement == "Copper output rose 6 percent, the mines ministry said."
    assert claim.made_on == PUBLISHED  # "March 4" dates the dispatch, not the statement


def test_quotation_then_attribution_with_place_and_day() -> None:
    claim = only(
        '"We counted 400 trucks at the crossing," the governor said in Kherson on Tuesday.'
    )
    assert claim.reporting == "direct_quote"
    assert claim.made_on == TUESDAY


def test_a_day_inside_the_content_is_not_when_it_was_said() -> None:
    claim = only("The agency said exports fell 3 percent on Tuesday.")
    assert (claim.made_on, claim.made_on_precision) == (PUBLISHED, "day")


def test_a_continuation_keeps_the_day_of_its_statement() -> None:
    claims = extract(
        "Two people died in the fire, the fire brigade said Tuesday, adding that 30 "
        "residents had been evacuated."
    )
    assert [c.made_on for c in claims] == [TUESDAY, TUESDAY]
    assert claims[1].statement == "The fire brigade added that 30 residents had been evacuated."


def test_a_later_plain_said_carries_the_speakers_day_forward() -> None:
    claims = extract(
        "Finance Minister Ola Berg said on Tuesday that revenue rose 4 percent. "
        "Berg said spending would fall by 2 billion crowns."
    )
    assert [c.made_on for c in claims] == [TUESDAY, TUESDAY]


def test_without_a_publication_date_nothing_is_guessed() -> None:
    claim = only("Exports rose 4 percent, the ministry said.", published=None)
    assert (claim.made_on, claim.made_on_precision) == (None, None)


@pytest.mark.parametrize(
    "text",
    [
        "Prices rose 3 percent in February, official data showed on Tuesday.",
        "Prices rose 3 percent in February, the statistics office said on Tuesday.",
        "The statistics office said on Tuesday that prices rose 3 percent in February.",
        "On Tuesday, the statistics office said prices rose 3 percent in February.",
        '"Prices rose 3 percent in February," the statistics office said on Tuesday.',
    ],
)
def test_the_day_next_to_the_verb_in_every_frame(text: str) -> None:
    claim = only(text)
    assert claim.reporting != "assertion"
    assert claim.made_on == TUESDAY
    assert "Tuesday" not in claim.statement or claim.reporting == "direct_quote"


def test_unattributed_sentence_stays_an_assertion() -> None:
    claim = only("The bridge, built in 1932, carries 60,000 vehicles a day.")
    assert claim.reporting == "assertion"
    assert claim.claimant.name is None


def test_quotation_over_two_sentences_is_credited_to_its_closing_attribution() -> None:
    text = (
        "“At least 120 houses collapsed in one valley. The road was blocked for 9 hours,” "
        "said Omar Haddad, a volunteer with the Red Crescent, on Tuesday."
    )
    claims = extract(text)
    assert [c.reporting for c in claims] == ["direct_quote", "direct_quote"]
    assert {c.claimant.name for c in claims} == {"Omar Haddad"}
    assert claims[0].statement == "Omar Haddad said: “At least 120 houses collapsed in one valley.”"
    assert [c.made_on for c in claims] == [TUESDAY, TUESDAY]


def test_quotation_over_two_sentences_after_a_colon() -> None:
    text = "Mayor Lena Roos said: “We hired 400 nurses in 2023. The city paid for 200 of them.”"
    claims = extract(text)
    assert [c.claimant.name for c in claims] == ["Lena Roos", "Lena Roos"]
    assert claims[0].statement == "Lena Roos said: “We hired 400 nurses in 2023.”"
    assert claims[1].statement == "Lena Roos said: “The city paid for 200 of them.”"


def test_saying_after_another_verb_reports_the_subject() -> None:
    claim = only(
        "Elections were held in March, but the electoral board released a statement saying "
        "turnout reached 61 percent."
    )
    assert claim.claimant.name == "electoral board"
    assert claim.statement == "The electoral board said turnout reached 61 percent."


def test_speech_in_a_subordinate_clause_is_background() -> None:
    claim = only("After the central bank announced a 50 basis point cut, the peso fell 2 percent.")
    assert claim.reporting == "assertion"


def test_speech_after_a_possessive_in_a_subordinate_clause_is_background() -> None:
    claim = only(
        "The river crested at 9 metres on Friday, its highest in decades, as the "
        "province's premier warned that more rain was coming."
    )
    assert claim.reporting == "assertion"
    assert [q.text for q in claim.quantities] == ["9 metres"]


def test_adding_a_figure_is_not_speech() -> None:
    claim = only("Employers added 210,000 jobs in May, the most in a year.")
    assert claim.reporting == "assertion"


def test_bodies_publishing_figures_are_claimants() -> None:
    text = (
        "The fire agency lowered the burned area on Monday to 48,200 acres. "
        "The weather service issued 14 flood warnings. "
        "Residents posted 300 videos of the flooding."
    )
    lowered, issued, posted = extract(text)
    assert (lowered.claimant.name, lowered.reporting) == ("fire agency", "reported_speech")
    assert issued.claimant.name == "weather service"
    assert posted.reporting == "assertion"  # people posting videos are not a source


def test_a_participle_place_is_the_affiliation_not_the_speaker() -> None:
    claim = only("A security official based in Peshawar confirmed the toll of 12 dead.")
    assert (claim.claimant.role, claim.claimant.affiliation) == ("security official", "Peshawar")


@pytest.mark.parametrize(
    "sentence",
    [
        " ".join(["Kang said"] * 3000) + ".",
        "Exports rose" + ", the minister said" * 2000 + ".",
        " ".join(['"a b c d, Kang said'] * 2000) + ".",
        "The ministry urged calm" + ", saying" * 3000 + " that 3 died.",
        " ".join(["According to Kang, the ministry,"] * 2000) + " prices rose.",
    ],
)
def test_long_sentences_stay_fast(sentence: str) -> None:
    started = time.perf_counter()
    extract(sentence)
    assert time.perf_counter() - started < 5  # about 0.3 s; quadratic rules took 3-8 s


def test_present_tense_is_a_statement_of_the_publication_day() -> None:
    text = (
        "On Monday, the health ministry notified the public of 2 measles cases. "
        "The health ministry says 40 children have not been vaccinated."
    )
    notified, says = extract(text)
    assert notified.made_on == datetime.date(2024, 3, 18)
    assert says.made_on == PUBLISHED  # "says": it still says so; no carry-forward


def test_a_bodys_act_is_dated_by_the_day_in_its_clause() -> None:
    claim = only("The fire agency lowered its estimate on Tuesday to 48,200 acres.")
    assert claim.made_on == TUESDAY


def test_the_outlet_told_is_not_the_speaker() -> None:
    claim = only(
        '"The fossil is about half the size of a farm chicken," Ana Ruiz, a researcher at '
        "the Lima Natural History Museum, told Newsweek."
    )
    assert claim.claimant.name == "Ana Ruiz"
    assert claim.claimant.affiliation == "Lima Natural History Museum"


def test_a_statement_reads() -> None:
    claims = extract(
        'The ministry issued a statement on Tuesday. "Admissions stand at 15 patients," '
        "the statement reads."
    )
    assert claims[-1].claimant.kind == "document"
    assert claims[-1].reporting == "direct_quote"


def test_a_second_speaker_in_the_same_sentence() -> None:
    first, second = extract(
        "The survey said the quake struck 11 miles below the surface, while the national "
        "seismic agency put it at 5 miles."
    )
    assert first.statement == "The survey said the quake struck 11 miles below the surface."
    assert (second.claimant.name, second.statement) == (
        "national seismic agency",
        "The national seismic agency put it at 5 miles.",
    )


def test_a_second_speaker_after_a_postposed_one_keeps_its_own_date() -> None:
    first, second = extract(
        "Exports rose 5 percent, the ministry said on Tuesday, while the central bank said "
        "imports fell 2 percent."
    )
    assert (first.claimant.name, first.made_on) == ("ministry", TUESDAY)
    assert (second.claimant.name, second.made_on) == ("central bank", PUBLISHED)


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        ("Finance Minister Ana Ruiz termed the 4 percent growth a recovery.", "Ana Ruiz"),
        (
            "Senator Pablo Alvarez called the $3 billion deal a giveaway on Tuesday.",
            "Pablo Alvarez",
        ),
        ("Mayor Joan Baptiste has described the 2,000 evictions as a crisis.", "Joan Baptiste"),
        (
            "The Consumer Council branded the 12 percent fare rise a tax on commuters.",
            "Consumer Council",
        ),
        ("Governor Ines Marlow dubbed the $40 million surplus a windfall.", "Ines Marlow"),
    ],
)
def test_verbs_that_characterise_their_object_report_speech(text: str, speaker: str) -> None:
    claim = only(text)
    assert claim.reporting == "reported_speech"
    assert claim.claimant.name == speaker


@pytest.mark.parametrize(
    "text",
    [
        "The senator called for a vote on the 2 percent tax.",
        "Israel began pounding the city with what it called heavy strikes, killing 200 people.",
        "The 12 percent rise was described as a tax on commuters by 300 riders.",
        "A charity called Tidewater Aid raised $4 million in 2023.",
        "The governor called a meeting of 40 mayors on Monday.",
    ],
)
def test_calls_and_descriptions_without_a_judgement_are_not_speech(text: str) -> None:
    claim = only(text)
    assert claim.reporting == "assertion"


@pytest.mark.parametrize(
    ("text", "role", "day"),
    [
        ("Officials put the death toll at 312 on Tuesday.", "officials", TUESDAY),
        ("Rescuers put the number of missing at 40.", "rescuers", PUBLISHED),
        ("Police put the crowd at 12,000 on Tuesday.", "police", TUESDAY),
    ],
)
def test_putting_a_figure_at_is_an_estimate_whoever_makes_it(
    text: str, role: str, day: datetime.date
) -> None:
    claim = only(text)
    assert claim.reporting == "reported_speech"
    assert claim.claimant.role == role
    assert claim.made_on == day


def test_issuing_a_warning_that_reports_its_content() -> None:
    claim = only("The weather service issued a warning that 10 inches of rain could fall.")
    assert claim.claimant.name == "weather service"
    assert "10 inches" in claim.statement


@pytest.mark.parametrize(
    ("text", "name", "affiliation"),
    [
        (
            "An exit poll carried out by research firm Datavox, and paid for by the BBC, "
            "ITV and Sky News says the Greens will win 40 seats.",
            "exit poll",
            None,
        ),
        (
            "A study funded by the Wellcome Trust and published in The Lancet found that "
            "12 percent of adults slept under 5 hours.",
            "study",
            None,
        ),
        (
            "A report submitted to parliament on Monday said 200 schools had closed.",
            "report",
            None,
        ),
    ],
)
def test_a_document_followed_by_participle_phrases_is_the_speaker(
    text: str, name: str, affiliation: str | None
) -> None:
    claim = only(text)
    assert (claim.claimant.name, claim.claimant.affiliation) == (name, affiliation)
    assert claim.claimant.kind == "document"


def test_a_relative_clause_does_not_hand_the_statement_to_a_document() -> None:
    claim = only(
        "The audit, which covered 40 schools in Leeds, was published in May, and "
        "Mayor Ruth Okafor said 12 of them would close."
    )
    assert claim.claimant.name == "Ruth Okafor"
