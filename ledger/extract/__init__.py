"""Deterministic claim extraction from normalized news text (stdlib only, weights packaged).

The names below load on first use (PEP 562): importing ``ledger.extract.model`` or
``ledger.extract.registry`` (as every command line start does) does not build the rule
tables of the extractor."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

_HOME = {
    "THRESHOLD": "checkworthy",
    "score_sentence": "checkworthy",
    "score_sentences": "checkworthy",
    "DeterministicExtractor": "deterministic",
    "Claimant": "model",
    "ExtractedClaim": "model",
    "Extractor": "model",
    "Quantity": "model",
    "Reporting": "model",
    "ScoredSentence": "model",
    "Selector": "model",
}

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


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
