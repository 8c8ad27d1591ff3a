"""What a reader may ask of the claims projection: filters, described once for CLI and API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ClaimStatusFilter = Literal["active", "revised", "retracted"]


@dataclass(frozen=True, kw_only=True)
class ClaimFilter:
    """Every field narrows the result; ``None`` means no constraint.

    ``text`` matches statement or quote (case-insensitive substring); ``claimant``
    matches the claimant's name (substring); ``source`` is a source SHA-256 or URI;
    dates are ``YYYY-MM-DD`` and inclusive.
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
