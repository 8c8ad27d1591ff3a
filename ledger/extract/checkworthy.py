"""Check-worthiness per sentence (0..1000 per-mille) and the claim ``THRESHOLD``.

Score = sigmoid(learned logit from CheckThat! debates + hand-set prior for news prose).
"""

from __future__ import annotations

from functools import cache

from ledger.extract.cues import cues
from ledger.extract.features import featurize
from ledger.extract.linear import LinearModel, model_from_json, packaged_weights_bytes, sigmoid
from ledger.extract.model import ScoredSentence
from ledger.extract.segment import segment

THRESHOLD = 500
"""Sentences scoring at least this many per-mille become claims."""

# Log-odds added per occurrence of a cue (capped by _CUE_CAP occurrences).
NEWS_PRIOR: dict[str, float] = {
    "number": 0.6,
    "percent": 0.4,
    "money": 0.4,
    "scale": 0.3,
    "date": 0.5,
    "attribution": 0.8,
    "according_to": 0.8,
    "hedge": -1.2,
    "opinion": -0.6,
    "analysis": -0.8,
    "question": -3.0,
}
HEADING_PRIOR = -6.0
_CUE_CAP = 2


@cache
def packaged_model() -> LinearModel:
    """The model shipped in the package, read once per process."""
    return model_from_json(packaged_weights_bytes())


def news_prior(sentence: str) -> float:
    """The hand-set log-odds adjustment for news prose."""
    counts = cues(sentence)
    return sum(weight * min(counts.get(cue, 0), _CUE_CAP) for cue, weight in NEWS_PRIOR.items())


def score_sentence(
    sentence: str, *, heading: bool = False, model: LinearModel | None = None
) -> int:
    """Score one sentence 0..1000; ``model`` defaults to the packaged one."""
    model = model or packaged_model()
    logit = model.logit(featurize(sentence)) + news_prior(sentence)
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
