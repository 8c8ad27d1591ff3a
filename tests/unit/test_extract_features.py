"""Hashed sentence features: what they name, how they fold case and figures, their range."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.extract.features import HASH_BITS, feature_names, featurize


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
