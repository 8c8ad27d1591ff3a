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
        "anchor", "attribution", "past", "bare", "modal", "quote", "first_person", "subjective",
        "hedged", "nominal",
    }  # fmt: skip
    assert set(features.values()) <= {0.0, 1.0}
    assert features["bare"] == float(not (features["anchor"] or features["attribution"]
                                          or features["past"]))  # fmt: skip


def test_an_ed_participle_after_a_present_tense_verb_is_not_past_tense() -> None:
    # "linked" follows the present-tense "faces": a participle, not the sentence's tense.
    assert news_features("The plan faces hurdles linked to funding.")["past"] == 0.0
    assert news_features("The plan faces hurdles linked to funding.")["bare"] == 1.0
    assert news_features("It is expected to grow.")["past"] == 0.0
    # Before any present-tense verb, or right after an auxiliary, it still counts.
    assert news_features("The rebels crossed the river.")["past"] == 1.0
    assert news_features("The agency has expanded its programme.")["past"] == 1.0
    assert news_features("The bridge is closed because the river flooded.")["past"] == 1.0


def test_a_modal_in_a_that_clause_is_hedged() -> None:
    assert (
        news_features("Economists believe that the merger could reshape the sector.")["hedged"]
        == 1.0
    )
    assert news_features("Prices could rise next year.")["hedged"] == 0.0
    assert news_features("The ministry said that exports rose.")["hedged"] == 0.0
    # "that" as a determiner, not after a verb, introduces no clause.
    assert news_features("In that case the court would decide.")["hedged"] == 0.0


def test_three_abstract_nouns_make_a_nominal_sentence() -> None:
    abstract = (
        "The consolidation raises questions about accountability, governance and competition."
    )
    assert news_features(abstract)["nominal"] == 1.0
    assert news_features("The consolidation raises questions about the board.")["nominal"] == 0.0
    # Gerunds after a preposition are nominal forms too; infinitives are not.
    gerunds = "Hopes of cutting costs rest on raising fees and on selling land."
    assert news_features(gerunds)["nominal"] == 1.0
    assert news_features("Hopes to cut costs rest on higher fees and land sales.")["nominal"] == 0.0
    # Capitalised names with the same endings ("Commission") are not abstract nouns.
    names = "The European Commission met the Federation and the Association of Nations."
    assert news_features(names)["nominal"] == 0.0


def test_the_lower_case_spelling_decides_the_tag() -> None:
    # Brill's lexicon lists "Development" (NNP) before "development" (NN).
    assert part_of_speech()["development"] == "NN"
    assert part_of_speech()["announced"] == "VBD"
