"""The extractor's public types: claims, selectors, claimants, quantities, the protocol.

Frozen keyword-only dataclasses; numbers are strings or ints, never floats.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal, Protocol

Reporting = Literal["direct_quote", "reported_speech", "assertion"]


@dataclass(frozen=True, kw_only=True)
class Selector:
    """W3C TextQuoteSelector + TextPositionSelector: ``text[start:end] == exact``."""

    exact: str
    prefix: str
    suffix: str
    start: int
    end: int


@dataclass(frozen=True, kw_only=True)
class Claimant:
    """Who is reported to have made the claim; ``name`` None means unattributed."""

    name: str | None
    role: str | None
    affiliation: str | None


@dataclass(frozen=True, kw_only=True)
class Quantity:
    """A number found in a claim; ``value`` is a normalized decimal string such as "7000"."""

    value: str
    unit: str | None
    approximate: bool
    text: str


@dataclass(frozen=True, kw_only=True)
class ExtractedClaim:
    """One check-worthy claim, anchored in the source text; ``score`` is per-mille (0..1000)."""

    statement: str
    selector: Selector
    claimant: Claimant
    reporting: Reporting
    made_on: datetime.date | None
    quantities: tuple[Quantity, ...]
    score: int


@dataclass(frozen=True, kw_only=True)
class ScoredSentence:
    """A sentence (or heading) of the text with its check-worthiness score (0..1000)."""

    start: int
    end: int
    text: str
    score: int


class Extractor(Protocol):
    """Turns a normalized source text into claims; ``rules_sha256`` fingerprints its rules."""

    name: str
    version: str
    rules_sha256: str

    def extract(self, text: str, *, published: datetime.date | None) -> list[ExtractedClaim]: ...
