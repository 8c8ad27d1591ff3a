"""Subjects kept apart from their verbs: an appositive then an auxiliary, a parenthetical
then an adverb, an acronym in parentheses after the subject's head."""

from __future__ import annotations

import datetime

from ledger.extract import DeterministicExtractor, ExtractedClaim

PUBLISHED = datetime.date(2024, 3, 20)


def only(text: str) -> ExtractedClaim:
    claims = DeterministicExtractor().extract(text, published=PUBLISHED)
    assert len(claims) == 1
    return claims[0]


def test_appositive_then_auxiliary_before_the_verb() -> None:
    claim = only("Rosa Pell, the mayor of Dunmore, has confirmed that 14 houses burned down.")
    assert claim.claimant.name == "Rosa Pell"
    assert claim.reporting == "reported_speech"


def test_parenthetical_then_adverb_before_the_verb() -> None:
    claim = only(
        "Novatek, part of the state's Clean Grid program, also said the plant cut "
        "emissions by 30 percent."
    )
    assert claim.claimant.name == "Novatek"


def test_acronym_in_parentheses_is_not_the_subject() -> None:
    text = (
        "Figures from the Bureau of Fisheries (BOF) showed that catches fell 12 percent.\n\n"
        "Last year the BOF said 4,000 boats were registered."
    )
    claims = DeterministicExtractor().extract(text, published=PUBLISHED)
    assert claims[0].claimant.name == "figures"
    assert claims[0].claimant.affiliation == "Bureau of Fisheries"
    assert claims[1].claimant.name == "Bureau of Fisheries"


def test_role_and_name_then_an_appositive_is_one_speaker() -> None:
    claim = only(
        "“About 30 percent of the reef is already bleached,” senior researcher Ines Marr, a marine "
        "scientist at the Coral Research Institute (CRI) in Port Elda, Fiji, told reporters."
    )
    assert claim.claimant.name == "Ines Marr"
    assert claim.reporting == "direct_quote"


def test_ambiguous_form_inverted_at_the_end_of_the_sentence() -> None:
    claim = only("Floods cut power to 20,000 homes in the valley, reports the Daily Courier.")
    assert claim.claimant.name == "Daily Courier"
    assert claim.reporting == "reported_speech"


def test_estimates_put_a_figure() -> None:
    claim = only("Independent estimates put the number of displaced people at 40,000.")
    assert claim.claimant.name == "independent estimates"


def test_body_in_a_place_named_by_an_adjective_and_a_noun() -> None:
    claim = only(
        "Storms destroyed 300 homes overnight, the interior ministry in the flooded "
        "Ruritanian province said on Monday."
    )
    assert claim.claimant.name == "interior ministry"


def test_reporting_verb_in_a_relative_clause_is_not_the_statement() -> None:
    claim = only(
        "More buses, which the mayor has promised to buy, would cut waiting times by "
        "half, transport experts said."
    )
    assert claim.claimant.role == "transport experts"


def test_unknown_modifier_before_a_speaking_role() -> None:
    claim = only("Fares will rise by 10 percent next year, transport experts said.")
    assert claim.claimant.role == "transport experts"


def test_a_finding_reported_by_a_closing_attribution_is_the_speakers() -> None:
    claim = only("The trial's results showed a 60 percent drop in infections, the ministry said.")
    assert claim.claimant.name == "ministry"


def test_company_abbreviation_before_the_verb() -> None:
    claim = only("Veltro Inc. says its new battery lasts 40 percent longer.")
    assert claim.claimant.name == "Veltro Inc"


def test_the_company_is_not_a_code_nor_a_studys_label() -> None:
    text = (
        "Veltro Corp announced on Monday that its vaccine trial had enrolled 2,000 people.\n\n"
        "Of them, 40 caught RSV-2 in the ALPHA study.\n\n"
        "The trial showed the shot was 80 percent effective, the company said."
    )
    claims = DeterministicExtractor().extract(text, published=PUBLISHED)
    assert claims[-1].claimant.name == "Veltro Corp"


def test_dated_document_after_according_to() -> None:
    claim = only("Rainfall fell 30 percent short in March, according to a Feb. 4 study by NOAA.")
    assert claim.claimant.name == "study"
    assert claim.claimant.affiliation == "NOAA"


def test_a_dateline_agency_is_not_what_it_refers_to() -> None:
    text = (
        "Exports rose 8 percent in May, the Trade Ministry says.\n\n"
        "XNA- Imports fell 3 percent to $2 billion over the same month, it said."
    )
    claims = DeterministicExtractor().extract(text, published=PUBLISHED)
    assert claims[-1].claimant.name == "Trade Ministry"
