"""Check-worthiness per sentence (0..1000 per-mille) and the claim ``THRESHOLD``.

Score = sigmoid(logit). The first model's weights, those of the rule features (figures,
dates, attribution, modal verbs, questions...) included, are learned from labelled debate
sentences (CheckThat! 2019 and ClaimBuster); the news stage then combines that logit with a
few named features (anchor, past tense, subjective adjectives...) with weights learned on
the news dev set. The only hand-set term is the heading penalty, since a heading is never
a claim.
"""

from __future__ import annotations

from functools import cache

from ledger.extract.features import featurize, news_features
from ledger.extract.linear import LinearModel, model_from_json, packaged_weights_bytes, sigmoid
from ledger.extract.model import ScoredSentence
from ledger.extract.segment import segment

THRESHOLD = 500
"""Sentences scoring at least this many per-mille become claims."""

# Headings (short title lines) are never annotated as claims; this pushes them far below
# any threshold whatever their words.
HEADING_PRIOR = -6.0


@cache
def packaged_model() -> LinearModel:
    """The model shipped in the package, read once per process."""
    return model_from_json(packaged_weights_bytes())


def score_sentence(
    sentence: str, *, heading: bool = False, model: LinearModel | None = None
) -> int:
    """Score one sentence 0..1000; ``model`` defaults to the packaged one."""
    model = model or packaged_model()
    logit = model.logit(featurize(sentence))
    if model.news is not None:
        logit = model.news.logit(logit, news_features(sentence))
    if heading:
        logit += HEADING_PRIOR
    return round(1000 * sigmoid(logit))


def score_sentences(text: str) -> list[ScoredSentence]:
    """Segment a normalized text and score every sentence and heading, in order."""
    return [
        ScoredSentence(
            start=unit.start,
            end=unit.end,
            text=unit.text,
            score=score_sentence(unit.text, heading=unit.heading),
        )
        for unit in segment(text)
    ]
