"""Deterministic claim extraction from normalized news text (stdlib only, weights packaged)."""

from __future__ import annotations

from ledger.extract.checkworthy import THRESHOLD, score_sentence, score_sentences
from ledger.extract.deterministic import DeterministicExtractor
from ledger.extract.model import (
    Claimant,
    ExtractedClaim,
    Extractor,
    Quantity,
    Reporting,
    ScoredSentence,
    Selector,
)

__all__ = [
    "THRESHOLD",
    "Claimant",
    "DeterministicExtractor",
    "ExtractedClaim",
    "Extractor",
    "Quantity",
    "Reporting",
    "ScoredSentence",
    "Selector",
    "score_sentence",
    "score_sentences",
]
