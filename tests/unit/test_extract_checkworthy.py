"""Check-worthiness: facts with figures and attribution rank high; headings, questions,
opinion, speculation and forecasts rank low; the learned weights load from the package and
name the data they were trained on."""

from __future__ import annotations

import json

import pytest

from ledger.errors import FormatError
from ledger.extract import THRESHOLD, score_sentence, score_sentences
from ledger.extract.checkworthy import packaged_model
from ledger.extract.cues import cues
from ledger.extract.linear import model_from_json, packaged_weights_bytes
from tests.unit.extract_seed import load_seed

HIGH = [
    "The ministry said on Tuesday that exports rose 12.5% in February to $52.4 billion.",
    "North Korea has sent about 7,000 containers of weapons to Russia, the minister announced.",
    "According to the Bank of Korea, inflation slowed to 2.8 percent in March.",
    "Officials said more than 12,000 homes were damaged.",
]
LOW = [
    "Analysts suggest that this development could have far-reaching implications for stability.",
    "The situation calls for a nuanced diplomatic strategy, balancing condemnation with dialogue.",
    "Will the trend last?",
    "The path ahead remains fraught with challenges.",
    "Thank you.",
]


@pytest.mark.parametrize("sentence", HIGH)
def test_checkable_facts_rank_high(sentence: str) -> None:
    assert score_sentence(sentence) >= THRESHOLD


@pytest.mark.parametrize("sentence", LOW)
def test_opinion_questions_and_forecasts_rank_low(sentence: str) -> None:
    assert score_sentence(sentence) < THRESHOLD


def test_every_fact_outranks_every_forecast() -> None:
    assert min(map(score_sentence, HIGH)) > max(map(score_sentence, LOW))


def test_headings_rank_low() -> None:
    text = "North Korea Sends Weapons\n\nThe minister said 7,000 containers were sent."
    heading, sentence = score_sentences(text)
    assert heading.score < THRESHOLD <= sentence.score
    assert score_sentence("North Korea Sends Weapons", heading=True) < score_sentence(
        "North Korea Sends Weapons"
    )


def test_scores_are_per_mille_integers() -> None:
    for scored in score_sentences("A. " * 20 + "The 3 ships left on Monday, he said."):
        assert isinstance(scored.score, int)
        assert 0 <= scored.score <= 1000


def test_score_sentences_covers_the_seed_with_exact_offsets() -> None:
    text, _ = load_seed()
    scored = score_sentences(text)
    assert len(scored) == 18
    assert all(text[s.start : s.end] == s.text for s in scored)


def test_the_seeds_factual_claims_pass_the_threshold() -> None:
    text, _ = load_seed()
    scored = score_sentences(text)
    claims = [s for s in scored if "7,000 containers" in s.text or "lethal weaponry" in s.text]
    assert len(claims) == 2
    assert all(s.score >= THRESHOLD for s in claims)
    assert max(scored, key=lambda s: s.score) == claims[0]


def test_the_seeds_analysis_sentences_stay_below_the_threshold() -> None:
    text, _ = load_seed()
    analysis = [
        s
        for s in score_sentences(text)
        if "far-reaching implications" in s.text
        or "nuanced" in s.text
        or "not only underscores" in s.text
        or "delicate balancing act" in s.text
    ]
    assert len(analysis) == 4
    assert all(s.score < THRESHOLD for s in analysis)


@pytest.mark.parametrize(
    ("plain", "changed"),
    [
        ("Exports rose last year.", "Exports rose 12% last year."),
        ("Exports rose 12% last year?", "Exports rose 12% last year."),
        ("Exports could rise 12% next year.", "Exports rose 12% last year."),
        ("I think we should do better.", "Exports rose 12% last year, the ministry said."),
    ],
)
def test_learned_weights_point_the_expected_way(plain: str, changed: str) -> None:
    # A figure raises the score; a question mark, a modal or first-person opinion lowers it.
    assert score_sentence(plain) < score_sentence(changed)


def test_cues_are_closed_classes_not_opinion_lexicons() -> None:
    assert cues("They could and should act.") == {"modal": 2}
    assert "opinion" not in cues("A striking, pivotal and significant move.")
    assert cues("Will it rain?")["question"] == 1


def test_packaged_weights_are_small_and_valid() -> None:
    data = packaged_weights_bytes()
    assert len(data) < 200_000
    document = json.loads(data)
    assert document["format"] == "claims-ledger/hashed-logistic/2"
    assert packaged_model().weights


def test_packaged_weights_name_their_training_data() -> None:
    sources = packaged_model().trained_on
    assert [source.name for source in sources] == [
        "CheckThat! 2019 task 1 training",
        "ClaimBuster groundtruth kfold_25ncs",
        "news dev set",
    ]
    assert [source.sentences for source in sources][:2] == [16_421, 9_674]
    assert "10.5281/zenodo.3609356" in sources[1].origin
    assert "benchmarks/data/news" in sources[2].origin
    assert packaged_model().news is not None
    assert all(len(source.sha256) == 64 for source in sources)


def test_malformed_weights_are_a_format_error() -> None:
    with pytest.raises(FormatError):
        model_from_json(b'{"format": "something else"}')
    with pytest.raises(FormatError):
        model_from_json(b"not json")
