"""What a reader may ask of the claims projection: filters, described once for CLI and API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ledger.search import SearchQuery, parse_search

ClaimStatusFilter = Literal["active", "revised", "retracted"]


@dataclass(frozen=True, kw_only=True)
class ClaimFilter:
    """Every field narrows the result; ``None`` means no constraint.

    ``text`` is a search in the language of ``ledger.search`` over statement and quote;
    ``claimant`` matches the claimant's name (substring); ``source`` is a source SHA-256 or
    URI; dates are ``YYYY-MM-DD`` and inclusive. Bad input raises ``InvalidInput`` (a
    ``SearchError`` for a search) when the filter is made, before any query runs.
    """

    text: str | None = None
    claimant: str | None = None
    source: str | None = None
    publisher: str | None = None
    status: ClaimStatusFilter | None = None
    made_from: str | None = None
    made_to: str | None = None
    extractor: str | None = None
    reviewed: bool | None = None
    signer: str | None = None

    def __post_init__(self) -> None:
        if self.text is not None:
            parse_search(self.text)

    @property
    def search(self) -> SearchQuery | None:
        return parse_search(self.text) if self.text is not None else None
