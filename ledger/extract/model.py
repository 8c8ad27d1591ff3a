"""The extractor's public types: claims, selectors, claimants, quantities, the protocol.

Frozen keyword-only dataclasses; numbers are strings or ints, never floats.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal, Protocol

Reporting = Literal["direct_quote", "reported_speech", "assertion"]
Bound = Literal["exact", "approximate", "at_least", "more_than", "at_most", "less_than"]
"""How a quantity's ``value`` relates to the true figure: "about 7,000" is ``approximate``,
"at least 7,000" ``at_least``, "more than"/"over" ``more_than``, "up to"/"at most"
``at_most``, "fewer/less than"/"under" ``less_than``; a plain figure is ``exact``."""
Precision = Literal["day", "month", "year"]
"""How precisely a date is known: "on Tuesday" is a day, "in February" a month (stored as
the month's first day), "in 2023" a year (stored as January 1)."""
SourceKind = Literal["person", "organization", "document"]
"""What a claimant is: a person, an organisation ("the White House"), or a document
("a military intelligence report")."""


@dataclass(frozen=True, kw_only=True)
class Selector:
    """W3C TextQuoteSelector + TextPositionSelector: ``text[start:end] == exact``."""

    exact: str
    prefix: str
    suffix: str
    start: int
    end: int


@dataclass(frozen=True, kw_only=True)
class Cited:
    """What a claimant cites for the claim ("citing a military intelligence report")."""

    name: str | None
    role: str | None
    affiliation: str | None
    kind: SourceKind | None = None


@dataclass(frozen=True, kw_only=True)
class Claimant:
    """Who is reported to have made the claim; ``name`` and ``role`` None means unattributed.

    ``cites`` keeps the reporting chain: Rep. Kang Dae-sik (the claimant) citing a Defense
    Intelligence Agency report (cited), nearest to the claimant first.
    """

    name: str | None
    role: str | None
    affiliation: str | None
    kind: SourceKind | None = None
    cites: tuple[Cited, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Quantity:
    """A number found in a claim; ``value`` is a normalized decimal string such as "7000"."""

    value: str
    unit: str | None
    bound: Bound
    text: str
    high: str | None = None  # the upper end of a range: "between 12 and 17 percent" -> 12..17

    @property
    def approximate(self) -> bool:
        """Whether the figure is not exact (any bound but ``exact``)."""
        return self.bound != "exact"


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
    made_on_precision: Precision | None = None  # None exactly when made_on is None


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
