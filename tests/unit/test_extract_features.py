"""Hashed sentence features: what they name, how they fold case and figures, their range."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.extract.features import (
    HASH_BITS,
    SUBJECTIVE,
    feature_names,
    featurize,
    news_features,
    part_of_speech,
    subjectivity,
)


def test_names_cover_words_pairs_cues_and_length() -> None:
    names = feature_names("Exports rose 12% in 2023?")
    for name in ("u:exports", "b:<s> exports", "b:<year> ?", "u:<num>", "c:percent"):
        assert name in names
    assert "c:question" in names and "c:year" in names
    assert "len:5-9" in names


def test_figures_and_case_fold_so_they_generalize() -> None:
    assert featurize("Exports ROSE 12% in 2023.") == featurize("exports rose 7.5% in 1999.")
    assert featurize("Exports rose 12% in 2023.") != featurize("Exports rose in 2023.")


def test_modal_verbs_are_a_cue_and_opinion_words_are_not() -> None:
    assert "c:modal" in feature_names("Prices could fall.")
    cue_names = [n for n in feature_names("A pivotal, striking move.") if n.startswith("c:")]
    assert cue_names == []


@given(st.text(max_size=200))
def test_indices_are_sorted_unique_and_in_range(sentence: str) -> None:
    indices = featurize(sentence)
    assert indices == sorted(set(indices))
    assert all(0 <= index < 1 << HASH_BITS for index in indices)


def test_news_features_name_anchor_attribution_and_past_tense() -> None:
    claim = news_features("Officials said 12 people were killed on Monday.")
    assert claim["anchor"] == claim["attribution"] == claim["past"] == 1.0
    assert claim["bare"] == 0.0
    analysis = news_features("The situation remains fraught with deep uncertainty.")
    assert analysis["bare"] == 1.0 and analysis["past"] == 0.0 and analysis["anchor"] == 0.0


def test_an_ed_word_after_a_determiner_is_not_past_tense() -> None:
    assert news_features("They watched the crowd.")["past"] == 1.0
    assert news_features("They faced a watched crowd.")["past"] == 1.0  # "faced"
    assert news_features("They face a watched crowd.")["past"] == 0.0


def test_past_tense_comes_from_the_general_lexicon() -> None:
    # Irregular past forms are not "-ed" words: Brill's lexicon tags them VBD.
    assert news_features("The army fought back and the rebels fled.")["past"] == 1.0
    assert part_of_speech()["announced"] == "VBD"


def test_subjective_adjectives_come_from_patterns_lexicon() -> None:
    scores = subjectivity()
    assert scores["delicate"] >= SUBJECTIVE > scores.get("annual", 0.0)
    assert news_features("It is a delicate act.")["subjective"] == 1.0
    assert news_features("It is an annual report.")["subjective"] == 0.0


@settings(deadline=None)  # the first call reads the lexicons
@given(st.text(max_size=200))
def test_news_features_are_zero_or_one_with_fixed_names(sentence: str) -> None:
    features = news_features(sentence)
    assert set(features) == {
        "anchor", "attribution", "past", "bare", "modal", "quote", "first_person", "subjective"
    }  # fmt: skip
    assert set(features.values()) <= {0.0, 1.0}
    assert features["bare"] == float(not (features["anchor"] or features["attribution"]
                                          or features["past"]))  # fmt: skip
