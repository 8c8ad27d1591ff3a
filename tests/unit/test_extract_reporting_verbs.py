"""Reporting verbs beyond the hand-listed ones: Levin's (1993) verbs of communication, with
their inflections taken from Brill's lexicon. Sentences written for these tests."""

from __future__ import annotations

import datetime

from ledger.extract import DeterministicExtractor, ExtractedClaim
from ledger.extract.cues import AMBIGUOUS_FORMS, REPORTING_FORMS, REPORTING_VERBS

PUBLISHED = datetime.date(2024, 3, 22)


def only(text: str) -> ExtractedClaim:
    (claim,) = DeterministicExtractor().extract(text, published=PUBLISHED)
    return claim


def test_inflections_come_from_the_lexicon() -> None:
    assert REPORTING_VERBS["assure"][0] == "assured"  # the simple past first
    assert {"assures", "assuring", "assure"} <= set(REPORTING_VERBS["assure"])
    assert "notified" in REPORTING_VERBS["notify"]  # y -> ied
    assert "bragged" in REPORTING_VERBS["brag"]  # a doubled consonant
    assert REPORTING_FORMS["reiterating"] == ("reiterate", True)
    assert "reveal" in REPORTING_FORMS  # the bare form, read as a verb first


def test_forms_read_first_as_nouns_are_ambiguous_or_left_out() -> None:
    assert "remarks" in AMBIGUOUS_FORMS and "cautions" not in AMBIGUOUS_FORMS  # NNS, VBZ
    assert "remark" not in REPORTING_FORMS and "claim" not in REPORTING_FORMS
    assert "reveal" in AMBIGUOUS_FORMS  # a bare form may follow "to"


def test_irregular_and_deliberately_short_entries_stay_as_listed() -> None:
    assert REPORTING_VERBS["say"] == ("said", "says", "say", "saying")
    assert "expected" not in REPORTING_FORMS  # "is expected to" is no report


def test_an_advise_verb_closes_a_quotation() -> None:
    claim = only(
        "“All 4,000 ballots from the northern district were counted twice,” "
        "the returning officer assured."
    )
    assert claim.reporting == "direct_quote"
    assert claim.claimant.role == "returning officer"


def test_a_warning_verb_takes_a_that_clause() -> None:
    claim = only("The mayor cautioned that the river would crest at 9 metres on Friday.")
    assert claim.reporting == "reported_speech"
    assert claim.claimant.role == "mayor"


def test_a_bare_present_form_reports() -> None:
    claim = only("Officials reveal that 40 homes were lost in the fire.")
    assert claim.claimant.role == "officials"


def test_a_document_suggests_in_the_bare_plural() -> None:
    claim = only("Home sales fell 12 percent in the first quarter, preliminary figures suggest.")
    assert claim.claimant.name == "preliminary figures"
    assert claim.reporting == "reported_speech"


def test_with_a_subject_and_a_reporting_gerund_before_a_clause() -> None:
    claim = only("Aid flights resumed on Monday, with Norway announcing it would send 12 planes.")
    assert claim.claimant.name == "Norway"
    assert claim.reporting == "reported_speech"
    plain = only("Aid flights resumed on Monday, with Norway announcing 12 new planes.")
    assert plain.claimant.name is None  # an object, not a clause: the writer's account


def test_a_documents_participle_phrase_may_give_its_day_and_owner() -> None:
    claim = only(
        "Turnout reached 71 percent, preliminary results released Monday by the region's "
        "election board showed."
    )
    assert claim.claimant.name == "preliminary results"
    assert claim.made_on == datetime.date(2024, 3, 18)


def test_a_subjects_prepositional_phrase_may_run_on_to_the_verb() -> None:
    claim = only(
        "Flooding has cut 14 roads, officials in the coastal province and nearby "
        "districts said Monday."
    )
    assert claim.claimant.role == "officials"
    assert claim.made_on == datetime.date(2024, 3, 18)
    verb_between = only("The numbers from the ministry crushed estimates of 40,000 jobs.")
    assert verb_between.claimant.role is None  # "crushed" is a verb: no phrase


def test_a_belief_is_attributed_but_its_passive_is_no_report() -> None:
    claim = only("Geologists believe that the lake formed 12,000 years ago.")
    assert claim.claimant.role == "geologists"
    claims = DeterministicExtractor().extract(
        "Police said 3 men were arrested on Monday. The gang is believed to have stolen 40 cars.",
        published=PUBLISHED,
    )
    assert claims[1].claimant.role is None  # a common belief, not the police's report


def test_according_to_a_document_described_in_lower_case() -> None:
    claim = only("Rents rose 6 percent last year, according to municipal housing figures.")
    assert claim.claimant.name == "municipal housing figures"
    assert claim.reporting == "reported_speech"
